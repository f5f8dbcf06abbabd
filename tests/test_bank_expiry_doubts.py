"""A bank card's valid-thru date read with a digit the recogniser doubted (issue 12).

On the blind set real90f a far-off card's 05/29 read '05/25' (its month's 0 at 0.60
certainty with 9 as runner-up, its last 5 at 0.90) and was answered, with nothing to
doubt it, as a card that had expired. Such a date is now `valid_thru_unsure` unless
two enlarged crops of its box read it again (and none reads another date), and the
reply says the card *may* have expired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.chat import replies
from ocr.engine import AUTO, CardResult, TextBox
from ocr.evaluate import compare, load_samples
from ocr.field_warnings import add_field_warnings
from ocr.kinds.bankcard.extract import date_doubted, extract_bankcard
from ocr.layout import LineReading
from ocr.local import LocalEngine
from tests.test_bankcard import ABC_19, box, card_boxes

TODAY = dt.date(2026, 11, 30)
SILENT_ERRORS = Path(__file__).parent / "fixtures" / "silent-errors"
# real90f's '05/25': per character, the recogniser's certainty and its runner-ups.
FAR_OFF_CERTAINTIES = (0.60, 0.97, 1.00, 0.99, 0.90)
FAR_OFF_DOUBTS = ("9", "", "", "", "")


def date_box(text: str, certainties: Sequence[float], doubts: Sequence[str] = ()) -> TextBox:
    """The expiry's box of ``card_boxes`` read as ``text`` with these certainties."""
    plain = box(text, 300, 340, height=36, char_w=20)
    return replace(plain, certainties=tuple(certainties), doubts=tuple(doubts) or ("",) * len(text))


def card_with(date: TextBox) -> list[TextBox]:
    return [*card_boxes([ABC_19[:6], ABC_19[6:]], expiry=None), date]


def far_off_date() -> TextBox:
    return date_box("05/25", FAR_OFF_CERTAINTIES, FAR_OFF_DOUBTS)


def test_a_date_read_with_a_doubted_digit_is_answered_as_unsure() -> None:
    result = extract_bankcard(card_with(far_off_date()))
    assert result.fields["valid_thru"] == "05/25"  # as read: nothing better was read
    assert "valid_thru_unsure" in result.warnings


def test_a_date_read_with_certainty_is_not_flagged() -> None:
    result = extract_bankcard(card_with(date_box("05/29", (1.0, 0.99, 1.0, 1.0, 0.98))))
    assert result.fields["valid_thru"] == "05/29"
    assert result.warnings == []


def test_a_rival_digit_in_the_date_doubts_it_whatever_its_certainty() -> None:
    sure_but_rivalled = date_box("05/25", (1.0,) * 5, ("", "", "", "", "9"))
    assert date_doubted([sure_but_rivalled], "05/25")
    # A rival at the slash or a letter is no rival digit.
    assert not date_doubted([date_box("05/25", (1.0,) * 5, ("", "", "1", "", ""))], "05/25")


def test_only_the_dates_own_digits_count() -> None:
    # '有效期 03/30': the blank after the label read at 0.56 (real90f's small cards).
    labelled = date_box("有效期 03/30", (1.0, 1.0, 1.0, 0.56, 1.0, 1.0, 1.0, 1.0, 1.0))
    assert not date_doubted([labelled], "03/30")
    low_year = date_box("有效期 03/30", (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.7))
    assert date_doubted([low_year], "03/30")


def test_a_box_without_certainties_doubts_nothing() -> None:
    # Another engine's boxes (or a test's) say nothing of the recogniser's certainty.
    assert not date_doubted([box("05/25", 300, 340)], "05/25")


def test_a_doubted_date_read_again_by_two_enlarged_crops_is_kept_unflagged() -> None:
    asked: list[list[str]] = []

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in wanted])
        sure = LineReading("05/25", 0.99, ("",) * 5, (1.0,) * 5)
        return [[sure, sure, LineReading("0S/2", 0.5)] for _ in wanted]

    boxes = card_with(far_off_date())
    result = extract_bankcard(boxes, reread=reread)
    assert asked == [["05/25"]]  # the date's box alone
    assert result.fields["valid_thru"] == "05/25"
    assert "valid_thru_unsure" not in result.warnings


def test_crops_that_read_another_date_or_the_same_once_leave_it_doubted() -> None:
    again = LineReading("05/25", 0.9, FAR_OFF_DOUBTS, FAR_OFF_CERTAINTIES)
    for crops in (
        [LineReading("96/25", 0.7), LineReading("4/25", 0.5)],  # as real90f's card
        [again, again, LineReading("05/29", 0.99, ("",) * 5, (1.0,) * 5)],
        [again],  # one reading again is not enough
    ):

        def reread(
            wanted: Sequence[TextBox], crops: list[LineReading] = crops
        ) -> list[list[tuple[str, float]]]:
            return [list(crops) for _ in wanted]

        result = extract_bankcard(card_with(far_off_date()), reread=reread)
        assert result.fields["valid_thru"] == "05/25", crops
        assert "valid_thru_unsure" in result.warnings, crops


def bank_card(valid_thru: str, warnings: list[str]) -> CardResult:
    return CardResult(
        kind="bankcard",
        fields={"number": ABC_19, "bank": "中国农业银行", "valid_thru": valid_thru},
        checks={"luhn": True, "bin": True},
        warnings=list(warnings),
    )


def test_a_doubted_past_date_says_the_card_may_have_expired() -> None:
    result = add_field_warnings(bank_card("05/25", ["valid_thru_unsure"]), TODAY)
    assert "expired" in result.warnings  # counted as such by the operators' figures
    text = replies.card_result(result)
    assert "卡片可能已过期（有效期至 05/25）" in text
    assert "卡片已过期" not in text
    assert "有效期的数字看不清，可能识别有误，请核对原件" in text


def test_a_sure_past_date_still_says_the_card_expired() -> None:
    text = replies.card_result(add_field_warnings(bank_card("05/25", []), TODAY))
    assert "卡片已过期（有效期至 05/25）" in text
    assert "看不清" not in text


def read_bank_fixture(start: str) -> tuple[CardResult, dict[str, tuple[str, str]]]:
    """The silent-errors photo named ``start...`` read with the kind detected, asserted a
    bank card whose number is right; the result and its wrong fields."""
    (sample,) = [s for s in load_samples(SILENT_ERRORS) if s.name.startswith(start)]
    result = LocalEngine(threads=1, intra_op_threads=1).recognize(sample.image.read_bytes(), AUTO)
    wrong = compare(sample, result, None)
    assert result.kind == "bankcard", wrong
    assert result.fields["number"] == sample.expected["number"]
    return result, wrong


@pytest.mark.slow
def test_real90f_47_a_far_off_cards_misread_expiry_is_doubted() -> None:
    # tests/fixtures/silent-errors/real90f_047_...: generator output, copied byte for
    # byte from `python -m tests.cardgen --out build/real90f --count 90 --seed 83
    # --photo-share 1.0 --conditions small_photo,far_card,faint_labels,old_code`.
    result, wrong = read_bank_fixture("real90f_047")
    if "valid_thru" in wrong:
        assert "valid_thru_unsure" in result.warnings, (wrong, result.warnings)
        assert "卡片已过期" not in replies.card_result(result)


# --- A second date beside the one read (VALID FROM beside VALID THRU) ------------------

# bank113's photo 10: the THRU date read as garbage beside the FROM date read clean.
ISSUE_DATE, GARBLED_THRU = "09/27", "TA/0 322"


def from_thru_card(other: TextBox) -> list[TextBox]:
    """The FROM date read with certainty in the expiry's place, ``other`` beside it."""
    return [*card_with(date_box(ISSUE_DATE, (1.0,) * 5)), other]


def garbled_thru(x: float = 470, y: float = 338) -> TextBox:
    return box(GARBLED_THRU, x, y, height=40, char_w=20)


def rereading(*crops: str) -> Callable[[Sequence[TextBox]], list[list[tuple[str, float]]]]:
    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        assert [b.text for b in wanted] == [GARBLED_THRU]  # the unread date's box alone
        return [[LineReading(text, 0.9) for text in crops] for _ in wanted]

    return reread


def test_a_date_with_an_unread_date_beside_it_may_be_the_issue_date() -> None:
    for other in (garbled_thru(), garbled_thru(x=300, y=390)):  # beside it, or under it
        result = extract_bankcard(from_thru_card(other))
        assert result.fields["valid_thru"] == ISSUE_DATE
        assert "valid_thru_uncertain" in result.warnings, other
        # An old issue date is not said expired ('...可能是起始日期...').
        said = add_field_warnings(result, dt.date(2028, 1, 1))
        assert "expired" not in said.warnings
        assert "可能是起始日期" in replies.card_result(said)


def test_the_later_date_read_from_the_unread_box_is_the_valid_thru() -> None:
    result = extract_bankcard(from_thru_card(garbled_thru()), rereading("U 09/32", "09/32", "0"))
    assert result.fields["valid_thru"] == "09/32"
    assert result.warnings == []
    # Read once only, or with another later date beside it: answered, but doubted.
    for crops in (("U 09/32", "9/32"), ("09/32", "09/32", "09/33")):
        result = extract_bankcard(from_thru_card(garbled_thru()), rereading(*crops))
        assert result.fields["valid_thru"] in ("09/32", "09/33"), crops
        assert "valid_thru_unsure" in result.warnings, crops


def test_an_earlier_date_beside_makes_the_date_read_the_valid_thru() -> None:
    result = extract_bankcard(from_thru_card(garbled_thru()), rereading("09/22", "09/22"))
    assert result.fields["valid_thru"] == ISSUE_DATE
    assert result.warnings == []


def test_crops_that_read_no_date_leave_it_uncertain() -> None:
    result = extract_bankcard(from_thru_card(garbled_thru()), rereading("TA/0", "", "3 22"))
    assert result.fields["valid_thru"] == ISSUE_DATE
    assert "valid_thru_uncertain" in result.warnings


def test_digits_away_from_the_date_do_not_doubt_it() -> None:
    for other in (
        garbled_thru(x=300 + 100 + 6 * 36 + 20),  # on its line, more than 5 heights away
        garbled_thru(y=338 + 36 + 2 * 36),  # under it, more than a height below
        box("6228", 300, 390, height=16, char_w=8),  # the small BIN printed under a group
        box("VALID THRU", 470, 338, height=40, char_w=20),  # a label: no digit
        # Before the date: cards print FROM before THRU, so the date read is the later.
        box("6228", 300 - 3 * 40 - 4 * 20, 338, height=40, char_w=20),  # left, its line
        garbled_thru(x=300, y=338 - 40 - 20),  # over it
    ):
        result = extract_bankcard(from_thru_card(other))
        assert result.fields["valid_thru"] == ISSUE_DATE
        assert result.warnings == [], other


@pytest.mark.slow
def test_bank113_10_a_from_date_beside_an_unread_thru_is_not_answered_as_sure() -> None:
    # tests/fixtures/silent-errors/bank113_010_...: generator output, copied byte for byte
    # from `python -m tests.cardgen.bank_conditions --out build/bank113ft --seed 113
    # --conditions year_first,from_thru --per-condition 6` (its README).
    result, wrong = read_bank_fixture("bank113_010")
    assert result.fields["valid_thru"] != ISSUE_DATE or "valid_thru_uncertain" in result.warnings
    if "valid_thru" in wrong:
        assert {"valid_thru_unsure", "valid_thru_uncertain"} & set(result.warnings), wrong


# --- Dates beside the card (a far-off card read zoomed with its clutter) ----------------

# card_boxes' number line: x 40-726, y 250-310 (60 high). A note or receipt lying beside
# the card, read in the same zoomed page as the card (real90's photo 35: 'Meeting
# 10:30' 11 number heights left of the number, 'No,03' 14 heights under it).
FAR_RIGHT = 726 + 3 * 60  # more than CARD_MARGIN (2) heights past the number's end
FAR_BELOW = 280 + 8 * 60  # more than CARD_REACH (7) heights under the number's centre


def dateless_card_beside(note: TextBox) -> list[TextBox]:
    return [*card_boxes([ABC_19[:6], ABC_19[6:]], expiry=None), note]


Reread = Callable[[Sequence[TextBox]], list[list[tuple[str, float]]]]


def always_reading(date: str) -> tuple[Reread, list[list[str]]]:
    """A second look whose every crop, whatever is asked, reads ``date`` with certainty;
    and the list of what it was asked."""
    asked: list[list[str]] = []

    def reread(wanted: Sequence[TextBox]) -> list[list[tuple[str, float]]]:
        asked.append([b.text for b in wanted])
        return [[LineReading(date, 0.99, ("",) * 5, (1.0,) * 5)] * 5 for _ in wanted]

    return reread, asked


def test_a_date_printed_beside_the_card_is_not_its_valid_thru() -> None:
    # A coupon's '有效期至 2027/06' on a note beside a card that prints no date: answered
    # as the card's valid thru it would be a wrong value with nothing to doubt it.
    # Whatever is asked (a box, or the place right of a 有效期 label) reads a date.
    reread, asked = always_reading("06/27")

    for note in (
        box("有效期至 2027/06", FAR_RIGHT, 250, height=30, char_w=16),
        box("有效期至", FAR_RIGHT, 250, height=30, char_w=16),  # its date not detected
        box("12/25", 300, FAR_BELOW, height=36, char_w=20),
        box("12/25", 40 - 3 * 60 - 5 * 20, 340, height=36, char_w=20),  # left of the card
    ):
        for second_look in (None, reread):
            asked.clear()
            result = extract_bankcard(dateless_card_beside(note), reread=second_look)
            assert "valid_thru" not in result.fields, note
            assert asked == [], note


def test_short_digit_boxes_beside_the_card_are_not_read_again() -> None:
    # A receipt's '12 25' read without its slash: enlarged, it would read '12/25'.
    reread, asked = always_reading("12/25")

    for note in (
        box("12 25", FAR_RIGHT, 340, height=36, char_w=20),
        box("12 25", 300, FAR_BELOW, height=36, char_w=20),
    ):
        asked.clear()
        result = extract_bankcard(dateless_card_beside(note), reread=reread)
        assert asked == [], note
        assert "valid_thru" not in result.fields, note


def test_the_cards_own_short_boxes_at_its_edges_are_still_read_again() -> None:
    # A box within CARD_MARGIN heights of the number's ends and CARD_REACH heights of its
    # line may be the card's: it is read again, and its date answered. Within DATE_REACH
    # heights under the number, within its span, is where cards print the date: answered
    # as the card's. Past the number's end, or further under it, it may be a note's lying
    # close to the card: answered as uncertain.
    reread, asked = always_reading("11/30")
    uncertain = ["valid_thru_uncertain"]

    for date, warnings in (
        (box("T 3", 300, 280 + 4 * 60 - 18, height=36, char_w=20), []),  # 4 heights under
        (box("T 3", 300, 280 + 5 * 60 - 18, height=36, char_w=20), uncertain),  # 5 under
        (box("T 3", 726 + 60, 340, height=36, char_w=20), uncertain),  # past the end
    ):
        asked.clear()
        result = extract_bankcard(dateless_card_beside(date), reread=reread)
        assert asked == [["T 3"]], date
        assert result.fields["valid_thru"] == "11/30", date
        assert result.warnings == warnings, date


# A coupon's note close beside a card that prints no date, on the number's line, 1.7
# number heights past its end (bank_conditions dated_note, seed 6, photo 2).
CLOSE_NOTE = box("有效期至2030/09", 726 + 100, 255, height=34, char_w=16)


# The same note under the card or over it, across the number's span (dated_note_under,
# seeds 7 and 8: 5.4-6.1 number heights under the number, 6.4-6.9 over it).
NOTE_UNDER = box("有效期至2030/09", 250, 280 + 6 * 60 - 17, height=34, char_w=16)
NOTE_OVER = box("有效期至2030/09", 250, 280 - 6.5 * 60 - 17, height=34, char_w=16)


def test_a_date_close_beside_the_number_is_answered_only_as_uncertain() -> None:
    # Within the card's reach from the number, but not where a card prints its date
    # (within DATE_REACH heights of the number, within its span): it may be the card's,
    # or a note's.
    reread, _ = always_reading("09/30")
    for note in (CLOSE_NOTE, NOTE_UNDER, NOTE_OVER):
        for second_look in (None, reread):
            result = extract_bankcard(dateless_card_beside(note), reread=second_look)
            assert result.fields["valid_thru"] == "09/30", note
            assert "valid_thru_uncertain" in result.warnings, note
            # Not said expired: nothing says the date is the card's.
            said = add_field_warnings(result, dt.date(2031, 1, 1))
            assert "expired" not in said.warnings
            assert "卡片已过期" not in replies.card_result(said)


def test_the_cards_own_date_wins_over_a_later_one_close_beside_the_number() -> None:
    # Read alone, the later date would win (a card showing VALID FROM shows it earlier).
    boxes = [*card_boxes([ABC_19[:6], ABC_19[6:]], expiry="10/29"), CLOSE_NOTE]
    reread, asked = always_reading("09/30")
    result = extract_bankcard(boxes, reread=reread)
    assert result.fields["valid_thru"] == "10/29"
    assert result.warnings == []
    assert asked == []


@pytest.mark.slow
def test_banknote5_0_a_coupons_date_beside_a_card_without_one_is_not_answered() -> None:
    # tests/fixtures/silent-errors/banknote5_000_...: generator output, copied byte for
    # byte from `python -m tests.cardgen.bank_conditions --out build/banknote5 --seed 5
    # --per-condition 6 --conditions dated_note` (its sample 0): a card that prints no
    # valid thru, a note reading '有效期至 2027/03' beside it, 2.3 number heights past the
    # number's end. The version before answered the note's 03/27, with no warning.
    result, wrong = read_bank_fixture("banknote5_000")
    assert wrong == {}
    assert "valid_thru" not in result.fields


@pytest.fixture(scope="module")
def close_note() -> CardResult:
    """tests/fixtures/silent-errors/banknote6_002_...: generator output, copied byte for
    byte from `python -m tests.cardgen.bank_conditions --out build/banknote6 --seed 6
    --per-condition 8 --conditions dated_note` (its sample 2), read once: a card that
    prints no valid thru, a note reading '有效期至 2030/09' on the number's line, 1.7
    number heights past its end. The version before answered 09/30, with no warning."""
    result, wrong = read_bank_fixture("banknote6_002")
    assert wrong == {}
    return result


@pytest.mark.slow
def test_banknote6_2_a_coupons_date_close_beside_the_number_is_never_silent(
    close_note: CardResult,
) -> None:
    if "valid_thru" in close_note.fields:
        assert "valid_thru_uncertain" in close_note.warnings, close_note.warnings


@pytest.mark.slow
def test_banknote6_2_the_coupons_date_is_not_said_expired(close_note: CardResult) -> None:
    said = add_field_warnings(close_note, dt.date(2031, 1, 1))
    assert "expired" not in said.warnings
    assert "卡片已过期" not in replies.card_result(said)


# --- A date the card shows that no reading read ------------------------------------------


def test_a_slashed_scrap_where_the_date_lies_says_the_date_was_not_read() -> None:
    # real_b20's photo 119: '01/27' read 'z/w' (and '/2'); no date in any reading.
    for scrap in ("z/w", "/2", "0/2"):
        result = extract_bankcard(card_with(date_box(scrap, (0.6,) * len(scrap))))
        assert "valid_thru" not in result.fields, scrap
        assert "valid_thru_unreadable" in result.warnings, scrap
        text = replies.card_result(add_field_warnings(result, TODAY))
        assert "卡上的有效期未能识别，请核对原件或重拍" in text


def test_a_valid_thru_label_without_its_date_says_the_date_was_not_read() -> None:
    label = box("VALID THRU", 300, 340, height=20, char_w=10)
    result = extract_bankcard(card_with(label))
    assert "valid_thru" not in result.fields
    assert "valid_thru_unreadable" in result.warnings


def test_a_card_that_prints_no_date_is_not_said_unread() -> None:
    # No date, no label, nothing slashed: a card that prints none (many debit cards).
    result = extract_bankcard(card_boxes([ABC_19[:6], ABC_19[6:]], expiry=None))
    assert "valid_thru" not in result.fields
    assert result.warnings == []
    # A slash away from where cards print their date (past the number's end).
    away = box("A/C", 780, 120)
    result = extract_bankcard([*card_boxes([ABC_19[:6], ABC_19[6:]], expiry=None), away])
    assert "valid_thru_unreadable" not in result.warnings


@pytest.mark.slow
def test_real_b20_119_a_far_off_cards_unread_date_is_said() -> None:
    result, wrong = read_bank_fixture("real_b20_119")
    if "valid_thru" in wrong:
        assert result.fields.get("valid_thru") is None or "valid_thru_unsure" in result.warnings
        assert (
            "valid_thru_unreadable" in result.warnings or "valid_thru_unsure" in result.warnings
        ), (
            wrong,
            result.warnings,
        )
