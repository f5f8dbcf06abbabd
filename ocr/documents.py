"""Pure checks for the document kinds of issue 15: passports, driving licences, business
cards, printed text and tables. No OCR and no images here: the kind modules read text,
then use these to check it and, where a check digit settles it, to correct it.

Sources: ICAO Doc 9303 part 3 (check digits) and part 4 (TD3 machine-readable passports);
GA/T 1015 / 《机动车驾驶证申领和使用规定》 (the 准驾车型 codes and the 6-year, 10-year and
长期 validity periods); MIIT's numbering plan (mobile prefixes 13x-19x, area codes 0xx/0xxx).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypedDict

from email_validator import EmailNotValidError, validate_email
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from ocr.checks import region_known

# ---------------------------------------------------------------------------------------
# ICAO 9303: check digits and the TD3 (passport) machine-readable zone
# ---------------------------------------------------------------------------------------

MRZ_LINE_LENGTH = 44
MRZ_FILLER = "<"
_MRZ_WEIGHTS = (7, 3, 1)
_MRZ_ALPHABET = re.compile(r"[0-9A-Z<]*")

# What OCR reads instead of a character of OCR-B: letters and digits of like shape, and
# the filler '<' read as a letter of like shape. Used only to propose candidates that a
# check digit must then confirm (or, for names, where no other reading is possible).
_AS_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "Z": "2"}
_AS_DIGIT |= {"S": "5", "G": "6", "B": "8", "A": "4"}
_AS_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B", "4": "A"}
FILLER_LOOKALIKES = frozenset("KCL")
# The classic pairs the correction may swap inside an alphanumeric field.
_SWAPS = {"O": "0", "0": "O", "I": "1", "1": "I", "B": "8", "8": "B", "S": "5", "5": "S"}
_SWAPS |= {"Z": "2", "2": "Z"}
# More ambiguous characters than this in one field: too many readings to try (2**n); the
# field is left as read. Below it, the fewest changes that pass win, if only one does.
_MAX_AMBIGUOUS = 10


def mrz_char_value(char: str) -> int:
    """ICAO 9303 value of an MRZ character: digits as such, A-Z 10-35, the filler 0."""
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == MRZ_FILLER:
        return 0
    raise ValueError(f"not an MRZ character: {char!r}")


def mrz_check_digit(data: str) -> str:
    """The check digit of ``data`` (weights 7, 3, 1 repeating, modulo 10)."""
    total = sum(mrz_char_value(c) * _MRZ_WEIGHTS[i % 3] for i, c in enumerate(data))
    return str(total % 10)


def mrz_check_ok(data: str, check: str) -> bool:
    """True when ``check`` is the check digit of ``data`` (and both are MRZ characters)."""
    if not _MRZ_ALPHABET.fullmatch(data) or len(check) != 1:
        return False
    # An optional-data field left empty may carry '<' as its check digit (9303 part 4).
    if check == MRZ_FILLER:
        return set(data) <= {MRZ_FILLER}
    return check.isdigit() and mrz_check_digit(data) == check


def mrz_name(name: str) -> str:
    """A name as the MRZ writes it: A-Z only, spaces and hyphens as '<', apostrophes dropped."""
    upper = name.upper().replace("'", "").replace("’", "")
    return re.sub(r"[^A-Z]+", MRZ_FILLER, upper).strip(MRZ_FILLER)


def compose_td3(
    *,
    document_code: str,
    issuing_country: str,
    surname: str,
    given_names: str,
    number: str,
    nationality: str,
    birth: str,
    sex: str,
    expiry: str,
    optional: str = "",
) -> tuple[str, str]:
    """The two 44-character TD3 lines. Dates ``YYMMDD``; ``sex`` M, F or '<'.

    Names too long for line 1 are cut as 9303 allows (the given names first).
    """
    code = (document_code + MRZ_FILLER)[:2]
    names = mrz_name(surname) + MRZ_FILLER * 2 + mrz_name(given_names)
    line1 = f"{code}{issuing_country:<<3}{names}"[:MRZ_LINE_LENGTH].ljust(MRZ_LINE_LENGTH, "<")
    number_field = number.ljust(9, MRZ_FILLER)[:9]
    optional_field = optional.ljust(14, MRZ_FILLER)[:14]
    # An empty optional field's check digit is 0 here; '<' is allowed too (mrz_check_ok).
    optional_check = mrz_check_digit(optional_field)
    parts = (
        number_field + mrz_check_digit(number_field),
        nationality.ljust(3, MRZ_FILLER)[:3],
        birth + mrz_check_digit(birth),
        sex,
        expiry + mrz_check_digit(expiry),
        optional_field + optional_check,
    )
    composite = parts[0] + parts[2] + parts[4] + parts[5]
    line2 = "".join(parts) + mrz_check_digit(composite)
    return line1, line2


@dataclass(frozen=True)
class Td3:
    """A parsed TD3 MRZ. Dates as printed (``YYMMDD``); names with fillers as spaces."""

    line1: str
    line2: str
    document_code: str
    issuing_country: str
    surname: str
    given_names: str
    number: str
    nationality: str
    birth: str
    sex: str
    expiry: str
    optional: str
    checks: dict[str, bool]
    # Names of the fields whose reading the check digits corrected ("number", "line1", ...).
    corrected: tuple[str, ...] = field(default=())
    # False when line 1 was not read (``parse_line2``): no names, no issuing state.
    names_read: bool = True
    # True when line 1 was read short by more than a miscounted run of fillers and
    # filled up after its closing fillers (``_fit_line1``): a name may have lost a letter.
    line1_filled: bool = False

    @property
    def all_checks_ok(self) -> bool:
        return all(self.checks.values())


# Line 2's fields: (name, start, end of the data, index of the check digit or None, class).
# Class "d": digits only, "a": letters or filler, "x": any, "s": M, F or filler.
_LINE2_FIELDS = (
    ("number", 0, 9, 9, "x"),
    ("nationality", 10, 13, None, "a"),
    ("birth", 13, 19, 19, "d"),
    ("sex", 20, 21, None, "s"),
    ("expiry", 21, 27, 27, "d"),
    ("optional", 28, 42, 42, "x"),
)


# The codes an MRZ may hold for the issuing state or a nationality (ICAO 9303 part 3,
# section 5): ISO 3166-1 alpha-3 but Germany, which ICAO writes "D" (never "DEU"); the
# British nationality classes; the UN, its agencies and Kosovo's UN documents; the
# organisations that issue travel documents; stateless persons and refugees (XXA, XXB,
# XXC) and "unspecified" (XXX); and two codes of the past still met (ANT, NTZ). RKS
# (Kosovo) is in use though not ICAO's. A code outside the list is a misreading or a
# document we do not know: flagged, never replaced by a guess.
_ICAO_LIST = """
    ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES
    BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE
    CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DJI DMA DNK DOM
    DZA ECU EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN
    GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT
    IRL IRN IRQ ISL ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR
    LBY LCA LIE LKA LSO LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR
    MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL
    NRU NZL OMN PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS
    RWA SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE
    SWZ SXM SYC SYR TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR
    UMI URY USA UZB VAT VCT VEN VGB VIR VNM VUT WLF WSM YEM ZAF ZMB ZWE
    D GBD GBN GBO GBP GBS UNO UNA UNK EUE XBA XCC XCE XCO XDC XEC XES XIM XOM XPO
    XXA XXB XXC XXX ANT NTZ RKS
"""
ICAO_CODES = frozenset(_ICAO_LIST.split())


def icao_code_known(code: str) -> bool:
    """True for a state or organisation code an MRZ may hold (without its fillers)."""
    return code.replace(MRZ_FILLER, "") in ICAO_CODES


def normalise_mrz_line(text: str) -> str:
    """An OCR line as MRZ characters: upper case, no spaces, look-alikes of '<' as '<'."""
    text = text.upper().replace(" ", "")
    # '>' and '≤' too: read for '<' on real runs (issue 15 baseline), and never in an MRZ.
    # 'く' too: the recogniser knows kana, and one looks like '<' (issue 15, passport set).
    for lookalike in ("«", "»", "‹", "›", "〈", "＜", "(", "[", ">", "≤", "≦", "く"):
        text = text.replace(lookalike, MRZ_FILLER)
    # The multiplication sign for an X (generated set, seed 1501: '×IU' for 'XIU').
    return text.replace("×", "X")


def _split_name(names: str) -> tuple[str, str, bool]:
    """(surname, given names, whether letters stood where only fillers may). ICAO 9303
    separates the two by two fillers, and each one's parts by one: after the given
    names, the next two fillers begin the line's closing fillers, and letters there are
    fillers misread (a blurred line 1's 'YINGYING<<E<E<E<<EREEEERE<RRRRE<<', seed 8's
    turned photo 136)."""
    double = MRZ_FILLER * 2
    surname, _, rest = names.partition(double)
    given, _, beyond = rest.partition(double)
    stray = any(char != MRZ_FILLER for char in beyond)
    return surname.replace(MRZ_FILLER, " ").strip(), given.replace(MRZ_FILLER, " ").strip(), stray


def parse_td3(line1: str, line2: str, *, correct: bool = True) -> Td3 | None:
    """The fields and checks of a TD3 MRZ, or None when the lines are no TD3 at all.

    With ``correct`` the classic OCR confusions are undone where the check digits then
    hold and exactly one reading does (a field whose check passes as read is kept).
    """
    line1, line2 = normalise_mrz_line(line1), normalise_mrz_line(line2)
    short = MRZ_LINE_LENGTH - len(line1) > _MAX_FILLER_MISCOUNT
    if correct:
        line1 = _fit_line1(line1)
        line2 = _fit_line2(line2)
    if len(line1) != MRZ_LINE_LENGTH or len(line2) != MRZ_LINE_LENGTH or line1[0] != "P":
        return None
    corrected: list[str] = []
    if correct:
        fixed1 = _correct_line1(line1)
        if fixed1 != line1:
            corrected.append("line1")
            line1 = fixed1
        line2, fixed_fields = _correct_line2(line2)
        corrected.extend(fixed_fields)
    surname, given, stray = _split_name(line1[5:])
    if stray and "line1" not in corrected:
        corrected.append("line1")
    checks = _line2_checks(line2)
    return Td3(
        line1=line1,
        line2=line2,
        document_code=line1[:2],
        issuing_country=line1[2:5].replace(MRZ_FILLER, ""),
        surname=surname,
        given_names=given,
        **_line2_fields(line2),
        checks=checks,
        corrected=tuple(corrected),
        line1_filled=short and len(line1) == MRZ_LINE_LENGTH,
    )


class _Line2Fields(TypedDict):
    number: str
    nationality: str
    birth: str
    sex: str
    expiry: str
    optional: str


def _line2_fields(line2: str) -> _Line2Fields:
    """Line 2's fields as ``Td3`` holds them (fillers dropped)."""
    return {
        "number": line2[0:9].replace(MRZ_FILLER, ""),
        "nationality": line2[10:13].replace(MRZ_FILLER, ""),
        "birth": line2[13:19],
        "sex": line2[20],
        "expiry": line2[21:27],
        "optional": line2[28:42].rstrip(MRZ_FILLER),
    }


# How far OCR may miscount a run of fillers (a long "<<<<" run is easy to miscount).
_MAX_FILLER_MISCOUNT = 6
# Fillers in a row that only the closing run of line 1 holds.
CLOSING_RUN = 3


# Letters OCR-B's capitals are misread as (and back), for a country code that no check
# digit covers: a reading outside ICAO's list is set right only where a second reading
# confirms the code (``witnessed_code``).
_LETTER_LOOKALIKES = {"O": "DQ", "D": "O", "Q": "O", "M": "HNW", "H": "MN", "N": "HM", "W": "M"}


def witnessed_code(code: str, witnesses: set[str]) -> str:
    """``code`` when ICAO lists it; else the one witness (a code read elsewhere on the
    passport, ICAO-listed) it becomes by swapping look-alike letters ('O' for Germany's
    'D', 'CMN' for 'CHN'); else ``code`` as read."""
    if icao_code_known(code):
        return code
    fits = {
        witness
        for witness in witnesses
        if icao_code_known(witness)
        and len(witness) == len(code)
        and all(
            a == b or b in _LETTER_LOOKALIKES.get(a, "") for a, b in zip(code, witness, strict=True)
        )
    }
    return fits.pop() if len(fits) == 1 else code


def parse_line2(line2: str) -> Td3 | None:
    """Line 2 alone, when line 1 could not be read: a Td3 without names or issuing state
    (``names_read`` False), only when every check digit of line 2 holds, the composite
    too (it covers all of line 2 but the nationality and sex, which are checked
    against ICAO's list and M/F/filler)."""
    line2 = _fit_line2(normalise_mrz_line(line2))
    if len(line2) != MRZ_LINE_LENGTH:
        return None
    line2, fixed = _correct_line2(line2)
    checks = _line2_checks(line2)
    fields = _line2_fields(line2)
    if not all(checks.values()) or not icao_code_known(fields["nationality"]):
        return None
    if fields["sex"] not in "MF<":
        return None
    return Td3(
        line1="",
        line2=line2,
        document_code="P",
        issuing_country="",
        surname="",
        given_names="",
        **fields,
        checks=checks,
        corrected=tuple(fixed),
        names_read=False,
    )


def _fit_line1(line1: str) -> str:
    """Line 1 with its closing run of fillers miscounted by OCR set back to 44 characters:
    the names end where the fillers begin, so only the run's length is wrong. A reading
    short by more than a few ends in at least CLOSING_RUN fillers to be filled up (the
    names hold one or two fillers in a row at the most, so what follows such a run is
    fillers: a turned, blurred photo read 'P<CHNZHOU<<YINGYING<<<<<<<', 27 characters)."""
    gap = MRZ_LINE_LENGTH - len(line1)
    closing = line1.endswith(MRZ_FILLER * CLOSING_RUN)
    if gap == 0 or (abs(gap) > _MAX_FILLER_MISCOUNT and not (gap > 0 and closing)):
        return line1
    names = line1.rstrip(MRZ_FILLER)
    if len(names) > MRZ_LINE_LENGTH or len(line1) - len(names) < -gap:
        return line1
    return names.ljust(MRZ_LINE_LENGTH, MRZ_FILLER)


def _fit_line2(line2: str) -> str:
    """Line 2 with one run of fillers miscounted by OCR set back to 44 characters, when
    exactly one such repair makes every check digit hold (the composite digit covers
    the positions of everything but the nationality and sex)."""
    gap = MRZ_LINE_LENGTH - len(line2)
    if gap == 0 or abs(gap) > _MAX_FILLER_MISCOUNT:
        return line2
    fits = set()
    for run in re.finditer(r"<+", line2):
        length = len(run[0]) + gap
        if length < 1:
            continue
        candidate = line2[: run.start()] + MRZ_FILLER * length + line2[run.end() :]
        if all(_line2_checks(candidate).values()):
            fits.add(candidate)
    return fits.pop() if len(fits) == 1 else line2


def _line2_checks(line2: str) -> dict[str, bool]:
    checks = {
        name: mrz_check_ok(line2[start:end], line2[check])
        for name, start, end, check, _ in _LINE2_FIELDS
        if check is not None
    }
    checks["birth"] = checks["birth"] and _yymmdd_ok(line2[13:19])
    checks["expiry"] = checks["expiry"] and _yymmdd_ok(line2[21:27])
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    checks["composite"] = mrz_check_ok(composite, line2[43])
    return checks


def _yymmdd_ok(text: str) -> bool:
    if len(text) != 6 or not text.isdigit():
        return False
    try:
        dt.date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return False
    return True


def _correct_line1(line1: str) -> str:
    """Digits in the names become their look-alike letters (names hold none), and K, C or
    L after the first filler of the line's closing run of fillers is a filler. No check
    digit covers line 1, so only readings that cannot be anything else are changed."""
    chars = [_AS_LETTER.get(c, c) if i >= 2 else c for i, c in enumerate(line1)]
    start = len(chars)
    while start > 5 and chars[start - 1] in FILLER_LOOKALIKES | {MRZ_FILLER}:
        start -= 1
    # The letters the run starts with end the last name ("CLARK<<<": the K is a letter).
    first_filler = line1.find(MRZ_FILLER, start)
    if first_filler >= 0:
        for i in range(first_filler, len(chars)):
            if chars[i] in FILLER_LOOKALIKES:
                chars[i] = MRZ_FILLER
    return "".join(chars)


def _options(char: str, kind: str) -> list[str]:
    """The characters ``char`` may stand for in a field of class ``kind``, as read first."""
    if kind == "d":
        return [_AS_DIGIT.get(char, char)]
    if kind == "a":
        if char in FILLER_LOOKALIKES:
            return [char, MRZ_FILLER]
        return [_AS_LETTER.get(char, char)]
    if kind == "s":
        return [{"H": "M", "N": "M", "E": "F", "P": "F"}.get(char, char)]
    options = [char]
    if char in _SWAPS:
        options.append(_SWAPS[char])
    if char in FILLER_LOOKALIKES:
        options.append(MRZ_FILLER)
    return options


def _readings(data: str, kind: str) -> list[tuple[int, str]]:
    """Every reading of ``data`` with its number of changes, fewest first."""
    choices = [_options(c, kind) for c in data]
    if sum(len(o) > 1 for o in choices) > _MAX_AMBIGUOUS:
        choices = [[o[0]] for o in choices]
    readings = []
    for combo in itertools.product(*choices):
        text = "".join(combo)
        changes = sum(a != b for a, b in zip(text, data, strict=True))
        readings.append((changes, text))
    return sorted(readings)


def _padded_readings(data: str) -> list[str]:
    """Readings of ``data`` with K, C and L at its end taken for fillers ("ZE184226BKK<<<"
    as "ZE184226B<<<<<"), fewest changes first: padding holds nothing else once begun."""
    run = len(data)
    while run > 0 and data[run - 1] in FILLER_LOOKALIKES | {MRZ_FILLER}:
        run -= 1
    readings = []
    for cut in range(len(data) - 1, run - 1, -1):
        padded = data[:cut] + "".join(
            MRZ_FILLER if c in FILLER_LOOKALIKES else c for c in data[cut:]
        )
        if padded != data and padded not in readings:
            readings.append(padded)
    return readings


def _fewest(passing: list[tuple[int, str]]) -> list[str]:
    if not passing:
        return []
    least = passing[0][0]
    return [text for changes, text in passing if changes == least]


def _correct_line2(line2: str) -> tuple[str, list[str]]:
    chars = list(line2)
    corrected: list[str] = []
    # Fields with several passing readings wait for the composite check to pick one.
    undecided: dict[str, list[str]] = {}
    for name, start, end, check, kind in _LINE2_FIELDS:
        data = line2[start:end]
        if check is None:
            # Nationality and sex: their class leaves one reading (no digit in a country
            # code, only M, F or '<' for the sex), and no check digit covers them.
            reading = "".join(_options(c, kind)[0] for c in data)
            if reading != data:
                chars[start:end] = reading
                corrected.append(name)
            continue
        check_char = line2[check]
        check_options = [_AS_DIGIT.get(check_char, check_char)]
        if kind == "x" and check_char in FILLER_LOOKALIKES:
            check_options.append(MRZ_FILLER)
        if mrz_check_ok(data, check_char) and (kind != "d" or _yymmdd_ok(data)):
            continue
        padded = [
            text + c
            for text in _padded_readings(data)
            for c in check_options
            if mrz_check_ok(text, c)
        ]
        if padded:
            # The first passing is the one with the fewest fillers restored.
            chars[start : check + 1] = padded[0]
            corrected.append(name)
            continue
        passing = [
            (changes + (c != check_char), text + c)
            for changes, text in _readings(data, kind)
            for c in check_options
            if mrz_check_ok(text, c) and (kind != "d" or _yymmdd_ok(text))
        ]
        best = _fewest(sorted(passing))
        if len(best) == 1:
            chars[start : check + 1] = best[0]
            corrected.append(name)
        elif best:
            undecided[name] = best
    _settle_by_composite(chars, undecided, corrected)
    composite_char = chars[43]
    if not composite_char.isdigit() and composite_char in _AS_DIGIT:
        line = "".join(chars)
        digit = _AS_DIGIT[composite_char]
        if mrz_check_ok(line[0:10] + line[13:20] + line[21:43], digit):
            chars[43] = digit
            corrected.append("composite")
    return "".join(chars), corrected


def _settle_by_composite(
    chars: list[str], undecided: dict[str, list[str]], corrected: list[str]
) -> None:
    """Picks among a field's equally good readings the one the composite digit confirms."""
    if not undecided:
        return
    spans = {name: (start, check) for name, start, _, check, _ in _LINE2_FIELDS}
    names = sorted(undecided)
    winners = []
    for combo in itertools.product(*(undecided[n] for n in names)):
        trial = list(chars)
        for name, text in zip(names, combo, strict=True):
            start, check = spans[name]
            assert check is not None
            trial[start : check + 1] = text
        line = "".join(trial)
        if mrz_check_ok(line[0:10] + line[13:20] + line[21:43], _AS_DIGIT.get(line[43], line[43])):
            winners.append(combo)
    if len(winners) == 1:
        for name, text in zip(names, winners[0], strict=True):
            start, check = spans[name]
            assert check is not None
            chars[start : check + 1] = text
            corrected.append(name)


def mrz_date(yymmdd: str, *, expiry: bool, today: dt.date | None = None) -> str:
    """``YYMMDD`` as ``YYYYMMDD``: a birth date is never in the future, an expiry date
    falls within the 50 years after ``today`` minus 50 (passports last at most 10)."""
    if not _yymmdd_ok(yymmdd):
        return ""
    today = today or dt.date.today()
    year = 2000 + int(yymmdd[:2])
    if expiry:
        if year > today.year + 50:
            year -= 100
    elif dt.date(year, int(yymmdd[2:4]), int(yymmdd[4:])) > today:
        year -= 100
    return f"{year}{yymmdd[2:]}"


def with_number(td3: Td3, number: str) -> Td3 | None:
    """``td3`` with ``number`` (fillers dropped, as ``Td3.number``) in line 2's number
    field, when the number's check digit as read and the composite both hold with it;
    else None. The number is then no check digit's choice (``corrected`` drops it)."""
    field_text = number.ljust(9, MRZ_FILLER)
    if len(field_text) != 9 or not _MRZ_ALPHABET.fullmatch(field_text):
        return None
    line2 = field_text + td3.line2[9:]
    checks = _line2_checks(line2)
    if not (checks["number"] and checks["composite"]):
        return None
    corrected = tuple(name for name in td3.corrected if name != "number")
    return replace(td3, line2=line2, number=number, checks=checks, corrected=corrected)


# The Chinese name of a mainland passport holder is written in the MRZ in Hanyu Pinyin
# (GB/T 28039): no tones, the surname and the given name each as one word, ü as YU
# since 2012 (LYU for 吕; older passports and other documents write U or V). Hong Kong
# and Macao SAR passports (CHN too, numbers beginning with H, K or M) romanise by
# Cantonese or Portuguese rules, which Pinyin cannot check.
_U_UMLAUT_SPELLINGS = ("YU", "U", "V")
SAR_NUMBER_PREFIXES = ("H", "K", "M")
# More readings of a name than this (a long name of many-reading characters): not checked.
_MAX_PINYIN_READINGS = 256


def pinyin_spellings(text: str) -> set[str] | None:
    """Every way Pinyin writes ``text`` in an MRZ (upper case, one word): each character's
    readings (pypinyin's heteronyms: 单 as DAN, SHAN or CHAN), ü in each of its spellings.
    None when a character is no Chinese one or the readings are too many to list."""
    # Imported here: its dictionaries take 0.2 s and about 50 MB to load, wanted only for
    # Chinese passports, not by every process that reads an ID or bank card.
    from pypinyin import Style, pinyin

    choices: list[set[str]] = []
    for char in text:
        readings = pinyin(char, style=Style.NORMAL, heteronym=True, errors="ignore")
        if not readings or not readings[0]:
            return None
        choices.append(
            {
                reading.upper().replace("V", umlaut)
                for reading in readings[0]
                for umlaut in _U_UMLAUT_SPELLINGS
            }
        )
    if math.prod(len(c) for c in choices) > _MAX_PINYIN_READINGS:
        return None
    return {"".join(combo) for combo in itertools.product(*choices)}


def chinese_name_matches(name_cn: str, surname: str, given_names: str) -> bool | None:
    """Whether a printed Chinese name is what the MRZ's Pinyin names spell: its first one
    or two characters the surname (复姓 such as 欧阳 take two), the rest the given name.
    None when it cannot be checked (a character Pinyin does not know)."""
    wanted = (re.sub("[^A-Z]", "", surname.upper()), re.sub("[^A-Z]", "", given_names.upper()))
    checked = False
    for split in (1, 2):
        head, rest = name_cn[:split], name_cn[split:]
        if not rest:
            continue
        heads, rests = pinyin_spellings(head), pinyin_spellings(rest)
        if heads is None or rests is None:
            continue
        checked = True
        if wanted[0] in heads and wanted[1] in rests:
            return True
    return False if checked else None


def td3_agrees(td3: Td3, printed: dict[str, str], today: dt.date | None = None) -> dict[str, bool]:
    """Which printed-zone fields (eval names) say what the MRZ says. Keys absent from
    ``printed`` are not compared. Names compare as the MRZ writes them."""
    mrz_values = {
        "number": td3.number,
        "surname": mrz_name(td3.surname),
        "given_names": mrz_name(td3.given_names),
        "nationality": td3.nationality,
        "issuing_country": td3.issuing_country,
        "sex": td3.sex,
        "birth": mrz_date(td3.birth, expiry=False, today=today),
        "expiry": mrz_date(td3.expiry, expiry=True, today=today),
    }
    agrees = {}
    for name, value in printed.items():
        if name not in mrz_values:
            continue
        seen = mrz_name(value) if name in ("surname", "given_names") else value.strip().upper()
        if name == "sex":
            seen = {"男": "M", "女": "F"}.get(value.strip(), seen[:1])
        agrees[name] = seen == mrz_values[name]
    return agrees


# ---------------------------------------------------------------------------------------
# Driving licences (中华人民共和国机动车驾驶证)
# ---------------------------------------------------------------------------------------

# 准驾车型: the legal codes. C5 (disabled drivers, 2010) and C6 (light trailers, 2022) are
# the newest.
CAR_CLASSES = (
    "A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6",
    "D", "E", "F", "M", "N", "P",
)  # fmt: skip
_CAR_CLASS_TOKEN = re.compile(r"[ABC][1-6]|[DEFMNP]")
# Letters and digits a licence font or OCR swaps inside a class code.
_CLASS_DIGIT_LOOKALIKES = {"I": "1", "L": "1", "|": "1", "Z": "2", "S": "5", "B": "8", "O": "0"}
LICENCE_SPANS_YEARS = (6, 10)
LICENCE_LONG_TERM = "长期"
MIN_DRIVING_AGE = 18


def car_class_codes(value: str) -> list[str] | None:
    """The codes of a 准驾车型 value ("C1", "A1A2", "B2E", "C1D"), or None when it is
    not made of distinct legal codes only."""
    compact = value.strip().upper().replace(" ", "")
    codes = _CAR_CLASS_TOKEN.findall(compact)
    if not codes or "".join(codes) != compact or len(set(codes)) != len(codes):
        return None
    return codes if all(code in CAR_CLASSES for code in codes) else None


def car_class_ok(value: str) -> bool:
    return car_class_codes(value) is not None


def fix_car_class(value: str) -> str:
    """The reading with look-alike digits after A/B/C undone ("Cl" -> "C1", "BZ" -> "B2"),
    when that and only that makes it a valid class; else ``value`` unchanged."""
    text = value.strip().translate(_FULL_WIDTH).upper().replace(" ", "")
    if car_class_ok(text):
        return text
    fixed = re.sub(r"([ABC])([ILZS|])", lambda m: m[1] + _CLASS_DIGIT_LOOKALIKES[m[2]], text)
    return fixed if car_class_ok(fixed) else value


_FULL_WIDTH = str.maketrans({chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "})


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def licence_period_ok(valid_from: str, valid_to: str) -> bool:
    """``valid_to`` is 6 or 10 years after ``valid_from`` (same day; 29 February ends on
    28 February or 1 March) or 长期. Dates ``YYYY-MM-DD``."""
    start = _iso_date(valid_from)
    if start is None:
        return False
    if valid_to.strip() == LICENCE_LONG_TERM:
        return True
    end = _iso_date(valid_to)
    if end is None:
        return False
    for years in LICENCE_SPANS_YEARS:
        due = _plus_years(start, years)
        if end == due or (start.month == 2 and start.day == 29 and end == due.replace(day=28)):
            return True
        if start.month == 2 and start.day == 29 and end == due + dt.timedelta(days=1):
            return True
    return False


def licence_id_checks(id_num: str, birth_date: str = "", sex: str = "") -> dict[str, bool]:
    """The card number is a resident ID number (checksum, a real birth date, a known
    region), and agrees with the printed birth date (``YYYY-MM-DD``) and sex (男/女)."""
    number = ric.compact(id_num).upper()
    valid = (
        len(number) == 18 and number[:17].isdigit() and ric.calc_check_digit(number) == number[17]
    )
    try:
        born = ric.get_birth_date(number) if valid else None
    except ValidationError:
        born = None
    # Not ric.is_valid: its region table misses codes in use (510722, 三台县, for one), so
    # the region is checked as on the ID card, where new codes pass by their prefecture.
    checks = {"id_num": born is not None and region_known(number)}
    if birth_date:
        checks["birth_date"] = born is not None and birth_date.strip() == born.isoformat()
    if sex:
        odd = valid and int(number[16]) % 2 == 1
        checks["sex"] = valid and sex.strip() == ("男" if odd else "女")
    return checks


def licence_dates_ok(
    birth_date: str, issue_date: str, valid_from: str, valid_to: str
) -> dict[str, bool]:
    """The dates of one licence agree: old enough at the first issue, the period starts on
    or after the first issue, and runs 6 or 10 years or 长期."""
    birth, issue, start = _iso_date(birth_date), _iso_date(issue_date), _iso_date(valid_from)
    return {
        "issue_date": birth is not None
        and issue is not None
        and issue >= _plus_years(birth, MIN_DRIVING_AGE),
        "valid_from": issue is not None and start is not None and start >= issue,
        "valid_period": licence_period_ok(valid_from, valid_to),
    }


# ---------------------------------------------------------------------------------------
# Business cards: phone numbers, e-mail addresses, web sites
# ---------------------------------------------------------------------------------------

# Mobile prefixes in use (MIIT numbering plan): 13x, 145-149, 150-153, 155-159, 162,
# 165-167, 170-178, 18x, 190-193, 195-199. Other 1xx prefixes are no mobile number.
MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "146", "147", "148", "149", "150", "151", "152", "153", "155", "156"]
    + ["157", "158", "159", "162", "165", "166", "167"]
    + [f"17{d}" for d in range(9)]
    + [f"18{d}" for d in range(10)]
    + ["190", "191", "192", "193", "195", "196", "197", "198", "199"]
)
_COUNTRY_CODE = re.compile(r"^(?:\+|00)\s*86[\s-]*")
# Area codes of two digits after the 0: Beijing 010 and the 02x cities; all others 0xxx
# from 03xx on: 01 begins no area code but Beijing's (blind seed 21's business card 034:
# a handset icon read as 0 before a mobile, '0 193-3918-5693', taken for 0193-39185693).
_SHORT_AREA = re.compile(r"^0(?:10|2\d)")
_NO_AREA = re.compile(r"^01(?!0)")


def _digits_of(text: str) -> str:
    text = _COUNTRY_CODE.sub("", text.strip().translate(_FULL_WIDTH))
    return re.sub(r"[\s\-().]", "", text)


def normalise_mobile(text: str) -> str:
    """A Chinese mobile number as its 11 digits ("+86 138-1234-5678" -> "13812345678"),
    or "" when it is none."""
    digits = _digits_of(text)
    return digits if mobile_ok(digits) else ""


def mobile_ok(digits: str) -> bool:
    return len(digits) == 11 and digits.isdigit() and digits[:3] in MOBILE_PREFIXES


def normalise_phone(text: str) -> str:
    """A landline or service number in one written form, or "" when it is none:
    "0AA-LLLLLLLL" or "0AAA-LLLLLLL" (with "-EXT" for an extension), "400-XXX-XXXX"."""
    text = text.strip().translate(_FULL_WIDTH)
    extension = ""
    match = re.search(r"(?:转|ext\.?|x|#)\s*(\d{1,5})$", text, re.IGNORECASE)
    if match:
        extension, text = match[1], text[: match.start()]
    elif re.search(r"^0\d{2,3}-\d{7,8}-\d{1,5}$", text):
        # This function's own written form: the extension after a second hyphen.
        text, _, extension = text.rpartition("-")
    digits = _digits_of(text)
    if re.fullmatch(r"[48]00\d{7}", digits):
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    if not digits.isdigit() or not digits.startswith("0") or digits.startswith("00"):
        return ""
    if _NO_AREA.match(digits):
        return ""
    area_length = 3 if _SHORT_AREA.match(digits) else 4
    local = digits[area_length:]
    if len(local) not in (7, 8) or local[0] in "01":
        return ""
    written = f"{digits[:area_length]}-{local}"
    return f"{written}-{extension}" if extension else written


def phone_ok(text: str) -> bool:
    return bool(normalise_phone(text))


def normalise_email(text: str) -> str:
    """The address in its normal form, or "" when its syntax is wrong. Syntax only: no
    DNS lookup (the bot has no internet access beyond WeChat, and a card may be old)."""
    try:
        return str(validate_email(text.strip(), check_deliverability=False).normalized)
    except EmailNotValidError:
        return ""


def email_ok(text: str) -> bool:
    return bool(normalise_email(text))


_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def website_ok(text: str) -> bool:
    """A web address as printed on cards ("www.example.com.cn", "https://a.cn/x"): an
    http(s) URL, scheme optional, whose host is a domain name with a letter TLD."""
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        return False
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    labels = host.split(".")
    return (
        parts.scheme in ("http", "https")
        and len(labels) >= 2
        and all(_HOST_LABEL.fullmatch(label) for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
    )


def split_numbers(value: str) -> list[str]:
    """The numbers of a business-card field that joins several with ';'."""
    return [part.strip() for part in value.split(";") if part.strip()]


# ---------------------------------------------------------------------------------------
# Tables and text
# ---------------------------------------------------------------------------------------


def table_shape(cells: Sequence[Sequence[str]]) -> tuple[int, int] | None:
    """(rows, columns) when every row has the same number of cells, else None."""
    if not cells or not cells[0]:
        return None
    columns = len(cells[0])
    if any(len(row) != columns for row in cells):
        return None
    return len(cells), columns


def table_cells_correct(
    expected: Sequence[Sequence[str]], read: Sequence[Sequence[str]]
) -> tuple[int, int]:
    """(cells exactly right after trimming, cells expected). When the row or column counts
    differ, no cell counts as right: a shifted table puts every value in the wrong place."""
    total = sum(len(row) for row in expected)
    shape = table_shape(expected)
    if shape is None or shape != table_shape(read):
        return 0, total
    correct = sum(
        e.strip() == r.strip()
        for e_row, r_row in zip(expected, read, strict=True)
        for e, r in zip(e_row, r_row, strict=True)
    )
    return correct, total


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def character_error_rate(pairs: Iterable[tuple[str, str]]) -> float:
    """Edits over expected characters, over a set of (expected, read) texts. Line breaks
    count as characters: reading order is part of what is measured."""
    edits = total = 0
    for expected, read in pairs:
        edits += edit_distance(expected, read)
        total += len(expected)
    return edits / total if total else 0.0
