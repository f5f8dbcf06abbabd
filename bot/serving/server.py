"""``wxocr serve``: wire the parts together and serve them with waitress.

One process holds: the WSGI app (webhook, ``/healthz``, ``/readyz``, ``/metrics``,
``/admin``, and in sandbox mode the WeChat API emulator under ``/sandbox``), the photo
pipeline with its thread pools, and an APScheduler scheduler for the access token,
result delivery and retention. ``wxocr serve --workers N`` runs N such processes under
gunicorn instead (bot/serving/workers.py).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from apscheduler.schedulers.background import BackgroundScheduler

from bot.chat.handlers import Handlers
from bot.chat.pipeline import Pipeline, WechatMedia
from bot.config import Config
from bot.metrics import count_requests, make_metrics_app
from bot.serving.app import Router, build_app
from bot.serving.engines import build_engine
from bot.serving.readiness import Readiness
from bot.store.db import create_db_engine, session_factory
from bot.store.db_retry import describe
from ocr.engine import Engine

log = logging.getLogger(__name__)

RESUME_JOB_ID = "wxocr-pipeline-resume"
# How often unsent results are retried and dead workers' photos taken over; also how
# often this process renews its claims, so it must stay well under pipeline.lease_s.
MAX_RESUME_INTERVAL_S = 2.0
SANDBOX_MAX_BODY_BYTES = 12 * 1024 * 1024


@dataclass
class Service:
    """Everything a serving process runs; :meth:`close` stops it in order."""

    config: Config
    app: Router
    pipeline: Pipeline
    scheduler: BackgroundScheduler
    closers: list[Callable[[], None]] = field(default_factory=list)
    readiness: Readiness | None = None

    def close(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.pipeline.close()
        for close in reversed(self.closers):
            close()


def with_port(config: Config, port: int) -> Config:
    """The config with the port actually bound (``server.port = 0`` picks a free one)."""
    return config.model_copy(update={"server": config.server.model_copy(update={"port": port})})


def build_service(config: Config) -> Service:
    """Build (but do not start serving) the app, the pipeline and the scheduler."""
    from bot.operators.admin import make_admin_app
    from bot.operators.retention import register_retention_job
    from bot.wxapi.tokens import TokenRefresher, build_client, build_token_store

    db = create_db_engine(config.database.url)
    sessions = session_factory(db)
    http = httpx.Client(timeout=config.wechat.timeout_s, follow_redirects=False)
    tokens = build_token_store(config, http, sessions)
    client = build_client(config, http, tokens)

    def engine() -> Engine:
        return build_engine(config, client=client)

    pipeline = Pipeline(
        config, sessions, WechatMedia.from_config(config, client, http), client, engine
    )
    handlers = Handlers(config, sessions, pipeline)

    sandbox = None
    if config.sandbox_mode and not config.wechat.api_base:
        from bot.sandbox.emulator import SandboxApp

        sandbox = SandboxApp.from_config(config)

    def health() -> dict[str, Any]:
        # The process answers, database or not (/readyz tells about the database).
        try:
            pending: int | None = pipeline.pending_count()
        except Exception as exc:
            log.warning("healthz: pending deliveries not counted (%s)", describe(exc))
            pending = None
        return {"status": "ok", "pending_deliveries": pending}

    app = build_app(config, handlers.reply, sandbox=sandbox, health=health)
    app.mount("/admin", make_admin_app(config, sessions))
    readiness = Readiness(config, db)
    app.mount("/readyz", readiness)
    app.mount("/metrics", make_metrics_app(pipeline.pending_count))

    scheduler = BackgroundScheduler(daemon=True)
    TokenRefresher(tokens).schedule(scheduler)
    scheduler.add_job(
        pipeline.resume,
        "interval",
        seconds=min(MAX_RESUME_INTERVAL_S, config.pipeline.lease_s / 3),
        id=RESUME_JOB_ID,
        name="deliver pending results, resume stopped photos",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
    )
    register_retention_job(scheduler, config, sessions)
    return Service(
        config, app, pipeline, scheduler, closers=[http.close, db.dispose], readiness=readiness
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def how_to_try(config: Config) -> str:
    """What ``wxocr serve`` prints at start: where it listens, how to try it, how to go live."""
    base = f"http://{config.server.host}:{config.server.port}"
    webhook = base + config.server.path
    lines = [f"wxocr is serving the WeChat webhook at {webhook} (health: {base}/healthz)"]
    if config.sandbox_mode:
        program = _program()
        id_photo = _example_photo("idfront", "YOUR-ID-CARD-PHOTO.jpg")
        bank_photo = _example_photo("bank", "YOUR-BANK-CARD-PHOTO.jpg")
        lines += [
            f"Sandbox mode: the WeChat API emulator is at {config.api_base}",
            "Try it (in another terminal):",
            f"  {program} simulate {id_photo} --url {webhook}",
            f"  {program} simulate {bank_photo} --command 银行卡 --url {webhook}",
            "To connect a real official account: in the WeChat admin console (设置与开发 →",
            "基本配置 → 服务器配置) set the URL to this server's public https address + "
            f"{config.server.path}",
            "and the Token to wechat.token; put AppID/AppSecret in wechat.app_id/app_secret",
            "(and EncodingAESKey in wechat.encoding_aes_key for safe mode), add this host's IP",
            "to the IP whitelist, and restart.",
        ]
    return "\n".join(lines)


def _program() -> str:
    """How to run ``wxocr`` from here: ``.venv/bin/wxocr`` after ``make run``."""
    invoked = Path(sys.argv[0])
    if invoked.name == "wxocr" and invoked.is_file():
        relative = os.path.relpath(invoked)
        return relative if not relative.startswith("..") else str(invoked)
    return "wxocr"


def _example_photo(kind: str, fallback: str) -> str:
    """A committed fixture to try (when run from the checkout), else a placeholder."""
    found = sorted(Path("tests/fixtures/cards").glob(f"*_{kind}_*.jpg"))
    return str(found[0]) if found else fallback


def configure_logging(config: Config) -> None:
    logging.basicConfig(
        level=config.log.level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # A line per scheduler run and per API request would drown the lines that matter.
    for chatty in ("apscheduler", "httpx", "alembic.runtime.migration"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def serve(config: Config, *, announce: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT/SIGTERM."""
    from waitress.server import create_server

    from bot.serving.proxy import proxy_settings

    configure_logging(config)
    sock = bind(config.server.host, config.server.port)
    config = with_port(config, sock.getsockname()[1])
    service = build_service(config)
    server = create_server(
        count_requests(service.app, config.server.path),
        sockets=[sock],
        threads=config.server.threads,
        # The webhook checks its own, smaller limit; the sandbox takes photo uploads.
        max_request_body_size=max(config.server.max_body_bytes, SANDBOX_MAX_BODY_BYTES),
        clear_untrusted_proxy_headers=True,
        ident="wxocr",
        **proxy_settings(config),
    )

    def stop(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    service.scheduler.start()
    if service.readiness is not None:
        service.readiness.start()
    (announce or print)(how_to_try(config))
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        service.close()
