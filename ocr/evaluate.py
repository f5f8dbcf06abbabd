"""Accuracy and latency of an engine over a labelled directory (the `wxocr eval` contract).

A directory holds ``NAME.jpg|png`` + ``NAME.json`` =
``{"kind": a kind of ocr/kinds/ (e.g. "idcard"), "mode": "photo"|"scan", "expected": {...}}`` with
WeChat's field names. ``expected == {"error": "no_card"}`` marks a photo with no
readable card: it is correct when the engine says so (NoCardFound) instead of
inventing fields.

A *silent error* is a wrong, non-empty value returned with no warning at all: the
answer a user has no reason to doubt. It is counted per field beside the exact-match
score, because that is the number users are hurt by.

A table's label holds ``expected.cells`` (rows of cell strings): the field ``cells`` is
counted per cell, all of a sample's cells wrong when its row or column count is; its
silent errors count tables (samples), not cells.

A label may list ``"warnings": [code, ...]``: the warnings the photo deserves. For
each code listed in any label, ``--json`` carries ``{"detected", "total",
"false_alarms", "clean"}`` over the samples whose label has the list (``total``
listing the code, ``clean`` not); samples without the list are not counted.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ocr.documents import character_error_rate, table_cells_correct
from ocr.engine import AUTO, CardResult, Engine, Kind, Mode
from ocr.errors import OcrError
from ocr.kinds import check_kind, get_kind
from ocr.quality import LEGACY_CODES

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
ERROR_FIELD = "error"
KIND_FIELD = "kind"
# A table's label: ``expected.cells``, rows of cell strings; scored per cell, not per sample.
CELLS_FIELD = "cells"


@dataclass(frozen=True)
class Sample:
    name: str
    image: Path
    kind: Kind
    mode: Mode
    expected: dict[str, str]
    warnings: tuple[str, ...] | None = None  # None: the label says nothing of warnings
    cells: list[list[str]] | None = None  # a table's expected cells (``expected.cells``)


@dataclass
class SampleOutcome:
    sample: Sample
    latency_ms: float
    wrong: dict[str, tuple[str, str]]  # field -> (expected, got)
    error: str | None = None
    silent: frozenset[str] = frozenset()  # wrong fields returned with no warning at all
    warned: tuple[str, ...] = ()  # the warnings the engine gave
    cells: tuple[int, int] = (0, 0)  # a table's (cells right, cells expected)


@dataclass
class FieldScore:
    correct: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.correct / self.total if self.total else 0.0


@dataclass
class WarningScore:
    detected: int = 0  # labelled with the code and warned
    total: int = 0  # labelled with the code
    false_alarms: int = 0  # warned though not labelled with it
    clean: int = 0  # labelled samples without the code

    def as_json(self) -> dict[str, int]:
        return {
            "detected": self.detected,
            "total": self.total,
            "false_alarms": self.false_alarms,
            "clean": self.clean,
        }


@dataclass
class Report:
    outcomes: list[SampleOutcome] = field(default_factory=list)
    fields: dict[str, FieldScore] = field(default_factory=dict)
    silent: dict[str, int] = field(default_factory=dict)
    # (expected, read) texts of the kinds that declare a ``cer_field``.
    cer_pairs: list[tuple[str, str]] = field(default_factory=list)

    def cer(self) -> float | None:
        """The character error rate over the set, None when no kind of it has a text field."""
        return round(character_error_rate(self.cer_pairs), 4) if self.cer_pairs else None

    def latency_ms(self) -> dict[str, float]:
        return latency_summary([o.latency_ms for o in self.outcomes])

    def worst(self, count: int = 10) -> list[SampleOutcome]:
        bad = [o for o in self.outcomes if o.wrong]
        return sorted(bad, key=lambda o: (-len(o.wrong), o.sample.name))[:count]

    def warning_scores(self) -> dict[str, WarningScore]:
        labelled = [o for o in self.outcomes if o.sample.warnings is not None]
        codes = sorted({code for o in labelled for code in o.sample.warnings or ()})
        scores = {code: WarningScore() for code in codes}
        for outcome in labelled:
            for code, score in scores.items():
                warned = code in outcome.warned
                if code in (outcome.sample.warnings or ()):
                    score.total += 1
                    score.detected += warned
                else:
                    score.clean += 1
                    score.false_alarms += warned
        return scores

    def as_json(self) -> dict[str, Any]:
        """Exactly the shape ARCHITECTURE.md promises for ``wxocr eval --json``."""
        body = self._fields_json()
        cer = self.cer()
        if cer is not None:
            body["cer"] = cer
        scores = self.warning_scores()
        if scores:
            body["warnings"] = {code: score.as_json() for code, score in scores.items()}
        return body

    def _fields_json(self) -> dict[str, Any]:
        return {
            "samples": len(self.outcomes),
            "fields": {
                name: {"correct": s.correct, "total": s.total}
                for name, s in sorted(self.fields.items())
            },
            "silent": {name: self.silent.get(name, 0) for name in sorted(self.fields)},
            "latency_ms": self.latency_ms(),
            "errors": [
                {"sample": o.sample.name, "error": o.error}
                for o in self.outcomes
                if o.error and o.sample.expected.get(ERROR_FIELD) != o.error
            ],
        }


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "p50": round(statistics.median(values_ms), 1) if values_ms else 0.0,
        "p95": round(percentile(values_ms, 95), 1),
    }


def load_samples(directory: Path) -> list[Sample]:
    """Every labelled image in ``directory``, sorted by name. Bad labels raise ValueError."""
    if not directory.is_dir():
        raise ValueError(f"not a directory: {directory}")
    samples = []
    for label_path in sorted(directory.glob("*.json")):
        image = next(
            (p for s in IMAGE_SUFFIXES if (p := label_path.with_suffix(s)).is_file()), None
        )
        if image is None:
            continue
        try:
            label = json.loads(label_path.read_text(encoding="utf-8"))
            kind = check_kind(str(label["kind"]))
            mode = label.get("mode", "photo")
            raw = dict(label["expected"])
            cells = _label_cells(raw.pop(CELLS_FIELD)) if CELLS_FIELD in raw else None
            expected = {str(k): str(v) for k, v in raw.items()}
            warnings = label.get("warnings")
            if warnings is not None and (
                not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings)
            ):
                raise TypeError("warnings must be a list of codes")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"bad label file {label_path.name}: {exc}") from exc
        if kind == AUTO or mode not in ("photo", "scan"):
            raise ValueError(f"bad label file {label_path.name}: kind/mode out of range")
        # A code renamed since a label was written still counts as its new name.
        listed = (
            tuple(LEGACY_CODES.get(str(code), str(code)) for code in warnings)
            if warnings is not None
            else None
        )
        samples.append(
            Sample(label_path.stem, image, kind, cast(Mode, mode), expected, listed, cells)
        )
    return samples


def _label_cells(value: object) -> list[list[str]]:
    """``expected.cells`` of a label: a list of rows, each a list of strings."""
    if not isinstance(value, list) or not all(
        isinstance(row, list) and all(isinstance(cell, str) for cell in row) for row in value
    ):
        raise TypeError("cells must be a list of rows of strings")
    return [list(row) for row in value]


def normalise(field_name: str, value: str) -> str:
    value = value.strip()
    return re.sub(r"\D", "", value) if field_name == "number" else value


def compare(
    sample: Sample, result: CardResult | None, error: str | None
) -> dict[str, tuple[str, str]]:
    """Fields that differ from the label: name -> (expected, got)."""
    expected_error = sample.expected.get(ERROR_FIELD)
    if expected_error is not None:
        got = error or "fields"
        return {} if got == expected_error else {ERROR_FIELD: (expected_error, got)}
    got_fields = result.fields if result else {}
    wrong = {}
    for name, want in sample.expected.items():
        have = got_fields.get(name, "")
        if normalise(name, have) != normalise(name, want):
            wrong[name] = (want, have)
    if sample.cells is not None:
        got_cells = result.cells if result and result.cells is not None else []
        right, total = table_cells_correct(sample.cells, got_cells)
        if right < total:
            shown = json.dumps(got_cells, ensure_ascii=False) if got_cells else ""
            wrong[CELLS_FIELD] = (json.dumps(sample.cells, ensure_ascii=False), shown)
    return wrong


# Warnings that say something true of the card, not that the reading may be wrong: a
# wrong value beside them is still claimed without a doubt.
NO_DOUBT_WARNINGS = frozenset({"expired", "temporary"})


def silent_errors(wrong: dict[str, tuple[str, str]], result: CardResult | None) -> frozenset[str]:
    """The wrong fields that were returned with a value and no warning of doubt."""
    if result is None or set(result.warnings) - NO_DOUBT_WARNINGS:
        return frozenset()
    return frozenset(name for name, (_, got) in wrong.items() if got.strip())


def iter_outcomes(
    engine: Engine,
    samples: list[Sample],
    auto_kind: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[tuple[SampleOutcome, CardResult | None]]:
    for sample in samples:
        data = sample.image.read_bytes()
        kind = AUTO if auto_kind else sample.kind
        result: CardResult | None = None
        error: str | None = None
        started = clock()
        try:
            result = engine.recognize(data, kind, sample.mode)
        except OcrError as exc:
            error = exc.code
        latency = (clock() - started) * 1000
        wrong = compare(sample, result, error)
        if auto_kind and sample.expected.get(ERROR_FIELD) is None:
            detected = result.kind if result else (error or "")
            if detected != sample.kind:
                wrong[KIND_FIELD] = (sample.kind, detected)
        silent = silent_errors(wrong, result)
        warned = tuple(result.warnings) if result else ()
        cells = (0, 0)
        if sample.cells is not None:
            read = result.cells if result is not None and result.cells is not None else []
            cells = table_cells_correct(sample.cells, read)
        yield SampleOutcome(sample, latency, wrong, error, silent, warned, cells), result


def evaluate(
    engine: Engine,
    directory: Path,
    auto_kind: bool = False,
    progress: Callable[[SampleOutcome], None] | None = None,
) -> Report:
    samples = load_samples(directory)
    report = Report()
    for outcome, result in iter_outcomes(engine, samples, auto_kind):
        report.outcomes.append(outcome)
        expected = outcome.sample.expected
        names = list(expected)
        kind = get_kind(outcome.sample.kind)
        if kind.eval_counts is not None and ERROR_FIELD not in expected:
            _add_counts(report, kind.eval_counts, outcome, result)
            names = []
        if outcome.sample.cells is not None:
            names.append(CELLS_FIELD)
        if kind.cer_field is not None and kind.cer_field in expected:
            got = result.fields.get(kind.cer_field, "") if result else ""
            report.cer_pairs.append((expected[kind.cer_field], got))
        if auto_kind and ERROR_FIELD not in expected:
            names.append(KIND_FIELD)
        for name in names:
            score = report.fields.setdefault(name, FieldScore())
            if name == CELLS_FIELD:
                # Counted per cell (all of a sample's wrong when its shape is).
                score.correct += outcome.cells[0]
                score.total += outcome.cells[1]
            else:
                score.total += 1
                score.correct += name not in outcome.wrong
            report.silent[name] = report.silent.get(name, 0) + (name in outcome.silent)
        if progress:
            progress(outcome)
    return report


def _add_counts(
    report: Report,
    counts_of: Callable[[dict[str, str], dict[str, str]], dict[str, tuple[int, int]]],
    outcome: SampleOutcome,
    result: CardResult | None,
) -> None:
    """A kind's own counts (a page's lines): its wrong items are silent when the sample's
    wrong fields are."""
    counts = counts_of(outcome.sample.expected, result.fields if result else {})
    for name, (correct, total) in counts.items():
        score = report.fields.setdefault(name, FieldScore())
        score.total += total
        score.correct += correct
        missed = (total - correct) if outcome.silent else 0
        report.silent[name] = report.silent.get(name, 0) + missed
