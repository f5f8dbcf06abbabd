"""Reading a passport's data page: the machine-readable zone first, the printed zone beside it.

The MRZ (ICAO 9303 TD3: two lines of 44 OCR-B characters along the bottom) carries
every field but the Chinese name, and check digits over the number, the dates and the
whole of line 2, so it is the reading trusted. It is found as the bottom two long
lines of MRZ characters; when the detector's reading fails a check, each line is cut
out of the photo, enlarged to a good height and read again (as it is, equalised and
binarised: each fools the recogniser differently), and the first pair of readings whose
check digits all hold wins. ``ocr.documents.parse_td3`` undoes OCR confusions only where
a check digit then holds and exactly one reading does; a reading that passes is kept.

The printed zone (labels such as 出生日期/Date of birth with their values below) gives
the Chinese name, and is compared with the MRZ: a disagreement is a warning, never a
silent choice.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

from ocr.documents import (
    FILLER_LOOKALIKES,
    ICAO_CODES,
    MRZ_FILLER,
    MRZ_LINE_LENGTH,
    SAR_NUMBER_PREFIXES,
    Td3,
    chinese_name_matches,
    edit_distance,
    icao_code_known,
    mrz_date,
    mrz_name,
    normalise_mrz_line,
    parse_line2,
    parse_td3,
    td3_agrees,
    with_number,
    witnessed_code,
)
from ocr.image import BGRImage
from ocr.kinds.base import Extracted as KindExtracted
from ocr.layout import CardView, Line, LineReader, PlacedBox, crop_variants

# Share of a box's characters that must be MRZ characters for it to be part of the MRZ.
_MRZ_SHARE = 0.85
# An MRZ line read by the detector is at least this long (a line cut in two by glare
# still counts; parse_td3 decides whether it is whole).
_MIN_MRZ_LENGTH = 30
_MRZ_CHAR = re.compile(r"[A-Z0-9<]")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# "05 MAR 1990", also with the month in Chinese before it ("05 3月/MAR 1990").
_PRINTED_DATE = re.compile(r"(\d{1,2})\s*(?:[0-9]+月/?)?\s*([A-Z]{3})\S*\s*(\d{4})")
_CJK_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,6}$")
_LATIN_NAME = re.compile(r"^[A-Z][A-Z' \-]*$")
_NUMBER = re.compile(r"^[A-Z0-9]{7,9}$")
# The printed issuing state's code (国家码/Country code): ICAO's one to three letters.
_CODE = re.compile(r"^[A-Z]{1,3}$")

# Printed labels, as normalise_label writes them (upper case, no spaces or punctuation).
LABELS = {
    "type": ("类型", "TYPE"),
    "number": ("护照号", "PASSPORTNO"),
    "issuing_country": ("国家码", "COUNTRYCODE"),
    "name": ("姓名",),
    "surname": ("SURNAME",),
    "given_names": ("GIVENNAMES", "GIVENNAME"),
    "sex": ("性别", "SEX"),
    "nationality": ("国籍", "NATIONALITY"),
    "birth": ("出生日期", "DATEOFBIRTH"),
    "issue": ("签发日期", "DATEOFISSUE"),
    "expiry": ("有效期至", "DATEOFEXPIRY"),
}
# Top to bottom on every data page: which way up the photo is.
LABEL_ORDER = ("number", "sex", "birth", "issue", "expiry")
TITLES = ("PASSPORT", "护照")


def normalise_label(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).upper()
    return re.sub(r"[\s./:,'’]+", "", text)


def mrz_share(text: str) -> float:
    text = normalise_mrz_line(text)
    return sum(bool(_MRZ_CHAR.match(c)) for c in text) / len(text) if text else 0.0


@dataclass
class Extracted(KindExtracted):
    td3: Td3 | None = None


# ------------------------------------------------------------------------ the MRZ


def mrz_lines(view: CardView) -> list[list[PlacedBox]]:
    """The bottom two lines of MRZ characters (top one first), each as its MRZ boxes."""
    found: list[list[PlacedBox]] = []
    for line in view.lines:
        boxes = [b for b in line.boxes if mrz_share(b.text) >= _MRZ_SHARE]
        boxes = _drop_strays(boxes)
        text = "".join(normalise_mrz_line(b.text) for b in boxes)
        if len(text) >= _MIN_MRZ_LENGTH and ("<" in text or len(text) >= MRZ_LINE_LENGTH - 4):
            found.append(boxes)
    found.sort(key=lambda boxes: sum(b.cv for b in boxes) / len(boxes))
    return found[-2:]


def wide_bottom_lines(view: CardView) -> list[list[PlacedBox]]:
    """The two lowest lines spanning most of the page's text width (as the MRZ does)."""
    if not view.placed:
        return []
    width = max(b.u1 for b in view.placed) - min(b.u0 for b in view.placed)
    lines = sorted(view.lines, key=lambda line: line.cv)
    wide = [list(line.boxes) for line in lines if line.u1 - line.u0 >= 0.6 * width]
    return wide[-2:] if len(wide) >= 2 else []


def _drop_strays(boxes: list[PlacedBox]) -> list[PlacedBox]:
    """Without a word on the desk that landed on an MRZ line's line: when the line is too
    long, the end boxes are dropped while that brings it nearer to 44 characters."""

    def length(part: Sequence[PlacedBox]) -> int:
        return sum(len(normalise_mrz_line(b.text)) for b in part)

    while len(boxes) > 1 and length(boxes) > MRZ_LINE_LENGTH + 2:
        options = [boxes[1:], boxes[:-1]]
        best = min(options, key=lambda part: abs(length(part) - MRZ_LINE_LENGTH))
        if abs(length(best) - MRZ_LINE_LENGTH) >= abs(length(boxes) - MRZ_LINE_LENGTH):
            break
        boxes = best
    return boxes


def _span(boxes: Sequence[PlacedBox]) -> PlacedBox:
    """One box over a whole MRZ line, for cutting it out of the photo."""
    return PlacedBox(
        boxes[0].box,
        min(b.u0 for b in boxes),
        max(b.u1 for b in boxes),
        sum(b.cv for b in boxes) / len(boxes),
        max(b.height for b in boxes),
    )


def _score(td3: Td3 | None) -> tuple[bool, int]:
    if td3 is None:
        return False, -1
    return td3.all_checks_ok, sum(td3.checks.values())


def read_mrz(view: CardView, reader: LineReader | None) -> Td3 | None:
    """The MRZ as read by the detector, else as read again from enlarged crops."""
    lines = mrz_lines(view)
    if len(lines) < 2:
        # The angle classifier may turn an MRZ's boxes upside down one by one ('>>>>0V1N'):
        # the page's two lowest wide lines, cut out upright, are read again below.
        lines = wide_bottom_lines(view)
        if len(lines) < 2 or reader is None:
            return None
        first = None
    else:
        first = parse_td3(line1_text("".join(b.text for b in lines[0])), _text(lines[1]))
    upper, lower = lines
    if (first is not None and first.all_checks_ok) or reader is None:
        return first
    variants = [mrz_crops(view, boxes) for boxes in (upper, lower)]
    answers = reader([crop for crops in variants for crop in crops])
    # Line 2's surest readings first: its check digits cannot tell some look-alikes apart
    # (G and 6 weigh the same mod 10).
    top_reads = [text for text, _ in answers[: len(variants[0])]]
    low_reads = [text for text, _ in sorted(answers[len(variants[0]) :], key=lambda a: -a[1])]
    tops = _distinct([line1_text(t) for t in ("".join(b.text for b in upper), *top_reads)])
    bottoms = _distinct([_text(lower), *low_reads])
    best = first
    for top, bottom in itertools.product(tops, bottoms):
        td3 = parse_td3(top, bottom)
        if _score(td3) > _score(best):
            best = td3
            if td3 is not None and td3.all_checks_ok:
                break
    if best is None:
        # Line 1 unread in every reading (a turned photo's classifier read it upside
        # down, '<<<<NIW<<17NH2<D'; its long runs of fillers lost): line 2 stands alone
        # when all its check digits hold.
        best = next((td3 for bottom in bottoms if (td3 := parse_line2(bottom))), None)
    return best


def _line1_candidates(line1: str, view: CardView, reader: LineReader | None) -> Iterator[str]:
    """Other readings of line 1 to hold against the print: its fillers put back where
    they were read as a letter, then line 1 read again (with a reader)."""
    put_back = fillers_read_as_a_letter(line1)
    if put_back:
        yield put_back
    if reader is not None:
        yield from line1_rereadings(view, reader)


def _line1_confirmed(td3: Td3, line1s: Iterable[str], confirms: Callable[[Td3], bool]) -> Td3:
    """``td3`` with the first of ``line1s`` that ``confirms`` accepts as its line 1, else
    ``td3``. Line 2 stays as first read: what its check digits corrected is still said."""
    for line1 in line1s:
        again = parse_td3(line1, td3.line2)
        if again is not None and confirms(again):
            corrected = tuple(dict.fromkeys((*td3.corrected, *again.corrected)))
            return replace(again, corrected=corrected)
    return td3


def _names_printed(view: CardView, td3: Td3) -> bool:
    """Whether line 1 holds both names and each is printed letter for letter somewhere."""
    names = (td3.surname, td3.given_names)
    return all(names) and all(printed_form(view, name) for name in names)


# Line 1 ending in this many of one letter: its closing fillers, read as that letter.
FILLER_RUN = 5


def fillers_read_as_a_letter(line1: str) -> str:
    """Line 1 with its fillers put back where they were read as one letter, or "".

    Seed 8's photo 135 read 'WUAACHAOMINGAAAA...' for 'WU<<CHAOMING<<<<...': the line
    ends in a run of that letter (``FILLER_RUN``), and each run of two or more of it in
    the names is taken for fillers. Only a reading the print confirms is kept.
    """
    end = re.search(rf"([A-Z])\1{{{FILLER_RUN - 1},}}$", line1)
    if end is None or len(line1) < 5:
        return ""
    letter = end[1]
    names = re.sub(rf"{letter}{{2,}}", lambda run: MRZ_FILLER * len(run[0]), line1[5:])
    return line1[:5] + names


def line1_rereadings(view: CardView, reader: LineReader) -> list[str]:
    """MRZ line 1 read again from enlarged crops (no check digit covers it)."""
    lines = mrz_lines(view)
    if len(lines) < 2:
        return []
    crops = mrz_crops(view, lines[0])
    return _distinct([line1_text(text) for text, _ in reader(crops)])


def mrz_crops(view: CardView, boxes: Sequence[PlacedBox]) -> list[BGRImage]:
    """An MRZ line cut out upright for a second reading: padded all round (as it is,
    equalised, binarised: ``crop_variants``), and padded along the line only.

    The recogniser reads a crop scaled to a fixed height: padding above and below the
    line leaves its 44 characters fewer steps each, and a sharp line's runs of fillers and
    the letters between them are lost (blind seed 32's turned photo 76: line 1 read
    'P<CAORALE<ER<<<' at 0.67 padded, right at 0.99 unpadded). A blurred line reads its
    fillers as letters unpadded ('ZHUCCWEI', seed 7's photo 53), right padded."""
    span = _span(boxes)
    return [*crop_variants(view.cut(span, pad=0.2)), view.cut(span, pad=0.2, pad_across=0.0)]


def _text(boxes: Sequence[PlacedBox]) -> str:
    return "".join(normalise_mrz_line(b.text) for b in boxes)


def line1_text(raw: str) -> str:
    """Line 1 as MRZ characters, lower-case e, c and k taken for fillers: the MRZ has no
    lower case, and a run of '<' at a low resolution reads as 'eec<<cee' (generated set)."""
    return normalise_mrz_line(re.sub(r"[eck]", "<", raw))


def _distinct(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(normalise_mrz_line(t) for t in texts if t))


# --------------------------------------------------------------- the printed zone


def find_label(view: CardView, name: str) -> PlacedBox | None:
    for box in sorted(view.placed, key=lambda b: (b.cv, b.u0)):
        text = normalise_label(box.text)
        if any(label in text for label in LABELS[name]):
            return box
    return None


def value_below(view: CardView, name: str, pattern: re.Pattern[str]) -> str:
    """The nearest text under a label, in its column, that looks like its value."""
    label = find_label(view, name)
    if label is None:
        return ""
    reach = 3.0 * label.height
    for box in sorted(view.placed, key=lambda b: (b.cv, b.u0)):
        if box is label or not 0.3 * label.height < box.cv - label.cv <= reach:
            continue
        if box.u1 < label.u0 - label.height or box.u0 > label.u0 + 2.5 * label.height:
            continue
        text = unicodedata.normalize("NFKC", box.text).strip()
        if pattern.search(text.upper()) or pattern.search(text):
            return text
    return ""


def printed_date(text: str) -> str:
    """``05 MAR 1990`` (or ``05 3月/MAR 1990``) as ``19900305``; empty when it is none."""
    match = _PRINTED_DATE.search(unicodedata.normalize("NFKC", text).upper())
    if match is None or match[2] not in MONTHS:
        return ""
    try:
        day = dt.date(int(match[3]), MONTHS.index(match[2]) + 1, int(match[1]))
    except ValueError:
        return ""
    return f"{day:%Y%m%d}"


def _name_above(view: CardView, latin: PlacedBox) -> str:
    """The Chinese name printed right above the Latin one (its label may be unreadable)."""
    for box in sorted(view.placed, key=lambda b: -b.cv):
        rise = latin.cv - box.cv
        if not 0.5 * latin.height < rise <= 2.5 * latin.height:
            continue
        text = unicodedata.normalize("NFKC", box.text).strip()
        if abs(box.u0 - latin.u0) <= 2 * latin.height and _CJK_NAME.match(text):
            return text
    return ""


def printed_zone(view: CardView) -> dict[str, str]:
    """What the printed zone says, by field name (only what was found)."""
    found: dict[str, str] = {}
    number = re.sub(r"\s+", "", value_below(view, "number", _NUMBER).upper())
    if _NUMBER.match(number):
        found["number"] = number
    code = re.sub(r"[\s<]+", "", value_below(view, "issuing_country", _CODE).upper())
    # A code outside ICAO's list is a misreading of the print: nothing to compare.
    if icao_code_known(code):
        found["issuing_country"] = code
    name_cn = value_below(view, "name", _CJK_NAME)
    # A Chinese page prints "SURNAME, GIVEN NAMES" under the Chinese name.
    for box in view.placed:
        text = unicodedata.normalize("NFKC", box.text).strip().upper()
        parts = [p.strip() for p in text.split(",")]
        if len(parts) == 2 and all(_LATIN_NAME.match(p) for p in parts):
            found["surname"], found["given_names"] = parts
            name_cn = name_cn or _name_above(view, box)
            break
    else:
        for name in ("surname", "given_names"):
            value = value_below(view, name, _LATIN_NAME).upper().strip()
            if _LATIN_NAME.match(value) and not any(
                label in normalise_label(value) for label in LABELS[name]
            ):
                found[name] = value
    if _CJK_NAME.match(name_cn):
        found["name_cn"] = name_cn
    sex = value_below(view, "sex", re.compile(r"^(男|女|M|F)\b|/(M|F)$"))
    if sex:
        found["sex"] = "M" if ("男" in sex or sex.upper().endswith("M")) else "F"
    for name in ("birth", "expiry"):
        day = printed_date(value_below(view, name, _PRINTED_DATE))
        if day:
            found[name] = day
    return found


# ----------------------------------------------------------------------- together


def issuing_state(
    td3: Td3, printed: dict[str, str], view: CardView, reader: LineReader | None
) -> str:
    """The issuing state's code (MRZ line 1, positions 3-5). No check digit covers it:
    a code outside ICAO's list is read again from line 1's crops, and a reading on the
    list is taken only when a second reading confirms it (the printed country code or,
    as on most passports, the holder's nationality). Otherwise it stays as read (and
    is flagged by the caller)."""
    code = td3.issuing_country
    if icao_code_known(code):
        return code
    witnesses = {printed.get("issuing_country"), td3.nationality} & ICAO_CODES
    # A filler before a letter cannot be (codes are left-aligned): a letter that reads
    # as '<' ('P<<HN' for 'P<CHN', generated set, seed 7).
    for again in filler_readings(td3.line1[2:5]):
        if again in witnesses:
            return again
    for line1 in line1_rereadings(view, reader) if reader is not None else []:
        again = line1_code(line1)
        if again in witnesses:
            return again
    return code


def filler_readings(field: str) -> list[str]:
    """A code field (``<HN``) with each filler that precedes a letter read as each letter
    that looks like one (K, C, L)."""
    inner = [i for i, c in enumerate(field) if c == MRZ_FILLER and field[i:].strip(MRZ_FILLER)]
    readings = []
    for letters in itertools.product(sorted(FILLER_LOOKALIKES), repeat=len(inner)):
        chars = list(field)
        for i, letter in zip(inner, letters, strict=True):
            chars[i] = letter
        readings.append("".join(chars).replace(MRZ_FILLER, ""))
    return readings if inner else []


def line1_code(line1: str) -> str:
    """The issuing state's code in a reading of MRZ line 1 (fillers dropped)."""
    fitted = parse_td3(line1, "<" * MRZ_LINE_LENGTH, correct=True)
    return fitted.issuing_country if fitted is not None else ""


def extract_passport(
    view: CardView, reader: LineReader | None = None, today: dt.date | None = None
) -> Extracted:
    td3 = read_mrz(view, reader)
    printed = printed_zone(view)
    if td3 is None:
        # No MRZ: what the printed zone says, with nothing to check it against.
        fields = {k: v for k, v in printed.items() if v}
        return Extracted(fields, {}, ["mrz_unreadable"] if fields else [])
    td3 = number_from_print(td3, view)
    if not td3.names_read:
        return _line2_with_print(td3, printed, today)
    compared = {k: v for k, v in printed.items() if k != "name_cn"}
    agrees = td3_agrees(td3, compared, today)
    names = [n for n in ("surname", "given_names") if n in agrees]
    if names and not all(agrees[n] for n in names):
        # Line 1's names against the printed ones: another reading of line 1 that the
        # printed zone confirms (two readings agreeing) replaces the first.
        td3 = _line1_confirmed(
            td3,
            _line1_candidates(td3.line1, view, reader),
            lambda again: all(td3_agrees(again, compared, today).get(n) for n in names),
        )
        agrees = td3_agrees(td3, compared, today)
    elif not names and any(printed_near(view, name) for name in (td3.surname, td3.given_names)):
        # No label to compare with, but a printed line one letter off a name: another
        # reading of line 1 whose every name is printed letter for letter replaces the
        # first (seed 8's turned 100: 'MENDE' read for MENDEZ, right when read again).
        td3 = _line1_confirmed(
            td3,
            _line1_candidates(td3.line1, view, reader),
            lambda again: _names_printed(view, again),
        )
    if td3.line1_filled and td3.all_checks_ok and not all(agrees.get(n, True) for n in names):
        # Line 1 read far short and filled up with fillers, its names not what is printed:
        # a letter or a filler was lost ('ZHU<VEI' for ZHU<<WEI). Line 2 still holds.
        return _line2_with_print(td3, printed, today)
    issuing = issuing_state(td3, printed, view, reader)
    if "issuing_country" in agrees:
        agrees["issuing_country"] = printed["issuing_country"] == issuing
    line2 = line2_values(td3, today)
    fields = {
        "number": line2["number"],
        "surname": td3.surname,
        "given_names": td3.given_names,
        # No check digit covers it: a reading off ICAO's list that the issuing state or
        # the printed code names, look-alike letters apart, is that code (a code off
        # the list witnesses nothing).
        "nationality": witnessed_code(
            td3.nationality, {issuing, printed.get("issuing_country", "")}
        ),
        "sex": line2["sex"],
        "birth": line2["birth"],
        "expiry": line2["expiry"],
        "issuing_country": issuing,
    }
    # The fields' own check digits, apart from the optional data's and the composite's:
    # a misread in the optional data (not a field of ours) fails only the second.
    checks = {
        "mrz": all(td3.checks[name] for name in ("number", "birth", "expiry")),
        "mrz_composite": td3.checks["optional"] and td3.checks["composite"],
    }
    # Line 1's corrections (a digit in a name, a letter in the closing fillers) cannot be
    # anything else; only a choice a check digit made is the user's to verify.
    warnings = ["mrz_corrected"] if set(td3.corrected) - {"line1"} else []
    if MRZ_FILLER not in td3.line1[5:] and "surname" not in agrees:
        # Names that fill all 39 places without one filler (no '<<' before the given
        # names, none closing the line): the closing fillers were read as letters
        # ('ZHANGREJIANHAORERERR...', generated set, seed 1501), and no print confirms.
        warnings.append("mrz_names_unsure")
    if not icao_code_known(issuing):
        warnings.append("issuing_country_unknown")
    if pinyin_named(td3):
        if "name_cn" not in printed:
            # Its label unread, the Chinese name is the printed line the Pinyin spells.
            spelled_out = name_spelled(view, td3)
            if spelled_out:
                printed["name_cn"] = spelled_out
        else:
            # The printed Chinese name against the MRZ's Pinyin: a misread character (seed
            # 8's turned 124 read 王磊 as '豊王' at 0.94, with no doubt) is a mismatch.
            spelled = chinese_name_matches(printed["name_cn"], td3.surname, td3.given_names)
            if spelled is not None:
                agrees["name_cn"] = spelled
    compared_with_print(agrees, checks, warnings)
    if "mrz_names_unsure" not in warnings and any(
        name not in agrees and printed_near(view, fields[name])
        for name in ("surname", "given_names")
    ):
        # No label found the printed name to compare, but a printed line one letter off
        # the MRZ's, and none with its very letters: line 1 lost or misread a letter
        # (a turned photo's 'MENDE' for a printed MENDEZ, seed 8's 100, was silent).
        warnings.append("mrz_names_unsure")
    for name in ("surname", "given_names"):
        # The printed zone keeps what the MRZ cannot write (hyphens, a name cut at 44).
        if agrees.get(name) and mrz_name(printed[name]) == mrz_name(fields[name]):
            fields[name] = printed[name]
        elif " " in fields[name]:
            # The MRZ writes a space and a hyphen alike ('<'): the print tells which, its
            # letters misread or not, when it splits the name into parts of the same
            # lengths, or, its label unread, a printed line with the MRZ's very letters;
            # otherwise the name is shown as the MRZ has it, and flagged (by mrz_mismatch
            # already when a printed name was read).
            separated = with_printed_separators(
                fields[name], printed.get(name, "")
            ) or printed_form(view, fields[name])
            if separated:
                fields[name] = separated
            elif name not in agrees:
                warnings.append("name_separator_unsure")
    if "name_cn" in printed:
        fields["name_cn"] = printed["name_cn"]
    return Extracted({k: v for k, v in fields.items() if v}, checks, warnings, td3=td3)


# A printed passport number differs from line 2's reading in at most this many places
# to stand for it (``number_from_print``).
NUMBER_REACH = 3


def number_from_print(td3: Td3, view: CardView) -> Td3:
    """``td3`` with its number as printed on the page, when line 2's reading needed a check
    digit's choice or fails a check, and exactly one printed value passes the number's
    check digit (and so the composite, whose weights over the number are the same) with
    it, at most NUMBER_REACH places off the reading.

    Two readings then agree, the print's and line 2's, under the check digit. The
    correction's classic pairs (O/0, I/1, B/8, S/5, Z/2) leave out what the recogniser
    also confuses in OCR-B: seed 8's photo 103 read '426J0R0983' for '4Z6J0R09R3' (no
    label over the printed number was read), and the fewest changes that passed the
    check gave '426J0RO98', a wrong number flagged only as corrected (photo 86 read
    ED2061070's D as 0 too, but its blurred print read no better). A printed value equal
    to the correction confirms it.
    """
    if td3.checks["number"] and td3.checks["composite"] and "number" not in td3.corrected:
        return td3
    fits: dict[str, Td3] = {}
    for box in view.placed:
        text = unicodedata.normalize("NFKC", box.text).replace(" ", "").upper()
        if (
            _NUMBER.match(text)
            and any(c.isdigit() for c in text)
            and len(text) == len(td3.number)
            and sum(a != b for a, b in zip(text, td3.number, strict=True)) <= NUMBER_REACH
            and (confirmed := with_number(td3, text)) is not None
        ):
            fits[text] = confirmed
    return fits.popitem()[1] if len(fits) == 1 else td3


def pinyin_named(td3: Td3) -> bool:
    """Whether the MRZ's names are the holder's Chinese name in Pinyin: a mainland Chinese
    passport (CHN, its number not a Hong Kong or Macao SAR one) whose line 1 was read."""
    return (
        td3.names_read
        and td3.issuing_country == "CHN"
        and bool(td3.number)
        and not td3.number.startswith(SAR_NUMBER_PREFIXES)
    )


def name_spelled(view: CardView, td3: Td3) -> str:
    """The one printed Chinese name (2-6 characters) that the MRZ's Pinyin names spell,
    wherever it stands; empty when none or several do. Seed 8's 033 and 115 read 高思涛
    and 黄红志 at 1.0 but no 姓名 label over them, and answered no Chinese name."""
    found = {
        text
        for box in view.placed
        if _CJK_NAME.match(text := box.text.strip())
        and chinese_name_matches(text, td3.surname, td3.given_names)
    }
    return found.pop() if len(found) == 1 else ""


def line2_values(td3: Td3, today: dt.date | None) -> dict[str, str]:
    """The fields line 2 gives, as answered (dates in full, a filler for sex as none)."""
    return {
        "number": td3.number,
        "nationality": td3.nationality,
        "sex": td3.sex if td3.sex in ("M", "F") else "",
        "birth": mrz_date(td3.birth, expiry=False, today=today),
        "expiry": mrz_date(td3.expiry, expiry=True, today=today),
    }


def compared_with_print(
    agrees: dict[str, bool], checks: dict[str, bool], warnings: list[str]
) -> None:
    """The printed zone's agreement with the MRZ as a check, and ``mrz_mismatch`` when
    some printed field says otherwise (nothing when none was compared)."""
    if agrees:
        checks["printed_matches_mrz"] = all(agrees.values())
        if not checks["printed_matches_mrz"]:
            warnings.append("mrz_mismatch")


def _line2_with_print(td3: Td3, printed: dict[str, str], today: dt.date | None) -> Extracted:
    """Line 2's fields, which its check digits vouch for, and the names and issuing
    state as printed (no MRZ line confirms them: ``mrz_names_unsure``); the issuing
    state as line 1 begins when it was read and none is printed."""
    line2 = line2_values(td3, today)
    agrees = td3_agrees(td3, {k: v for k, v in printed.items() if k in line2}, today)
    checks = {"mrz": True, "mrz_composite": True}
    warnings = ["mrz_names_unsure"]
    compared_with_print(agrees, checks, warnings)
    if td3.corrected:
        warnings.append("mrz_corrected")
    fields = {k: v for k, v in printed.items() if v}
    fields.update({k: v for k, v in line2.items() if v})
    if "issuing_country" not in fields and icao_code_known(td3.issuing_country):
        # Line 1's first five places, read though its names were not.
        fields["issuing_country"] = td3.issuing_country
    return Extracted(fields, checks, warnings, td3=td3)


def with_printed_separators(mrz_value: str, printed: str) -> str:
    """The MRZ's name parts (``ROLF PETER``) joined by the printed name's separators
    (``ROLF-PETEP``: ``ROLF-PETER``) when the print splits it into parts of the same
    lengths; empty when it does not (or no separator was printed between them)."""
    parts = mrz_value.split(" ")
    pieces = re.split(r"([ \-]+)", unicodedata.normalize("NFKC", printed).strip().upper())
    words, separators = pieces[::2], pieces[1::2]
    if [len(re.sub(r"[^A-Z]", "", w)) for w in words] != [len(p) for p in parts]:
        return ""
    marks = ["-" if "-" in sep else " " for sep in separators]
    return "".join(part + mark for part, mark in zip(parts, [*marks, ""], strict=True))


def printed_form(view: CardView, mrz_value: str) -> str:
    """A printed line with the letters of an MRZ name (``HANS D ROLF-PETER`` for
    ``HANS D ROLF PETER``), wherever it stands; empty when there is none."""
    for box in view.placed:
        text = unicodedata.normalize("NFKC", box.text).strip().upper()
        if _LATIN_NAME.match(text) and mrz_name(text) == mrz_name(mrz_value):
            return re.sub(r"\s*-\s*", "-", re.sub(r"\s+", " ", text))
    return ""


def printed_near(view: CardView, mrz_value: str) -> bool:
    """Whether a printed line of Latin letters is one letter off the MRZ name, as long or
    longer, and none has its very letters (``printed_form``): the print says the MRZ
    lost or misread a letter."""
    wanted = mrz_name(mrz_value)
    near = False
    for box in view.placed:
        text = unicodedata.normalize("NFKC", box.text).strip().upper()
        if not wanted or not _LATIN_NAME.match(text):
            continue
        seen = mrz_name(text)
        if seen == wanted:
            return False
        # Not shorter: a country code (CHN) is one letter off a surname (CHEN).
        near = near or (len(seen) >= len(wanted) and edit_distance(seen, wanted) == 1)
    return near


def order_agreement(view: CardView) -> int:
    """Printed labels and the MRZ's two lines seen top to bottom as printed, minus reversed."""
    marks = [b.cv for name in LABEL_ORDER if (b := find_label(view, name)) is not None]
    total = 0
    for i, upper in enumerate(marks):
        total += sum(1 if upper < lower else -1 for lower in marks[i + 1 :])
    lines = [line for line in view.lines if _mrz_like(line)]
    starts = [line for line in lines if normalise_mrz_line(line.text).startswith("P")]
    others = [line for line in lines if line not in starts]
    if starts and others:
        total += 1 if starts[0].cv < others[-1].cv else -1
    return total


def _mrz_like(line: Line) -> bool:
    text = normalise_mrz_line(line.text)
    return len(text) >= _MIN_MRZ_LENGTH and mrz_share(text) >= _MRZ_SHARE


def landmarks(view: CardView) -> int:
    """Titles, labels and MRZ lines found: auto detection's score."""
    texts = [normalise_label(b.text) for b in view.placed]
    score = sum(any(title in t for t in texts) for title in TITLES)
    score += sum(find_label(view, name) is not None for name in ("number", "birth", "expiry"))
    lines = mrz_lines(view)
    score += len(lines)
    if len(lines) == 2:
        td3 = parse_td3(_text(lines[0]), _text(lines[1]))
        score += 2 * (td3 is not None)
    return score
