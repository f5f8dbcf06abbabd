"""Benchmark of the webhook (a measurement, not a test): ``wxocr bench-webhook``.

Text messages per second through ``wxocr serve``, beside a bare werobot echo robot
served by the same waitress settings (so the cost of our checks, database and handlers
shows), and the latency of photo answers with the real OCR. Both servers run as
separate processes; the load comes from client threads in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import httpx

from bot.config import Config
from bot.serving.workers import free_port
from bot.tools.serving_process import child_environment, running_server
from bot.tools.simulate import Simulator, WechatPusher, new_msg_id, text_fields
from ocr.evaluate import percentile

# The baseline: werobot's own WSGI app, answering every text with itself.
ECHO_ROBOT = """
import sys, waitress, werobot
robot = werobot.WeRoBot(token=sys.argv[2], SESSION_STORAGE=False)
@robot.text
def echo(message):
    return message.content
waitress.serve(robot.wsgi, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[3]),
               _quiet=True)
"""


@dataclass(frozen=True)
class WebhookBenchResult:
    text_rps: float
    echo_text_rps: float
    text_clients: int
    photos: int
    passive: int  # answered with the result within WeChat's 5 s
    passive_p50_ms: float | None
    passive_p95_ms: float | None
    answer_p95_ms: float  # every first answer, passive or "success"

    def as_json(self) -> str:
        return json.dumps(asdict(self))


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start")


@contextmanager
def _process(args: Sequence[str], health_url: str) -> Iterator[None]:
    process = subprocess.Popen(  # noqa: S603 - our own executables, fixed arguments
        list(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_environment()
    )
    try:
        _wait_healthy(health_url, process)
        yield
    finally:
        process.terminate()
        process.wait(10)


def text_requests_per_second(url: str, token: str, *, clients: int, seconds: float) -> float:
    """Signed text pushes from ``clients`` threads for ``seconds``; answered pushes per second."""
    stop = time.monotonic() + seconds
    counts = [0] * clients

    def client(index: int) -> None:
        with httpx.Client(timeout=10) as http:
            pusher = WechatPusher(url=url, token=token, client=http)
            while time.monotonic() < stop:
                response = pusher.push(text_fields(f"o-bench-text-{index}", "帮助", new_msg_id()))
                if response.status_code == 200:
                    counts[index] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def bench_webhook(
    photos: Sequence[bytes], *, clients: int = 8, seconds: float = 5.0, threads: int = 8
) -> WebhookBenchResult:
    token = Config().wechat.token
    port = free_port()
    echo_url = f"http://127.0.0.1:{port}/wechat"
    with _process(
        [sys.executable, "-c", ECHO_ROBOT, str(port), token, str(threads)],
        f"http://127.0.0.1:{port}/",
    ):
        echo_rps = text_requests_per_second(echo_url, token, clients=clients, seconds=seconds)
    settings = {"server": {"threads": threads}, "pipeline": {"daily_limit": 0}}
    with running_server(settings=settings, ready_path="/healthz") as server:
        config, url = server.config, server.webhook_url
        ours_rps = text_requests_per_second(
            url, config.wechat.token, clients=clients, seconds=seconds
        )
        user = Simulator(config, url=url, openid="o-bench-photos")
        passive_ms: list[float] = []
        answer_ms: list[float] = []
        for data in photos:  # one at a time: the latency a user sees on an idle server
            outcome = user.send_photo(data)
            answer_ms.append((outcome.seconds or 0.0) * 1000)
            if outcome.reply is not None:
                passive_ms.append((outcome.seconds or 0.0) * 1000)
    return WebhookBenchResult(
        text_rps=ours_rps,
        echo_text_rps=echo_rps,
        text_clients=clients,
        photos=len(photos),
        passive=len(passive_ms),
        passive_p50_ms=percentile(passive_ms, 50) if passive_ms else None,
        passive_p95_ms=percentile(passive_ms, 95) if passive_ms else None,
        answer_p95_ms=percentile(answer_ms, 95) if answer_ms else 0.0,
    )
