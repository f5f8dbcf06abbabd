"""Cards shown on a screen that the engine answered "no card" (issue 16's screen photos,
issue 12's small card in a large photo)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from faker import Faker

from ocr.checks import id_checksum_ok, luhn_check_digit, luhn_ok
from ocr.detect import kind_scores, read_card, upright_view
from ocr.engine import AUTO, CardResult
from ocr.engines import create_engine
from ocr.errors import NoCardFound
from ocr.layout import OcrPage
from tests.card_boxes import Printed, card_boxes
from tests.cardgen import make_unreadable_sample
from tests.cardgen.fonts import find_fonts, fonts_available
from tests.cardgen.image_conditions import make_condition_sample

BLANK = np.zeros((8, 8, 3), np.uint8)
# A Postal Savings Bank debit BIN whose cards are 19 digits long (ocr/kinds/bankcard/data).
BIN_19 = "621799"
# Screen photos (seed, index of tests.cardgen.image_conditions) answered "no card" before
# the tiled reading: the detector on the whole photo found no box, or only the title.
TILED_SCREENS = [(20261129, 159)]
# Screen photos no reading found a card on, tiles included, before the descreened one
# (``ocr.local.descreened``): an ID front and a bank card.
DESCREENED = [(20261129, 129), (6262, 143)]
# Seed 4242's screen photos read but not flagged (`python -m tests.cardgen.image_conditions
# --out build/quality2 --seed 4242 --per-condition 40 --clean 80`). 135: a sticky note's
# four lines beside the screen were taken for the card, not the ID number read off the
# screen, whose cluster lies in the screen's dark frame (``ocr.quality._most_framed``).
# 158: a dim, soft screen, no peak in the moire band and no dark frame, the bank card
# under wide red-green-blue bands (``ocr.quality.stripe_moire``).
MISSED_SCREENS_4242 = [135, 158]
# Card-less photos (tests.cardgen's unreadable samples: clutter, blank paper, a blurred
# card) of this seed: no card either way.
CARDLESS_SEED = 31337
CARDLESS = [900, 901, 902, 903]


def number_passing_both_checks() -> str:
    """A 19-digit card number (Luhn-valid, BIN_19) whose last 18 digits also pass the ID
    checksum, as one number in 11 does."""
    for middle in itertools.count(1_000_000_000):
        partial = f"{BIN_19}{middle:012d}"
        number = partial + luhn_check_digit(partial)
        if id_checksum_ok(number[-18:]):
            return number
    raise AssertionError("unreachable")


def test_a_bank_number_that_also_scores_as_an_id_number_is_read_as_the_bank_card() -> None:
    # Seed 20261129's screen photo 134: the bank card's only readable line was its number,
    # read right, and the photo was answered "no card": the ID card won the tie of
    # landmarks and found no ID number in 19 digits.
    number = number_passing_both_checks()
    assert luhn_ok(number)
    page = OcrPage(BLANK, card_boxes([Printed(f"{number[:6]} {number[6:]}", 40, 300)]))
    scores = kind_scores(upright_view(page))
    assert scores["idcard"] == scores["bankcard"] >= 2
    result = read_card(page, AUTO)
    assert result.kind == "bankcard"
    assert result.fields["number"] == number
    assert result.checks["luhn"]


@pytest.mark.slow
@pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")
@pytest.mark.parametrize(("seed", "index"), TILED_SCREENS)
def test_a_card_on_a_screen_too_faint_for_the_whole_photos_detection_is_read_by_tiles(
    seed: int, index: int
) -> None:
    # The whole photo brought down to det_side gave the detector no box, or only the
    # title: "no card". Read tile by tile, the card's number is found and read right.
    assert_screen_card_read(seed, index)


@pytest.mark.slow
@pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")
@pytest.mark.parametrize(("seed", "index"), DESCREENED)
def test_a_card_on_a_screen_whose_pixel_grid_crosses_its_faint_text_is_read_descreened(
    seed: int, index: int
) -> None:
    # No reading, whole or tiled, found a card: the grid's coloured stripes crossed every
    # stroke of the faint print. In grey, the grid smoothed away, the number reads right.
    result = assert_screen_card_read(seed, index)
    assert "screen" in result.warnings


@pytest.mark.slow
@pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")
def test_a_soft_screen_photo_is_flagged_by_the_screens_dark_frame() -> None:
    # Seed 20261129's screen photo 126: read, but no `screen` warning (soft, no spectral
    # peak left); the card lies in a viewer's black page inside the phone's bezel.
    sample = make_condition_sample(20261129, 126, "screen", find_fonts(), Faker("zh_CN"))
    result = create_engine("local").recognize(sample.encode(), AUTO)
    assert "screen" in result.warnings


@pytest.mark.slow
@pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")
@pytest.mark.parametrize("index", MISSED_SCREENS_4242)
def test_a_screen_photo_missed_on_seed_4242_is_flagged(index: int) -> None:
    # The card's number read right, but no `screen` warning before (MISSED_SCREENS_4242).
    sample = make_condition_sample(4242, index, "screen", find_fonts(), Faker("zh_CN"))
    result = create_engine("local").recognize(sample.encode(), AUTO)
    key = "id" if result.kind == "idcard" else "number"
    assert result.fields[key] == sample.label["expected"][key]
    assert "screen" in result.warnings


def assert_screen_card_read(seed: int, index: int) -> CardResult:
    """The screen photo ``index`` of ``seed`` read as its card, its number right and
    every other field right or said to be missing: nothing is guessed."""
    sample = make_condition_sample(seed, index, "screen", find_fonts(), Faker("zh_CN"))
    expected = sample.label["expected"]
    result = create_engine("local").recognize(sample.encode(), AUTO)
    assert result.kind == sample.label["kind"]
    key = "id" if result.kind == "idcard" else "number"
    assert result.fields[key] == expected[key]
    for name, want in expected.items():
        got = result.fields.get(name, "")
        assert got == want or (not got and f"field_missing:{name}" in result.warnings)
    return result


@pytest.mark.slow
@pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")
@pytest.mark.parametrize("index", CARDLESS)
def test_a_photo_without_a_card_still_gets_no_card_when_read_by_tiles(index: int) -> None:
    variant = ("clutter", "clutter", "blank", "blurred")[index % 4]
    sample = make_unreadable_sample(CARDLESS_SEED, index, variant, find_fonts(), Faker("zh_CN"))
    with pytest.raises(NoCardFound):
        create_engine("local").recognize(sample.encode(), AUTO)
