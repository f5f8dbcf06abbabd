"""tests/cpu_times.py: the --cpu-json lines name their processor, and their summary adds up.

CPU seconds compare only on one kind of processor, so every line says which it ran on;
``python -m tests.cpu_times FILE`` summarises a pytest-xdist leg's lines as the plugin
summarises a serial run (docs/development.md, "Finding slow tests").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import cpu_times


def record(test: str, worker: str, end: float, cpu: float, children: float) -> dict[str, Any]:
    return {
        "id": test,
        "worker": worker,
        "end": end,
        "setup": 0.0,
        "call": cpu,
        "teardown": 0.0,
        "children": children,
        "cpu": cpu,
        "wall": 2.0,
        "cpu_model": "Test CPU",
    }


def test_the_summary_adds_tests_and_subprocesses_by_file_and_each_workers_end() -> None:
    records = [
        record("tests/test_a.py::test_one", "gw0", 102.0, 1.0, 4.0),
        record("tests/test_a.py::test_two", "gw0", 110.0, 2.0, 0.0),
        record("tests/test_b.py::test_three", "gw1", 105.0, 3.0, 0.5),
    ]
    lines = cpu_times.summary(records, 2)
    table = lines[1:3]  # the two costliest, costliest first (its subprocesses count)
    assert table[0].endswith("tests/test_a.py::test_one") and table[1].endswith("test_three")
    assert "6.0 s CPU in the tests, 4.5 s in their subprocesses" in lines[3]
    assert "10.5 s CPU in all, 3 tests" in lines[4]
    assert "on: Test CPU" in lines
    by_file = lines[lines.index("CPU by file (s):") + 1 :][:2]
    assert [line.split() for line in by_file] == [
        ["7.0", "tests/test_a.py"],
        ["3.5", "tests/test_b.py"],
    ]
    # The first test began at 100 (it ended at 102 after 2 s of wall): gw0 ended 10 s later.
    ends = lines[lines.index("workers ended (s after the first test began):") + 1 :]
    assert [line.split() for line in ends] == [["10", "gw0"], ["5", "gw1"]]


def test_a_line_names_its_processor_and_the_module_summarises_the_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spent = {"setup": 0.5, "setup_wall": 1.0, "call": 1.5, "call_wall": 3.0, "children": 2.0}
    line = cpu_times.record_of("tests/test_x.py::test_y", spent)
    assert (line["cpu"], line["wall"], line["children"]) == (2.0, 4.0, 2.0)
    assert line["cpu_model"] == cpu_times.cpu_model() != ""
    out = tmp_path / "cpu.jsonl"
    out.write_text(json.dumps(line) + "\n", encoding="utf-8")
    cpu_times.main([str(out), "--top", "5"])
    printed = capsys.readouterr().out
    assert "tests/test_x.py::test_y" in printed and f"on: {line['cpu_model']}" in printed
    assert "4.0 s CPU in all, 1 tests" in printed
