"""``wxocr serve`` as a child process: the handle the benchmarks, the load test and the
tests use (:func:`running_server` for a throw-away one)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.config import Config
from bot.metrics_env import METRICS_RUN_DIR_ENV, MULTIPROC_DIR_ENV
from bot.serving.workers import GRACEFUL_TIMEOUT_S, free_port

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

    def start(self, *, timeout_s: float = 300.0, path: str = "/readyz") -> ServingProcess:
        """Start and wait until ``path`` answers 200 (by default: ready for traffic).

        ``timeout_s`` is a hang guard: it returns as soon as the server is ready, and on a
        loaded machine (load 36 on 2 cores) starting took over 90 s."""
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
    from bot.store.db import create_db_engine, upgrade_database

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
