"""Where a photo's CPU time goes: process CPU time per photo and per stage of the engine.

    .venv/bin/python scripts/cpu_profile.py tests/fixtures/cards [DIR ...] [--det-side N]

One reader, one inference thread, the kind detected (as `wxocr eval --auto-kind`). CPU
time, not wall time: on a machine other work loads, wall time measures the load; CPU
time far less (docs/accuracy.md, "Speed"). Prints timings only, never what was read.

The stages are timed by wrapping the engine's own functions in this process (a tool,
not a test): nested stages overlap (the second looks' recognition is inside the
extraction's time and inside recognition's).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ocr.local as local
import ocr.quality as quality
import ocr.runtime as runtime
from ocr.engine import AUTO
from ocr.errors import OcrError
from ocr.evaluate import load_samples, percentile

spent: Counter[str] = Counter()
calls: Counter[str] = Counter()

STAGES: list[tuple[Any, str, str]] = [
    (local, "decode_image", "decode"),
    (local, "downscale", "downscale for detection"),
    (runtime.OcrRuntime, "detect", "detection"),
    (local, "crop_line", "line crops"),
    (runtime.OcrRuntime, "classify", "angle classifier"),
    (runtime.OcrRuntime, "recognise_positioned", "recognition"),
    (local.RapidReader, "read_lines", "  of which re-reads (turned, second looks)"),
    (local, "read_card", "extraction (with its second looks)"),
    (local, "measure", "image measures (quality.measure)"),
    (quality, "find_outline", "  outline"),
    (quality, "colour_share", "  colour"),
    (quality, "moire_measure", "  moire"),
    (quality, "axis_moire_measure", "  axis moire"),
    (quality, "glare_measure", "  glare"),
    (quality, "blur_measure", "  blur"),
]


def timed(function: Callable[..., Any], key: str) -> Callable[..., Any]:
    # The calling thread's CPU time: the image measures may run on a thread of their own
    # (ocr/local.py: early_measures) while this one detects and recognises.
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[key] += time.thread_time() - started
            calls[key] += 1

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", type=Path)
    parser.add_argument("--det-side", type=int, default=local.DEFAULT_DET_SIDE)
    args = parser.parse_args()
    for owner, name, key in STAGES:
        setattr(owner, name, timed(getattr(owner, name), key))
    engine = local.LocalEngine(threads=1, intra_op_threads=1, det_side=args.det_side)
    for directory in args.directories:
        samples = load_samples(directory)
        engine.recognize(samples[0].image.read_bytes(), AUTO)  # the models' first load
        spent.clear()
        calls.clear()
        per_photo = []
        for sample in samples:
            data = sample.image.read_bytes()
            started = time.process_time()
            with contextlib.suppress(OcrError):
                engine.recognize(data, AUTO)
            per_photo.append((time.process_time() - started) * 1000)
        total = sum(per_photo) / 1000
        print(
            f"{directory}: {len(per_photo)} photos, CPU ms per photo "
            f"p50 {statistics.median(per_photo):.0f}, p95 {percentile(per_photo, 95):.0f}, "
            f"mean {statistics.mean(per_photo):.0f}"
        )
        for _, _, key in STAGES:
            if calls[key]:
                print(f"  {key:44s} {100 * spent[key] / total:5.1f}%  {calls[key]} calls")


if __name__ == "__main__":
    main()
