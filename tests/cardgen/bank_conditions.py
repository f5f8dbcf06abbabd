"""Bank card photos under the conditions real photos showed and the main set lacks (issue 12).

Each condition forces one thing on an otherwise ordinary generated card: embossed digits
under a glare band and a shadow, a year-first expiry ("有效期限 2031/12"), a "有效期限
月/年" label over the date, VALID FROM beside VALID THRU, and the number line alone turned
half round (what the recogniser saw on real embossed cards: the rest of the card upright,
the number read upside down as '5h29 80hh'), the first group or the date washed out by
glare, and a look-alike digit smeared over one embossed digit (an ink mark or a line of
the card's picture: the recogniser unsure there). The main set's seeds are untouched.

``python -m tests.cardgen.bank_conditions --out DIR --seed S --per-condition N``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from PIL import Image

from tests.cardgen import (
    CARD_RENDER_WIDTH,
    NoFontsError,
    Sample,
    _photo_angle,
    _sample_rngs,
    scene,
    write_and_report,
)
from tests.cardgen.content import make_bank_card, pinyin_holder
from tests.cardgen.fonts import FontSet, find_fonts, fonts_available
from tests.cardgen.render import BankStyle, render_bank_card

CONDITIONS: dict[str, BankStyle] = {
    "embossed_glare": BankStyle(embossed=True, glare=True),
    "year_first": BankStyle(expiry="year_first"),
    "month_year": BankStyle(expiry="month_year"),
    "from_thru": BankStyle(expiry="from_thru"),
    "upside_down_line": BankStyle(number_upside_down=True),
    # The first group washed out by glare: the detector loses it (read as one band).
    "faded_group": BankStyle(embossed=True, faded_group=0.12),
    # A date under MONTH/YEAR washed out so far the detector does not find it.
    "faded_expiry": BankStyle(expiry="month_year_below", faded_expiry=0.12),
    # Ink strokes across one embossed digit: read as another digit, unsure.
    "marked_digit": BankStyle(embossed=True, marked_digit=True),
    # The first group over a busy picture, one of its digits all but lost in it.
    "busy_group": BankStyle(embossed=True, busy_group=True),
}
# Committed fixtures are kept small: a phone photo scaled to this width.
PHOTO_WIDTH = 900


def make_condition_sample(seed: int, index: int, condition: str, fonts: FontSet) -> Sample:
    style = CONDITIONS[condition]
    # Offset so that these never share generators with the main set's samples.
    rng, np_rng = _sample_rngs(seed, 100_000 + index)
    card = make_bank_card(rng, pinyin_holder(rng))
    if style.expiry and card.valid_thru is None:
        card = replace(card, valid_thru=f"{rng.randint(1, 12):02d}/{rng.randint(27, 35):02d}")
    image = render_bank_card(card, fonts, rng, np_rng, CARD_RENDER_WIDTH, style)
    photo = scene.photograph(rng, np_rng, image, fonts, _photo_angle(rng, False))
    height = round(photo.height * PHOTO_WIDTH / photo.width)
    photo = photo.resize((PHOTO_WIDTH, height), Image.Resampling.LANCZOS)
    return Sample(
        f"{index:03d}_bank_{condition}",
        photo,
        {"kind": "bankcard", "mode": "photo", "expected": card.expected()},
        png=False,
        jpeg_quality=rng.randint(70, 85),
    )


def iter_condition_samples(
    seed: int, per_condition: int, conditions: Sequence[str] = tuple(CONDITIONS)
) -> Iterator[Sample]:
    unknown = set(conditions) - set(CONDITIONS)
    if unknown:
        raise ValueError(f"conditions must be among {', '.join(CONDITIONS)}")
    if not fonts_available():
        raise NoFontsError(NoFontsError.__doc__)
    fonts = find_fonts()
    index = 0
    for condition in conditions:
        for _ in range(per_condition):
            yield make_condition_sample(seed, index, condition, fonts)
            index += 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cardgen.bank_conditions", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--per-condition", type=int, default=10)
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    args = parser.parse_args(argv)
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    return write_and_report(
        lambda: iter_condition_samples(args.seed, args.per_condition, conditions), args.out
    )


if __name__ == "__main__":
    sys.exit(main())
