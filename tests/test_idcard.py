from __future__ import annotations

import math

import numpy as np
import pytest

from ocr.checks import id_check_char
from ocr.detect import read_card, upright_view
from ocr.engine import AUTO, TextBox
from ocr.errors import NoCardFound
from ocr.kinds.idcard.extract import (
    best_id,
    best_period,
    digit_reading,
    in_nationality_domain,
    parse_cn_date,
    read_valid_date,
)
from ocr.layout import LineReader, OcrPage
from tests.card_boxes import Printed, card_boxes

ID_BODY = "32010219800101001"
ID_NUMBER = ID_BODY + id_check_char(ID_BODY)  # 17th digit 1: a man
BLANK = np.zeros((8, 8, 3), dtype=np.uint8)


def front(number: str = ID_NUMBER, merged: bool = False) -> list[Printed]:
    name = (
        [Printed("姓名林娜", 60, 60)]
        if merged
        else [Printed("姓名", 60, 60), Printed("林娜", 150, 58)]
    )
    return [
        *name,
        Printed("性别", 60, 125),
        Printed("男", 150, 125),
        Printed("民族", 260, 125),
        Printed("汉", 350, 125),
        Printed("出生", 60, 190),
        Printed("1980年1月1日", 150, 190, char_width=24),
        Printed("住址", 60, 255),
        Printed("江苏省南京市玄武区建设", 150, 255),
        Printed("街934号", 150, 300),
        Printed("公民身份号码", 60, 390),
        Printed(number, 290, 390, char_width=22),
    ]


BACK = [
    Printed("中华人民共和国", 200, 40, height=50, char_width=50),
    Printed("居民身份证", 230, 110, height=60, char_width=60),
    Printed("签发机关", 100, 300),
    Printed("南京市公安局玄武分局", 250, 300),
    Printed("有效期限", 100, 370),
    Printed("2018.01.08-2038.01.08", 250, 370, char_width=20),
]

CLUTTER = [Printed("快递单", 900, 200), Printed("请勿折叠", -400, 700), Printed("发票", 700, -300)]


def page_of(printed: list[Printed], degrees: float = 0.0, seed: int | None = 7) -> OcrPage:
    return OcrPage(BLANK, card_boxes(printed, degrees, shuffle_seed=seed))


def page_with_directions(printed: list[Printed], degrees: float) -> OcrPage:
    """As the engine reports it: every box knows which way its text reads."""
    page = page_of(printed, degrees)
    angle = math.radians(degrees)
    page.directions = [(math.cos(angle), math.sin(angle))] * len(page.boxes)
    return page


EXPECTED_FRONT = {
    "type": "Front",
    "name": "林娜",
    "gender": "男",
    "nationality": "汉",
    "birth": "19800101",
    "addr": "江苏省南京市玄武区建设街934号",
    "id": ID_NUMBER,
}


@pytest.mark.parametrize("degrees", [0, 8, -13])
@pytest.mark.parametrize("merged", [False, True])
def test_front_fields_from_shuffled_tilted_boxes(degrees: float, merged: bool) -> None:
    result = read_card(page_of(front(merged=merged) + CLUTTER, degrees), AUTO)
    assert result.kind == "idcard"
    assert result.fields == EXPECTED_FRONT
    assert all(result.checks.values())
    assert result.warnings == []


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_turned_cards_read_in_the_classifier_direction(degrees: float) -> None:
    result = read_card(page_with_directions(front(), degrees), AUTO)
    assert result.fields == EXPECTED_FRONT


@pytest.mark.parametrize("degrees", [90, 180, 270, 175])
def test_label_order_finds_the_right_way_up_without_the_classifier(degrees: float) -> None:
    result = read_card(page_of(front(), degrees), "idcard")
    assert result.fields == EXPECTED_FRONT
    back = read_card(page_of(BACK, degrees), "idcard")
    assert back.fields["valid_date"] == "20180108-20380108"


def test_label_between_address_pieces_does_not_split_the_address() -> None:
    # RapidOCR's own order on a rotated photo: value piece, label, value piece.
    printed = front()
    boxes = card_boxes(printed, 6)
    by_text = {b.text: b for b in boxes}
    order = ["江苏省南京市玄武区建设", "住址", "街934号"]
    rest = [b for b in boxes if b.text not in order]
    page = OcrPage(BLANK, [by_text[t] for t in order] + rest)
    assert read_card(page, AUTO).fields["addr"] == EXPECTED_FRONT["addr"]


def test_misread_id_digit_is_corrected_by_checksum_and_printed_birth() -> None:
    misread = ID_NUMBER[:8] + "B" + ID_NUMBER[9:]  # 8 read as B
    assert read_card(page_of(front(misread)), AUTO).fields["id"] == ID_NUMBER
    wrong_digit = ID_NUMBER[:10] + "8" + ID_NUMBER[11:]  # 0 read as 8 in the birth month
    result = read_card(page_of(front(wrong_digit)), AUTO)
    assert result.fields["id"] == ID_NUMBER
    assert result.checks["id_checksum"]


def test_unfixable_id_is_reported_not_hidden() -> None:
    garbled = "3201021980010" + "99999"
    result = read_card(page_of(front(garbled)), AUTO)
    assert not result.checks["id_checksum"]
    assert "id_checksum_failed" in result.warnings
    assert result.fields["gender"] == "男"  # the printed one, the number is no witness


def test_second_look_reader_is_asked_when_the_number_fails() -> None:
    asked: list[int] = []

    def reader(crops: object) -> list[tuple[str, float]]:
        assert isinstance(crops, list) and crops
        asked.append(len(crops))
        return [(ID_NUMBER, 0.99)] * len(crops)

    typed: LineReader = reader
    page = page_of(front("3201021980010199"))  # two digits lost
    page.image = np.full((3000, 3000, 3), 255, dtype=np.uint8)
    result = read_card(page, AUTO, typed)
    assert asked
    assert result.fields["id"] == ID_NUMBER


def test_back_fields_and_kind() -> None:
    result = read_card(page_of(BACK + CLUTTER, 4), AUTO)
    assert result.kind == "idcard"
    assert result.fields == {
        "type": "Back",
        "authority": "南京市公安局玄武分局",
        "valid_date": "20180108-20380108",
    }
    assert result.checks == {"valid_date": True}


def test_merged_back_labels_and_long_term() -> None:
    printed = [
        *BACK[:2],
        Printed("签发机关南京市公安局玄武分局", 100, 300),
        Printed("有效期限2009.03.24-长期", 100, 370, char_width=22),
    ]
    fields = read_card(page_of(printed), AUTO).fields
    assert fields["authority"] == "南京市公安局玄武分局"
    assert fields["valid_date"] == "20090324-长期"


def test_clutter_alone_is_no_card() -> None:
    with pytest.raises(NoCardFound):
        read_card(page_of(CLUTTER), AUTO)
    with pytest.raises(NoCardFound):
        read_card(OcrPage(BLANK, []), "idcard")


def test_bank_card_text_is_detected_as_bank_card() -> None:
    printed = [
        Printed("中国农业银行", 60, 40),
        Printed("6228", 60, 300, char_width=30),
        Printed("4831", 220, 300, char_width=30),
        Printed("1322", 380, 300, char_width=30),
        Printed("0198", 540, 300, char_width=30),
        Printed("566", 700, 300, char_width=30),
        Printed("UnionPay", 600, 450, char_width=20),
    ]
    view = upright_view(page_of(printed))
    assert view.lines  # and the kind:
    assert read_card(page_of(printed), AUTO).kind == "bankcard"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018.01.08-2038.01.08", "20180108-20380108"),
        ("2009.03.24-长期", "20090324-长期"),
        ("2012.06、18-长期", "20120618-长期"),
        ("艮2026.05.05-2046.05.05", "20260505-20460505"),
        ("2018.01.08-2038.07.08", "20180108-20380108"),  # 0 read as 7, fixed by the span
        ("2O18.0l.08-2038.01.08", "20180108-20380108"),
        # A digit of the value glued to the label box ('有效期限2') and read twice.
        ("22013.06.14-长期", "20130614-长期"),
        ("22018.01.08-2038.01.08", "20180108-20380108"),
        # Nothing to drop that makes a valid period: returned as read (and flagged).
        ("2013.13.14-长期", "20131314-长期"),
    ],
)
def test_read_valid_date(text: str, expected: str) -> None:
    assert read_valid_date(text) == expected


def test_best_period_keeps_a_reading_it_cannot_fix_cheaply() -> None:
    assert best_period("20180108", "20991231") == "20180108-20991231"


def test_best_id_prefers_the_candidate_matching_printed_fields() -> None:
    assert best_id([ID_NUMBER], "19800101", "男") == ID_NUMBER
    assert best_id([], "", "") == ""


def test_checksum_valid_reading_with_an_unknown_region_is_never_rewritten() -> None:
    # Bug: a real card's number, read right, was 'corrected' in two digits because its
    # (abolished) region code was missing from the table; the new number passed every
    # check. A number passing ISO 7064 as read stays; the unknown region is a warning.
    body = "99010519750312002"
    number = body + id_check_char(body)
    assert best_id([number], "", "") == number
    result = read_card(page_of(front(number)), AUTO)
    assert result.fields["id"] == number
    assert "region_failed" in result.warnings
    assert "id_corrected" not in result.warnings


def test_checksum_valid_reading_disagreeing_with_the_printed_birth_is_kept() -> None:
    assert best_id([ID_NUMBER], "19800111", "女") == ID_NUMBER


def test_a_number_the_engine_changed_says_so() -> None:
    misread = ID_NUMBER[:10] + ("8" if ID_NUMBER[10] == "0" else "0") + ID_NUMBER[11:]
    result = read_card(page_of(front(misread)), AUTO)
    assert result.fields["id"] == ID_NUMBER
    assert "id_corrected" in result.warnings


def test_dropping_a_stray_character_is_no_correction() -> None:
    result = read_card(page_of(front("1" + ID_NUMBER)), AUTO)
    assert result.fields["id"] == ID_NUMBER
    assert "id_corrected" not in result.warnings


def test_fields_are_placed_by_the_fixed_layout_when_labels_are_unreadable() -> None:
    # Bug: on small photos the blue labels were misread ('性出男民汉', '址江苏...') or
    # lost, and name, nationality and address dropped though their values read well.
    dropped = ("姓名", "性别", "男", "民族", "汉", "住址", "江苏省南京市玄武区建设")
    printed = [p for p in front() if p.text not in dropped]
    printed += [Printed("性出男民汉", 60, 125), Printed("址江苏省南京市玄武区建设", 60, 255)]
    result = read_card(page_of(printed, 4), AUTO)
    assert result.fields == EXPECTED_FRONT
    assert result.warnings == []


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("汉", ("汉", True)),
        ("有汉", ("汉", True)),  # a misread 民族 before the name
        ("民族土家", ("土家", True)),
        ("穿青人", ("穿青人", True)),
        ("维吾东", ("维吾尔", False)),  # a near miss: snapped, and the caller warns
        ("瑞", ("", False)),  # like no name at all: never returned as read
        ("", ("", True)),
    ],
)
def test_nationality_stays_in_its_domain(read: str, expected: tuple[str, bool]) -> None:
    assert in_nationality_domain(read) == expected


def test_digit_reading_and_chinese_dates() -> None:
    assert digit_reading("3201O2 l98B") == "320102198 8".replace(" ", "")
    assert parse_cn_date("1980年1月1日") == "19800101"
    assert parse_cn_date("1980年13月1日") == ""


def test_stray_character_merged_into_the_name_label_is_dropped() -> None:
    # '刘' begins with '文': the detector gave its first stroke to the label's box.
    printed = [p for p in front() if p.text not in ("姓名", "林娜")]
    printed += [Printed("姓名文", 60, 60), Printed("刘红志", 150, 58)]
    assert read_card(page_of(printed, 5), AUTO).fields["name"] == "刘红志"


def test_label_inside_a_box_still_anchors_its_value() -> None:
    # Gender and nation read as one box with a misread gender label.
    printed = [p for p in front() if p.text not in ("性别", "男", "民族", "汉")]
    printed.append(Printed("性制男民族回", 60, 125))
    fields = read_card(page_of(printed), AUTO).fields
    assert fields["nationality"] == "回"
    assert fields["gender"] == "男"


def test_label_character_repeated_in_the_authority_is_dropped() -> None:
    printed = [*BACK[:3], Printed("关济南市公安局历下分局", 250, 300), *BACK[4:]]
    assert read_card(page_of(printed), AUTO).fields["authority"] == "济南市公安局历下分局"


def test_address_character_read_twice_across_overlapping_boxes() -> None:
    printed = [p for p in front() if p.text not in ("住址", "江苏省南京市玄武区建设")]
    printed += [Printed("住址江", 60, 255), Printed("江苏省南京市玄武区建设", 150, 255)]
    assert read_card(page_of(printed), AUTO).fields["addr"] == EXPECTED_FRONT["addr"]


def test_name_is_found_above_gender_when_its_label_is_misread() -> None:
    printed = [p for p in front() if p.text != "姓名"] + [Printed("娃各", 60, 60)]
    assert read_card(page_of(printed, 7), AUTO).fields["name"] == "林娜"


@pytest.mark.parametrize(("read", "expected"), [("候军英", "侯军英"), ("元熙玉", "元熙玉")])
def test_a_never_surname_lookalike_is_corrected_and_real_surnames_kept(
    read: str, expected: str
) -> None:
    printed = [p for p in front() if p.text != "林娜"] + [Printed(read, 150, 58)]
    assert read_card(page_of(printed), AUTO).fields["name"] == expected


def with_doubt(page: OcrPage, text: str, char: str, rivals: str) -> OcrPage:
    """The page with the recogniser unsure of ``char`` in the box reading ``text``."""
    boxes = [
        TextBox(b.points, b.text, b.score, tuple(rivals if c == char else "" for c in b.text))
        if b.text == text
        else b
        for b in page.boxes
    ]
    return OcrPage(page.image, boxes, page.directions)


def test_a_rare_character_read_as_a_look_alike_with_doubt_is_flagged() -> None:
    # As on real photos: 裴 read as 装, 垅 as 城, every other character sure. No table
    # can put such a name or village right; the recogniser's doubt at that character
    # is what says the value may be wrong, so the answer is not given as certain.
    page = page_of(front())
    assert read_card(page, AUTO).warnings == []
    for text, char in (("林娜", "林"), ("江苏省南京市玄武区建设", "建")):
        result = read_card(with_doubt(page, text, char, "材"), AUTO)
        assert result.fields == EXPECTED_FRONT, text
        assert "low_confidence" in result.warnings, text


def test_a_doubt_outside_the_name_and_address_is_no_warning() -> None:
    # A label, a rival that is no character, and a county the region table vouches for
    # (淅川县 read with 浙 as a rival: both are real places, the table knows which is).
    page = page_of(front())
    for text, char, rivals in (
        ("公民身份号码", "码", "构"),
        ("住址", "址", "扯"),
        ("林娜", "娜", "1"),
        ("江苏省南京市玄武区建设", "玄", "弦"),
    ):
        result = read_card(with_doubt(page, text, char, rivals), AUTO)
        assert "low_confidence" not in result.warnings, text


FRONT_LABEL_TEXTS = ("姓名", "性别", "民族", "出生", "住址", "公民身份号码")


def test_clutter_beside_a_far_off_front_stays_out_of_its_fields() -> None:
    # real90's sample 57 (and 3): a far-off card with faint labels, all lost, its rows
    # placed by the fixed layout; a note under the card's left edge ('电话02' in the
    # address's second row) and a receipt to its right ('周三下午' in its first) were
    # read as part of the address, with no warning.
    printed = [p for p in front() if p.text not in FRONT_LABEL_TEXTS]
    printed += [Printed("电话02", -150, 300), Printed("周三下午", 760, 255)]
    result = read_card(page_of(printed, 5), AUTO)
    assert result.fields == EXPECTED_FRONT


def test_a_front_with_its_labels_lost_beside_a_receipt_is_an_id_card() -> None:
    # real90's sample 3: the card's value column and a receipt's lines beside it make
    # rows of two aligned cells, a table's landmark, while the ID front had only its
    # number left: the photo was answered as an empty table. The number's birth date in
    # a row above it is the front's own layout.
    receipt = [Printed(t, 760, y) for t, y in (("合计", 60), ("发票", 125), ("周三下午", 255))]
    receipt.append(Printed("购物清单", 760, 390))
    printed = [p for p in front() if p.text not in FRONT_LABEL_TEXTS] + receipt
    result = read_card(page_of(printed, 3), AUTO)
    assert result.kind == "idcard"
    assert result.fields == EXPECTED_FRONT


def test_an_office_of_no_real_division_is_flagged_not_returned_as_right() -> None:
    # real90's samples 37 and 31: '嘉术县公安局' (嘉禾县 misread; one character from
    # several real counties, so no correction) and a garbled office came back with no
    # warning at all.
    for office in ("嘉术县公安局", "明通市公发刻的用分局"):
        printed = [*BACK[:3], Printed(office, 250, 300), *BACK[4:]]
        result = read_card(page_of(printed), AUTO)
        assert result.fields["authority"] == office
        assert "authority_unverified" in result.warnings
    assert "authority_unverified" not in read_card(page_of(BACK), AUTO).warnings


def test_a_back_whose_labels_are_lost_is_read_by_its_period_alone() -> None:
    # real90's sample 19: a far-off back, both titles read, no label, and 长期 read as
    # '5期': the period, with 8 digits only, was not taken for one, and a readable
    # back became "no card found".
    printed = [*BACK[:2], Printed("2008.04.27-5期", 250, 370, char_width=20)]
    result = read_card(page_of(printed, 6), AUTO)
    assert result.kind == "idcard"
    assert result.fields == {"type": "Back", "authority": "", "valid_date": "20080427-长期"}


def test_a_number_split_in_two_boxes_does_not_cut_the_address_short() -> None:
    # The card's value column ends where the whole number would, not where the first
    # of its two boxes does: an address row's second box lies past that one's end.
    printed = [p for p in front() if p.text not in ("住址", ID_NUMBER, "街934号")]
    printed += [Printed(ID_NUMBER[:10], 290, 390, char_width=22)]
    printed += [Printed(ID_NUMBER[10:], 290 + 10 * 22 + 12, 390, char_width=22)]
    printed += [Printed("街", 150, 300), Printed("934号", 560, 300)]
    result = read_card(page_of(printed, 2), AUTO)
    assert result.fields == EXPECTED_FRONT
