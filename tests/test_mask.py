"""Masking rules: what a user may see of a card (ocr/mask.py is the only place deciding it)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocr.engine import CardResult
from ocr.kinds import mask_field, mask_result
from ocr.mask import (
    mask_address,
    mask_birth,
    mask_card_number,
    mask_id_number,
    mask_name,
    mask_numbers_in_text,
)


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("张小明", "张**"), ("欧阳娜娜", "欧***"), ("", "")],
)
def test_name_keeps_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_id_number_keeps_first_three_and_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"


@pytest.mark.parametrize(
    ("addr", "masked"),
    [
        ("江苏省南京市玄武区建设街934号", "江苏省南京市玄武区****"),
        ("北京市东城区东华门街道100号", "北京市东城区****"),
        ("新疆维吾尔自治区乌鲁木齐市天山区解放南路5号", "新疆维吾尔自治区乌鲁木齐市天山区****"),
        ("河北省邢台市临城县东镇村3组", "河北省邢台市临城县****"),
        ("广东省广州市", "广东省****"),
        ("江苏省南京市玄武区建设街\n934号", "江苏省南京市玄武区****"),
    ],
)
def test_address_keeps_up_to_the_district(addr: str, masked: str) -> None:
    assert mask_address(addr) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("6228480402564890018", "6228 **** **** 0018"),
        ("622202123456789", "6222 **** **** 6789"),
        ("6222021234567890", "6222 **** **** 7890"),
        ("6222 0212 3456 7890", "6222 **** **** 7890"),
    ],
)
def test_card_number_keeps_first_and_last_four_in_groups(number: str, masked: str) -> None:
    assert mask_card_number(number) == masked


def test_birth_keeps_the_year() -> None:
    assert mask_birth("19491231") == "1949****"


def test_unknown_fields_are_hidden_and_public_ones_shown() -> None:
    assert mask_field("something_new", "secret") == "******"
    assert mask_field("valid_date", "20150301-长期") == "20150301-长期"
    assert mask_field("bank", "中国工商银行") == "中国工商银行"


def test_mask_result_masks_every_field() -> None:
    result = CardResult(
        kind="idcard",
        fields={
            "type": "Front",
            "name": "林娜",
            "gender": "女",
            "nationality": "汉",
            "birth": "19900307",
            "addr": "江苏省南京市玄武区建设街934号",
            "id": "320102199003074321",
        },
    )
    masked = mask_result(result)
    assert masked == {
        "type": "Front",
        "name": "林*",
        "gender": "女",
        "nationality": "汉",
        "birth": "1990****",
        "addr": "江苏省南京市玄武区****",
        "id": "320***********4321",
    }
    assert result.fields["name"] == "林娜"  # the result itself is untouched


@given(st.text(min_size=8, max_size=30, alphabet="0123456789X"))
def test_masked_id_never_shows_the_middle(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked[3:-4] == "*" * (len(number) - 7)


@given(st.text(alphabet="0123456789", min_size=9, max_size=19))
def test_masked_card_number_shows_at_most_eight_digits(number: str) -> None:
    masked = mask_card_number(number)
    assert sum(c.isdigit() for c in masked) == 8
    assert masked.replace(" ", "")[:4] == number[:4]
    assert masked.replace(" ", "")[-4:] == number[-4:]


@given(st.text(alphabet="0123456789", min_size=9, max_size=19))
def test_masked_card_number_keeps_the_last_four_together_whatever_the_length(number: str) -> None:
    # Issue 13: a 19-digit number came out as "6222 **** **** ***3 647".
    masked = mask_card_number(number)
    assert masked == f"{number[:4]} **** **** {number[-4:]}"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("身份证号 11010519491231002X 请核对", "身份证号 110***********002X 请核对"),
        ("卡号：6222 0212 3456 7890 128。", "卡号：6222 **** **** 0128。"),
        ("账号6222021234567890128\n", "6222 **** **** 0128\n"),
    ],
)
def test_card_numbers_in_free_text_are_masked_as_on_their_card(text: str, masked: str) -> None:
    assert mask_numbers_in_text(text).endswith(masked)
    assert "0212" not in mask_numbers_in_text(text)


@pytest.mark.parametrize(
    "text",
    [
        "电话 13812345678，订单 20241201000123",  # too short, or no checksum
        "11010519491231002Y",  # wrong check character
        "6222021234567890123",  # fails Luhn
        "合计 123456789012345678 元",  # 18 digits, not an ID number, not Luhn
    ],
)
def test_numbers_that_are_no_card_stay_as_written(text: str) -> None:
    assert mask_numbers_in_text(text) == text
