"""Shared by the end-to-end tests: ``wxocr serve`` as a subprocess, the sandbox's controls,
the committed card fixtures, and what a user saw in answer to a photo."""

from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bot.tools.serving_process import WXOCR as WXOCR  # the e2e tests run the console script too
from bot.tools.serving_process import serving_process
from bot.tools.simulate import PushOutcome, Simulator

CARDS = Path(__file__).parent / "fixtures" / "cards"
AES_KEY = "wxocrE2eSafeModeKey0123456789abcdefghijklmn"
# A photo the bot does not read. WeChat (and the sandbox) take only images as photos: a
# GIF gets through, a PDF's bytes would be refused at upload.
NOT_AN_IMAGE = b"GIF89a" + b"\0" * 64
# A hang guard too: at a load of 36 on 2 cores `wxocr serve` took over 60 s to start.
STARTUP_S = 300.0
# How long a simulated user waits for a customer-service answer: a hang guard, not a
# speed check. The waits return as soon as the answer is there; under a loaded CI
# machine (load average 20 on 2 cores) 42 photos took longer than the 60 s this was.
WAIT_S = 600.0


def card(pattern: str) -> tuple[bytes, dict[str, Any]]:
    """The first fixture matching ``pattern`` (e.g. ``*_idfront_scan*``): bytes and label."""
    images = sorted(p for p in CARDS.glob(pattern) if p.suffix in (".jpg", ".png"))
    assert images, f"no fixture matches {pattern}"
    label = json.loads(images[0].with_suffix(".json").read_text(encoding="utf-8"))
    return images[0].read_bytes(), label


def smaller(image: bytes, side: int = 480) -> bytes:
    picture = Image.open(io.BytesIO(image)).convert("RGB")
    picture.thumbnail((side, side))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class BotServer:
    """``wxocr serve --config FILE`` in a subprocess; its database is a file we can read.

    A :class:`bot.tools.serving_process.ServingProcess` in sandbox mode unless ``settings`` name a
    ``wechat.api_base``, ready once ``/healthz`` answers.
    """

    def __init__(self, directory: Path, settings: dict[str, dict[str, Any]]) -> None:
        self.directory = directory
        self.db_path = directory / "wxocr.db"
        ocr = {"threads": 2, **settings.get("ocr", {})}
        self.serving = serving_process(
            directory, database_url=f"sqlite:///{self.db_path}", settings={**settings, "ocr": ocr}
        )
        self.config = self.serving.config  # what the server will read
        self.config_file = self.serving.config_file
        self.port = self.config.server.port
        self.base = self.serving.base_url
        self.url = self.serving.webhook_url

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.serving.process

    def start(self) -> BotServer:
        self.serving.start(timeout_s=STARTUP_S, path="/healthz")
        return self

    def log(self) -> str:
        return self.serving.log()

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        self.serving.stop()

    # -- looking inside

    def usage(self, openid: str) -> list[tuple[str, str | None]]:
        """(outcome, error_code) of every usage row of ``openid``, oldest first."""
        with sqlite3.connect(self.db_path) as db:
            rows = db.execute(
                "SELECT outcome, error_code FROM usage WHERE openid = ? AND outcome != 'command'"
                " ORDER BY id",
                (openid,),
            ).fetchall()
        return [(str(outcome), code) for outcome, code in rows]

    def user(self, openid: str, *, safe: bool = False) -> Simulator:
        return Simulator(self.config, url=self.url, openid=openid, safe=safe, wait_s=WAIT_S)


class SandboxControl:
    """The sandbox's control endpoints (faults, counters)."""

    def __init__(self, api_base: str) -> None:
        self.api_base = api_base

    def fault(self, **rule: Any) -> None:
        response = httpx.post(f"{self.api_base}/_control/faults", json=rule)
        response.raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.api_base}/_control/faults").raise_for_status()

    def requests(self, path: str) -> int:
        stats = httpx.get(f"{self.api_base}/_control/stats").json()
        return int(stats["requests"].get(path, 0))


def answer(user: Simulator, outcome: PushOutcome, before: int) -> str:
    """What the user saw: the passive reply, else the customer-service message."""
    assert outcome.answered, outcome
    if outcome.reply is not None:
        return outcome.reply
    later = user.wait_for_custom_messages(before)
    assert len(later) == 1, later
    return later[0]


def send_photo(user: Simulator, data: bytes) -> str:
    before = len(user.custom_messages())
    return answer(user, user.send_photo(data), before)
