"""Speed and memory of an OCR engine over a directory of photos (`wxocr bench`).

Figures, not pass/fail: tests never time anything; this prints what the machine does.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ocr.engine import Engine, Kind
from ocr.errors import OcrError
from ocr.evaluate import latency_summary, load_samples


@dataclass
class OcrBench:
    images: int
    first_call_s: float  # includes the lazy model load
    latency_ms: dict[str, float]
    images_per_s: dict[int, float] = field(default_factory=dict)  # threads -> throughput
    peak_rss_mb: float = 0.0
    failures: int = 0


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_engine(
    make_engine: Callable[[], Engine],
    directory: Path,
    threads: tuple[int, ...] = (1, 2),
    rounds: int = 1,
) -> OcrBench:
    samples = load_samples(directory)
    if not samples:
        raise ValueError(f"no labelled images in {directory}")
    payloads = [(s.image.read_bytes(), s.kind, s.mode) for s in samples]

    def run(item: tuple[bytes, Kind, str]) -> tuple[float, bool]:
        """Milliseconds for one image, and whether a card was read."""
        data, kind, mode = item
        started = time.perf_counter()
        try:
            engine.recognize(data, kind, "scan" if mode == "scan" else "photo")
        except OcrError:
            return (time.perf_counter() - started) * 1000, False
        return (time.perf_counter() - started) * 1000, True

    started = time.perf_counter()
    engine = make_engine()
    run(payloads[0])
    first_call = time.perf_counter() - started

    timed = [run(p) for p in payloads]
    report = OcrBench(len(payloads), first_call, latency_summary([ms for ms, _ in timed]))
    report.failures = sum(not read for _, read in timed)
    for count in threads:
        work = payloads * rounds
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(run, work))
        report.images_per_s[count] = len(work) / (time.perf_counter() - started)
    report.peak_rss_mb = peak_rss_mb()
    return report
