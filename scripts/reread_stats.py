"""What the half-turn re-reads cost and whether the angle classifier could spare them.

    .venv/bin/python scripts/reread_stats.py tests/fixtures/cards [DIR[:N] ...]

``RapidReader._recognise`` reads again, turned half round, every line it read under
``RETRY_SCORE`` (ocr/local.py). For each such re-read this tool notes the angle
classifier's label and certainty for the line and whether the turned reading won
(scored higher, so it replaced the first); and it times every recognition call by what
asked for it (the first reading of a page's lines, the half-turn re-reads, the rest:
second looks). It then prints, for thresholds on the classifier's certainty of the
upright ("0"), how many re-reads a rule "skip the re-read when the classifier was at
least that sure of the upright" would skip, and how many of those re-reads had won.

One reader, one inference thread, the kind detected (as `wxocr eval --auto-kind`);
``DIR:N`` reads the first N photos of a set. CPU time per thread (``time.thread_time``:
the recogniser's helper thread times its own calls). Prints counts and timings only,
never what was read, so it may be run on real photos. A tool, not a test: it wraps the
engine's own functions in this process, as scripts/cpu_profile.py does.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ocr.local as local
import ocr.runtime as runtime
from ocr.engine import AUTO
from ocr.errors import OcrError
from ocr.evaluate import load_samples

THRESHOLDS = (0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


@dataclass(frozen=True)
class Reread:
    label: str  # the angle classifier's label for the line: "0" or "180"
    certainty: float  # the classifier's certainty of that label
    won: bool  # the turned reading scored higher and replaced the first


class Recorder:
    """The state the wrappers share: what asked for the recognition under way."""

    def __init__(self) -> None:
        self.asking = "other"  # "first", "turned" or "other" (second looks)
        self.labels: list[tuple[str, float]] = []
        self.first: list[float] | None = None
        self.rereads: list[Reread] = []
        self.cpu: Counter[str] = Counter()
        self.crops: Counter[str] = Counter()
        self.looks: Counter[str] = Counter()  # second looks' crops by the function asking
        self.lock = threading.Lock()

    def install(self) -> None:
        classify = runtime.OcrRuntime.classify
        recognise = runtime.OcrRuntime.recognise_positioned
        recognised = local.RapidReader.recognised
        read_page = local.RapidReader._recognise

        def classify_noted(owner: Any, crops: list[Any], threshold: float) -> Any:
            classified = classify(owner, crops, threshold)
            self.labels = list(classified.labels)
            return classified

        def recognise_timed(owner: Any, crops: list[Any]) -> Any:
            asking = self.asking
            started = time.thread_time()
            try:
                return recognise(owner, crops)
            finally:
                with self.lock:
                    self.cpu[asking] += time.thread_time() - started
                    self.crops[asking] += len(crops)

        def recognised_noted(
            owner: Any, function: Callable[..., Any], crops: Sequence[Any]
        ) -> list[Any]:
            if self.first is None and self.asking == "first":
                lines = recognised(owner, function, crops)
                self.first = [line.reading[1] for line in lines]
                self.asking = "turned"
                return lines
            if self.asking == "turned" and self.first is not None:
                lines = recognised(owner, function, crops)
                unsure = [i for i, score in enumerate(self.first) if score < local.RETRY_SCORE]
                for i, line in zip(unsure, lines, strict=True):
                    label, certainty = self.labels[i]
                    self.rereads.append(Reread(label, certainty, line.reading[1] > self.first[i]))
                return lines
            self.looks[asker()] += len(crops)
            return recognised(owner, function, crops)

        def read_page_noted(owner: Any, *args: Any, **kwargs: Any) -> Any:
            self.asking, self.first = "first", None
            try:
                return read_page(owner, *args, **kwargs)
            finally:
                self.asking, self.first = "other", None

        runtime.OcrRuntime.classify = classify_noted  # type: ignore[method-assign]
        runtime.OcrRuntime.recognise_positioned = recognise_timed  # type: ignore[method-assign]
        local.RapidReader.recognised = recognised_noted  # type: ignore[method-assign]
        local.RapidReader._recognise = read_page_noted  # type: ignore[method-assign]

    def report(self, name: str, photos: int) -> None:
        total = sum(self.cpu.values()) or 1.0
        print(f"{name}: {photos} photos")
        for asking in ("first", "turned", "other"):
            print(
                f"  recognition asked by {asking:6s}: {self.crops[asking]:5d} crops, "
                f"{1000 * self.cpu[asking] / max(1, photos):6.1f} ms CPU per photo "
                f"({100 * self.cpu[asking] / total:4.1f}% of recognition)"
            )
        won = sum(r.won for r in self.rereads)
        print(f"  half-turn re-reads: {len(self.rereads)}, the turned reading won {won}")
        for label in ("0", "180"):
            chosen = [r for r in self.rereads if r.label == label]
            print(f"    classifier said {label}: {len(chosen)}, won {sum(r.won for r in chosen)}")
        for caller, count in self.looks.most_common():
            print(f"    second looks' crops asked by {caller}: {count}")
        upright = [r for r in self.rereads if r.label == "0"]
        for threshold in THRESHOLDS:
            skipped = [r for r in upright if r.certainty >= threshold]
            print(
                f"    skip when sure of the upright >= {threshold}: {len(skipped)} skipped, "
                f"{sum(r.won for r in skipped)} of them had won"
            )


def asker() -> str:
    """The two innermost functions of the card kinds' modules on this thread's stack
    (the second look's own reader, and what asked it)."""
    names: list[str] = []
    frame = sys._getframe(1)
    while frame is not None and len(names) < 2:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("ocr.kinds") or module == "ocr.documents":
            names.append(f"{module}.{frame.f_code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return " <- ".join(names) or "(unknown)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", nargs="+", help="a labelled set, DIR or DIR:N")
    args = parser.parse_args()
    recorder = Recorder()
    recorder.install()
    engine = local.LocalEngine(threads=1, intra_op_threads=1)
    for spec in args.directories:
        directory, _, first = spec.partition(":")
        samples = load_samples(Path(directory))[: int(first) if first else None]
        if not samples:
            continue
        engine.recognize(samples[0].image.read_bytes(), AUTO)  # the models' first load
        recorder.rereads.clear()
        recorder.cpu.clear()
        recorder.crops.clear()
        recorder.looks.clear()
        for sample in samples:
            with contextlib.suppress(OcrError):
                engine.recognize(sample.image.read_bytes(), AUTO)
        recorder.report(directory, len(samples))


if __name__ == "__main__":
    main()
