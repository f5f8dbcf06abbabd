"""A name or address character the recogniser was unsure of flags the front (issue 12):
a wrong value that no table can put right is never given as certain."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr.detect import read_card
from ocr.engine import AUTO, TextBox
from ocr.evaluate import compare, load_samples, silent_errors
from ocr.layout import OcrPage
from ocr.local import LocalEngine
from tests.card_boxes import Printed
from tests.test_idcard import EXPECTED_FRONT, front, page_of

UNSURE_READINGS = Path(__file__).parent / "fixtures" / "unsure-readings"
ADDRESS_LINE = "江苏省南京市玄武区建设"
NUMBER_LINE = "街934号"


def with_certainties(page: OcrPage, text: str, certainties: dict[int, float]) -> OcrPage:
    """The page with the box reading ``text`` read at these certainties (by character
    index; every other character of every box at 0.99)."""
    boxes = [
        TextBox(
            b.points,
            b.text,
            b.score,
            ("",) * len(b.text),
            (),
            tuple(certainties.get(i, 0.99) if b.text == text else 0.99 for i in range(len(b.text))),
        )
        for b in page.boxes
    ]
    return OcrPage(page.image, boxes, page.directions)


def test_a_digit_put_into_a_house_number_with_little_certainty_is_flagged() -> None:
    # real90b's photo 12: 20幢 read as 204幢, the 4 at 0.76 with the blank second, so no
    # rival character in its doubts. Its certainty is what says the number may be wrong.
    printed = [p for p in front() if p.text != NUMBER_LINE] + [Printed("街9344号", 150, 300)]
    page = page_of(printed)
    assert read_card(with_certainties(page, "街9344号", {}), AUTO).warnings == []
    result = read_card(with_certainties(page, "街9344号", {4: 0.76}), AUTO)
    assert result.fields["addr"] == EXPECTED_FRONT["addr"].replace("934", "9344")
    assert "low_confidence" in result.warnings


def test_an_unsure_character_outside_the_value_or_vouched_for_is_no_warning() -> None:
    # In a label; a county the region table names (its characters are checked against
    # the ID's region code); a sign that is no part of a name or address.
    page = page_of(front())
    for text, at in (("公民身份号码", 2), ("住址", 1), (ADDRESS_LINE, 7)):
        result = read_card(with_certainties(page, text, {at: 0.5}), AUTO)
        assert result.fields == EXPECTED_FRONT, text
        assert "low_confidence" not in result.warnings, text


def test_a_rare_character_read_as_a_look_alike_with_little_certainty_is_flagged() -> None:
    # 裴 read as 装 with no rival character listed (the rare character is not among the
    # rivals the decoder keeps) but at little certainty: flagged, the value as read.
    page = page_of(front())
    for text, at in (("林娜", 0), (ADDRESS_LINE, 9)):
        result = read_card(with_certainties(page, text, {at: 0.6}), AUTO)
        assert result.fields == EXPECTED_FRONT, text
        assert "low_confidence" in result.warnings, text


@pytest.mark.slow
def test_a_house_number_read_with_an_extra_digit_is_not_silent() -> None:
    # The generated photo itself (a turned 250 px card), through the whole engine.
    (sample,) = load_samples(UNSURE_READINGS)
    engine = LocalEngine(threads=1, intra_op_threads=1)
    result = engine.recognize(sample.image.read_bytes(), AUTO)
    wrong = compare(sample, result, None)
    assert set(wrong) <= {"addr"}, wrong
    assert silent_errors(wrong, result) == frozenset()
    if wrong:
        assert "low_confidence" in result.warnings


def test_a_doubted_character_ending_its_box_right_after_the_region_is_flagged() -> None:
    # rare40's sample 9 (python -m tests.cardgen.rare_chars --seed 4242): 垭口 read as
    # 址口 with 垭 its rival, 址 the last character of its box, right after the county the
    # region table vouches for; its only neighbour in the box is that county's 区.
    printed = [p for p in front() if p.text not in (ADDRESS_LINE, NUMBER_LINE)]
    printed += [Printed("江苏省南京市玄武区建", 150, 255), Printed("设街934号", 150, 300)]
    page = page_of(printed)
    assert read_card(page, AUTO).warnings == []
    boxes = [
        TextBox(b.points, b.text, b.score, ("",) * 9 + ("材",)) if b.text.endswith("区建") else b
        for b in page.boxes
    ]
    result = read_card(OcrPage(page.image, boxes, page.directions), AUTO)
    assert result.fields == EXPECTED_FRONT
    assert "low_confidence" in result.warnings


def test_a_misread_name_label_whose_rival_is_the_label_is_left_out_of_the_name() -> None:
    # real90b's photo 9: 姓名 read as 姓书 glued to the name, 名 the rival of 书; the
    # labels lost, the name row is found by the layout and the label is no part of it.
    printed = [p for p in front() if p.text not in ("姓名", "林娜")]
    page = page_of([*printed, Printed("姓书林娜", 60, 60)])
    boxes = [
        TextBox(b.points, b.text, b.score, ("", "名", "", "")) if b.text == "姓书林娜" else b
        for b in page.boxes
    ]
    doubted = read_card(OcrPage(page.image, boxes, page.directions), AUTO)
    assert doubted.fields["name"] == "林娜"


def test_an_address_ending_in_a_roads_bare_house_number_is_flagged() -> None:
    # A last row '934号' read as '93' (its 号 and a digit unseen, the rest sure): a house
    # number on a road is printed with its 号, so the address was read short.
    printed = [Printed("街93", 150, 300, char_width=18) if p.text == "街934号" else p
               for p in front()]  # fmt: skip
    result = read_card(page_of(printed), AUTO)
    assert result.fields["addr"] == "江苏省南京市玄武区建设街93"
    assert "low_confidence" in result.warnings
    assert "low_confidence" not in read_card(page_of(front()), AUTO).warnings
