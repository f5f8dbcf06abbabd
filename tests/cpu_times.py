"""Where the suite's time goes, as CPU time: a pytest plugin, off unless asked for.

    .venv/bin/pytest --cpu-top 30 [--cpu-json FILE] [tests...]

Wall time means little on a machine other people keep busy (a load of 20 on two cores
made every test 2-4 times slower), so each test's *process* CPU time is taken around its
set-up (its fixtures' set-up included: a module fixture's cost lands on the first test
that needs it), call and teardown (``time.process_time``: every thread of the process,
so the OCR engine's ONNX threads too). A subprocess (``wxocr serve``, the ``wxocr``
commands) is counted in ``children`` once it has been waited for, on the test that
reaped it (a module's server: its last test). The summary is printed without
pytest-xdist only; with it, ``--cpu-json`` gets every worker's lines.
tests/conftest.py registers it; docs/development.md, "Finding slow tests".
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

_SPENT = pytest.StashKey[dict[str, float]]()
PHASES = ("setup", "call", "teardown")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("cpu_times", "CPU time per test (tests/cpu_times.py)")
    group.addoption("--cpu-top", type=int, default=0, help="print the N costliest tests")
    group.addoption("--cpu-json", default=None, help="append one JSON line per test to FILE")


def wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("--cpu-top") or config.getoption("--cpu-json"))


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


class CpuTimes:
    def __init__(self, top: int, json_path: str | None) -> None:
        self.top = top
        self.json_path = Path(json_path) if json_path else None
        self.records: list[dict[str, Any]] = []

    def _timed(self, item: pytest.Item, phase: str) -> Generator[None, None, None]:
        cpu, wall = time.process_time(), time.perf_counter()
        yield
        spent = item.stash.setdefault(_SPENT, {})
        spent[phase] = time.process_time() - cpu
        spent[f"{phase}_wall"] = time.perf_counter() - wall

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        item.stash.setdefault(_SPENT, {})["children_before"] = _children_cpu()
        yield from self._timed(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        yield from self._timed(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        yield from self._timed(item, "teardown")
        spent = item.stash[_SPENT]
        spent["children"] = _children_cpu() - spent.pop("children_before")
        spent["cpu"] = sum(spent.get(phase, 0.0) for phase in PHASES)
        spent["wall"] = sum(spent.get(f"{phase}_wall", 0.0) for phase in PHASES)
        # Which worker ran it and when it ended: the xdist tail (when each worker finished).
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        record: dict[str, Any] = {"id": item.nodeid, "worker": worker, "end": time.time(), **spent}
        self.records.append(record)
        if self.json_path is not None:
            with self.json_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.records or not self.top:
            return
        write = terminalreporter.write_line
        terminalreporter.section(f"CPU time: the {self.top} costliest tests (s)")
        write(f"{'cpu':>7} {'setup':>6} {'call':>6} {'child':>6} {'wall':>7}  test")
        for r in sorted(self.records, key=lambda r: -(r["cpu"] + r["children"]))[: self.top]:
            write(
                f"{r['cpu']:7.1f} {r.get('setup', 0.0):6.1f} {r.get('call', 0.0):6.1f}"
                f" {r['children']:6.1f} {r['wall']:7.1f}  {r['id']}"
            )
        cpu = sum(r["cpu"] for r in self.records)
        children = sum(r["children"] for r in self.records)
        wall = sum(r["wall"] for r in self.records)
        write(f"total: {cpu:.1f} s CPU in the tests, {children:.1f} s in their subprocesses")
        write(f"       {wall:.1f} s of wall time in the tests")
