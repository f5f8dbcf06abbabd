"""Several worker processes: ``wxocr serve --workers N`` runs gunicorn (Linux only).

Each gunicorn worker is a whole ``bot.server`` service of its own, built after the fork
(sockets, database pools, threads and the OCR model must not be shared across a fork):
webhook threads (``server.threads``, gthread workers), the photo pipeline and the
scheduler. The scheduler jobs run in every worker but do their work once, because
everything they touch is claimed in the database first: the token refresh takes the
``access_token`` row's lease, a delivery or a take-over of a dead worker's photo takes
the ``message`` row's lease (under ``SELECT ... FOR UPDATE`` on PostgreSQL), retention
takes the ``lease`` row. No worker is special, so any of them may die.

Also here: the reverse-proxy settings both servers share, the :class:`ServingProcess`
handle used by the benchmarks and the tests (:func:`running_server` for a throw-away
one), and the workers benchmark itself (:func:`bench_workers`, ``wxocr bench --section
serve``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from wsgiref.types import WSGIApplication as WSGIApp

import httpx

from bot.config import Config
from ocr.evaluate import percentile

if TYPE_CHECKING:
    from bot.server import Service

# prometheus-client's own variable: where each process keeps its metric values. Set by
# an operator, it names the parent of the directory each `serve --workers` run makes.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Marks the directory as made for this run, so that bot.metrics can tell it from an
# inherited parent directory (which other commands and waitress must not write to).
METRICS_RUN_DIR_ENV = "WXOCR_METRICS_RUN_DIR"
# A worker that does not report for this long is killed and replaced by gunicorn. The
# gthread main loop reports while the request threads work, so OCR does not count here.
WORKER_TIMEOUT_S = 60
GRACEFUL_TIMEOUT_S = 10
# gthread keeps idle connections this long; nginx's upstream keepalive reuses them.
KEEPALIVE_S = 5


class WorkersError(Exception):
    """``--workers`` cannot be used as configured; the message says what to change."""


def proxy_settings(config: Config) -> dict[str, Any]:
    """waitress's proxy options: believe X-Forwarded-For/-Proto only from ``trusted_proxy``.

    The client address then becomes REMOTE_ADDR (what logs show); the headers of anyone
    else are removed, so a client cannot pass itself off as another address.
    """
    if not config.server.trusted_proxy:
        return {}
    return {
        "trusted_proxy": config.server.trusted_proxy,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
    }


def behind_proxy(app: WSGIApp, config: Config) -> WSGIApp:
    """``app`` with waitress's proxy-header handling, for servers other than waitress."""
    from waitress.proxy_headers import proxy_headers_middleware

    wrapped: WSGIApp = proxy_headers_middleware(app, **proxy_settings(config))
    return wrapped


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
    from bot.server import configure_logging, with_port

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
    """gunicorn configured from our Config; one :class:`bot.server.Service` per worker."""

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
        from bot.server import build_service

        self.service = build_service(self.config)
        return behind_proxy(count_requests(self.service.app, self.config.server.path), self.config)

    # -- gunicorn hooks (the first argument is the arbiter or the worker)

    def _ready(self, _arbiter: Any) -> None:
        from bot.server import how_to_try

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


# ---------------------------------------------------------------- a serving process


WXOCR = Path(sys.executable).with_name("wxocr")


def child_environment() -> dict[str, str]:
    """This environment without WXOCR_ settings, for a child ``wxocr``: it then reads only
    its config file, whatever the shell that runs a benchmark or test has set."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WXOCR_")}


def write_config(path: Path, settings: dict[str, dict[str, Any]]) -> Path:
    """Write ``settings`` (section -> key -> value) as a TOML config file."""
    lines: list[str] = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        # JSON scalars and arrays are valid TOML values.
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class ServingProcess:
    """``wxocr serve --config FILE [--workers N]`` as a child process, logging to a file."""

    config: Config
    config_file: Path
    log_file: Path
    workers: int = 0
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.config.server.port}"

    @property
    def webhook_url(self) -> str:
        return self.base_url + self.config.server.path

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("wxocr serve was not started")
        return self.process.pid

    def start(self, *, timeout_s: float = 90.0, path: str = "/readyz") -> ServingProcess:
        """Start and wait until ``path`` answers 200 (by default: ready for traffic)."""
        command = [str(WXOCR), "serve", "--config", str(self.config_file)]
        if self.workers:
            command += ["--workers", str(self.workers)]
        environment = child_environment()
        environment.pop(MULTIPROC_DIR_ENV, None)
        environment.pop(METRICS_RUN_DIR_ENV, None)
        environment.update(self.env)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  (our own console script)
                command, stdout=log, stderr=subprocess.STDOUT, env=environment
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("wxocr serve stopped at start:\n" + self.log())
            try:
                if httpx.get(self.base_url + path, timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"wxocr serve was not ready in {timeout_s:.0f} s:\n" + self.log())

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(GRACEFUL_TIMEOUT_S + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def serving_process(
    directory: Path,
    *,
    workers: int = 0,
    api_base: str | None = None,
    database_url: str | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    env: dict[str, str] | None = None,
) -> ServingProcess:
    """A (not yet started) bot on a free loopback port, its database migrated.

    ``api_base``: the WeChat API (a sandbox); without it the server runs in sandbox mode
    with its own sandbox. ``database_url``: default a new SQLite file in ``directory``.
    """
    from bot.config import load_config
    from bot.db import create_db_engine, upgrade_database

    directory.mkdir(parents=True, exist_ok=True)
    merged: dict[str, dict[str, Any]] = {
        "server": {"host": "127.0.0.1", "port": free_port("127.0.0.1"), "threads": 16},
        "database": {"url": database_url or f"sqlite:///{directory / 'wxocr.db'}"},
        "log": {"level": "WARNING"},
    }
    if api_base is not None:
        merged["wechat"] = {"api_base": api_base}
    for section, values in (settings or {}).items():
        merged.setdefault(section, {}).update(values)
    config_file = write_config(directory / "config.toml", merged)
    config = load_config(config_file)
    engine = create_db_engine(config.database.url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    return ServingProcess(config, config_file, directory / "serve.log", workers, dict(env or {}))


@contextmanager
def running_server(
    *,
    workers: int = 0,
    api_base: str | None = None,
    database_url: str | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    ready_path: str = "/readyz",
) -> Iterator[ServingProcess]:
    """A :func:`serving_process` in a throw-away directory, started until the block ends.

    ``ready_path``: what must answer 200 before the block starts (``/healthz``: serving,
    the OCR model perhaps still loading; ``/readyz``: loaded too).
    """
    with tempfile.TemporaryDirectory(prefix="wxocr-serve-") as directory:
        server = serving_process(
            Path(directory),
            workers=workers,
            api_base=api_base,
            database_url=database_url,
            settings=settings,
        )
        try:
            yield server.start(path=ready_path)
        finally:
            server.stop()


# ---------------------------------------------------------------- benchmark


@dataclass(frozen=True)
class ServeFigures:
    """One server set-up under load."""

    workers: int  # 0: waitress, one process
    photos: int
    photos_per_s: float  # until every photo's answer (passive or customer-service) arrived
    passive: int  # photos answered with their result within WeChat's 5 s
    passive_p50_ms: float | None
    passive_p95_ms: float | None
    text_clients: int
    text_per_s: float


def bench_workers(
    photos: Sequence[bytes],
    *,
    worker_counts: Sequence[int] = (1, 2),
    photo_clients: int = 4,
    text_clients: int = 8,
    text_seconds: float = 5.0,
    database_url: str | None = None,
) -> list[ServeFigures]:
    """Photos/s, passive answer latency and text messages/s per number of worker processes.

    Each set-up is a real ``wxocr serve`` process (0 = waitress; N = gunicorn with N
    workers) with the real OCR, on a new SQLite file (or ``database_url``); the WeChat API
    is a sandbox in this process. The photos are sent by ``photo_clients`` users at once,
    with WeChat's timeout and retries; each counts when its answer arrived.
    """
    from bot.sandbox import SandboxApp, SandboxServer
    from bot.webhook_bench import text_requests_per_second

    figures = []
    for workers in worker_counts:
        sandbox = SandboxServer(SandboxApp(Config().sandbox), threads=16).start()
        try:
            with running_server(
                workers=workers,
                api_base=sandbox.api_base,
                database_url=database_url,
                settings={"pipeline": {"daily_limit": 0}},
            ) as server:
                photo_figures = _send_photos(server, photos, photo_clients)
                text_per_s = text_requests_per_second(
                    server.webhook_url,
                    server.config.wechat.token,
                    clients=text_clients,
                    seconds=text_seconds,
                )
        finally:
            sandbox.stop()
        figures.append(
            ServeFigures(
                workers=workers,
                photos=len(photos),
                text_clients=text_clients,
                text_per_s=text_per_s,
                **photo_figures,
            )
        )
    return figures


def _send_photos(server: ServingProcess, photos: Sequence[bytes], clients: int) -> dict[str, Any]:
    from bot.simulate import Simulator, image_fields, new_msg_id

    users = [
        Simulator(server.config, url=server.webhook_url, openid=f"o-bench-{n}", wait_s=120)
        for n in range(clients)
    ]
    # Uploads first: what is measured is WeChat's pushes, not our uploads to the sandbox.
    mine = [[users[n].upload(p) for p in photos[n::clients]] for n in range(clients)]
    passive_ms: list[float] = []
    lock = threading.Lock()

    started = time.monotonic()
    passive_counts = [0] * clients

    def send_all(n: int) -> None:
        user = users[n]
        for media_id, pic_url in mine[n]:
            outcome = user.pusher.push_with_retries(
                image_fields(user.openid, media_id, pic_url, new_msg_id())
            )
            if outcome.reply is not None:
                passive_counts[n] += 1
                if outcome.tries == 1 and outcome.seconds is not None:
                    with lock:
                        passive_ms.append(outcome.seconds * 1000)
        user.wait_for_custom_messages(0, count=len(mine[n]) - passive_counts[n])

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send_all, range(clients)))
    elapsed = time.monotonic() - started
    return {
        "photos_per_s": len(photos) / elapsed,
        "passive": sum(passive_counts),
        "passive_p50_ms": percentile(passive_ms, 50) if passive_ms else None,
        "passive_p95_ms": percentile(passive_ms, 95) if passive_ms else None,
    }
