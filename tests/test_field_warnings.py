"""Warnings decided from the fields (issue 16): expired, invalid_period, temporary,
field_missing:<name>, and the replies that say what they mean and what to do."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine

from bot.chat import replies
from ocr.checks import luhn_check_digit
from ocr.detect import read_card
from ocr.engine import AUTO, CardResult
from ocr.engines import create_engine
from ocr.field_warnings import add_field_warnings
from ocr.kinds.bankcard.extract import expired as bank_expired
from ocr.kinds.bankcard.extract import extract_bankcard
from ocr.kinds.idcard.extract import field_warnings as id_field_warnings
from ocr.layout import OcrPage
from tests.card_boxes import Printed, card_boxes
from tests.test_idcard import BACK, BLANK, front

TODAY = dt.date(2026, 11, 29)
FIXTURES = Path(__file__).parent / "fixtures" / "cards"


def back(valid_date: str) -> CardResult:
    fields = {"type": "Back", "authority": "北京市公安局东城分局", "valid_date": valid_date}
    return CardResult(kind="idcard", fields=fields, checks={"valid_date": True})


# ---------------------------------------------------------------- expired


@pytest.mark.parametrize(
    ("valid_date", "warned"),
    [
        ("20070816-20170816", True),
        ("20161128-20261128", True),  # ended yesterday
        ("20161129-20261129", False),  # valid through today
        ("20200101-20400101", False),
        ("19990101-长期", False),
        ("garbled", False),
    ],
)
def test_id_back_expired_only_when_its_end_is_before_today(valid_date: str, warned: bool) -> None:
    assert ("expired" in id_field_warnings({"valid_date": valid_date}, TODAY)) is warned


@pytest.mark.parametrize(
    ("valid_thru", "warned"),
    [("10/26", True), ("08/17", True), ("11/26", False), ("12/26", False), ("13/20", False)],
)
def test_bank_card_expired_after_its_valid_thru_month(valid_thru: str, warned: bool) -> None:
    assert bank_expired(valid_thru, TODAY) is warned


def test_today_comes_from_the_clock_when_not_given() -> None:
    with time_machine.travel(dt.datetime(2030, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        assert "expired" in add_field_warnings(back("20200101-20300101")).warnings
    with time_machine.travel(dt.datetime(2029, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        assert "expired" not in add_field_warnings(back("20200101-20300101")).warnings


# ---------------------------------------------------------------- invalid_period


@pytest.mark.parametrize(
    ("valid_date", "warned"),
    [
        ("20070816-20150816", True),  # 8 years
        ("20070816-20170817", True),  # one day off
        ("20300101-20400101", True),  # starts in the future
        ("20070816-20270816", False),
        ("20070816-长期", False),
        ("2007081-20170816", False),  # no period at all: valid_date_failed says it
        ("20071336-20171336", False),
    ],
)
def test_invalid_period_is_a_readable_period_of_the_wrong_span(
    valid_date: str, warned: bool
) -> None:
    assert ("invalid_period" in id_field_warnings({"valid_date": valid_date}, TODAY)) is warned


# ---------------------------------------------------------------- temporary


def test_temporary_resident_id_is_flagged_from_its_title() -> None:
    temporary = [Printed("中华人民共和国临时居民身份证", 100, 20), *front()]
    page = OcrPage(BLANK, card_boxes(temporary, shuffle_seed=7))
    assert "temporary" in read_card(page, AUTO).warnings
    regular = OcrPage(BLANK, card_boxes(BACK, shuffle_seed=7))
    assert "temporary" not in read_card(regular, AUTO).warnings


# ---------------------------------------------------------------- field_missing


def test_front_without_name_nationality_and_address_names_each() -> None:
    fields = {"type": "Front", "gender": "男", "birth": "19800101", "id": "x", "name": " "}
    result = add_field_warnings(CardResult(kind="idcard", fields=fields), TODAY)
    assert result.warnings == [
        "field_missing:name",
        "field_missing:nationality",
        "field_missing:addr",
    ]


def test_a_field_the_engine_never_answers_is_not_missing() -> None:
    # WeChat's cv/ocr/idcard has no issuing authority.
    result = CardResult(kind="idcard", fields={"type": "Back", "valid_date": "20200101-20400101"})
    answered = ("type", "valid_date")
    assert add_field_warnings(result, TODAY, answered=answered).warnings == []
    assert add_field_warnings(result, TODAY).warnings == ["field_missing:authority"]


def test_warnings_are_added_once() -> None:
    result = back("20070816-20170816")
    add_field_warnings(result, TODAY)
    add_field_warnings(result, TODAY)
    assert result.warnings == ["expired"]


# ---------------------------------------------------------------- bank length vs BIN


def test_length_unusual_for_a_network_only_bin_bug() -> None:
    # Bug: a number whose BIN row names only the network (60: UnionPay, 16 or 19 digits)
    # was never checked against that row's lengths, so a 17-digit one read "卡号校验通过".
    body = "6099991234567890"
    number = body + luhn_check_digit(body)
    boxes = card_boxes([Printed(number, 40, 200, char_width=20)])
    result = extract_bankcard(boxes)
    assert result.fields["number"] == number
    assert "length_unusual" in result.warnings
    assert "卡号校验通过" not in replies.card_result(result)


# ---------------------------------------------------------------- replies


def test_expired_back_says_so_with_its_end_date() -> None:
    result = add_field_warnings(back("20070816-20170816"), TODAY)
    text = replies.card_result(result)
    assert "证件已过期（有效期至 2017.08.16）" in text


def test_expired_bank_card_says_so() -> None:
    card = CardResult(
        kind="bankcard",
        fields={"number": "6222021234567890128", "bank": "中国工商银行", "valid_thru": "08/17"},
        checks={"luhn": True, "bin": True},
    )
    assert "卡片已过期（有效期至 08/17）" in replies.card_result(add_field_warnings(card, TODAY))


def test_invalid_period_is_one_line_not_two() -> None:
    result = back("20070816-20150816")
    result.checks["valid_date"] = False
    result.warnings.append("valid_date_failed")
    text = replies.card_result(add_field_warnings(result, TODAY))
    assert "有效期限不是 5、10、20 年或长期" in text
    assert "有效期限有误" not in text
    assert "有效期限格式正确" not in text


def test_missing_fields_are_named_with_what_to_do() -> None:
    fields = {"type": "Front", "gender": "男", "id": "11010519491231002X"}
    result = add_field_warnings(CardResult(kind="idcard", fields=fields), TODAY)
    text = replies.card_result(result)
    assert "未能识别：姓名、民族、住址。请将证件平放、避免反光，把整张证件拍进画面后重拍。" in text
    assert text.index("公民身份号码") < text.index("未能识别")  # masked fields first


def test_temporary_card_reply() -> None:
    result = back("20200101-20400101")
    result.warnings.append("temporary")
    assert "临时居民身份证" in replies.card_result(result)


def test_printed_bank_unknown_to_the_bin_table_is_not_called_unknown_bug() -> None:
    # Bug: "发卡行：交通银行" and, two lines later, "发卡行未知".
    card = CardResult(
        kind="bankcard",
        fields={"number": "6299991234567890", "bank": "交通银行"},
        checks={"luhn": True, "bin": False},
        warnings=["unknown_bin"],
    )
    text = replies.card_result(card)
    assert "发卡行：交通银行" in text
    assert "未知" not in text


def test_bank_neither_known_nor_printed_is_one_unknown_line() -> None:
    card = CardResult(
        kind="bankcard",
        fields={"number": "6299991234567890"},
        checks={"luhn": True, "bin": False},
        warnings=["unknown_bin"],
    )
    text = replies.card_result(card)
    assert text.count("未知") == 1
    assert "发卡行：未知" in text


def test_expired_id_back_photo_end_to_end() -> None:
    # The real engine on a committed photo (valid 2005.03.11-2025.03.11), on a day
    # before and a day after its end.
    image = (FIXTURES / "022_idback_photo.jpg").read_bytes()
    engine = create_engine("local", threads=1)
    with time_machine.travel(dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), tick=False):
        later = replies.card_result(engine.recognize(image, "idcard"))
    with time_machine.travel(dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC), tick=False):
        earlier = replies.card_result(engine.recognize(image, "idcard"))
    assert "证件已过期（有效期至 2025.03.11）" in later
    assert "已过期" not in earlier
    assert "未能识别" not in later


def test_a_field_with_its_own_unreadable_warning_is_not_named_twice() -> None:
    card = CardResult(
        kind="bankcard", fields={"bank": "中国工商银行"}, warnings=["number_unreadable"]
    )
    text = replies.card_result(add_field_warnings(card, TODAY))
    assert "field_missing:number" in card.warnings
    assert "卡号未能可靠识别" in text
    assert "未能识别：" not in text


def test_a_reply_with_every_field_warning_fits_a_chat_bubble() -> None:
    result = back("20070816-20150816")
    result.fields["authority"] = ""
    result.warnings += ["valid_date_failed", "temporary", "low_confidence"]
    text = replies.card_result(add_field_warnings(result, TODAY))
    assert "证件已过期" in text and "未能识别：签发机关" in text
    # WeChat's passive text limit is 2048 bytes; keep well under it, fields first.
    assert len(text.encode()) < 1024
    assert text.index("有效期限：") < text.index("证件已过期")


def test_a_date_that_may_be_the_issue_date_does_not_make_a_card_expired() -> None:
    card = CardResult(
        kind="bankcard",
        fields={"number": "6222021234567890128", "valid_thru": "06/17"},
        warnings=["valid_thru_uncertain"],
    )
    assert "expired" not in add_field_warnings(card, TODAY).warnings
