"""The driving licence kind (issue 15): its reader on laid-out boxes, its checks that
correct, its warnings, masking and reply, auto detection, and the real engine on the
committed generated photos."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.chat import replies
from ocr.checks import id_check_char
from ocr.detect import kind_scores, read_card, upright_view
from ocr.engine import AUTO, CardResult, Engine
from ocr.engines import create_engine
from ocr.errors import NoCardFound
from ocr.field_warnings import add_field_warnings
from ocr.kinds import get_kind, mask_result, wechat_json
from ocr.kinds.drivinglicense.extract import best_period, plausible_issue
from ocr.layout import OcrPage
from tests.card_boxes import Printed, card_boxes
from tests.test_idcard import BLANK, front
from tests.test_idcard_unsure import with_certainties

FIXTURES = Path(__file__).parent / "fixtures" / "drivinglicense"
ID_BODY = "31010419671111729"
ID_NUM = ID_BODY + id_check_char(ID_BODY)  # 17th digit 9: a man born 1967-11-11
TODAY = dt.date(2026, 6, 1)


def licence(
    number: str = ID_NUM,
    *,
    valid: str = "2018-05-02至2028-05-02",
    car_class: str = "C1",
    birth: str = "1967-11-11",
    labels: bool = True,
) -> list[Printed]:
    """The main page as laid out (10 px per mm), labels optional (a faint print)."""

    def label(text: str, x: float, y: float) -> list[Printed]:
        return [Printed(text, x, y, height=28, char_width=26)] if labels else []

    return [
        Printed("中华人民共和国机动车驾驶证", 180, 60, height=40, char_width=40),
        Printed("Driving License of the People's Republic of China", 200, 100, 18, 10),
        *label("证号", 50, 160),
        Printed(number, 140, 160, char_width=18),
        *label("姓名", 50, 225),
        Printed("刘平军", 140, 225),
        *label("性别", 400, 225),
        Printed("男", 470, 225),
        *label("国籍", 520, 225),
        Printed("中国", 590, 225),
        *label("住址", 50, 290),
        Printed("上海市徐汇区幸福路", 140, 290),
        Printed("648号", 140, 330),
        *label("出生日期", 220, 385),
        Printed(birth, 420, 385, char_width=18),
        *label("初次领证日期", 220, 441),
        Printed("2012-05-02", 420, 441, char_width=18),
        *label("准驾车型", 220, 497),
        Printed(car_class, 420, 497, char_width=18),
        *label("有效期限", 220, 553),
        Printed(valid, 340, 553, char_width=18),
    ]


EXPECTED = {
    "id_num": ID_NUM,
    "name": "刘平军",
    "sex": "男",
    "nationality": "中国",
    "address": "上海市徐汇区幸福路648号",
    "birth_date": "1967-11-11",
    "issue_date": "2012-05-02",
    "car_class": "C1",
    "valid_from": "2018-05-02",
    "valid_to": "2028-05-02",
}


def read(printed: list[Printed], degrees: float = 0.0, kind: str = "drivinglicense") -> CardResult:
    return read_card(OcrPage(BLANK, card_boxes(printed, degrees, shuffle_seed=3)), kind)


# ---------------------------------------------------------------- the reader on boxes


@pytest.mark.parametrize("degrees", [0.0, 8.0, -11.0, 90.0, 180.0])
def test_reads_every_field_next_to_its_label_at_any_angle(degrees: float) -> None:
    result = read(licence(), degrees, AUTO)
    assert result.kind == "drivinglicense"
    assert result.fields == EXPECTED
    assert result.checks["id_checksum"] and result.checks["car_class"]
    assert result.checks["valid_period"]
    assert result.warnings == []


def test_fields_are_found_by_the_layout_when_the_labels_are_unreadable() -> None:
    result = read(licence(labels=False))
    assert result.fields == EXPECTED


def test_the_address_row_after_the_english_address_label_is_kept() -> None:
    printed = [*licence(), Printed("Address", 50, 318, height=14, char_width=8)]
    assert read(printed).fields["address"] == EXPECTED["address"]


def test_a_misread_city_is_set_back_by_the_numbers_region_code() -> None:
    # Seen on a generated photo: 拉萨市 read as 社严市; the number's region code names it.
    body = "54010219801010003"
    number = body + id_check_char(body)
    printed = [
        Printed("西藏自治区社严市城关区", 140, 290) if p.text.startswith("上海") else p
        for p in licence(number, birth="1980-10-10")
        if p.text != "648号"
    ]
    assert read(printed).fields["address"] == "西藏自治区拉萨市城关区"


def test_the_second_address_row_close_under_the_first_comes_after_it() -> None:
    # Seen on a turned generated photo: '6单元1804室北京市丰台区...', the second row
    # taken for part of the first and put in front of it.
    printed = [Printed("648号", 140, 305) if p.text == "648号" else p for p in licence()]
    for seed in range(6):
        page = OcrPage(BLANK, card_boxes(printed, 0.0, shuffle_seed=seed))
        assert read_card(page, "drivinglicense").fields["address"] == EXPECTED["address"]


def test_an_address_row_already_read_with_the_first_is_not_added_twice() -> None:
    # Seen on a turned generated photo: '...符家村1组1组', the second row taken with the
    # first row's boxes and again as a row of its own.
    printed = [
        Printed("上海市徐汇区幸福路648号", 140, 290) if p.text.startswith("上海") else p
        for p in licence()
    ]
    assert read(printed).fields["address"] == EXPECTED["address"]


def test_a_long_term_licence() -> None:
    result = read(licence(valid="2020-05-02至长期"))
    assert (result.fields["valid_from"], result.fields["valid_to"]) == ("2020-05-02", "长期")
    assert result.checks["valid_period"]


def test_a_misread_number_is_corrected_by_its_checksum_and_the_printed_birth_date() -> None:
    misread = ID_NUM[:12] + "7" + ID_NUM[13:]  # the day's 1 read as 7
    result = read(licence(misread))
    assert result.fields["id_num"] == ID_NUM
    assert "id_corrected" in result.warnings


def test_a_number_that_passes_its_checksum_is_never_changed() -> None:
    # Another valid number whose birth date disagrees with the printed one: kept as
    # read, and the disagreement is reported instead of "corrected" away.
    body = "31010419671112729"
    other = body + id_check_char(body)
    result = read(licence(other))
    assert result.fields["id_num"] == other
    assert result.checks["birth_matches_id"] is False
    assert "id_corrected" not in result.warnings


def test_the_number_is_the_witness_of_birth_date_and_sex() -> None:
    result = read(licence(birth="1967-11-17"))
    assert result.fields["birth_date"] == "1967-11-11"
    assert result.fields["sex"] == "男"


def test_look_alike_class_characters_are_undone() -> None:
    result = read(licence(car_class="Cl"))
    assert result.fields["car_class"] == "C1"
    assert result.checks["car_class"]


def test_an_unknown_class_fails_its_check() -> None:
    result = read(licence(car_class="C9"))
    assert result.checks["car_class"] is False
    assert "car_class_failed" in result.warnings


def test_a_misread_end_of_the_valid_period_is_set_back_to_6_or_10_years() -> None:
    result = read(licence(valid="2018-05-02至2028-06-02"))
    assert result.fields["valid_to"] == "2028-05-02"
    assert best_period("2018-05-02", "2024-05-02") == ("2018-05-02", "2024-05-02")
    assert best_period("2018-05-02", "2024-05-09") == ("2018-05-02", "2024-05-02")
    # Too far from any legal period: kept as read, so that its check fails.
    assert best_period("2018-05-02", "2031-08-19") == ("2018-05-02", "2031-08-19")


def test_a_birth_date_is_never_answered_as_the_first_issue() -> None:
    # Blind seed 41's photo 016: the first issue's row lost, the birth date above it was
    # taken for it, answered with only a 'blur' warning.
    printed = [p for p in licence(labels=False) if p.text != "2012-05-02"]
    result = add_field_warnings(read(printed), TODAY)
    assert result.fields["birth_date"] == "1967-11-11"
    assert result.fields.get("issue_date", "") == ""
    assert "field_missing:issue_date" in result.warnings
    assert "初次领证日期" in replies.card_result(result)


def test_a_first_issue_is_from_the_18th_birthday_to_the_period_in_force() -> None:
    birth, valid_from = "1967-11-11", "2018-05-02"
    for kept in ("1985-11-11", "2012-05-02", "2018-05-02", "", "2012-13-40"):
        assert plausible_issue(kept, birth, valid_from) == kept
    for dropped in ("1967-11-11", "1985-11-10", "2018-05-03"):
        assert plausible_issue(dropped, birth, valid_from) == ""
    # Nothing to hold it against: kept as read.
    assert plausible_issue("1967-11-11", "", "") == "1967-11-11"


def test_an_id_card_front_is_no_licence_and_a_licence_no_id_card() -> None:
    id_view = upright_view(OcrPage(BLANK, card_boxes(front(), 0, shuffle_seed=1)))
    assert kind_scores(id_view)["drivinglicense"] == 0
    licence_view = upright_view(OcrPage(BLANK, card_boxes(licence(), 0, shuffle_seed=1)))
    scores = kind_scores(licence_view)
    assert scores["drivinglicense"] > max(scores["idcard"], scores["bankcard"])


def test_an_id_card_front_is_refused_when_a_licence_is_asked_for() -> None:
    # Seen through the wechat engine: AUTO asked cv/ocr/drivinglicense last, and the
    # sandbox's reader took an ID card front (name, address, valid number) for a licence.
    front = [
        Printed("姓名", 60, 60),
        Printed("林娜", 150, 58),
        Printed("性别", 60, 125),
        Printed("男", 150, 125),
        Printed("住址", 60, 255),
        Printed("江苏省南京市玄武区建设", 150, 255),
        Printed("公民身份号码", 60, 390),
        Printed("320102198001010012", 290, 390, char_width=22),
    ]
    with pytest.raises(NoCardFound):
        read(front)


def test_a_page_without_a_licence_raises_no_card_found() -> None:
    with pytest.raises(NoCardFound):
        read([Printed("快递单", 100, 100), Printed("请勿折叠", 100, 200)])


# ---------------------------------------------------------------- warnings, masking, reply


def test_a_period_set_back_to_6_or_10_years_is_answered_with_a_doubt() -> None:
    # The digits the rule chose were not read: the answer says so (as on the ID back).
    result = read(licence(valid="2018-05-02至2028-05-09"))
    assert (result.fields["valid_from"], result.fields["valid_to"]) == ("2018-05-02", "2028-05-02")
    assert result.checks["valid_period"]
    assert "low_confidence" in result.warnings


def test_a_doubted_character_left_in_the_labels_box_doubts_the_name() -> None:
    # Seen on blind seed 12's photo 8: the label read '姓名名' (the last 名 at certainty
    # 0.5) before the name's own box; the name began with that 名, and no doubt was said.
    printed = [
        Printed("姓名名", p.x, p.y, p.height, p.char_width) if p.text == "姓名" else p
        for p in licence()
    ]
    page = OcrPage(BLANK, card_boxes(printed, 0.0, shuffle_seed=3))
    sure = read_card(with_certainties(page, "姓名名", {}), "drivinglicense")
    assert sure.fields["name"] == "名" + EXPECTED["name"]
    assert "low_confidence" not in sure.warnings
    doubted = read_card(with_certainties(page, "姓名名", {2: 0.5}), "drivinglicense")
    assert doubted.fields["name"] == "名" + EXPECTED["name"]
    assert "low_confidence" in doubted.warnings


def test_an_address_ending_in_a_roads_bare_number_is_doubted() -> None:
    # Blind seed 21's photo 16, upside down: the second row '9号' read as a lone '6' (or
    # not at all), leaving '...人民南路16' with every character sure.
    printed = [Printed("6", 140, 330) if p.text == "648号" else p for p in licence()]
    result = read(printed)
    assert result.fields["address"] == "上海市徐汇区幸福路6"
    assert "low_confidence" in result.warnings
    assert "low_confidence" not in read(licence()).warnings


def test_the_address_label_is_never_read_as_the_address() -> None:
    # Blind seed 21's photo 4, turned: the address rows went unseen and the 住址 label
    # stood under the name, where the layout looks for the address: '住址' was answered.
    printed = [
        Printed("住址", 140, 290, height=28, char_width=26) if p.text == "住址" else p
        for p in licence()
        if p.text not in ("上海市徐汇区幸福路", "648号", "姓名")
    ]
    result = read(printed)
    assert result.fields["name"] == EXPECTED["name"]
    assert result.fields["address"] == ""


def test_expired_and_invalid_period_warnings_and_missing_fields() -> None:
    warn = get_kind("drivinglicense").warnings
    assert warn({"valid_from": "2014-05-02", "valid_to": "2020-05-02"}, TODAY, []) == ["expired"]
    assert warn({"valid_from": "2020-05-02", "valid_to": "长期"}, TODAY, []) == []
    assert warn({"valid_from": "2020-05-02", "valid_to": "2027-05-02"}, TODAY, []) == [
        "invalid_period"
    ]
    assert warn({"valid_from": "2020-05-02", "valid_to": ""}, TODAY, []) == []
    fields = dict(EXPECTED, car_class="")
    result = add_field_warnings(CardResult("drivinglicense", fields), today=TODAY)
    assert result.warnings == ["field_missing:car_class"]


def test_masking_hides_number_name_address_and_birth_day() -> None:
    masked = mask_result(CardResult("drivinglicense", dict(EXPECTED)))
    assert masked == dict(
        EXPECTED,
        id_num=ID_NUM[:3] + "*" * 11 + ID_NUM[-4:],
        name="刘**",
        address="上海市徐汇区****",
        birth_date="1967******",
    )


def test_reply_shows_masked_fields_checks_and_warnings() -> None:
    result = add_field_warnings(read(licence(valid="2014-05-02至2020-05-02")), today=TODAY)
    text = replies.card_result(result)
    assert text.startswith("识别结果：驾驶证\n")
    assert "姓名：刘**" in text and "住址：上海市徐汇区****" in text
    assert f"证号：{ID_NUM[:3]}" in text and ID_NUM not in text
    assert "准驾车型：C1" in text and "有效期至：2020-05-02" in text
    assert "号码校验通过" in text and "准驾车型有效" in text
    assert "驾驶证已过期（有效期至 2020-05-02）" in text
    assert "幸福路" not in text and "648" not in text
    invalid = add_field_warnings(read(licence(valid="2014-05-02至2031-09-19")), today=TODAY)
    text = replies.card_result(invalid)
    assert "有效期限不是 6 年、10 年或长期" in text
    assert "5、10、20" not in text


def test_wechat_json_round_trips_through_from_wechat() -> None:
    body = wechat_json(CardResult("drivinglicense", dict(EXPECTED)))
    assert body == {"errcode": 0, "errmsg": "ok", **EXPECTED}
    kind = get_kind("drivinglicense")
    assert kind.from_wechat is not None
    again = kind.from_wechat(body)
    assert again.fields == EXPECTED and again.engine == "wechat"
    assert all(again.checks.values()) and again.warnings == []
    with pytest.raises(NoCardFound):
        kind.from_wechat({"errcode": 0, "errmsg": "ok"})


# ---------------------------------------------------------------- the real engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return create_engine("local")


@pytest.mark.slow
@pytest.mark.parametrize("image", sorted(FIXTURES.glob("*.jpg")), ids=lambda p: p.stem)
def test_the_local_engine_reads_the_generated_photos(engine: Engine, image: Path) -> None:
    label = json.loads(image.with_suffix(".json").read_text(encoding="utf-8"))
    result = engine.recognize(image.read_bytes(), AUTO, label["mode"])
    assert result.kind == "drivinglicense"
    assert result.fields == label["expected"]
