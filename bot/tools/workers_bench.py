"""The workers benchmark (``wxocr bench --section serve``): whole servers under load."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot.config import Config
from bot.tools.serving_process import ServingProcess, running_server
from ocr.evaluate import percentile


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
    from bot.sandbox.emulator import SandboxApp, SandboxServer
    from bot.tools.webhook_bench import text_requests_per_second

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
    from bot.tools.simulate import Simulator, image_fields, new_msg_id

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
