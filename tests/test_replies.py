"""Reply texts: masked, short, and saying what was checked or what to do next."""

from __future__ import annotations

import pytest

from bot.chat import replies
from ocr.engine import AUTO, CardResult
from ocr.errors import CorruptImage, DecompressionBomb, EmptyImage, ImageTooLarge, NotAnImage

ID_NUMBER = "11010519491231002X"
CARD_NUMBER = "6222021234567890128"

ID_FRONT = CardResult(
    kind="idcard",
    fields={
        "type": "Front",
        "name": "张小明",
        "gender": "男",
        "nationality": "汉",
        "birth": "19491231",
        "addr": "北京市东城区东华门街道100号",
        "id": ID_NUMBER,
    },
    checks={"id_checksum": True, "birth_date": True},
)
ID_BACK = CardResult(
    kind="idcard",
    fields={"type": "Back", "authority": "北京市公安局东城分局", "valid_date": "20200101-20400101"},
)
BANK = CardResult(
    kind="bankcard",
    fields={"number": CARD_NUMBER, "bank": "中国工商银行", "card_type": "借记卡"},
    checks={"luhn": True, "bin": True},
)


def test_id_front_is_masked_and_says_the_number_was_checked() -> None:
    text = replies.card_result(ID_FRONT)
    assert "身份证人像面" in text
    assert "张**" in text
    assert "110***********002X" in text
    assert "北京市东城区****" in text
    assert "号码校验通过" in text
    for secret in (ID_NUMBER, "张小明", "东华门", "19491231"):
        assert secret not in text


def test_id_corrected_reply_does_not_claim_the_checksum_passed() -> None:
    corrected = CardResult(
        kind="idcard",
        fields=dict(ID_FRONT.fields),
        checks={"id_checksum": True, "birth_date": True},
        warnings=["id_corrected"],
    )
    text = replies.card_result(corrected)
    assert "号码校验通过" not in text
    assert "已按校验规则推测，请核对原件" in text
    assert ID_NUMBER not in text


def test_id_back_shows_authority_and_validity() -> None:
    text = replies.card_result(ID_BACK)
    assert "身份证国徽面" in text
    assert "北京市公安局东城分局" in text
    assert "2020.01.01-2040.01.01" in text


def test_bank_card_names_the_bank_and_hides_the_middle_digits() -> None:
    text = replies.card_result(BANK)
    assert "中国工商银行" in text
    assert "6222 **** **** 0128" in text
    assert "卡号校验通过" in text
    assert CARD_NUMBER not in text.replace(" ", "")


def test_failed_check_asks_to_compare_with_the_original() -> None:
    failed = CardResult(kind="idcard", fields=dict(ID_FRONT.fields), checks={"id_checksum": False})
    text = replies.card_result(failed)
    assert "号码校验未通过" in text
    assert "号码校验通过" not in text


def test_cdata_terminator_in_ocr_text_cannot_break_the_xml() -> None:
    odd = CardResult(kind="idcard", fields={"type": "Back", "authority": "a]]>b"})
    assert "]]>" not in replies.card_result(odd)


def test_no_card_tells_how_to_retake() -> None:
    assert replies.no_card() == "未识别到证件，请将证件平放、光线充足后重拍"
    assert "身份证" in replies.no_card("idcard")


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (NotAnImage("x"), "不是"),
        (EmptyImage("x"), "不是"),
        (ImageTooLarge("x"), "太大"),
        (DecompressionBomb("x"), "太大"),
        (CorruptImage("x"), "重新拍摄"),
    ],
)
def test_bad_images_get_a_reason(error: NotAnImage, hint: str) -> None:
    assert hint in replies.bad_image(error)


def test_daily_limit_names_the_limit() -> None:
    assert "20" in replies.daily_limit(20)


def test_kind_chosen_and_help() -> None:
    assert "银行卡" in replies.kind_chosen("bankcard")
    assert "自动" in replies.kind_chosen(AUTO)
    assert "当前：身份证" in replies.help_text("idcard")
    assert "身份证" in replies.welcome()


@pytest.mark.parametrize(
    "text",
    [
        replies.card_result(ID_FRONT),
        replies.welcome(),
        replies.help_text(AUTO),
        replies.no_card("bankcard"),
    ],
)
def test_replies_fit_a_chat_bubble(text: str) -> None:
    # WeChat's passive text limit is 2048 bytes; keep well under it.
    assert len(text.encode()) < 1024


def test_a_number_the_engine_corrected_does_not_claim_its_check_passed() -> None:
    # Luhn passes on the digit the engine chose, so "卡号校验通过" would vouch for a guess.
    corrected = CardResult(
        kind="bankcard",
        fields=dict(BANK.fields),
        checks={"luhn": True, "bin": True},
        warnings=["number_corrected"],
    )
    text = replies.card_result(corrected)
    assert "卡号校验通过" not in text
    assert "发卡行已识别" in text
    assert "请核对原件" in text


def test_a_bank_card_without_a_valid_number_asks_for_a_retake() -> None:
    unreadable = CardResult(
        kind="bankcard", fields={"bank": "中国工商银行"}, warnings=["number_unreadable"]
    )
    text = replies.card_result(unreadable)
    assert "卡号" not in text.split("\n")[1]  # no number line
    assert "重拍" in text
    assert "校验通过" not in text


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("photocopy", "疑似复印件，请拍摄证件原件"),
        ("screen", "疑似翻拍屏幕，请直接拍摄证件原件"),
        ("blur", "照片模糊，请对准焦点、拿稳手机后重拍"),
        ("border_incomplete", "证件边缘不完整，请把整张证件拍进画面后重拍"),
        ("occluded", "有遮挡，请移开手指或遮挡物后重拍"),
        ("glare", "有反光，请避开灯光直射后重拍"),
    ],
)
def test_each_image_warning_gets_one_plain_line_after_the_fields(code: str, line: str) -> None:
    warned = CardResult(
        kind="idcard", fields=dict(ID_FRONT.fields), checks=dict(ID_FRONT.checks), warnings=[code]
    )
    lines = replies.card_result(warned).split("\n")
    assert lines.count(line) == 1
    # The masked fields come first, the advice after them.
    assert lines.index("姓名：张**") < lines.index(line)


def test_a_bank_card_photo_cut_at_the_edge_speaks_of_the_card() -> None:
    cut = CardResult(kind="bankcard", fields=dict(BANK.fields), warnings=["border_incomplete"])
    assert "卡片边缘不完整，请把整张卡片拍进画面后重拍" in replies.card_result(cut)


def test_a_reply_with_every_warning_stays_within_wechats_limit() -> None:
    everything = CardResult(
        kind="idcard",
        fields=dict(ID_FRONT.fields),
        checks={"id_checksum": False, "region": False, "gender": False, "birth_matches_id": False},
        warnings=[
            "border_incomplete",
            "photocopy",
            "screen",
            "occluded",
            "glare",
            "blur",
            "id_corrected",
            "nationality_corrected",
            "low_confidence",
            "field_missing:addr",
        ],
    )
    text = replies.card_result(everything)
    assert text.startswith("识别结果：身份证人像面\n姓名：张**")
    assert len(text.encode()) <= 2048
