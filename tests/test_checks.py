from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocr.checks import (
    authority_known,
    birth_date_ok,
    fix_authority,
    fix_county_name,
    fix_region_prefix,
    id_birth,
    id_check_char,
    id_checks,
    id_checksum_ok,
    id_gender,
    luhn_check_digit,
    luhn_ok,
    parse_date,
    region_known,
    region_name_lists,
    region_prefixes,
    region_province,
    valid_date_ok,
)
from tests.cardgen.regions import REGIONS

GOOD_ID = "11010519491231002X"


def test_id_checksum_accepts_a_real_number_and_rejects_one_changed_digit() -> None:
    assert id_checksum_ok(GOOD_ID)
    assert id_checksum_ok(GOOD_ID.lower())
    assert not id_checksum_ok("11010519491231003X")
    assert not id_checksum_ok(GOOD_ID[:17])


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_every_single_digit_change_breaks_the_checksum(body: str) -> None:
    number = body + id_check_char(body)
    assert id_checksum_ok(number)
    for i in range(17):
        changed = body[:i] + str((int(body[i]) + 1) % 10) + body[i + 1 :]
        assert not id_checksum_ok(changed + number[17])


def test_luhn() -> None:
    assert luhn_ok("6228480402564890018")
    assert not luhn_ok("6228480402564890019")
    assert luhn_ok("4111111111111111")
    assert luhn_ok("622848040256489001" + luhn_check_digit("622848040256489001"))


def test_birth_and_gender_come_from_the_number() -> None:
    assert id_birth(GOOD_ID) == "19491231"
    assert id_gender(GOOD_ID) == "女"  # 17th digit 2
    assert id_gender("110105194912310038") == "男"
    assert id_gender("short") == ""


def test_birth_date_must_be_a_real_past_day() -> None:
    today = dt.date(2026, 11, 25)
    assert birth_date_ok("19491231", today)
    assert not birth_date_ok("19490231", today)  # no 31 February
    assert not birth_date_ok("18991231", today)
    assert not birth_date_ok("20261126", today)
    assert parse_date("2024022") is None


def test_region_codes_are_known_from_the_shipped_table() -> None:
    assert region_known("110105")
    assert region_known("320102198001010012")
    assert not region_known("990105198001010012")
    assert not region_known("11a105")
    assert region_province("440305") == "广东省"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("532101", "昭通市"),
        ("522530", "紫云苗族布依族自治县"),
        ("432826", "嘉禾县"),
        ("110110", "燕山区"),
    ],
)
def test_abolished_region_codes_of_old_cards_are_known(code: str, name: str) -> None:
    # Every GB/T 2260 revision since 1980 (scripts/gen_regions.py): a card keeps the
    # code of its first issuing office, however the division was renamed or merged since.
    assert region_known(code + "197503120021")
    assert name in region_name_lists()[code]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        # A rare character of the county misread; its former name (墉桥区) is no rival.
        ("安徽省宿州市埔桥区中山路1号", "安徽省宿州市埇桥区中山路1号"),
        ("江苏省徐州市雕宁县岗城乡", "江苏省徐州市睢宁县岗城乡"),
        ("安徽省宿州市埇桥区中山路1号", "安徽省宿州市埇桥区中山路1号"),
        # A street right after the city is no misread district.
        ("河南省郑州市金水路1号", "河南省郑州市金水路1号"),
        ("北京市朝阳路1号", "北京市朝阳路1号"),
        # A county-level city named without its prefecture, one character from another.
        ("湖南省宁乡市玉潭街道1号", "湖南省宁乡市玉潭街道1号"),
    ],
)
def test_fix_county_name(address: str, expected: str) -> None:
    assert fix_county_name(address) == expected


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        # A rare character of the district behind the branch, among the city's districts.
        ("宿州市公安局埔桥分局", "宿州市公安局埇桥分局"),
        ("北京市公安局东城分局", "北京市公安局东城分局"),
        ("上海市公安局浦东分局", "上海市公安局浦东分局"),
        # One character from several real cities (昭通市, 南通市...), of which only
        # 昭通市 has the district the branch names (real90's sample 61 read it so).
        ("超通市公安局昭阳分局", "昭通市公安局昭阳分局"),
        ("宜需市公安局翠屏分局", "宜宾市公安局翠屏分局"),
        # With a branch no near city has, or none at all: left as read.
        ("超通市公安局长安分局", "超通市公安局长安分局"),
        ("嘉术县公安局", "嘉术县公安局"),
        # A branch that names a district as read stays: 沈北新区, no misread 沈河区.
        ("沈阳市公安局沈北分局", "沈阳市公安局沈北分局"),
    ],
)
def test_fix_authority(authority: str, expected: str) -> None:
    assert fix_authority(authority) == expected


@pytest.mark.parametrize(
    ("authority", "known"),
    [
        ("嘉禾县公安局", True),
        ("紫云苗族布依族自治县公安局", True),
        ("昭通市公安局昭阳分局", True),
        ("北京市公安局东城分局", True),
        ("上海市公安局浦东分局", True),  # 浦东新区
        ("重庆市公安局渝中区分局", True),
        # Misread offices the engine returned with no warning on real90.
        ("嘉术县公安局", False),
        ("明通市公发刻的用分局", False),
        ("超通市公安局昭阳分局", False),
        # A real city with a branch named after another city's district.
        ("昭通市公安局翠屏分局", False),
        ("", False),
    ],
)
def test_authority_known(authority: str, known: bool) -> None:
    assert authority_known(authority) is known


def test_every_generated_office_is_known() -> None:
    # The generator names offices the way real cards do, for every region it draws.
    assert all(authority_known(region.authority) for region in REGIONS)


def test_id_checks_compare_printed_fields_with_the_number() -> None:
    checks = id_checks(GOOD_ID, birth="19491231", gender="女")
    assert all(checks.values())
    checks = id_checks(GOOD_ID, birth="19491230", gender="男")
    assert checks["birth_matches_id"] is False
    assert checks["gender"] is False
    assert checks["id_checksum"] is True


@pytest.mark.parametrize(
    ("period", "ok"),
    [
        ("20180108-20380108", True),
        ("20180108-20280108", True),
        ("20180108-20230108", True),
        ("20090324-长期", True),
        ("20180108-20380109", False),  # not a whole number of years
        ("20180108-20330108", False),  # 15 years is no validity period
        ("20380108-20180108", False),  # ends before it starts
        ("20180132-20380132", False),
        ("19800101-长期", False),  # before resident cards existed
        ("2018010820380108", False),
    ],
)
def test_valid_date(period: str, ok: bool) -> None:
    assert valid_date_ok(period, today=dt.date(2026, 11, 25)) is ok


def test_leap_day_periods_end_on_the_last_day_of_february_or_first_of_march() -> None:
    today = dt.date(2026, 11, 25)
    assert valid_date_ok("20160229-20260228", today)
    assert valid_date_ok("20160229-20260301", today)


def test_region_prefixes_name_the_divisions_of_the_code() -> None:
    assert region_prefixes("320324199001011234")[0] == ("江苏省徐州市睢宁县", "睢宁县")
    assert region_prefixes("110105199001011234") == [("北京市朝阳区", "朝阳区")]
    assert region_prefixes("990105199001011234") == []
    # Renamed in 2015: cards print the current or the former name.
    assert {text for text, _ in region_prefixes("130602199001011234")} >= {
        "河北省保定市竞秀区",
        "河北省保定市新市区",
    }
    # A division created after 2015.
    assert region_prefixes("120118199001011234")[0] == ("天津市静海区", "静海区")


@pytest.mark.parametrize(
    ("address", "number", "expected"),
    [
        # A rare character of the county misread: fixed from the region code.
        ("江苏省徐州市雕宁县岗城乡李庄村八组", "320324", "江苏省徐州市睢宁县岗城乡李庄村八组"),
        ("北京市朝阳区建国路1号", "110105", "北京市朝阳区建国路1号"),
        # Someone registered elsewhere: another district, left alone.
        ("北京市朝阳区建国路1号", "110108", "北京市朝阳区建国路1号"),
        ("上海市浦东新区张江路8号", "110105", "上海市浦东新区张江路8号"),
        # ... also when that district is next door and two characters away.
        ("河南省南阳市淅川县张城乡张家村", "411323", "河南省南阳市淅川县张城乡张家村"),
        ("河南省南阳市浙川县张城乡张家村", "411326", "河南省南阳市淅川县张城乡张家村"),
        # An old code's name ('城区', abolished) is shorter than the district lived in now.
        ("山西省大同市平城区御河西路1号", "140202", "山西省大同市平城区御河西路1号"),
        # Both names of a renamed district are right; a misread one is fixed to the current.
        ("河北省保定市新市区文化路5号", "130602", "河北省保定市新市区文化路5号"),
        ("河北省保定市竞秀区文化路5号", "130602", "河北省保定市竞秀区文化路5号"),
        ("河北省保定市竞季区文化路5号", "130602", "河北省保定市竞秀区文化路5号"),
        ("", "320324", ""),
    ],
)
def test_fix_region_prefix(address: str, number: str, expected: str) -> None:
    assert fix_region_prefix(address, number + "199001011234") == expected
