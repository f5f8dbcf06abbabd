"""Where the suite's time goes, as CPU time: a pytest plugin, off unless asked for.

    .venv/bin/pytest --cpu-top 30 [--cpu-json FILE] [tests...]

Wall time means little on a machine other people keep busy (a load of 20 on two cores
made every test 2-4 times slower), so each test's *process* CPU time is taken around its
set-up (its fixtures' set-up included: a module fixture's cost lands on the first test
that needs it), call and teardown (``time.process_time``: every thread of the process,
so the OCR engine's ONNX threads too). A subprocess (``wxocr serve``, the ``wxocr``
commands) is counted in ``children`` once it has been waited for, on the test that
reaped it (a module's server: its last test). The summary is printed without
pytest-xdist only; with it, ``--cpu-json`` gets every worker's lines, and

    .venv/bin/python -m tests.cpu_times FILE [--top 30]

prints the same summary from them, with each file's total and when each worker ended
(the leg's tail). Every line names the CPU it ran on (``cpu_model``): CPU seconds compare
only on one kind of processor (the suite took about 1140 s on an Intel Xeon and about
480-510 s on an AMD EPYC, both two cores), so a before and after are measured on one machine.
tests/conftest.py registers it; docs/development.md, "Finding slow tests".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from collections.abc import Generator, Iterable, Sequence
from functools import cache
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


@cache
def cpu_model() -> str:
    """The processor's name (/proc/cpuinfo on Linux): CPU seconds differ by kind of CPU."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
        record = record_of(item.nodeid, spent)
        self.records.append(record)
        if self.json_path is not None:
            with self.json_path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.records or not self.top:
            return
        terminalreporter.section(f"CPU time: the {self.top} costliest tests (s)")
        for line in summary(self.records, self.top, by_file=False):
            terminalreporter.write_line(line)


def record_of(test: str, spent: dict[str, float]) -> dict[str, Any]:
    """A test's line: its phases' CPU and wall time, their sums, which worker ran it, when
    it ended (the xdist tail: when each worker finished) and on which processor."""
    cpu = sum(spent.get(phase, 0.0) for phase in PHASES)
    wall = sum(spent.get(f"{phase}_wall", 0.0) for phase in PHASES)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return {
        "id": test,
        "worker": worker,
        "end": time.time(),
        **spent,
        "cpu": cpu,
        "wall": wall,
        "cpu_model": cpu_model(),
    }


def summary(records: Sequence[dict[str, Any]], top: int, *, by_file: bool = True) -> list[str]:
    """The ``top`` costliest tests, the totals and, from ``--cpu-json`` lines, each file's
    total (``by_file``) and when each worker ended after the first test did (the tail)."""
    lines = [f"{'cpu':>7} {'setup':>6} {'call':>6} {'child':>6} {'wall':>7}  test"]
    for r in sorted(records, key=lambda r: -(r["cpu"] + r["children"]))[:top]:
        lines.append(
            f"{r['cpu']:7.1f} {r.get('setup', 0.0):6.1f} {r.get('call', 0.0):6.1f}"
            f" {r['children']:6.1f} {r['wall']:7.1f}  {r['id']}"
        )
    cpu = sum(r["cpu"] for r in records)
    children = sum(r["children"] for r in records)
    wall = sum(r["wall"] for r in records)
    lines.append(f"total: {cpu:.1f} s CPU in the tests, {children:.1f} s in their subprocesses")
    lines.append(f"       {cpu + children:.1f} s CPU in all, {len(records)} tests")
    lines.append(f"       {wall:.1f} s of wall time in the tests")
    models = sorted({str(r["cpu_model"]) for r in records if r.get("cpu_model")})
    if models:
        lines.append(f"on: {'; '.join(models)}")
    if by_file:
        files: Counter[str] = Counter()
        for r in records:
            files[r["id"].partition("::")[0]] += r["cpu"] + r["children"]
        lines.append("CPU by file (s):")
        lines += [f"{spent:7.1f}  {name}" for name, spent in files.most_common(top)]
        first = min(r["end"] - r["wall"] for r in records)
        ends: dict[str, float] = {}
        for r in records:
            ends[r["worker"]] = max(ends.get(r["worker"], first), r["end"])
        lines.append("workers ended (s after the first test began):")
        lines += [f"{ends[w] - first:7.0f}  {w}" for w in sorted(ends)]
    return lines


def read_records(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """The lines of ``--cpu-json`` files (one JSON object a line)."""
    return [
        json.loads(line)
        for path in paths
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cpu_times", description="Summarise --cpu-json files."
    )
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    print("\n".join(summary(read_records(args.files), args.top)))


if __name__ == "__main__":
    main()
