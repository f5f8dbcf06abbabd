"""``python -m tests.cardgen --out DIR --count N --seed S``: write a labelled card set.

``--kind passport --mode photo``: one document kind, photos only (issue 15's kinds:
drivinglicense, passport, businesscard, text, table).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.cardgen import (
    ALL_KINDS,
    CARD_KINDS,
    CONDITIONS,
    NoFontsError,
    iter_samples,
    write_samples,
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cardgen", description="Generate labelled synthetic card images."
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--count", type=int, required=True, help="number of samples")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same set (default 0)")
    parser.add_argument(
        "--photo-share", type=float, default=0.8, help="share of phone photos vs scans (0-1)"
    )
    parser.add_argument(
        "--mode",
        choices=("photo", "scan"),
        help="only phone photos or only scans (overrides --photo-share)",
    )
    parser.add_argument(
        "--kinds",
        "--kind",
        default=",".join(CARD_KINDS),
        help=f"comma-separated kinds among {','.join(ALL_KINDS)} (default: the cards)",
    )
    parser.add_argument(
        "--max-kb", type=int, help="shrink each JPEG to at most this size (committed fixtures)"
    )
    parser.add_argument(
        "--unreadable", type=int, default=0, help="how many samples have no readable card"
    )
    parser.add_argument(
        "--conditions",
        default="",
        help=f"comma-separated conditions of real photos among {','.join(CONDITIONS)}",
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be at least 1")
    if not 0.0 <= args.photo_share <= 1.0:
        parser.error("--photo-share must be between 0 and 1")
    if not 0 <= args.unreadable <= args.count:
        parser.error("--unreadable must be between 0 and --count")
    args.conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    if set(args.conditions) - set(CONDITIONS):
        parser.error(f"--conditions must be among {','.join(CONDITIONS)}")
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not args.kinds or set(args.kinds) - set(ALL_KINDS):
        parser.error(f"--kinds must be among {','.join(ALL_KINDS)}")
    if args.mode:
        args.photo_share = 1.0 if args.mode == "photo" else 0.0
    if args.max_kb is not None and args.max_kb < 10:
        parser.error("--max-kb must be at least 10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        samples = iter_samples(
            args.count, args.seed, args.photo_share, args.kinds, args.unreadable, args.conditions
        )
    except NoFontsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    max_bytes = args.max_kb * 1024 if args.max_kb else None
    written = write_samples(samples, args.out, max_bytes)
    elapsed = time.perf_counter() - started
    print(f"wrote {len(written)} samples to {args.out} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
