"""ID fronts whose every name and most addresses hold a rare character (issue 12 point 5).

Real cards showed rare characters read as common look-alikes (裴 as 装, 垅 as 城, 埇,
逄 as 逢). The main set draws a rare surname for one card in eight and no rare place
characters; here every name starts with one of RARE_SURNAMES and most addresses hold one
of RARE_PLACE_CHARS (a village word on a rural address, a "X口" quarter in a town one).
Used to measure a second recogniser on the characters the first one doubted (docs/decisions.md,
"Rare characters").

``python -m tests.cardgen.rare_chars --out DIR --count N --seed S [--conditions
small_photo,far_card,...] [--surname-villages SHARE] [--surnames CHARS]`` (the main
generator's conditions of real photos; the share of rural addresses whose village is
named after the holder; the surnames drawn, RARE_SURNAMES by default).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from faker import Faker

from tests.cardgen import content as content_module
from tests.cardgen import iter_samples, write_and_report
from tests.cardgen.regions import Region

# Surnames that a recogniser reads as a common look-alike (裴/装, 逄/逢, 亓/元, 睢/雎,
# 訾/訚, 佘/余, 覃/草), all inside the fonts' glyphs.
RARE_SURNAMES = "裴逄亓訾蒯睢佘覃鄢闫"
# Place characters of real addresses: 垅 is in no PP-OCRv5/v6 dictionary, 埇 in no
# PP-OCRv2-v4 one.
RARE_PLACE_CHARS = "垅埇堌垭圩畈岙"
# Share of town addresses given a rare quarter (rural ones always get a rare village word).
TOWN_SHARE = 0.8


# A rural village named after a family (X庄, X家村): real-dev's card printed the holder's
# rare surname in the name and in the village, read as the same look-alike in both.
VILLAGE = re.compile(r"(?<=[镇乡])(.)(?=[庄营寨湾家楼]村)")


@contextmanager
def rare_characters(surname_villages: float = 0.0, surnames: str = RARE_SURNAMES) -> Iterator[None]:
    """While active, the generator's names and addresses are drawn as described above;
    ``surname_villages``: the share of rural addresses whose village takes the holder's
    surname; ``surnames``: the surnames drawn (RARE_SURNAMES)."""
    name, address, town_words = (
        content_module._chinese_name,
        content_module._address,
        content_module.TOWN_WORDS,
    )

    def rare_name(rng: random.Random, fake: Faker, male: bool, nationality: str) -> str:
        drawn = name(rng, fake, male, nationality)
        # A Uyghur name (X·Y) would take no surname: 买买提 stands for it.
        given = "买买提" if "·" in drawn else drawn
        surname = rng.choice(surnames)
        drawn_surnames.append(surname)
        return surname + (given[-2:] if len(given) >= 3 else given[-1])

    def rare_address(rng: random.Random, fake: Faker, region: Region) -> str:
        drawn = address(rng, fake, region)
        if surname_villages and region.rural and drawn_surnames and rng.random() < surname_villages:
            return VILLAGE.sub(drawn_surnames[-1], drawn, count=1)
        if region.rural or rng.random() >= TOWN_SHARE:
            return drawn
        quarter = rng.choice(RARE_PLACE_CHARS) + "口"
        return drawn.replace(region.prefix, region.prefix + quarter, 1)

    drawn_surnames: list[str] = []  # the name is drawn before the address
    content_module._chinese_name = rare_name
    content_module._address = rare_address
    content_module.TOWN_WORDS = RARE_PLACE_CHARS * 3
    try:
        yield
    finally:
        content_module._chinese_name = name
        content_module._address = address
        content_module.TOWN_WORDS = town_words


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cardgen.rare_chars")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--photo-share", type=float, default=0.7)
    parser.add_argument("--max-kb", type=int, help="shrink each JPEG to at most this size")
    parser.add_argument(
        "--conditions",
        default="",
        help="comma-separated conditions of real photos (as `python -m tests.cardgen`'s)",
    )
    parser.add_argument(
        "--surname-villages",
        type=float,
        default=0.0,
        help="share of rural addresses whose village takes the holder's surname (X庄村)",
    )
    parser.add_argument("--surnames", default=RARE_SURNAMES, help="the surnames drawn")
    args = parser.parse_args(argv)
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    max_bytes = args.max_kb * 1024 if args.max_kb else None
    # The samples are drawn while the writer iterates them.
    with rare_characters(args.surname_villages, args.surnames):
        return write_and_report(
            lambda: iter_samples(
                args.count, args.seed, args.photo_share, ["idcard_front"], conditions=conditions
            ),
            args.out,
            max_bytes,
        )


if __name__ == "__main__":
    sys.exit(main())
