"""Reverse-proxy settings shared by both servers (waitress, and gunicorn's workers)."""

from __future__ import annotations

from typing import Any
from wsgiref.types import WSGIApplication as WSGIApp

from bot.config import Config


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
