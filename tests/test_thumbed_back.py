"""An ID back whose rows a thumb hides (issue 16, ``occluded``): answered as a back with
its fields missing, not as no card at all (ocr/kinds/idcard: ``back_layout_found``).

The photos come from the generator (``tests.cardgen.image_conditions``, the thumb
condition); the boxes of the last tests are laid out as the engine read those photos."""

from __future__ import annotations

import numpy as np
import pytest
from faker import Faker

from ocr.detect import read_card
from ocr.engine import AUTO
from ocr.engines import create_engine
from ocr.errors import NoCardFound
from ocr.layout import OcrPage
from tests.card_boxes import Printed, card_boxes
from tests.cardgen.fonts import find_fonts, fonts_available
from tests.cardgen.image_conditions import make_condition_sample

BLANK = np.zeros((8, 8, 3), dtype=np.uint8)
TITLE = Printed("中华人民共和国", 200, 40, height=50, char_width=50)


def page_of(printed: list[Printed]) -> OcrPage:
    return OcrPage(BLANK, card_boxes(printed, 3.0, shuffle_seed=7))


@pytest.mark.slow
@pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")
@pytest.mark.parametrize(
    ("seed", "index"),
    [
        # The labels read, the values hidden past them: no value, so no card.
        (4242, 205),
        # Only the labels' first characters and the period's end left: one landmark.
        (4242, 235),
        (20261129, 211),
    ],
)
def test_a_thumbed_back_is_read_as_a_back_with_its_hidden_fields_missing(
    seed: int, index: int
) -> None:
    sample = make_condition_sample(seed, index, "thumb", find_fonts(), Faker("zh_CN"))
    expected = sample.label["expected"]
    assert expected["type"] == "Back"
    result = create_engine("local").recognize(sample.encode(), AUTO)
    assert result.kind == "idcard" and result.fields["type"] == "Back"
    assert "occluded" in result.warnings
    # What the thumb hid is said to be missing; nothing is guessed in its place.
    missing = [w for w in result.warnings if w.startswith("field_missing:")]
    assert missing
    for name in ("authority", "valid_date"):
        value = result.fields.get(name, "")
        assert value in ("", expected[name])
        assert bool(value) != (f"field_missing:{name}" in result.warnings)


def test_half_hidden_rows_under_the_title_are_a_back() -> None:
    # As seed 20261129's thumb 211 was read: the labels' starts, the values' ends.
    printed = [
        TITLE,
        Printed("身份证", 300, 110, height=60, char_width=60),
        Printed("签发机", 100, 300),
        Printed("安局秦淮分局", 330, 300),
        Printed("有效其", 100, 370),
        Printed("08.23-长期", 330, 370, char_width=20),
    ]
    result = read_card(page_of(printed), AUTO)
    assert result.kind == "idcard" and result.fields["type"] == "Back"
    assert result.fields["authority"] == "" and result.fields["valid_date"] == ""
    assert "valid_date_failed" in result.warnings


def test_a_period_the_thumb_cut_is_not_shown() -> None:
    # As seed 4242's thumb 208 was read: found by its layout alone, the period's first
    # digits hidden ('10729203-10729' as read).
    printed = [TITLE, Printed("签发机", 100, 300), Printed("1.07.29-2031.07.29", 330, 370)]
    result = read_card(page_of(printed), AUTO)
    assert result.fields["type"] == "Back" and result.fields["valid_date"] == ""


@pytest.mark.parametrize(
    "printed",
    [
        # The title alone: a card too blurred to read anything else.
        [TITLE, Printed("居民身份证", 230, 110, height=60, char_width=60)],
        # A longer heading that starts like the title is another document's.
        [Printed("中华人民共和国机动车驾驶证", 200, 40), Printed("有效期", 100, 300)],
        # The back's rows are under its title, not above it.
        [Printed("有效期", 100, 40), Printed("签发机", 100, 100), Printed("民身份证", 200, 300)],
    ],
)
def test_no_back_without_its_title_over_its_rows(printed: list[Printed]) -> None:
    with pytest.raises(NoCardFound):
        read_card(page_of(printed), "idcard")
