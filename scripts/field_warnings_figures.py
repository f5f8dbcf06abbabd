"""Field-decided warnings against the truth the labels imply (issue 16's figures:
docs/warnings.md, "Field-decided warnings").

For each labelled directory: whether a card deserves ``expired`` / ``invalid_period``
follows from its labelled fields and today; the engine (not told the kind) must find
it from what it read. ``field_missing:<name>`` is listed per sample with whether the
label has a value there (a field the label lacks is not on the photo either).

    .venv/bin/python scripts/field_warnings_figures.py tests/fixtures/cards ../shared/real-dev
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path

from ocr.engines import create_engine
from ocr.evaluate import ERROR_FIELD, iter_outcomes, load_samples
from ocr.field_warnings import MISSING_PREFIX
from ocr.kinds import get_kind

CODES = ("expired", "invalid_period")


def deserved(kind: str, expected: dict[str, str], today: dt.date) -> set[str]:
    return set(get_kind(kind).warnings(expected, today, ()))


def main(directories: list[str]) -> None:
    today = dt.date.today()
    engine = create_engine("local", threads=2)
    for directory in directories:
        counts: Counter[str] = Counter()
        for outcome, _ in iter_outcomes(engine, load_samples(Path(directory)), auto_kind=True):
            expected = outcome.sample.expected
            if ERROR_FIELD in expected:
                continue
            truth = deserved(outcome.sample.kind, expected, today)
            for code in CODES:
                side = "total" if code in truth else "clean"
                counts[f"{code} {side}"] += 1
                counts[f"{code} {'detected' if side == 'total' else 'false_alarms'}"] += (
                    code in outcome.warned
                )
            for warning in outcome.warned:
                if warning.startswith(MISSING_PREFIX):
                    name = warning.removeprefix(MISSING_PREFIX)
                    on_label = "labelled" if expected.get(name) else "not on the label"
                    print(f"  {outcome.sample.name}: {warning} ({on_label})")
                    counts[f"field_missing {on_label}"] += 1
            counts["samples"] += 1
        print(directory, dict(sorted(counts.items())))


if __name__ == "__main__":
    main(sys.argv[1:])
