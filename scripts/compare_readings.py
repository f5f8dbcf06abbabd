"""Whether two versions of the engine give the same answers, and at what CPU cost.

    # with each version's code on the path (an old tree: PYTHONPATH=/path/to/old/tree)
    .venv/bin/python scripts/compare_readings.py read DIR [DIR ...] --out build/old.jsonl
    .venv/bin/python scripts/compare_readings.py read DIR [DIR ...] --out build/new.jsonl
    .venv/bin/python scripts/compare_readings.py diff build/old.jsonl build/new.jsonl

``read`` reads every photo of the labelled sets (``NAME.jpg|png`` with ``NAME.json``, as
``wxocr eval``; ``--first N`` per set) with the local engine in its default settings, the
kind detected, and writes one JSON line per photo: what ``wxocr scan --json`` answers
(kind, checks, warnings, quality, or the error code) with each field's value replaced by
a digest, so the file shows no card data (a short field's digest, a gender or a date,
can still be guessed back: keep files of real photos under build/, never commit them);
and the photo's process CPU time (every thread of the process: the recogniser's helper and the
image measures' threads too) and the process's peak resident memory so far.

``diff`` lists the photos whose answers differ (which parts, never the values) and
prints CPU time per photo (p50, p95, mean) and peak memory of both files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from ocr.engine import AUTO
from ocr.errors import OcrError
from ocr.evaluate import load_samples, percentile
from ocr.local import LocalEngine

# What a record's answer is made of (every key but the photo's name and its costs).
COSTS = ("cpu_ms", "peak_mb")


def digest(value: Any) -> str:
    """A short digest of a field's value: equal values, equal digests; no value shown."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def answer(engine: LocalEngine, data: bytes) -> dict[str, Any]:
    """``wxocr scan --json``'s record of one photo, its fields digested."""
    try:
        result = engine.recognize(data, AUTO)
    except OcrError as exc:
        return {"error": exc.code}
    record: dict[str, Any] = {
        "kind": result.kind,
        "fields": {name: digest(value) for name, value in sorted(result.fields.items())},
        "checks": result.checks,
        "warnings": result.warnings,
        "quality": result.quality,
    }
    if result.cells is not None:
        record["cells"] = digest(result.cells)
    return record


def read(directories: list[Path], out: Path, first: int | None) -> None:
    engine = LocalEngine()
    out.parent.mkdir(parents=True, exist_ok=True)
    warmed = False
    with out.open("w", encoding="utf-8") as sink:
        for directory in directories:
            samples = load_samples(directory)[:first]
            if not warmed and samples:
                engine.recognize(samples[0].image.read_bytes(), AUTO)  # the models' load
                warmed = True
            for sample in samples:
                data = sample.image.read_bytes()
                started = time.process_time()
                record: dict[str, Any] = {"photo": f"{directory.name}/{sample.image.name}"}
                record |= answer(engine, data)
                record["cpu_ms"] = round((time.process_time() - started) * 1000, 1)
                record["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
                sink.write(json.dumps(record, sort_keys=True) + "\n")
                sink.flush()


def load(path: Path) -> dict[str, dict[str, Any]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {record["photo"]: record for record in records}


def costs(name: str, records: list[dict[str, Any]]) -> str:
    cpu = [record["cpu_ms"] for record in records]
    if not cpu:
        return f"{name}: no photos"
    peak = max(record["peak_mb"] for record in records)
    return (
        f"{name}: {len(cpu)} photos, CPU ms per photo p50 {statistics.median(cpu):.0f}, "
        f"p95 {percentile(cpu, 95):.0f}, mean {statistics.mean(cpu):.0f}; peak {peak} MB"
    )


def diff(old_path: Path, new_path: Path) -> int:
    old, new = load(old_path), load(new_path)
    common = [photo for photo in old if photo in new]
    differing = 0
    for photo in common:
        keys = (set(old[photo]) | set(new[photo])) - {"photo", *COSTS}
        changed = sorted(key for key in keys if old[photo].get(key) != new[photo].get(key))
        if changed:
            differing += 1
            fields = old[photo].get("fields", {}), new[photo].get("fields", {})
            which = sorted(
                name
                for name in set(fields[0]) | set(fields[1])
                if fields[0].get(name) != fields[1].get(name)
            )
            detail = f" (fields: {', '.join(which)})" if which else ""
            extra = ""
            if "warnings" in changed:
                extra = f" warnings {old[photo].get('warnings')} -> {new[photo].get('warnings')}"
            print(f"{photo}: {', '.join(changed)}{detail}{extra}")
    print(f"{len(common)} photos in both, {differing} with a different answer")
    for directory in sorted({photo.split("/")[0] for photo in common}):
        in_set = [photo for photo in common if photo.split("/")[0] == directory]
        print(costs(f"{directory} {old_path.name}", [old[p] for p in in_set]))
        print(costs(f"{directory} {new_path.name}", [new[p] for p in in_set]))
    return 1 if differing else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    reading = commands.add_parser("read", help="read the photos of labelled sets")
    reading.add_argument("directories", nargs="+", type=Path)
    reading.add_argument("--out", type=Path, required=True)
    reading.add_argument("--first", type=int, default=None, help="only the first N per set")
    differ = commands.add_parser("diff", help="compare two files of readings")
    differ.add_argument("old", type=Path)
    differ.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "read":
        read(args.directories, args.out, args.first)
    else:
        raise SystemExit(diff(args.old, args.new))


if __name__ == "__main__":
    main()
