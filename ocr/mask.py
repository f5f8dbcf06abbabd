"""The only place that masks what of a card a user (or a log, or the database) may see.

Each document kind (ocr/kinds/) declares which of these rules applies to each of its
fields; a field without a rule is hidden entirely. Rules: a name keeps its first
character (张**); an ID number keeps its first 3 and last 4 characters; an address
keeps up to its district/county, then ****; a bank card number keeps its first 4 and
last 4 digits, always as ``6222 **** **** 3647`` (the hidden middle does not tell the
length, and the last four stay together); a passport number keeps its first character
and last 3 (E*****147); a birth date keeps its year. In free text (a printed page, a
table's cells) an ID number or bank card number found is masked as on its card.
Validity dates,
issuing authority, gender, nationality, bank name and card type are shown as they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from stdnum import luhn
from stdnum.cn import ric

Masker = Callable[[str], str]

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


def mask_passport_number(number: str) -> str:
    number = re.sub(r"\s+", "", number)
    if len(number) <= 4:
        return STAR * len(number)
    return number[0] + STAR * (len(number) - 4) + number[-3:]


def mask_birth(birth: str) -> str:
    birth = birth.strip()
    return birth[:4] + STAR * (len(birth) - 4) if len(birth) > 4 else STAR * len(birth)


def show(value: str) -> str:
    """Shown as it is: nothing personal (a validity date, a bank name, a gender)."""
    return value


def hide(value: str) -> str:
    """Hidden entirely: what no rule was declared for."""
    return STAR * len(value)


def mask_fields(fields: Mapping[str, str], rules: Mapping[str, Masker]) -> dict[str, str]:
    """Masked copies of ``fields`` by their kind's ``rules``; fields without a rule are hidden."""
    return {name: rules.get(name, hide)(value) for name, value in fields.items()}


# A run of digits, possibly grouped by single spaces or hyphens as cards print them
# (6222 0212 3456 7890 123), or 17 digits and a check character. Lookarounds keep a
# run from starting or ending inside a longer number.
_NUMBER_RUN = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){13,18}(?:[ -]?[Xx])?(?![0-9A-Za-z])")


def _is_id_number(compact: str) -> bool:
    return len(compact) == 18 and ric.is_valid(compact.upper())


def _is_card_number(compact: str) -> bool:
    # No BIN table here (it belongs to the bank card kind): any 15-19 digit run that
    # passes Luhn is masked. Masking a number that is not a card costs a reader little;
    # leaving a card number in a page costs its owner.
    return compact.isdigit() and 15 <= len(compact) <= 19 and luhn.is_valid(compact)


def mask_numbers_in_text(text: str) -> str:
    """``text`` with every ID number (checksum) and bank card number (Luhn) masked.

    For documents that are not cards (a printed page, a table): the rest of the text is
    the user's to read, but a card number in it is masked exactly as on its card.
    """

    def masked(match: re.Match[str]) -> str:
        run = match.group(0)
        compact = re.sub(r"[ -]", "", run)
        if _is_id_number(compact):
            return mask_id_number(compact)
        if _is_card_number(compact):
            return mask_card_number(compact)
        return run

    return _NUMBER_RUN.sub(masked, text)


def mask_cells(cells: Sequence[Sequence[str]]) -> list[list[str]]:
    """A table's cells, each masked as free text (``mask_numbers_in_text``)."""
    return [[mask_numbers_in_text(cell) for cell in row] for row in cells]
