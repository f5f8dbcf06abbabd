"""The only place that decides what of a card a user (or a log, or the database) may see.

Rules: a name keeps its first character (张**); an ID number keeps its first 3 and
last 4 characters; an address keeps up to its district/county, then ****; a bank card
number keeps its first 4 and last 4 digits, always as ``6222 **** **** 3647`` (the
hidden middle does not tell the length, and the last four stay together); a birth date keeps
its year. Validity dates, issuing authority, gender, nationality, bank name and card
type are shown as they are.
"""

from __future__ import annotations

import re

from ocr.engine import CardResult

STAR = "*"
ADDR_SUFFIX = "****"
CARD_MIDDLE = "**** ****"

# Up to three administrative levels: province, prefecture, county. The county level is
# what we keep; a municipality (北京市东城区) has only two.
_ADDRESS_PREFIX = re.compile(
    r"^(?:.{1,8}?(?:省|自治区|特别行政区))?"
    r"(?:.{1,10}?(?:市|自治州|地区|盟))?"
    r"(?:.{1,10}?(?:区|县|旗|市))"
)
_KEEP_WITHOUT_DISTRICT = 3
_SHOWN_AS_IS = (
    "type",
    "gender",
    "nationality",
    "authority",
    "valid_date",
    "bank",
    "card_type",
    "valid_thru",
)


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + STAR * max(1, len(name) - 1)


def mask_id_number(number: str) -> str:
    number = number.strip()
    if len(number) <= 7:
        return STAR * len(number)
    return number[:3] + STAR * (len(number) - 7) + number[-4:]


def mask_address(addr: str) -> str:
    addr = re.sub(r"\s+", "", addr)
    if not addr:
        return ""
    match = _ADDRESS_PREFIX.match(addr)
    kept = match.group(0) if match else addr[:_KEEP_WITHOUT_DISTRICT]
    if len(kept) >= len(addr):
        # The whole address is only a district: still hide that it ends there.
        kept = addr[: max(1, len(addr) // 2)]
    return kept + ADDR_SUFFIX


def mask_card_number(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 8:
        return STAR * len(digits)
    # Grouping the stars by length split a 19-digit number's last four ("***3 647").
    return f"{digits[:4]} {CARD_MIDDLE} {digits[-4:]}"


def mask_birth(birth: str) -> str:
    birth = birth.strip()
    return birth[:4] + STAR * (len(birth) - 4) if len(birth) > 4 else STAR * len(birth)


_MASKERS = {
    "name": mask_name,
    "id": mask_id_number,
    "addr": mask_address,
    "number": mask_card_number,
    "birth": mask_birth,
}


def mask_field(name: str, value: str) -> str:
    """Mask one field by its WeChat name. Unknown fields are hidden entirely."""
    if name in _SHOWN_AS_IS:
        return value
    masker = _MASKERS.get(name)
    return masker(value) if masker else STAR * len(value)


def mask_result(result: CardResult) -> dict[str, str]:
    """Masked copies of every field of a result, keyed by field name."""
    return {name: mask_field(name, value) for name, value in result.fields.items()}
