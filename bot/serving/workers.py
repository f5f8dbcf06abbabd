"""Several worker processes: ``wxocr serve --workers N`` runs gunicorn (Linux only).

Each gunicorn worker is a whole ``bot.serving.server`` service of its own, built after the fork
(sockets, database pools, threads and the OCR model must not be shared across a fork):
webhook threads (``server.threads``, gthread workers), the photo pipeline and the
scheduler. The scheduler jobs run in every worker but do their work once, because
everything they touch is claimed in the database first: the token refresh takes the
``access_token`` row's lease, a delivery or a take-over of a dead worker's photo takes
the ``message`` row's lease (under ``SELECT ... FOR UPDATE`` on PostgreSQL), retention
takes the ``lease`` row. No worker is special, so any of them may die.

A serving process as a child (for benchmarks and tests) is ``bot.tools.serving_process``;
the reverse-proxy settings both servers share are ``bot.serving.proxy``.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.types import WSGIApplication as WSGIApp

from bot.config import Config
from bot.metrics_env import METRICS_RUN_DIR_ENV, MULTIPROC_DIR_ENV
from bot.serving.proxy import behind_proxy

if TYPE_CHECKING:
    from bot.serving.server import Service

# A worker that does not report for this long is killed and replaced by gunicorn. The
# gthread main loop reports while the request threads work, so OCR does not count here.
WORKER_TIMEOUT_S = 60
GRACEFUL_TIMEOUT_S = 10
# gthread keeps idle connections this long; nginx's upstream keepalive reuses them.
KEEPALIVE_S = 5


class WorkersError(Exception):
    """``--workers`` cannot be used as configured; the message says what to change."""


def prepare_metrics_dir() -> Path:
    """A new, empty directory for this run's metric files, named in the environment.

    Inside ``$PROMETHEUS_MULTIPROC_DIR`` if set (e.g. a tmpfs), else in the temp directory;
    new each run, or values left by an earlier run would be added to this run's. Must run
    before prometheus-client is first imported: it reads the variable then.
    """
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before the metrics directory was set")
    parent = os.environ.get(MULTIPROC_DIR_ENV)
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="wxocr-metrics-", dir=parent))
    os.environ[MULTIPROC_DIR_ENV] = os.environ[METRICS_RUN_DIR_ENV] = str(directory)
    return directory


def _bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it), for a server about to start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def check_workers_config(config: Config, workers: int) -> None:
    if not sys.platform.startswith("linux"):
        raise WorkersError("--workers needs Linux (gunicorn); elsewhere run without it")
    if workers > 1 and config.sandbox_mode and not config.wechat.api_base:
        raise WorkersError(
            "in sandbox mode each worker would get a sandbox of its own, and a photo uploaded "
            "to one would be missing in the others: run `wxocr sandbox --port 8081` and set "
            "wechat.api_base (WXOCR_WECHAT__API_BASE) to http://127.0.0.1:8081/sandbox"
        )


def serve_workers(
    config: Config, workers: int, *, announce: Callable[[str], None] | None = None
) -> None:
    """Serve with gunicorn and ``workers`` processes until SIGINT/SIGTERM."""
    check_workers_config(config, workers)
    metrics_dir = prepare_metrics_dir()
    from bot.serving.server import configure_logging, with_port

    configure_logging(config)
    if config.server.port == 0:
        config = with_port(config, free_port(config.server.host))
    try:
        WorkersApplication(config, workers, announce or print).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


try:
    from gunicorn.app.base import BaseApplication
except ImportError:  # pragma: no cover - gunicorn is a dependency; only its absence on a
    BaseApplication = object  # non-Linux install would end here, and serve_workers refuses


class WorkersApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn configured from our Config; one :class:`bot.serving.server.Service` per worker."""

    def __init__(self, config: Config, workers: int, announce: Callable[[str], None]) -> None:
        self.config = config
        self.workers = workers
        self.announce = announce
        self.service: Service | None = None
        super().__init__(prog="wxocr serve")

    def load_config(self) -> None:
        server = self.config.server
        settings: dict[str, Any] = {
            "bind": [_bind_address(server.host, server.port)],
            "workers": self.workers,
            "worker_class": "gthread",
            "threads": server.threads,
            "timeout": WORKER_TIMEOUT_S,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            "keepalive": KEEPALIVE_S,
            "proc_name": "wxocr",
            "loglevel": self.config.log.level.lower(),
            "errorlog": "-",
            "when_ready": self._ready,
            "post_worker_init": self._worker_started,
            "worker_exit": self._worker_exiting,
            "child_exit": self._child_exited,
        }
        if Path("/dev/shm").is_dir():  # noqa: S108  (gunicorn's heartbeat files, not data)
            # The heartbeat file is touched constantly; on a container's overlay disk
            # that can stall a worker long enough to be killed.
            settings["worker_tmp_dir"] = "/dev/shm"  # noqa: S108
        if "control_socket_disable" in self.cfg.settings:
            # One fixed control-socket path per user: two servers would fight over it.
            settings["control_socket_disable"] = True
        for name, value in settings.items():
            self.cfg.set(name, value)
        # Any other gunicorn setting from GUNICORN_CMD_ARGS (e.g. --access-logfile -),
        # which wins over ours, as with the gunicorn command.
        extra = self.cfg.get_cmd_args_from_env()
        if extra:
            parsed = self.cfg.parser().parse_args(extra)
            for name, value in vars(parsed).items():
                if value is not None and name in self.cfg.settings:
                    self.cfg.set(name.lower(), value)

    def load(self) -> WSGIApp:
        """In each worker after the fork: build this worker's service."""
        from bot.metrics import count_requests
        from bot.serving.server import build_service

        self.service = build_service(self.config)
        return behind_proxy(count_requests(self.service.app, self.config.server.path), self.config)

    # -- gunicorn hooks (the first argument is the arbiter or the worker)

    def _ready(self, _arbiter: Any) -> None:
        from bot.serving.server import how_to_try

        self.announce(how_to_try(self.config) + f"\n({self.workers} worker processes)")

    def _worker_started(self, _worker: Any) -> None:
        assert self.service is not None
        self.service.scheduler.start()
        if self.service.readiness is not None:
            self.service.readiness.start()

    def _worker_exiting(self, _arbiter: Any, _worker: Any) -> None:
        if self.service is not None:
            self.service.close()

    def _child_exited(self, _arbiter: Any, worker: Any) -> None:
        from bot.metrics import worker_exited

        worker_exited(int(worker.pid))
