"""Shared by the end-to-end tests: ``wxocr serve`` as a subprocess, the sandbox's controls,
the committed card fixtures, and what a user saw in answer to a photo."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from bot.config import load_config
from bot.db import create_db_engine, upgrade_database
from bot.simulate import PushOutcome, Simulator
from tests.conftest import free_port

WXOCR = Path(sys.executable).with_name("wxocr")
CARDS = Path(__file__).parent / "fixtures" / "cards"
AES_KEY = "wxocrE2eSafeModeKey0123456789abcdefghijklmn"
NOT_AN_IMAGE = b"%PDF-1.4 this is a document, not a photo\n" * 20
STARTUP_S = 60.0


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


def _toml(settings: dict[str, dict[str, Any]]) -> str:
    # JSON scalars and arrays are valid TOML values.
    lines: list[str] = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


class BotServer:
    """``wxocr serve --config FILE`` in a subprocess; its database is a file we can read."""

    def __init__(self, directory: Path, settings: dict[str, dict[str, Any]]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = free_port()
        self.db_path = directory / "wxocr.db"
        base: dict[str, dict[str, Any]] = {
            "server": {"host": "127.0.0.1", "port": self.port, "threads": 16},
            "database": {"url": f"sqlite:///{self.db_path}"},
            "log": {"level": "WARNING"},
            "ocr": {"threads": 2},
        }
        for section, values in settings.items():
            base.setdefault(section, {}).update(values)
        self.config_file = directory / "config.toml"
        self.config_file.write_text(_toml(base), encoding="utf-8")
        self.config = load_config(self.config_file)  # what the server will read
        engine = create_db_engine(self.config.database.url)
        upgrade_database(engine)
        engine.dispose()
        self.process: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = self.base + self.config.server.path

    def start(self) -> BotServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WXOCR_")}
        log = (self.directory / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [str(WXOCR), "serve", "--config", str(self.config_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not start:\n" + self.log())

    def log(self) -> str:
        return (self.directory / "serve.log").read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """kill -9: no clean-up of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

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
        return Simulator(self.config, url=self.url, openid=openid, safe=safe, wait_s=60)


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
