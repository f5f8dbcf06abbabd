"""Bank card photos under the conditions real photos showed and the main set lacks (issue 12).

Each condition forces one thing on an otherwise ordinary generated card: embossed digits
under a glare band and a shadow, a year-first expiry ("有效期限 2031/12"), a "有效期限
月/年" label over the date, VALID FROM beside VALID THRU, and the number line alone turned
half round (what the recogniser saw on real embossed cards: the rest of the card upright,
the number read upside down as '5h29 80hh'), the first group or the date washed out by
glare, and a look-alike digit smeared over one embossed digit (an ink mark or a line of
the card's picture: the recogniser unsure there). The main set's seeds are untouched.

``dated_note`` (asked by name only: the default conditions, and so each seed's sets,
stay as they were): a card that prints no valid thru, with a coupon's note beside it
reading '有效期至 YYYY/MM', the kind of date a reader must not take for the card's;
``dated_note_under`` (by name only too): the same note under the card (or over it, on
the side with more room), across the middle of the card's width.

``python -m tests.cardgen.bank_conditions --out DIR --seed S --per-condition N``
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

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
from tests.cardgen.render import CARD_MM, BankStyle, render_bank_card

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
# Asked for by name only (see the module's docstring).
EXTRA_CONDITIONS: dict[str, BankStyle] = {
    "dated_note": BankStyle(),
    "dated_note_under": BankStyle(),
}
# Where each dated-note condition lays the note: beside the card, or under (over) it.
NOTE_SIDES = {"dated_note": "beside", "dated_note_under": "under"}
# Committed fixtures are kept small: a phone photo scaled to this width.
PHOTO_WIDTH = 900


def make_condition_sample(seed: int, index: int, condition: str, fonts: FontSet) -> Sample:
    style = (CONDITIONS | EXTRA_CONDITIONS)[condition]
    # Offset so that these never share generators with the main set's samples.
    rng, np_rng = _sample_rngs(seed, 100_000 + index)
    card = make_bank_card(rng, pinyin_holder(rng))
    if style.expiry and card.valid_thru is None:
        card = replace(card, valid_thru=f"{rng.randint(1, 12):02d}/{rng.randint(27, 35):02d}")
    if condition in NOTE_SIDES:
        card = replace(card, valid_thru=None)
    image = render_bank_card(card, fonts, rng, np_rng, CARD_RENDER_WIDTH, style)
    if condition in NOTE_SIDES:
        photo = _beside_a_dated_note(rng, np_rng, image, fonts, NOTE_SIDES[condition])
    else:
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


def _beside_a_dated_note(
    rng: random.Random,
    np_rng: np.random.Generator,
    card: Image.Image,
    fonts: FontSet,
    side: str = "beside",
) -> Image.Image:
    """The card half the photo's width, a paper note on the side with more room, its
    near edge a ninth of the card's width from the card's: beside the card at the
    number's height, or (``side`` "under") under or over it, centred on its width."""
    size = scene.photo_size(rng)
    placement: list[scene.PlacedCard] = []
    photo = scene.photograph(
        rng, np_rng, card, fonts, rng.uniform(-3, 3), 0.5 * size[0], size, placement=placement
    )
    corners = placement[0].to_frame(
        [(0, 0), (CARD_MM[0], 0), (CARD_MM[0], CARD_MM[1]), (0, CARD_MM[1])]
    )
    left, right = corners[0][0], corners[1][0]
    card_w = right - left
    y = (corners[1][1] + corners[2][1]) / 2 - 0.05 * card_w
    words = f"有效期至 {rng.randint(2026, 2030)}/{rng.randint(1, 12):02d}"
    gap, pad = card_w / 9, 0.03 * card_w
    # Beside, the note fits in the photo's room beside the card; under it, the card's width.
    room = (card_w if side == "under" else max(size[0] - right, left) - gap) - 2 * pad
    face = rng.choice(fonts.cjk)
    font = face.at(round(0.045 * card_w))
    if font.getlength(words) > room:  # the note's text must fit in the photo
        font = face.at(max(8, int(0.045 * card_w * room / font.getlength(words))))
    note_w = font.getlength(words) + 2 * pad
    x = right + gap if size[0] - right > left else left - gap - note_w
    if side == "under":
        top, bottom = min(c[1] for c in corners), max(c[1] for c in corners)
        x = (left + right - note_w) / 2
        below = size[1] - bottom > top
        y = bottom + gap + 0.06 * card_w if below else top - gap - 0.12 * card_w
    draw = ImageDraw.Draw(photo)
    paper = (*[rng.randint(225, 250)] * 3,)
    draw.rectangle((x, y - 0.06 * card_w, x + note_w, y + 0.12 * card_w), fill=paper)
    draw.text((x + pad, y), words, font=font, fill=(40, 40, 50))
    return photo


def iter_condition_samples(
    seed: int, per_condition: int, conditions: Sequence[str] = tuple(CONDITIONS)
) -> Iterator[Sample]:
    unknown = set(conditions) - set(CONDITIONS) - set(EXTRA_CONDITIONS)
    if unknown:
        raise ValueError(f"conditions must be among {', '.join(CONDITIONS | EXTRA_CONDITIONS)}")
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
