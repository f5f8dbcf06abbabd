"""Consistency checks on what OCR read: ID checksum (ISO 7064 mod 11-2), the birth date,
gender and region code inside an ID number, validity periods, and Luhn.

Extractors use these to *choose* between candidate readings, not only to flag them.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from importlib import resources

from stdnum import luhn
from stdnum.cn import ric

LONG_TERM = "长期"
# Validity periods of resident ID cards by age at issue: 5, 10 or 20 years, or 长期.
VALID_SPANS_YEARS = (5, 10, 20)
EARLIEST_BIRTH = dt.date(1900, 1, 1)


def id_check_char(first17: str) -> str:
    """The 18th character of a resident ID number, from its first 17 digits.

    Ours beside ``stdnum.cn.ric`` because the readers compute the check character of
    candidate readings (to correct a misread digit), not only validate a whole number.
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    # calc_check_digit takes the whole number and ignores its last character.
    return ric.calc_check_digit(first17 + "0")


def id_checksum_ok(number: str) -> bool:
    """True when an 18-character ID number's last character matches its checksum.

    Only the checksum: ``ric.is_valid`` also refuses unknown birth dates and places, which
    id_checks reports as checks of their own (with our region table, which keeps every
    code since 1980) so that a reply can say which part is wrong.
    """
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_check_char(number[:17]) == number[17].upper()


def luhn_ok(number: str) -> bool:
    """Luhn (mod 10) check of a card number given as digits only."""
    # stdnum accepts a single digit; a one-digit number is no card number.
    return number.isdigit() and len(number) >= 2 and luhn.is_valid(number)


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass Luhn (for generators and tests)."""
    if not partial.isdigit():
        raise ValueError("need digits")
    return luhn.calc_check_digit(partial)


def parse_date(text: str) -> dt.date | None:
    """A YYYYMMDD string as a date, or None when it is no real calendar day."""
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def id_birth(number: str) -> str:
    """The birth date (YYYYMMDD) written in an 18-character ID number."""
    return number[6:14]


def id_gender(number: str) -> str:
    """男 or 女 from the 17th digit (odd for men), empty when that is no digit."""
    if len(number) < 17 or not number[16].isdigit():
        return ""
    return "男" if int(number[16]) % 2 else "女"


def birth_date_ok(birth: str, today: dt.date | None = None) -> bool:
    """A real day between 1900 and today."""
    day = parse_date(birth)
    return day is not None and EARLIEST_BIRTH <= day <= (today or dt.date.today())


def _data_lines(name: str) -> list[str]:
    text = resources.files("ocr").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


@cache
def region_name_lists() -> dict[str, tuple[str, ...]]:
    """GB/T 2260 code -> (current name, former names...), from ocr/data/regions.txt.

    Empty for placeholders such as 市辖区.
    """
    rows = (line.split() for line in _data_lines("regions.txt"))
    return {row[0]: tuple(row[1:]) for row in rows}


@cache
def surnames() -> frozenset[str]:
    """Chinese surnames, single characters and compound ones, from ocr/data/surnames.txt."""
    return frozenset(_data_lines("surnames.txt"))


# The longest division names ('积石山保安族东乡族撒拉族自治县') are 15 characters.
MAX_NAME_LENGTH = 16


@cache
def division_names() -> frozenset[str]:
    """Every name, current or former, of every division in the table."""
    return frozenset(name for names in region_name_lists().values() for name in names)


def region_prefixes(number: str) -> list[tuple[str, str]]:
    """How an address in the ID's home region may begin, longest first, with its county.

    ('江苏省徐州市睢宁县', '睢宁县') for 320324; municipalities have no prefecture
    ('北京市朝阳区'); a renamed division gives its current and former names.
    """
    lists = region_name_lists()
    code = number[:6]
    provinces = lists.get(code[:2] + "0000", ())
    prefectures = lists.get(code[:4] + "00", ()) or ("",)
    counties = lists.get(code, ()) if code[4:] != "00" else ()
    prefixes = [
        (text, county)
        for county in counties
        for province in provinces
        for prefecture in prefectures
        for text in (province + prefecture + county, province + county, prefecture + county)
        if text != county
    ]
    prefixes.sort(key=lambda prefix: -len(prefix[0]))
    return list(dict.fromkeys(prefixes))


@cache
def _every_region_prefix() -> frozenset[str]:
    """Every way an address may name its county (``region_prefixes`` of every code)."""
    return frozenset(
        text
        for code in region_name_lists()
        if code[4:] != "00"
        for text, _ in region_prefixes(code + "0" * 12)
    )


def region_named_prefix(address: str) -> str:
    """The longest start of ``address`` that names a real county with its province or
    prefecture ('河南省南阳市淅川县'), or ''."""
    known = _every_region_prefix()
    for size in range(min(len(address), MAX_REGION_PREFIX), 1, -1):
        if address[:size] in known:
            return address[:size]
    return ""


MAX_REGION_PREFIX = 24


# A house number on a road is written with its 号 (路 412 号): an address that ends in a
# bare number right after a road's name lost its final 号, or more (the detector may not
# find a 号 standing apart at all: KIND150 seed 8's business card 95, 光明南路412; a
# licence's second address row '9号' read upside down as '6', blind seed 21's 016). Only
# after a road's name: a room number after a building (大厦1205, A座1203) is often printed
# without its 室.
_NUMBER_WITHOUT_UNIT = re.compile(r"(?:路|街|道|巷|弄|胡同)\d+$")


def number_without_unit(address: str) -> bool:
    """Whether ``address`` ends in a road's house number without its 号: read short."""
    return bool(_NUMBER_WITHOUT_UNIT.search(address))


def fix_region_prefix(address: str, number: str) -> str:
    """The address with its region part corrected from the ID number's region code.

    The first characters of an address normally name the division coded in the ID
    ('江苏省徐州市睢宁县' for 320324): when they differ from it in one or two
    characters (misread rare ones such as 睢 -> 雕) they are replaced. A different
    region (someone who moved) differs in more, or names another real division (淅川县
    for an ID from 西峡县 next door), and is left alone.
    """
    prefixes = region_prefixes(number)
    if any(address.startswith(text) for text, _ in prefixes):
        return address
    for text, county in prefixes:
        head = address[: len(text)]
        if len(head) < len(text) or not 0 < _differences(head, text) <= min(2, len(text) // 4):
            continue
        if names_another_division(address[len(text) - len(county) :], county):
            return address
        return text + address[len(text) :]
    return address


@cache
def _counties_by_prefecture() -> dict[str, dict[str, str]]:
    """'安徽省宿州市' -> {each county-level name under it, of every edition: its code}."""
    lists = region_name_lists()
    found: dict[str, dict[str, str]] = {}
    for code, names in lists.items():
        if code[4:] == "00" or not names:
            continue
        provinces = lists.get(code[:2] + "0000", ())
        prefectures = lists.get(code[:4] + "00", ()) or ("",)
        for province in provinces:
            for prefecture in prefectures:
                counties = found.setdefault(province + prefecture, {})
                counties.update((name, code) for name in names)
    return found


# A province and prefecture named at an address's start ('陕西省西安市') this long or
# longer: one character misread among five or more is put right, fewer are too short to
# tell apart.
MIN_HEAD_FIX = 5


def fix_province_name(address: str) -> str:
    """The province (or prefecture) at an address's start corrected when one character of
    it was misread into no real division ('族西省西安市' -> '陕西省西安市').

    Only when the address starts with no real province and prefecture, and its first
    characters are one character from those of exactly one (their last character, the
    type 省/市/区, read as printed): the recogniser's misread, not another place.
    """
    heads = [h for h in _counties_by_prefecture() if len(h) >= MIN_HEAD_FIX]
    if any(address.startswith(h) for h in heads) or starts_with_division_name(address):
        return address
    near = {
        h
        for h in heads
        if len(address) > len(h)
        and address[len(h) - 1] == h[-1]
        and _differences(address[: len(h)], h) == 1
    }
    if len(near) != 1:
        return address
    head = near.pop()
    return head + address[len(head) :]


def fix_county_name(address: str) -> str:
    """The county of an address corrected when one character of it was misread.

    The address names its own province and prefecture ('安徽省宿州市'); when the
    next characters name none of that prefecture's county-level divisions but
    differ in a single character from the names of exactly one of them ('埔桥区'
    for 埇桥区: the rare characters of place names are the recogniser's weak spot),
    that division's current name is put in. Independent of the ID number, so it
    also serves someone registered elsewhere than the number's region.
    """
    lists = region_name_lists()
    by_head = _counties_by_prefecture()
    heads = sorted((h for h in by_head if h and address.startswith(h)), key=len, reverse=True)
    for head in heads:
        counties = by_head[head]
        rest = address[len(head) :]
        # Any real division's name is left alone: '湖南省宁乡市' skips the prefecture.
        if starts_with_division_name(rest):
            return address
        # The type (区, 县, 市, 旗) must be read as printed: '金水路' is a street, no
        # misread 金水区.
        near = {
            (code, len(county))
            for county, code in counties.items()
            if len(county) >= 3
            and rest[len(county) - 1 : len(county)] == county[-1]
            and _differences(rest[: len(county)], county) == 1
        }
        if len({code for code, _ in near}) == 1 and len(near) == 1:
            code, length = near.pop()
            return head + lists[code][0] + rest[length:]
    return address


@cache
def _codes_by_name() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for code, names in region_name_lists().items():
        for name in names:
            found.setdefault(name, set()).add(code)
    return {name: frozenset(codes) for name, codes in found.items()}


def nearest_division_name(name: str, within: str = "") -> str:
    """``name``, or the division name it is one misread character from.

    Only when the read name is no division's, the type character (市, 区, 县) is
    read as printed, and every name that close belongs to one division (埔桥区 is
    one from 埇桥区 and from its former spelling 墉桥区: the current name wins).
    ``within``: a code prefix the division must have (its prefecture's four digits).
    """
    if len(name) < 3 or name in _codes_by_name():
        return name
    codes = _one_off_codes(name, within)
    if len(codes) != 1:
        return name
    current = region_name_lists()[next(iter(codes))]
    return current[0] if current else name


def _one_off_codes(name: str, within: str = "") -> set[str]:
    """Codes of the divisions whose name differs from ``name`` in one character, the
    last (the type: 市, 区, 县) read as printed; ``within``: a code prefix they have."""
    return {
        code
        for other, other_codes in _codes_by_name().items()
        if len(other) == len(name) and other[-1] == name[-1] and _differences(other, name) == 1
        for code in other_codes
        if code.startswith(within)
    }


# An ID card's issuing office: the police of a division ('嘉禾县公安局'), or a branch of
# a city's police named after one of its districts ('昭通市公安局昭阳分局').
OFFICE = "公安局"
BRANCH = "分局"


def fix_authority(authority: str) -> str:
    """An issuing office ('昭通市公安局昭阳分局') with a misread division name corrected.

    Offices are named after their division: the city or county before 公安局, and a
    district's branch (昭阳分局 of 昭阳区) after it, looked up among that city's. A city
    one character from several (超通市: 昭通市, 南通市...) is the one whose districts
    hold the branch as read, when exactly one does.
    """
    head, found, tail = authority.partition(OFFICE)
    if not found:
        return authority
    head = nearest_division_name(head)
    if head not in _codes_by_name() and len(head) >= 3:
        names = {
            region_name_lists()[code][0]
            for code in _one_off_codes(head)
            if region_name_lists()[code] and _branch_known(frozenset({code}), tail)
        }
        if len(names) == 1:
            head = names.pop()
    prefectures = {code[:4] for code in _codes_by_name().get(head, ()) if code[4:] == "00"}
    known = _branch_known(_codes_by_name().get(head, frozenset()), tail)
    # A branch that names a district as read stays ('沈北分局' of 沈北新区, not 沈河).
    if tail.endswith(BRANCH) and len(tail) >= 4 and len(prefectures) == 1 and not known:
        district = nearest_division_name(tail[:-2] + "区", within=prefectures.pop())
        tail = district[:-1] + BRANCH
    return head + found + tail


def authority_known(authority: str) -> bool:
    """Whether an issuing office names real divisions: '<division>公安局', or
    '<city>公安局<branch>分局' with the branch one of that city's districts or counties
    ('昭阳分局' for 昭阳区, '浦东分局' for 浦东新区, '渝中区分局').

    Every edition's names count (an old card names its office as it was then). An
    office of no known division is most likely misread ('嘉术县公安局'), though a few
    real ones (a development zone's branch) fail too: the caller warns, never drops it.
    """
    head, found, tail = authority.partition(OFFICE)
    codes = _codes_by_name().get(head, frozenset())
    if not found or not codes:
        return False
    return not tail or _branch_known(codes, tail)


def _branch_known(city_codes: frozenset[str], tail: str) -> bool:
    """``tail`` ('昭阳分局') names a division under one of ``city_codes``."""
    branch = tail.removesuffix(BRANCH)
    if branch == tail or not branch:
        return False
    names = [branch + "区", branch + "新区"]
    if branch[-1] in "区县市旗":
        names.append(branch)
    scopes = {_scope(code) for code in city_codes if code[4:] == "00"}
    return any(
        code.startswith(scope) and code[4:] != "00"
        for name in names
        for code in _codes_by_name().get(name, ())
        for scope in scopes
    )


def _scope(code: str) -> str:
    """The code prefix of the divisions under ``code``: a province's or municipality's
    two digits (北京市 110000 -> 1101xx), a prefecture's four."""
    return code[:2] if code[2:] == "0000" else code[:4]


def names_another_division(text: str, county: str) -> bool:
    """``text`` begins with the name of a real division other than ``county``.

    Names differ in length ('平城区' where the code's former name is '城区'), so every
    beginning is tried, not only one as long as ``county``.
    """
    return not text.startswith(county) and starts_with_division_name(text)


def starts_with_division_name(text: str) -> bool:
    names = division_names()
    return any(text[:length] in names for length in range(2, min(len(text), MAX_NAME_LENGTH) + 1))


def _differences(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


@cache
def province_names() -> dict[str, str]:
    """First two digits of a region code -> province-level name."""
    return dict(line.split(maxsplit=1) for line in _data_lines("regions-provinces.txt"))


def region_known(number: str) -> bool:
    """The ID's first six digits are a known county-level (or higher) code.

    Codes created after the shipped table would fail; a known province and
    prefecture (first four digits) are therefore accepted too.
    """
    code = number[:6]
    if len(code) != 6 or not code.isdigit():
        return False
    codes = region_name_lists()
    return code in codes or (code[:4] + "00" in codes and code[4:] != "00")


def region_province(number: str) -> str:
    """The province-level name for an ID's first two digits, or empty."""
    return province_names().get(number[:2], "")


def id_checks(number: str, birth: str = "", gender: str = "") -> dict[str, bool]:
    """Every check of an ID number, alone and against the printed birth date and gender."""
    checks = {
        "id_checksum": id_checksum_ok(number),
        "birth_date": birth_date_ok(id_birth(number)),
        "region": region_known(number),
    }
    if birth:
        checks["birth_matches_id"] = birth == id_birth(number)
    if gender:
        checks["gender"] = gender == id_gender(number)
    return checks


VALID_DATE = re.compile(r"^(\d{8})-(\d{8}|长期)$")


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def valid_date_ok(valid_date: str, today: dt.date | None = None) -> bool:
    """``YYYYMMDD-YYYYMMDD`` with a 5/10/20-year span, or ``YYYYMMDD-长期``.

    The start must be a real day, not in the future, and after 1984 (the first
    resident cards); the end must fall on the start's month and day.
    """
    match = VALID_DATE.match(valid_date)
    if not match:
        return False
    start = parse_date(match.group(1))
    if start is None or not dt.date(1984, 1, 1) <= start <= (today or dt.date.today()):
        return False
    if match.group(2) == LONG_TERM:
        return True
    end = parse_date(match.group(2))
    if end is None:
        return False
    ends = {_add_years(start, years) for years in VALID_SPANS_YEARS}
    # Feb 29 starts end on Feb 28 or Mar 1 depending on the office.
    ends |= {e + dt.timedelta(days=1) for e in ends if start.month == 2 and start.day == 29}
    return end in ends
