"""Scoring of `wxocr eval`: exact match per field, kind detection, no-card samples, JSON shape.

The engine here is a scripted stand-in for the OCR engine (an Engine implementation
that answers from a table), so the scoring rules can be checked exactly; the real
engine's accuracy is asserted in test_local.py / test_cli_eval.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocr.engine import AUTO, CardResult, Kind, Mode
from ocr.errors import NoCardFound
from ocr.evaluate import evaluate, load_samples, percentile


class ScriptedEngine:
    name = "scripted"

    def __init__(self, answers: dict[bytes, CardResult | None]) -> None:
        self.answers = answers
        self.calls: list[Kind] = []

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        self.calls.append(kind)
        answer = self.answers[image]
        if answer is None:
            raise NoCardFound("no card")
        return answer


def write_sample(directory: Path, name: str, image: bytes, label: dict[str, object]) -> None:
    (directory / f"{name}.jpg").write_bytes(image)
    (directory / f"{name}.json").write_text(json.dumps(label, ensure_ascii=False), "utf-8")


@pytest.fixture
def labelled(tmp_path: Path) -> tuple[Path, ScriptedEngine]:
    write_sample(
        tmp_path,
        "a_front",
        b"A",
        {
            "kind": "idcard",
            "mode": "photo",
            "expected": {"type": "Front", "name": "林娜", "id": "32010219900307432X"},
        },
    )
    write_sample(
        tmp_path,
        "b_bank",
        b"B",
        {"kind": "bankcard", "mode": "scan", "expected": {"number": "6222021234567890"}},
    )
    write_sample(
        tmp_path,
        "c_blank",
        b"C",
        {"kind": "idcard", "mode": "photo", "expected": {"error": "no_card"}},
    )
    write_sample(
        tmp_path,
        "d_missed",
        b"D",
        {"kind": "bankcard", "mode": "photo", "expected": {"number": "6222021234567891"}},
    )
    (tmp_path / "orphan.json").write_text("{}", "utf-8")  # no image: ignored
    engine = ScriptedEngine(
        {
            b"A": CardResult(
                "idcard", {"type": "Front", "name": " 林娜 ", "id": "32010219900307432x"}
            ),
            b"B": CardResult("idcard", {"number": "6222 0212 3456 7890"}),
            b"C": None,
            b"D": None,
        }
    )
    return tmp_path, engine


def test_fields_are_scored_by_exact_match_after_trimming(
    labelled: tuple[Path, ScriptedEngine],
) -> None:
    directory, engine = labelled
    report = evaluate(engine, directory).as_json()
    assert report["samples"] == 4
    assert report["fields"] == {
        "type": {"correct": 1, "total": 1},
        "name": {"correct": 1, "total": 1},
        "id": {"correct": 0, "total": 1},  # x != X: exact means exact
        "number": {"correct": 1, "total": 2},  # spaces ignored for number; D failed
        "error": {"correct": 1, "total": 1},  # the blank photo was refused, as it should be
    }
    assert report["errors"] == [{"sample": "d_missed", "error": "no_card"}]
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert engine.calls == ["idcard", "bankcard", "idcard", "bankcard"]


def test_auto_kind_hides_the_kind_and_scores_detection(
    labelled: tuple[Path, ScriptedEngine],
) -> None:
    directory, engine = labelled
    report = evaluate(engine, directory, auto_kind=True)
    assert set(engine.calls) == {AUTO}
    assert report.as_json()["fields"]["kind"] == {"correct": 1, "total": 3}
    worst = report.worst()
    assert worst[0].sample.name in {"b_bank", "d_missed"}


def test_bad_labels_name_the_file(tmp_path: Path) -> None:
    write_sample(tmp_path, "bad", b"X", {"kind": "nonsense", "expected": {}})
    with pytest.raises(ValueError, match=r"bad\.json"):
        load_samples(tmp_path)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 50) == 0.0


def test_silent_errors_count_wrong_values_returned_without_any_warning(tmp_path: Path) -> None:
    number: dict[str, object] = {
        "kind": "bankcard",
        "mode": "photo",
        "expected": {"number": "6222021234567890"},
    }
    for name, image in (("a", b"A"), ("b", b"B"), ("c", b"C"), ("d", b"D"), ("e", b"E")):
        write_sample(tmp_path, name, image, number)
    wrong = "6222021234567809"
    engine = ScriptedEngine(
        {
            b"A": CardResult("bankcard", {"number": wrong}),  # silent: looks right, is not
            b"B": CardResult("bankcard", {"number": wrong}, warnings=["number_corrected"]),
            b"C": CardResult("bankcard", {"number": ""}),  # nothing claimed
            b"D": None,  # refused: no value at all
            b"E": CardResult("bankcard", {"number": "6222021234567890"}),
        }
    )
    report = evaluate(engine, tmp_path)
    assert [o.silent for o in report.outcomes] == [frozenset({"number"})] + [frozenset()] * 4
    as_json = report.as_json()
    assert as_json["fields"]["number"] == {"correct": 1, "total": 5}
    assert as_json["silent"] == {"number": 1}


def test_a_wrong_kind_without_warning_is_a_silent_error(
    labelled: tuple[Path, ScriptedEngine],
) -> None:
    directory, engine = labelled
    report = evaluate(engine, directory, auto_kind=True).as_json()
    # b_bank came back as an ID card with no warning; its number was right.
    assert report["silent"]["kind"] == 1
    assert report["silent"]["number"] == 0
    assert report["silent"]["id"] == 1  # a lower-case x, claimed without a doubt
    assert set(report["silent"]) == set(report["fields"])


def test_warnings_listed_in_labels_are_counted_per_code(tmp_path: Path) -> None:
    back = {"type": "Back", "valid_date": "20070816-20170816"}
    label: dict[str, object] = {"kind": "idcard", "mode": "photo", "expected": back}
    write_sample(tmp_path, "a", b"A", {**label, "warnings": ["expired"]})
    write_sample(tmp_path, "b", b"B", {**label, "warnings": ["expired"]})
    write_sample(tmp_path, "c", b"C", {**label, "warnings": []})
    write_sample(tmp_path, "d", b"D", {**label, "warnings": []})
    write_sample(tmp_path, "e", b"E", label)  # says nothing of warnings: not counted
    expired = CardResult("idcard", dict(back), warnings=["expired"])
    engine = ScriptedEngine(
        {
            b"A": expired,
            b"B": None,
            b"C": expired,
            b"D": CardResult("idcard", dict(back)),
            b"E": expired,
        }
    )
    report = evaluate(engine, tmp_path).as_json()
    assert report["warnings"] == {
        "expired": {"detected": 1, "total": 2, "false_alarms": 1, "clean": 2}
    }
    # An expired card read right is no silent error, nor is a wrong one beside "expired" hidden.
    assert report["silent"]["valid_date"] == 0


def test_no_warning_labels_no_warnings_key(
    labelled: tuple[Path, ScriptedEngine],
) -> None:
    directory, engine = labelled
    assert "warnings" not in evaluate(engine, directory).as_json()


def test_a_bad_warnings_label_is_refused(tmp_path: Path) -> None:
    label: dict[str, object] = {
        "kind": "bankcard",
        "expected": {"number": "1"},
        "warnings": "expired",
    }
    write_sample(tmp_path, "a", b"A", label)
    with pytest.raises(ValueError, match=r"bad label file a\.json"):
        load_samples(tmp_path)


def test_expired_is_no_doubt_and_does_not_hide_a_silent_error(tmp_path: Path) -> None:
    label: dict[str, object] = {
        "kind": "idcard",
        "expected": {"type": "Back", "valid_date": "20070816-20170816"},
    }
    write_sample(tmp_path, "a", b"A", label)
    misread = {"type": "Back", "valid_date": "20070816-20170818"}
    engine = ScriptedEngine({b"A": CardResult("idcard", misread, warnings=["expired"])})
    assert evaluate(engine, tmp_path).as_json()["silent"]["valid_date"] == 1


TABLE = [["品名", "数量"], ["苹果", "3"], ["香蕉", "12"]]


def test_table_cells_are_counted_per_cell_and_a_wrong_shape_counts_all_wrong(
    tmp_path: Path,
) -> None:
    for name, image in (("t_right", b"T1"), ("t_one_off", b"T2"), ("t_shifted", b"T3")):
        write_sample(tmp_path, name, image, {"kind": "table", "expected": {"cells": TABLE}})
    write_sample(tmp_path, "t_unread", b"T4", {"kind": "table", "expected": {"cells": TABLE}})
    one_off = [row[:] for row in TABLE]
    one_off[2][1] = "72"
    engine = ScriptedEngine(
        {
            b"T1": CardResult("table", {}, cells=[[f" {c} " for c in row] for row in TABLE]),
            b"T2": CardResult("table", {}, cells=one_off, warnings=["blur"]),
            # A column lost: the values that remain are all in the wrong place.
            b"T3": CardResult("table", {}, cells=[[row[1]] for row in TABLE]),
            b"T4": None,
        }
    )
    report = evaluate(engine, tmp_path)
    body = report.as_json()
    assert body["fields"] == {"cells": {"correct": 6 + 5 + 0 + 0, "total": 24}}
    # Silent errors of a table count samples: the shifted one came with no warning.
    assert body["silent"] == {"cells": 1}
    wrong = {o.sample.name: o.wrong for o in report.outcomes}
    assert "cells" not in wrong["t_right"] and "cells" in wrong["t_one_off"]
    assert json.loads(wrong["t_shifted"]["cells"][1]) == [["数量"], ["3"], ["12"]]


def test_a_table_label_must_hold_rows_of_strings(tmp_path: Path) -> None:
    write_sample(tmp_path, "t", b"T", {"kind": "table", "expected": {"cells": [["a", 1]]}})
    with pytest.raises(ValueError, match=r"bad label file t\.json: cells must be"):
        load_samples(tmp_path)
