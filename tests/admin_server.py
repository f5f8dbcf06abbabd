"""Serve the admin dashboard on a real loopback port (waitress in a thread) for the tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from waitress.server import create_server

from bot.config import AdminConfig, Config
from bot.operators.admin import make_admin_app
from bot.sandbox.emulator import mounted, stop_serving
from bot.store.db import SessionFactory
from bot.store.models import record_usage

PREFIX = "/admin"
TOKEN = "test-admin-token-5f0c"


@contextmanager
def serve_admin(sessions: SessionFactory, token: str = TOKEN, **admin: Any) -> Iterator[str]:
    """Yield the dashboard's base URL, e.g. ``http://127.0.0.1:PORT/admin``.

    ``admin``: further ``[admin]`` settings (e.g. ``login_max_failures``).
    """
    config = Config(admin=AdminConfig(token=token, **admin))
    server: Any = create_server(
        mounted(PREFIX, make_admin_app(config, sessions)), host="127.0.0.1", port=0, threads=2
    )
    thread = threading.Thread(target=server.run, name="admin-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}{PREFIX}"
    finally:
        stop_serving(server, thread)


def add_sample_usage(sessions: SessionFactory, now: datetime | None = None) -> dict[str, int]:
    """A few days of photos of both kinds with every outcome; returns counts per kind."""
    now = now or datetime.now(UTC)
    plan = [
        (0, "o-ann", "idcard", "ok", None),
        (0, "o-ann", "idcard", "ok", None),
        (0, "o-ben", "bankcard", "no_card", "no_card_found"),
        (1, "o-ben", "bankcard", "ok", None),
        (1, "o-cat", "idcard", "error", "engine_error"),
        (2, "o-cat", "bankcard", "bad_image", "image_too_small"),
        (2, "o-ann", "idcard", "ok", None),
    ]
    counts: dict[str, int] = {}
    with sessions() as session, session.begin():
        for index, (days_ago, openid, kind, outcome, error_code) in enumerate(plan):
            record_usage(
                session,
                now=now - timedelta(days=days_ago, minutes=5),
                openid=openid,
                kind_asked=kind,
                kind_detected=kind if outcome == "ok" else None,
                engine="local",
                outcome=outcome,
                error_code=error_code,
                latency_ms=400 + 100 * index,
            )
            counts[kind] = counts.get(kind, 0) + 1
    return counts
