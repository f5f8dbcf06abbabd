"""What the local OCR engine reads of issue 15's document kinds before they have kind
modules: raw text recall on a generated set.

    .venv/bin/python -m tests.cardgen --kind passport --count 30 --mode photo --out build/pp30
    .venv/bin/python scripts/doc_baseline.py build/pp30 [--json]

Per field: the share of samples whose expected value appears in the OCR text (spaces
removed; each of a business card's ';'-joined numbers counted on its own; driving licence
dates as printed). Passports also get the MRZ: the two 44-character lines found and
parsed by ocr.documents.parse_td3, and each field compared with the label. Text: the
share of expected lines read exactly (anywhere) and the character error rate of all
lines in the engine's reading order. Tables: the share of cells read exactly as a box.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ocr.documents import character_error_rate, mrz_date, parse_td3, split_numbers
from ocr.image import decode_image
from ocr.layout import reading_lines
from ocr.local import OcrSettings, RapidReader

REFERENCE_DATE_ISO = "2026-11-01"  # tests/cardgen's fixed today


def _compact(text: str) -> str:
    return "".join(text.split())


def _mrz_lines(lines: list[str]) -> tuple[str, str] | None:
    """Line 1 (starts with P, holds fillers) and the next line of about 44 characters:
    line 2 of a Chinese passport has no filler at all."""
    compact = [_compact(line) for line in lines]
    for i, line in enumerate(compact):
        if line.startswith("P") and "<" in line and 38 <= len(line) <= 50:
            after = [c for c in compact[i + 1 :] if 38 <= len(c) <= 50]
            return (line, after[0]) if after else None
    return None


def _passport_mrz(lines: list[str], expected: dict[str, str], tally: Counter[str]) -> None:
    found = _mrz_lines(lines)
    td3 = parse_td3(*found) if found else None
    tally["mrz:found"] += td3 is not None
    if td3 is None:
        return
    tally["mrz:all_checks"] += td3.all_checks_ok
    today = dt.date.fromisoformat(REFERENCE_DATE_ISO)
    read = {
        "number": td3.number,
        "surname": td3.surname,
        "given_names": td3.given_names,
        "nationality": td3.nationality,
        "issuing_country": td3.issuing_country,
        "sex": td3.sex,
        "birth": mrz_date(td3.birth, expiry=False, today=today),
        "expiry": mrz_date(td3.expiry, expiry=True, today=today),
    }
    for name, value in read.items():
        tally[f"mrz:{name}"] += value == expected.get(name)


def measure(directory: Path) -> dict[str, Any]:
    reader = RapidReader(OcrSettings())
    totals: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    latencies: list[float] = []
    cer_pairs: list[tuple[str, str]] = []
    kinds: set[str] = set()
    for label_path in sorted(directory.glob("*.json")):
        image_path = next(
            (p for s in (".jpg", ".png") if (p := label_path.with_suffix(s)).is_file()), None
        )
        if image_path is None:
            continue
        label = json.loads(label_path.read_text(encoding="utf-8"))
        kind, expected = label["kind"], label["expected"]
        kinds.add(kind)
        started = time.perf_counter()
        page = reader.read(decode_image(image_path.read_bytes()))
        frames = page.frames()
        lines = [line.text for line in reading_lines(page.boxes, frames[0])] if frames else []
        latencies.append((time.perf_counter() - started) * 1000)
        boxes = {_compact(box.text) for box in page.boxes}
        everything = _compact("".join(lines))
        if kind == "text":
            wanted = expected["text"].split("\n")
            totals["lines"] += len(wanted)
            hits["lines"] += sum(_compact(w) in {_compact(line) for line in lines} for w in wanted)
            cer_pairs.append((expected["text"], "\n".join(lines)))
        elif kind == "table":
            cells = [cell for row in expected["cells"] for cell in row]
            totals["cells"] += len(cells)
            hits["cells"] += sum(_compact(cell) in boxes for cell in cells)
        else:
            for name, value in expected.items():
                parts = split_numbers(value) if name in ("mobile", "phone") else [value]
                for part in parts:
                    totals[name] += 1
                    hits[name] += _compact(part) in everything
            if kind == "passport":
                mrz_tally: Counter[str] = Counter()
                _passport_mrz(lines, expected, mrz_tally)
                for name in ("found", "all_checks", *expected):
                    if name != "name_cn":
                        totals[f"mrz:{name}"] += 1
                        hits[f"mrz:{name}"] += mrz_tally[f"mrz:{name}"]
    result: dict[str, Any] = {
        "kinds": sorted(kinds),
        "samples": len(latencies),
        "fields": {name: {"found": hits[name], "total": totals[name]} for name in sorted(totals)},
        "latency_ms": {
            "p50": round(statistics.median(latencies)) if latencies else 0,
            "p95": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))]) if latencies else 0,
        },
    }
    if cer_pairs:
        result["cer"] = round(character_error_rate(cer_pairs), 4)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(args.directory)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    latency = result["latency_ms"]
    print(f"{', '.join(result['kinds'])}: {result['samples']} samples, ", end="")
    print(f"p50 {latency['p50']} ms, p95 {latency['p95']} ms")
    for name, counts in result["fields"].items():
        share = counts["found"] / counts["total"] if counts["total"] else 0.0
        print(f"  {name:<22} {counts['found']:>4}/{counts['total']:<4} {share:6.1%}")
    if "cer" in result:
        print(f"  cer {result['cer']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
