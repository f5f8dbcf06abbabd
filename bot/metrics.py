"""Prometheus metrics, served at ``/metrics``: requests, outcomes, OCR time, tokens, deliveries.

The counters live in this module; the code that does the work increments them. With
several gunicorn workers each process counts on its own, so ``wxocr serve --workers N``
sets ``PROMETHEUS_MULTIPROC_DIR`` before anything imports this module: prometheus-client
then keeps every process's values in files there, and a scrape answered by any worker
adds them all up. The number of results waiting for delivery is not counted but read
from the database at scrape time: it is the same for every worker and survives restarts.

Labels stay few and fixed (routes, outcomes, results), never an openid or a path as sent.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.types import StartResponse
from wsgiref.types import WSGIApplication as WSGIApp

from bot.metrics_env import METRICS_RUN_DIR_ENV, MULTIPROC_DIR_ENV

# Before prometheus-client reads it: a multiprocess directory this process did not get
# from `serve --workers` (an operator's parent directory, inherited by a CLI command or a
# single waitress process) would collect files of processes that never clean them up.
if os.environ.get(MULTIPROC_DIR_ENV, "") != os.environ.get(METRICS_RUN_DIR_ENV, ""):
    os.environ.pop(MULTIPROC_DIR_ENV, None)

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


HTTP_REQUESTS = Counter(
    "wxocr_http_requests",
    "HTTP requests answered, by route and status code.",
    ["route", "status"],
)
PHOTO_OUTCOMES = Counter(
    "wxocr_photo_outcomes",
    "Photos finished, by outcome (ok, no_card, bad_image, error, limited).",
    ["outcome"],
)
OCR_SECONDS = Histogram(
    "wxocr_ocr_seconds",
    "Time the OCR engine took for one photo (download and queueing not included).",
    # WeChat's 5 s are what matters: fine steps below it, coarse ones above.
    buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 20.0, 60.0),
)
TOKEN_REFRESHES = Counter(
    "wxocr_token_refreshes",
    "Access token requests this bot made to WeChat, by result (ok, failed).",
    ["result"],
)
DELIVERIES = Counter(
    "wxocr_deliveries",
    "Customer-service sends of results, by result (sent, retry, gave_up).",
    ["result"],
)

DB_ERRORS = Counter(
    "wxocr_db_errors",
    "Transient database errors (connection lost, server restarting, serialization failure, "
    "deadlock), retried or deferred, by step (claim, result, delivery, token, ...).",
    ["step"],
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR_ENV))


def route_of(path: str, webhook_path: str) -> str:
    """A fixed label for a request path: what is sent must not grow the label set."""
    if path.rstrip("/") == webhook_path.rstrip("/"):
        return "webhook"
    if path in ("/healthz", "/readyz", "/metrics"):
        return path[1:]
    for prefix in ("/admin", "/sandbox"):
        if path == prefix or path.startswith(prefix + "/"):
            return prefix[1:]
    return "other"


def count_requests(app: WSGIApp, webhook_path: str) -> WSGIApp:
    """``app``, counting each answer in ``wxocr_http_requests``."""

    def counted(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        route = route_of(environ.get("PATH_INFO", "") or "/", webhook_path)

        def start_and_count(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            HTTP_REQUESTS.labels(route, status.split(" ", 1)[0]).inc()
            return start_response(status, headers, *args)

        return app(environ, start_and_count)

    return counted


class PendingDeliveries(Collector):
    """``wxocr_pending_deliveries``: results stored but not yet delivered, read per scrape."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            value = self.count()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: pending deliveries not counted (%s)", type(exc).__name__)
            return
        yield GaugeMetricFamily(
            "wxocr_pending_deliveries",
            "Results waiting to be sent as customer-service messages (all workers).",
            value=value,
        )


class WrittenFilesCollector(prometheus_multiprocess.MultiProcessCollector):
    """prometheus-client's multiprocess collector, reading only the workers' files that
    have been written to.

    A worker creates its file empty and sizes it a moment later; the library reads every
    ``*.db`` file and fails on an empty one (``struct.error``: a scrape answered 500 in
    CI on 2026-11-30, while a freshly started worker counted its first request). An
    empty file holds no value yet, so leaving it out loses nothing; a file sized once
    stays sized.
    """

    def __init__(self, registry: CollectorRegistry | None, path: str | None = None) -> None:
        super().__init__(registry, path)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterable[Any]:
        path = str(self._path)
        files = [
            name
            for name in glob.glob(os.path.join(path, "*.db"))
            if os.path.exists(name) and os.path.getsize(name) > 0
        ]
        metrics: Iterable[Any] = self.merge(files, accumulate=True)  # type: ignore[no-untyped-call]
        return metrics


def exposition(pending_deliveries: Callable[[], int] | None = None) -> bytes:
    """The text every scrape gets: this process's (or all workers') metrics."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        WrittenFilesCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if pending_deliveries is not None:
        body += generate_latest(PendingDeliveries(pending_deliveries))
    return body


def make_metrics_app(pending_deliveries: Callable[[], int] | None = None) -> WSGIApp:
    """The ``/metrics`` WSGI app (mounted by ``bot.serving.server``)."""

    def metrics(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
            return [b"method not allowed"]
        body = exposition(pending_deliveries)
        start_response(
            "200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))]
        )
        return [body]

    return metrics


def worker_exited(pid: int) -> None:
    """Gunicorn's ``child_exit`` hook: a dead worker's live gauges must stop counting."""
    if multiprocess_mode():
        prometheus_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
