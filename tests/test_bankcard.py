"""Bank card extraction: number assembly from OCR pieces, corrections, BIN table, real OCR."""

from __future__ import annotations

import contextlib
import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ocr import layout
from ocr.checks import id_check_char, luhn_check_digit, luhn_ok
from ocr.detect import upright_view
from ocr.engine import AUTO, CardResult, TextBox
from ocr.errors import NoCardFound, OcrError
from ocr.image import decode_image
from ocr.kinds.bankcard import Readings, upright_boxes
from ocr.kinds.bankcard import second_look as detect_second_look
from ocr.kinds.bankcard.extract import (
    Candidate,
    Expiry,
    Reread,
    _bank_hinted,
    bin_table,
    choose_number,
    digit_pieces,
    extract_bankcard,
    find_expiry,
    lookup_bin,
    parse_bin_table,
    printed_bank,
    read_expiry,
)
from ocr.layout import CardView, OcrPage
from ocr.local import LocalEngine, OcrSettings, RapidReader

FIXTURES = Path(__file__).parent / "fixtures" / "cards"


def with_check_digit(body: str) -> str:
    return body + luhn_check_digit(body)


ABC_19 = with_check_digit("622848942511068246")  # 中国农业银行, 19 digits
CMB_16 = with_check_digit("622588123456789")  # 招商银行, 16 digits


def box(
    text: str, x: float, y: float, *, height: float = 40, score: float = 0.99, char_w: float = 24
) -> TextBox:
    """An axis-aligned box whose width follows its text, left edge at x, top at y."""
    width = char_w * max(len(text), 1)
    points = ((x, y), (x + width, y), (x + width, y + height), (x, y + height))
    return TextBox(points, text, score)


def rotated(boxes: list[TextBox], degrees: float, centre: tuple[float, float]) -> list[TextBox]:
    """The same boxes as on a photo turned by ``degrees`` (corner order kept)."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = centre

    def turn(p: tuple[float, float]) -> tuple[float, float]:
        dx, dy = p[0] - cx, p[1] - cy
        return (cx + dx * cos - dy * sin, cy + dx * sin + dy * cos)

    return [TextBox(tuple(turn(p) for p in b.points), b.text, b.score) for b in boxes]


def card_boxes(groups: list[str], *, expiry: str | None = "10/29") -> list[TextBox]:
    """A typical card: bank name on top, digit groups on one line, expiry below."""
    boxes = [box("中国农业银行", 60, 40, height=50, char_w=45), box("金穗借记卡", 500, 50)]
    x = 40.0
    for group in groups:
        boxes.append(box(group, x, 250, height=60, char_w=34))
        x += 34 * len(group) + 40
    if expiry:
        boxes.append(box(expiry, 300, 340, height=36, char_w=20))
    boxes.append(box("银联", 600, 400))
    return boxes


def test_digit_groups_in_shuffled_order_are_put_back_left_to_right() -> None:
    groups = [ABC_19[0:4], ABC_19[4:8], ABC_19[8:12], ABC_19[12:16], ABC_19[16:]]
    boxes = card_boxes(groups)
    random.Random(3).shuffle(boxes)
    result = extract_bankcard(boxes)
    assert result.fields["number"] == ABC_19
    assert result.fields["bank"] == "中国农业银行"
    assert result.fields["card_type"] == "借记卡"
    assert result.fields["valid_thru"] == "10/29"
    assert result.checks == {"luhn": True, "bin": True}
    assert result.warnings == []


def test_number_split_six_plus_thirteen_with_expiry_listed_between() -> None:
    boxes = card_boxes([ABC_19[:6], ABC_19[6:]], expiry=None)
    # RapidOCR's own order: second part, expiry, first part.
    ordered = [boxes[3], box("10/29", 300, 340, height=36, char_w=20), boxes[2]]
    result = extract_bankcard([*boxes[:2], *ordered, boxes[4]])
    assert result.fields["number"] == ABC_19
    assert result.fields["valid_thru"] == "10/29"


@pytest.mark.parametrize("degrees", [8, 90, 180, 270])
def test_rotated_photos_read_the_groups_in_card_order(degrees: float) -> None:
    groups = [ABC_19[0:4], ABC_19[4:8], ABC_19[8:12], ABC_19[12:16], ABC_19[16:]]
    boxes = rotated(card_boxes(groups), degrees, (400, 250))
    assert extract_bankcard(boxes).fields["number"] == ABC_19


def test_lookalike_letters_are_read_as_digits() -> None:
    number = CMB_16
    misread = [number[0:4], number[4:8].replace("8", "B"), number[8:12], number[12:]]
    misread[0] = misread[0].replace("2", "Z", 1)
    misread[2] = misread[2].replace("5", "S").replace("1", "l")
    misread[3] = misread[3].replace("0", "O")
    result = extract_bankcard(card_boxes(misread))
    assert result.fields["number"] == number
    assert result.fields["bank"] == "招商银行"


def test_a_lookalike_letters_second_reading_is_tried_when_the_first_fails_luhn() -> None:
    # "B" is first read as 8; here it stands for a 3.
    index = CMB_16.index("3", 6)
    misread = CMB_16[:index] + "B" + CMB_16[index + 1 :]
    result = extract_bankcard(card_boxes([misread[:8], misread[8:]]))
    assert result.fields["number"] == CMB_16


def test_clutter_digits_around_the_card_are_not_taken() -> None:
    boxes = card_boxes([CMB_16[0:4], CMB_16[4:8], CMB_16[8:12], CMB_16[12:]])
    # A phone number and an order number on the desk, smaller print, other lines; the
    # order number even passes Luhn.
    boxes.append(box("客服 13812345678", 40, 520, height=22, char_w=12))
    boxes.append(box(with_check_digit("20261125000123"), 40, 600, height=22, char_w=12))
    boxes.append(box("95588", 700, 250, height=22, char_w=12))
    result = extract_bankcard(boxes)
    assert result.fields["number"] == CMB_16


def test_one_misread_digit_in_the_bin_is_corrected_by_luhn_and_the_bin_table() -> None:
    misread = "6223" + ABC_19[4:]  # 8 read as 3: 622348 is no known issuer
    assert not luhn_ok(misread)
    result = extract_bankcard(card_boxes([misread[:6], misread[6:]]))
    assert result.fields["number"] == ABC_19
    assert result.checks["luhn"]
    assert "number_corrected" in result.warnings


def test_a_digit_read_twice_where_two_boxes_overlap_is_dropped() -> None:
    groups = [CMB_16[:8], CMB_16[7:12], CMB_16[12:]]  # the 8th digit in both boxes
    result = extract_bankcard(card_boxes(groups))
    assert result.fields["number"] == CMB_16
    assert "number_corrected" in result.warnings


def test_a_character_invented_in_a_gap_between_groups_is_dropped() -> None:
    # Spacing lost after the third group and a "7" read in the gap: 20 digits.
    spaced = f"{ABC_19[:4]} {ABC_19[4:8]} {ABC_19[8:12]}7{ABC_19[12:]}"
    result = extract_bankcard(card_boxes([spaced]))
    assert result.fields["number"] == ABC_19


def test_an_ambiguous_misread_is_returned_as_read_and_flagged() -> None:
    # One digit wrong after the BIN: Luhn knows the number is wrong, but several single
    # changes would fix it and nothing tells them apart, so no guess is made.
    position = 12
    misread = ABC_19[:position] + str((int(ABC_19[position]) + 1) % 10) + ABC_19[position + 1 :]
    assert not luhn_ok(misread)
    result = extract_bankcard(card_boxes([misread]))
    assert result.fields["number"] == misread
    assert result.checks["luhn"] is False
    assert "luhn_failed" in result.warnings
    assert result.fields["bank"] == "中国农业银行"


def test_second_look_is_not_asked_for_when_the_first_reading_is_clean() -> None:
    asked: list[list[str]] = []

    def reread(boxes: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in boxes])
        return [[] for _ in boxes]

    assert extract_bankcard(card_boxes([ABC_19[:6], ABC_19[6:]]), reread=reread)
    assert asked == []


def test_a_spoilt_expiry_is_read_again_and_the_readings_vote() -> None:
    # 'VALID THRU 11/30' taken as one box: the small two-line label spoils the reading.
    boxes = card_boxes([ABC_19[:6], ABC_19[6:]], expiry="T 3")
    asked: list[list[str]] = []

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in wanted])
        return [[("YALD 1/0", 0.6), ("YAND 11/30", 0.8), ("11/30", 0.97)] for _ in wanted]

    result = extract_bankcard(boxes, reread=reread)
    assert asked == [["T 3"]]  # not the number's boxes, not the words
    assert result.fields["valid_thru"] == "11/30"
    assert result.fields["number"] == ABC_19


def test_the_band_is_not_read_when_the_boxes_read_again_give_a_clean_number() -> None:
    # The first reading's second group has a digit wrong (no single fix stands out);
    # the enlarged crops read it right, a clean number: the band's reading could not
    # displace it, so the band is not read at all (issue 12: it cost 5 crops a look).
    wrong = ABC_19[6:12] + str((int(ABC_19[12]) + 3) % 10) + ABC_19[13:]
    boxes = card_boxes([ABC_19[:6], wrong])
    first = extract_bankcard(boxes)
    assert first.fields.get("number") != ABC_19 or "number_corrected" in first.warnings
    asked: list[list[str]] = []

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in wanted])
        return [[(ABC_19[6:] if b.text == wrong else b.text, 0.98)] * 5 for b in wanted]

    result = extract_bankcard(boxes, reread=reread)
    assert result.fields["number"] == ABC_19
    assert result.warnings == []
    assert asked[0] == [ABC_19[:6], wrong]  # the number's boxes
    assert all("" not in texts for texts in asked)  # never the band


def test_the_expiry_boxes_are_read_until_the_leading_date_is_out_of_reach() -> None:
    # Three short boxes with digits may hold the date: two read 11/30 in all five crops
    # each; the third's five readings could not outvote ten, so it is not read.
    boxes = card_boxes([ABC_19[:6], ABC_19[6:]], expiry="T 3")
    boxes += [box("1 3", 300, 420, height=36, char_w=20), box("3O", 500, 420, height=36)]
    asked: list[list[str]] = []

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in wanted])
        return [[("11/30", 0.97)] * 5 for _ in wanted]

    result = extract_bankcard(boxes, reread=reread)
    assert result.fields["valid_thru"] == "11/30"
    assert asked == [["T 3"], ["1 3"]]


def test_an_expiry_box_read_later_can_still_outvote_the_first() -> None:
    # The first box gives 11/30 twice; the second reads 12/31 five times, enough to
    # win: the early stop never takes a date that more readings would have outvoted.
    boxes = card_boxes([ABC_19[:6], ABC_19[6:]], expiry="T 3")
    boxes += [box("1 3", 300, 420, height=36, char_w=20)]

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        return [
            [("11/30", 0.9)] * 2 + [("VALID", 0.5)] * 3 if b.text == "T 3" else [("12/31", 0.9)] * 5
            for b in wanted
        ]

    result = extract_bankcard(boxes, reread=reread)
    assert result.fields["valid_thru"] == "12/31"


def test_no_expiry_is_made_up_when_no_box_could_hold_one() -> None:
    asked: list[list[str]] = []

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in wanted])
        return [[("11/30", 0.9)] for _ in wanted]

    result = extract_bankcard(card_boxes([ABC_19[:6], ABC_19[6:]], expiry=None), reread=reread)
    assert asked == []
    assert "valid_thru" not in result.fields


def test_two_readings_wrong_in_different_places_are_merged() -> None:
    # First pass: a digit after the BIN is wrong (not correctable alone); the second
    # look gets that one right but misreads the BIN.
    first = ABC_19[:12] + str((int(ABC_19[12]) + 1) % 10) + ABC_19[13:]
    second = ABC_19[:4] + "9" + ABC_19[5:]
    asked: list[list[str]] = []

    def reread(boxes: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in boxes])
        return [[(second, 0.93)] if b.text == first else [] for b in boxes]

    result = extract_bankcard(card_boxes([first]), reread=reread)
    # Only the number's line is looked at again: its boxes, then (the merged number
    # being a correction, not clean) the whole band, a region of the reader's own
    # without text, that reads it at once.
    assert asked == [[first], [""]]
    assert result.fields["number"] == ABC_19
    assert result.checks["luhn"]


def test_low_ocr_confidence_is_reported() -> None:
    boxes = card_boxes([CMB_16])
    boxes = [TextBox(b.points, b.text, 0.5) if b.text == CMB_16 else b for b in boxes]
    assert "low_confidence" in extract_bankcard(boxes).warnings


def test_bank_printed_on_the_card_that_disagrees_with_the_bin_is_a_warning() -> None:
    boxes = card_boxes([CMB_16])
    boxes[0] = box("中国工商银行", 60, 40, height=50, char_w=45)
    result = extract_bankcard(boxes)
    assert result.fields["bank"] == "招商银行"  # the BIN wins
    assert "bank_mismatch" in result.warnings


def test_printed_bank_answers_when_the_bin_is_unknown() -> None:
    number = with_check_digit("629999876543210")
    boxes = card_boxes([number])
    boxes[0] = box("华夏银行", 60, 40, height=50, char_w=45)
    result = extract_bankcard(boxes)
    assert result.fields["number"] == number
    assert result.fields["bank"] == "华夏银行"
    assert "card_type" not in result.fields
    assert "unknown_bin" in result.warnings
    assert result.checks["bin"] is False


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["客服热线 13812345678", "10/29", "95599"],
        ["1234567890123456789"],  # long, but neither Luhn nor any known prefix
    ],
)
def test_no_plausible_number_is_no_card_found(texts: list[str]) -> None:
    boxes = [box(text, 40, 60 * i) for i, text in enumerate(texts)]
    with pytest.raises(NoCardFound):
        extract_bankcard(boxes)


def test_a_card_naming_its_bank_without_a_valid_number_asks_for_a_retake() -> None:
    # Was "no card found" although the card was plainly there (bank, 借记卡, 银联).
    result = extract_bankcard(
        [box(t, 40, 60 * i) for i, t in enumerate(["中国农业银行", "借记卡"])]
    )
    assert result.kind == "bankcard"
    assert "number" not in result.fields
    assert result.fields["bank"] == "中国农业银行"
    assert result.warnings == ["number_unreadable"]


def test_an_id_card_number_is_not_taken_for_a_card_number() -> None:
    # Guangdong IDs start with 44, which is also a Visa prefix; one in ten pass Luhn.
    id_number = next(
        number
        for number in (f"44010119900307{n:03d}" + "0" for n in range(1000))
        for number in [number[:17] + id_check_char(number[:17])]
        if luhn_ok(number)
    )
    boxes = [box("公民身份号码", 40, 400), box(id_number, 300, 400, height=40)]
    with pytest.raises(NoCardFound):
        extract_bankcard(boxes)


def test_a_failing_number_without_a_known_issuer_is_not_an_answer() -> None:
    number = with_check_digit("629999876543210")
    misread = number[:-1] + str((int(number[-1]) + 1) % 10)
    result = extract_bankcard(card_boxes([misread[:8], misread[8:]]))
    assert "number" not in result.fields
    assert "number_unreadable" in result.warnings
    with pytest.raises(NoCardFound):  # and with no bank named, nothing says it is a card
        extract_bankcard(card_boxes([misread[:8], misread[8:]])[2:])


def test_digit_pieces_keep_group_spacing_and_drop_dates_and_words() -> None:
    assert [p[0] for p in digit_pieces("6228 4894 2511")] == ["622848942511"]
    assert [p[0] for p in digit_pieces("VALID THRU 10/29")] == []
    assert [p[0] for p in digit_pieces("有效期01/32 6225")] == ["6225"]
    digits, letters, _ = digit_pieces("62O8 B894")[0]
    assert digits == "62088894"
    assert letters == (2, 4)


def test_expiry_takes_the_latest_date_and_normalises_the_year() -> None:
    assert find_expiry(["VALID FROM 03/21", "THRU 03/26"]) == "03/26"
    assert find_expiry(["有效期 12/2031"]) == "12/31"
    assert find_expiry(["13/29", "6228"]) is None
    assert find_expiry(["有效期", "105/31"]) == "05/31"


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["有效期限 2031/12"], "12/31"),
        (["2031-12"], "12/31"),
        (["有效期限", "2031年12月"], "12/31"),
        (["有效期限 年/月", "31/12"], "12/31"),
        (["有效期限 月/年", "12/31"], "12/31"),
        (["VALID", "FROM", "06/27", "VALID", "THRU", "06/32"], "06/32"),
        (["VALID FROM 06/32"], None),  # the issue date alone is no expiry
        (["02/70"], None),  # month fine, year 2070 is no card's
        (["00/29", "13/29"], None),  # months out of range
        (["11727"], "11/27"),  # the slash read as a 7, when nothing better is printed
    ],
)
def test_expiry_is_read_within_its_domain(texts: list[str], expected: str | None) -> None:
    assert find_expiry(texts) == expected


def test_valid_from_read_with_its_thru_date_lost_is_not_taken_for_the_expiry() -> None:
    # Real card: VALID FROM 06/17 read clean, VALID THRU's slash read as 1 ("06127").
    assert read_expiry(["VALID", "FROM", "06/17", "06127"]) == Expiry("06/27")
    # Only one date and an unplaced FROM label: either date it may be, so it says so.
    assert read_expiry(["VALID", "FROM", "06/17"]) == Expiry("06/17", uncertain=True)
    result = extract_bankcard(card_boxes([CMB_16[:8], CMB_16[8:]], expiry="FROM 06/17"))
    assert "valid_thru" not in result.fields


def test_a_luhn_valid_reading_is_never_changed() -> None:
    # A digit read twice at the seam of two boxes, where the 17 digits read pass Luhn
    # too: dropping it would give a known issuer's 16 digits, but it is a guess.
    rng = random.Random(12)
    body = next(
        number
        for _ in range(10_000)
        for number in [with_check_digit("622588" + f"{rng.randrange(10**9):09d}")]
        if luhn_ok(number[:8] + number[7:])
    )
    as_read = body[:8] + body[7:]
    result = extract_bankcard(card_boxes([body[:8], body[7:]]))
    assert result.fields["number"] == as_read
    assert "number_corrected" not in result.warnings
    assert "length_unusual" in result.warnings  # and it is not silent about the doubt


@pytest.mark.parametrize(
    "number",
    [
        with_check_digit("62258812345678"),  # UnionPay in 15 digits: only AmEx has 15
        with_check_digit("52409464250404931"),  # Mastercard in 18 digits
        with_check_digit("062258812345678"),  # starts with 0: no network's
        with_check_digit("158124211932856"),  # no network starts with 1
    ],
)
def test_numbers_that_do_not_fit_their_network_are_not_answers(number: str) -> None:
    result = extract_bankcard(card_boxes([f"{number[:6]} {number[6:]}"]))
    assert "number" not in result.fields
    assert "number_unreadable" in result.warnings


def test_an_amex_number_of_15_digits_is_an_answer() -> None:
    number = with_check_digit("37828224631000")
    result = extract_bankcard(card_boxes([number[:4], number[4:10], number[10:]]))
    assert result.fields["number"] == number


def test_the_small_first_group_under_an_embossed_number_puts_a_misread_one_right() -> None:
    # Real embossed cards: the big first group misread (4 -> 1) and a digit invented
    # between groups, while the small copy of the first four digits below reads clean.
    number = with_check_digit("458124219328568")
    misread = "1" + number[1:8] + "1" + number[8:]
    boxes = card_boxes([misread[:13], misread[13:]])
    boxes.append(box(number[:4], 40, 320, height=30, char_w=18))
    result = extract_bankcard(boxes)
    assert result.fields["number"] == number
    assert "number_corrected" in result.warnings  # digits the engine chose say so


def test_a_bank_beyond_the_table_is_named_as_printed() -> None:
    assert printed_bank(["长沙银行", "银联"]) == "长沙银行"
    assert printed_bank(["温州银行", "长沙银行"]) is None  # two names: neither is sure
    assert printed_bank(["卡联合银行卡联合"]) is None  # a name is a whole box


def test_printed_bank_prefers_the_specific_name() -> None:
    assert printed_bank(["AGRICULTURAL BANK OF CHINA"]) == "中国农业银行"
    assert printed_bank(["INDUSTRIAL AND COMMERCIAL BANK OF CHINA"]) == "中国工商银行"
    assert printed_bank(["中国银行", "BANK OF CHINA"]) == "中国银行"
    assert printed_bank(["银联", "UnionPay"]) is None


@pytest.mark.parametrize(
    ("number", "bank", "network"),
    [
        ("6228480000000000000", "中国农业银行", "UnionPay"),
        ("6222020000000000000", "中国工商银行", "UnionPay"),
        ("4270200000000000", "中国工商银行", "Visa"),
        ("6299990000000000", "", "UnionPay"),
        ("4111111111111111", "", "Visa"),
        ("5500000000000004", "", "Mastercard"),
        ("2221000000000009", "", "Mastercard"),
        ("2720990000000000", "", "Mastercard"),
        ("3530111333300000", "", "JCB"),
        ("378282246310005", "", "AmEx"),
    ],
)
def test_bin_lookup_uses_the_longest_known_prefix(number: str, bank: str, network: str) -> None:
    info = lookup_bin(number)
    assert info is not None
    assert (info.bank, info.network) == (bank, network)
    assert number.startswith(info.prefix)


def test_bin_lookup_of_unknown_prefixes() -> None:
    assert lookup_bin("1234567890123456") is None
    assert lookup_bin("2710") is not None and lookup_bin("2730") is None
    assert lookup_bin("") is None


def test_shipped_bin_table_covers_the_major_banks() -> None:
    banks = {info.bank for info in bin_table().values()}
    for bank in (
        "中国工商银行",
        "中国建设银行",
        "中国农业银行",
        "中国银行",
        "交通银行",
        "招商银行",
    ):
        assert bank in banks
    assert len(banks) >= 18


@pytest.mark.parametrize(
    "row",
    [
        "622848,中国农业银行,借记卡,UnionPay,19\n622848,中国农业银行,借记卡,UnionPay,19",
        "622848,中国农业银行,信用卡,UnionPay,19",
        "622848,中国农业银行,借记卡,Diners,19",
        "62284a,中国农业银行,借记卡,UnionPay,19",
        "622848,中国农业银行,借记卡,UnionPay,nineteen",
        "622848,中国农业银行,借记卡,UnionPay",
    ],
)
def test_bin_table_validation_rejects_bad_rows(row: str) -> None:
    with pytest.raises(ValueError):
        parse_bin_table("prefix,bank,card_type,network,lengths\n" + row + "\n")


# --- The real engine on the committed photos --------------------------------------------


def bank_fixtures() -> list[tuple[Path, dict[str, str]]]:
    samples = []
    for label_path in sorted(FIXTURES.glob("*.json")):
        label = json.loads(label_path.read_text(encoding="utf-8"))
        if label["kind"] == "bankcard" and "number" in label["expected"]:
            image_path = next(p for p in FIXTURES.glob(label_path.stem + ".*") if p != label_path)
            samples.append((image_path, label["expected"]))
    return samples


@pytest.fixture(scope="module")
def reader() -> RapidReader:
    """The local engine's own recogniser (RapidOCR with the engine's settings)."""
    return RapidReader(OcrSettings())


def second_look(reader: RapidReader, page: OcrPage) -> Reread:
    """Re-read boxes of ``page`` from enlarged upright crops, in both reading directions."""
    frame = page.frames()[0]

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        crops = [
            layout.cut_text(page.image, layout.place(box, f), f, target_height=48)
            for box in wanted
            for f in (frame, frame.flipped())
        ]
        texts = reader.read_lines(crops)
        return [texts[i : i + 2] for i in range(0, len(texts), 2)]

    return reread


@pytest.fixture(scope="module")
def read_fixtures(reader: RapidReader) -> list[tuple[OcrPage, dict[str, str]]]:
    """The committed bank cards through the real recogniser, once for all tests here."""
    return [
        (reader.read(decode_image(image_path.read_bytes())), expected)
        for image_path, expected in bank_fixtures()
    ]


@pytest.mark.slow
def test_real_ocr_reads_the_committed_bank_cards(
    reader: RapidReader, read_fixtures: list[tuple[OcrPage, dict[str, str]]]
) -> None:
    assert len(read_fixtures) >= 8, "the committed fixture set should hold bank cards"
    correct = 0
    for page, expected in read_fixtures:
        with contextlib.suppress(NoCardFound):
            result = extract_bankcard(page.boxes, reread=second_look(reader, page))
            correct += result.fields.get("number") == expected["number"]
    assert correct / len(read_fixtures) >= 0.9


def spoil_number(boxes: Sequence[TextBox], number: str) -> list[TextBox]:
    """The boxes with two digits of each long number piece misread."""
    spoilt = []
    for box in boxes:
        digits = "".join(ch for ch in box.text if ch.isdigit())
        if len(digits) >= 8 and digits in number:
            at = [i for i, ch in enumerate(box.text) if ch.isdigit()]
            for delta in range(1, 10):
                chars = list(box.text)
                for i in (at[-2], at[-5]):
                    chars[i] = str((int(chars[i]) + delta) % 10)
                text = "".join(chars)
                # Luhn must notice, or nothing would ask for a second look.
                if not luhn_ok(number.replace(digits, "".join(c for c in text if c.isdigit()))):
                    break
            box = TextBox(box.points, text, box.score)
        spoilt.append(box)
    return spoilt


@pytest.mark.slow
def test_real_second_look_recovers_a_damaged_first_reading(
    reader: RapidReader, read_fixtures: list[tuple[OcrPage, dict[str, str]]]
) -> None:
    """Two digits of the number's boxes spoilt (beyond what single corrections may fix):
    the real recogniser on enlarged crops must give the number back."""
    tried = recovered = 0
    for page, expected in read_fixtures[:6]:
        spoilt = spoil_number(page.boxes, expected["number"])
        if spoilt == page.boxes:
            continue
        tried += 1
        with contextlib.suppress(NoCardFound):
            result = extract_bankcard(spoilt, reread=second_look(reader, page))
            recovered += result.fields.get("number") == expected["number"]
    assert tried >= 3
    assert recovered == tried


CONDITION_FIXTURES = Path(__file__).parent / "fixtures" / "bank-conditions"


def condition_fixtures() -> list[tuple[Path, dict[str, str]]]:
    """Generated photos of the conditions real photos showed (tests/cardgen/bank_conditions)."""
    return [
        (label.with_suffix(".jpg"), json.loads(label.read_text(encoding="utf-8"))["expected"])
        for label in sorted(CONDITION_FIXTURES.glob("*.json"))
    ]


@pytest.fixture(scope="module")
def condition_outcomes() -> dict[str, CardResult | OcrError]:
    """Each condition photo read once by the local engine (one thread, kind detection),
    or the error it raised: the tests below ask the same of some of the same photos
    (each of 014-017 was read twice, 7 s of CPU)."""
    engine = LocalEngine(threads=1)
    outcomes: dict[str, CardResult | OcrError] = {}
    for path, _ in condition_fixtures():
        try:
            outcomes[path.stem] = engine.recognize(path.read_bytes(), AUTO)
        except OcrError as exc:
            outcomes[path.stem] = exc
    return outcomes


def condition_result(outcomes: dict[str, CardResult | OcrError], name: str) -> CardResult:
    """The engine's answer for the condition photo ``name``; its error raised again."""
    outcome = outcomes[name]
    if isinstance(outcome, OcrError):
        raise outcome
    return outcome


@pytest.mark.slow
def test_real_engine_reads_every_bank_condition_without_a_silent_error(
    condition_outcomes: dict[str, CardResult | OcrError],
) -> None:
    fixtures = condition_fixtures()
    conditions = {path.stem.split("_bank_")[1] for path, _ in fixtures}
    assert conditions == {
        "embossed_glare",
        "year_first",
        "month_year",
        "from_thru",
        "upside_down_line",
        "faded_group",
        "faded_expiry",
        "marked_digit",
        "busy_group",
    }
    for path, expected in fixtures:
        result = condition_result(condition_outcomes, path.stem)
        assert result.kind == "bankcard", path.name
        assert result.fields.get("number") == expected["number"], path.name
        assert result.fields.get("valid_thru") == expected.get("valid_thru"), path.name


@pytest.mark.slow
def test_real_number_line_read_upside_down_is_turned_and_read_again(
    reader: RapidReader,
) -> None:
    """As on real embossed cards: the number line read upside down ('5h29 80hh') and
    the card taken to be upside down too (a bank card has no labels to say otherwise),
    so the second look's crops are upside down as well."""
    path, expected = condition_fixtures()[0]  # embossed digits under glare
    page = reader.read(decode_image(path.read_bytes()))
    upright = upright_view(page)
    view = CardView.of(page, upright.frame.flipped())
    boxes = upright_boxes(view)
    spoilt = []
    for placed, upright_box in zip(view.placed, boxes, strict=True):
        digits = "".join(ch for ch in placed.text if ch.isdigit())
        if len(digits) >= 8 and digits in expected["number"]:
            # What the recogniser answers when its angle classifier turns the line over.
            text, score = reader.read_lines([view.cut(placed)])[0]
            upright_box = TextBox(upright_box.points, text, score)
        spoilt.append(upright_box)
    assert choose_number([spoilt]) is None  # the first reading alone holds no number
    result = extract_bankcard(spoilt, detect_second_look(view, spoilt, reader.read_lines))
    assert result.fields.get("number") == expected["number"]


@pytest.mark.parametrize(
    "groups",
    [
        ["1" + CMB_16[:4], CMB_16[4:8], CMB_16[8:12], CMB_16[12:]],  # a stray digit glued on
        ["7", CMB_16[:4], CMB_16[4:8], CMB_16[8:12], CMB_16[12:]],  # a stray digit box
        [CMB_16[:2], CMB_16[2:4], CMB_16[4:8], CMB_16[8:10], CMB_16[10:12], CMB_16[12:]],
    ],
    ids=["stray-digit-glued", "stray-digit-box", "groups-split-in-two"],
)
def test_a_readable_number_is_not_lost_to_a_stray_digit_or_a_split_group(
    groups: list[str],
) -> None:
    result = extract_bankcard(card_boxes(groups))
    assert result.fields["number"] == CMB_16


# --- The number band and the expiry's place (real embossed cards, issue 12) ------------


def band_reread(band_text: str, asked: list[list[str]]) -> Callable[[Sequence[TextBox]], Readings]:
    """A second look that reads nothing new in the detected boxes and ``band_text`` in
    any region of the reader's own (a box without text: the number band)."""

    def reread(boxes: Sequence[TextBox]) -> Readings:
        asked.append([b.text for b in boxes])
        return [[(band_text, 0.95)] if not b.text else [] for b in boxes]

    return reread


def test_a_number_group_the_detector_lost_is_read_from_the_whole_band() -> None:
    # Glare over the first embossed group: the detector finds only the other three.
    boxes = card_boxes([CMB_16[4:8], CMB_16[8:12], CMB_16[12:]])
    assert choose_number([boxes]) is None
    asked: list[list[str]] = []
    spaced = " ".join(CMB_16[i : i + 4] for i in range(0, 16, 4))
    result = extract_bankcard(boxes, reread=band_reread(spaced, asked))
    assert result.fields["number"] == CMB_16
    assert "number_corrected" not in result.warnings
    assert asked and asked[-1] == [""]  # the band: a region without text of its own


def test_a_band_reading_with_a_stray_digit_at_its_end_is_trimmed() -> None:
    # The band reaches past the number; the card's edge read as a digit before it.
    boxes = card_boxes([CMB_16[4:8], CMB_16[8:12], CMB_16[12:]])
    result = extract_bankcard(boxes, reread=band_reread("1" + CMB_16, []))
    assert result.fields["number"] == CMB_16


def test_a_band_reading_that_fails_luhn_is_not_taken() -> None:
    boxes = card_boxes([CMB_16[4:8], CMB_16[8:12], CMB_16[12:]])
    wrong = CMB_16[:10] + str((int(CMB_16[10]) + 1) % 10) + CMB_16[11:]
    assert not luhn_ok(wrong)
    result = extract_bankcard(boxes, reread=band_reread(wrong, []))
    assert "number" not in result.fields
    assert "number_unreadable" in result.warnings  # a retake, not digits nobody read


def test_a_luhn_valid_reading_is_not_traded_for_a_band_reading() -> None:
    # A stray digit box makes the first reading less than clean, so the band is read;
    # it reads another number that passes Luhn and names an issuer. Digits as read
    # that pass Luhn are kept: only one of the two can be the card's.
    other = with_check_digit(CMB_16[:10] + "77777")
    assert other != CMB_16 and luhn_ok(other)
    asked: list[list[str]] = []
    boxes = card_boxes(["7", CMB_16[:4], CMB_16[4:8], CMB_16[8:12], CMB_16[12:]])
    result = extract_bankcard(boxes, reread=band_reread(other, asked))
    assert asked  # the second look was taken
    assert result.fields["number"] == CMB_16


def test_an_expiry_the_detector_missed_is_read_below_its_month_year_label() -> None:
    # Real embossed dates under glare: the MONTH/YEAR label found, the date under it
    # not detected at all; the place the layout gives it is read, 'O' for the zero.
    boxes = card_boxes([ABC_19[:6], ABC_19[6:]], expiry=None)
    boxes.append(box("MONTH/YEAR", 300, 330, height=18, char_w=10))
    asked: list[list[str]] = []
    result = extract_bankcard(boxes, reread=band_reread("O1/31", asked))
    assert result.fields["number"] == ABC_19
    assert result.fields["valid_thru"] == "01/31"
    assert asked == [[""]]  # only the region under the label was read


# --- A mark over one digit (real worn cards, issue 12) ---------------------------------


def doubted(text: str, doubts: dict[int, str], x: float = 40, y: float = 250) -> TextBox:
    """A box of the number line whose characters at ``doubts``' keys the recogniser was
    unsure of, with those runner-ups."""
    plain = box(text, x, y, height=60, char_w=34)
    per_char = tuple(doubts.get(at, "") for at in range(len(text)))
    return TextBox(plain.points, text, plain.score, per_char)


def marked_card(number_box: TextBox) -> list[TextBox]:
    boxes = card_boxes([], expiry="10/29")
    return [*boxes[:2], number_box, *boxes[2:]]


def misread_at(number: str, at: int) -> str:
    """``number`` with the digit at ``at`` read as another digit (so Luhn fails)."""
    return number[:at] + str((int(number[at]) + 3) % 10) + number[at + 1 :]


def test_a_digit_under_an_ink_mark_is_put_right_by_the_recognisers_runner_up() -> None:
    # As on real worn cards: an ink mark or a pattern line over one digit; the
    # recogniser reads another digit there, unsure, with the printed one second. Luhn
    # says only that some digit is wrong; the recogniser's doubt says which.
    at = 9
    read = misread_at(CMB_16, at)
    assert not luhn_ok(read)
    boxes = marked_card(doubted(read, {at: CMB_16[at] + "8"}))
    result = extract_bankcard(boxes)
    assert result.fields["number"] == CMB_16
    assert "number_corrected" in result.warnings  # digits the engine chose, said so
    # Without the doubt the right digit is not found (a guess elsewhere, or as read).
    plain = extract_bankcard(marked_card(box(read, 40, 250, height=60, char_w=34)))
    assert plain.fields.get("number") != CMB_16


def test_a_doubt_that_does_not_pass_luhn_changes_nothing() -> None:
    at = 9
    read = misread_at(CMB_16, at)
    wrong_doubt = next(d for d in "0123456789" if not luhn_ok(read[:at] + d + read[at + 1 :]))
    result = extract_bankcard(marked_card(doubted(read, {at: wrong_doubt})))
    plain = extract_bankcard(marked_card(box(read, 40, 250, height=60, char_w=34)))
    assert result.fields.get("number") == plain.fields.get("number")
    assert result.warnings == plain.warnings


def test_a_luhn_valid_reading_is_never_changed_by_a_doubt() -> None:
    # A doubt only picks the digit Luhn cannot: digits as read that pass stay.
    at = 9
    other = next(
        d
        for d in "0123456789"
        if d != CMB_16[at] and not luhn_ok(CMB_16[:at] + d + CMB_16[at + 1 :])
    )
    result = extract_bankcard(marked_card(doubted(CMB_16, {at: other})))
    assert result.fields["number"] == CMB_16
    assert "number_corrected" not in result.warnings


def test_a_sign_read_over_a_marked_digit_does_not_lose_the_card() -> None:
    # A mark turned a digit into a colon ('95:0'), with the digit as the runner-up: the
    # number fell apart at the sign and a readable card ended as "no card found".
    at = 14
    read = CMB_16[:at] + ":" + CMB_16[at + 1 :]
    spaced = " ".join(read[i : i + 4] for i in range(0, 16, 4))
    pieces = digit_pieces(spaced, tuple(CMB_16[at] if c == ":" else "" for c in spaced))
    assert [digits for digits, _, _ in pieces] == [CMB_16]
    assert [digits for digits, _, _ in digit_pieces(spaced)] == [CMB_16[:at], CMB_16[at + 1 :]]
    result = extract_bankcard(marked_card(doubted(spaced, {spaced.index(":"): CMB_16[at]})))
    assert result.fields["number"] == CMB_16


def test_a_date_sign_is_never_read_as_a_doubted_digit() -> None:
    # A slash the recogniser nearly read as 1 is still the date's, not the number's.
    pieces = digit_pieces("10/29", ("", "", "1", "", ""))
    assert pieces == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["014_bank_marked_digit", "015_bank_marked_digit"])
def test_real_marked_digit_is_read_from_the_recognisers_doubt(
    condition_outcomes: dict[str, CardResult | OcrError], name: str
) -> None:
    """Generated embossed cards with a look-alike mark over one digit
    (``bank_conditions`` ``marked_digit``): before the recogniser's doubts reached the
    reader, one ended as "no card found" (the digit read as a colon), the other as a
    number failing Luhn."""
    path = CONDITION_FIXTURES / f"{name}.jpg"
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["expected"]
    result = condition_result(condition_outcomes, name)
    assert result.kind == "bankcard"
    assert result.fields.get("number") == expected["number"]
    assert "luhn_failed" not in result.warnings


# --- The first group over the card's picture (real embossed cards, issue 12) ----------


def printed_by(bank: str, groups: list[str]) -> list[TextBox]:
    """``card_boxes`` with ``bank``'s name printed on top instead of ABC's."""
    boxes = card_boxes(groups)
    return [box(bank, 60, 40, height=50, char_w=45), *boxes[1:]]


def test_a_first_group_misread_over_the_picture_is_set_from_the_printed_banks_bin() -> None:
    # As on a real card whose first embossed group lies over a busy picture: two of its
    # four digits read as others in every reading; the rest of the number reads right.
    read = "5224" + CMB_16[4:]
    assert not luhn_ok(read) and CMB_16.startswith("6225")
    groups = [read[:4], read[4:8], read[8:12], read[12:]]
    result = extract_bankcard(printed_by("招商银行", groups))
    assert result.fields["number"] == CMB_16
    assert "number_corrected" in result.warnings  # digits the engine chose, said so
    # Without the bank's name on the card nothing vouches for a BIN: no number at all.
    with pytest.raises(NoCardFound):
        extract_bankcard(printed_by("借记卡", groups))


def test_a_band_reading_with_a_misread_first_group_and_a_stray_digit_is_set_from_the_bin() -> None:
    # The real card's band: the first group misread, a stroke of the picture read as a
    # digit between it and the second group; the detector's own boxes hold no number.
    boxes = printed_by("招商银行", [CMB_16[8:12], CMB_16[12:]])
    band = "5224 7" + CMB_16[4:]
    result = extract_bankcard(boxes, reread=band_reread(band, []))
    assert result.fields["number"] == CMB_16
    assert "number_corrected" in result.warnings


def test_a_first_group_lost_in_the_picture_gets_its_digits_back_from_the_bin() -> None:
    # One digit of the group, or the first, all but invisible (generated busy_group).
    for read in (CMB_16[:2] + CMB_16[3:], CMB_16[1:]):
        groups = [read[:3], read[3:7], read[7:11], read[11:]]
        result = extract_bankcard(printed_by("招商银行", groups))
        assert result.fields["number"] == CMB_16, read
        assert "number_corrected" in result.warnings


def test_two_bins_of_the_printed_bank_that_fit_set_no_number() -> None:
    # 623126 and 439226 are both CMB's; with this body both numbers pass Luhn. The
    # group read ('4331') is as near either: no BIN is chosen over the other.
    body = "1000000006"
    first, second = "623126" + body, "439226" + body
    assert luhn_ok(first) and luhn_ok(second)
    read = "4331" + first[4:]
    # Both are tried (so only the rule against rivals keeps either out).
    tried = {h.number for h in _bank_hinted(Candidate(read, (), True, False, 0), "招商银行")}
    assert {first, second} <= tried
    groups = [read[:4], read[4:8], read[8:12], read[12:]]
    result = extract_bankcard(printed_by("招商银行", groups))
    assert result.fields.get("number") not in (first, second)


def test_a_luhn_valid_reading_is_not_traded_for_a_printed_banks_bin() -> None:
    # A Visa number of another bank's BIN, read clean, on a card that names CMB: kept
    # as read (flagged bank_mismatch), never rewritten into a CMB number.
    other = with_check_digit("622848942511068")  # ABC's BIN, 16 digits
    assert luhn_ok(other)
    groups = [other[:4], other[4:8], other[8:12], other[12:]]
    result = extract_bankcard(printed_by("招商银行", groups))
    assert result.fields["number"] == other
    assert "number_corrected" not in result.warnings


@pytest.mark.slow
@pytest.mark.parametrize("name", ["016_bank_busy_group", "017_bank_busy_group"])
def test_real_first_group_over_a_busy_picture_is_set_from_the_printed_banks_bin(
    condition_outcomes: dict[str, CardResult | OcrError], name: str
) -> None:
    """Generated embossed cards whose first group lies over a busy picture, one of its
    digits lost in it (``bank_conditions`` ``busy_group``): before the printed bank's
    BINs were tried, both ended with no number and a request to retake."""
    path = CONDITION_FIXTURES / f"{name}.jpg"
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["expected"]
    result = condition_result(condition_outcomes, name)
    assert result.fields.get("number") == expected["number"]
    assert "number_corrected" in result.warnings
