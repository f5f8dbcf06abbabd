"""Text boxes of a resident ID card -> WeChat's fields, corrected by the checks.

Front: type "Front", name, gender, nationality, birth (YYYYMMDD), addr, id.
Back: type "Back", authority, valid_date ("YYYYMMDD-YYYYMMDD" or "YYYYMMDD-长期").

Values are found next to their printed labels in card coordinates (see layout.py), so
neither RapidOCR's box order nor a label merged into its value ('姓名林娜') matters.
Fields that repeat each other (the ID number holds the birth date and gender; a
validity period has a fixed length) are used to correct misread characters.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import product

from ocr.checks import (
    LONG_TERM,
    VALID_DATE,
    VALID_SPANS_YEARS,
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
    number_without_unit,
    parse_date,
    province_names,
    region_named_prefix,
    surnames,
    valid_date_ok,
)
from ocr.engine import TextBox
from ocr.kinds.base import Extracted
from ocr.layout import (
    CJK,
    CardView,
    Line,
    LineReader,
    LineReading,
    PlacedBox,
    crop_variants,
    partly_unread,
    read_box,
    right_of,
    split_placed,
)

FRONT_LABELS = {
    "name": "姓名",
    "gender": "性别",
    "nationality": "民族",
    "birth": "出生",
    "addr": "住址",
    "id": "公民身份号码",
}
BACK_LABELS = {"authority": "签发机关", "valid_date": "有效期限"}
BACK_TITLES = ("中华人民共和国", "居民身份证")

# The 56 ethnic groups as printed after 民族.
ETHNIC_GROUPS = (
    "汉",
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
)

# Printed on real cards though not among the 56: groups whose classification is still
# pending (the State Council's 1980s survey left them 'undetermined') got their own
# name on cards issued in Guizhou since 2003. Nothing else is accepted after 民族.
OTHER_NATIONALITIES = ("穿青人", "革家人")
NATIONALITIES = ETHNIC_GROUPS + OTHER_NATIONALITIES

# Characters OCR mistakes for ID digits, and the digits they stand for.
DIGIT_LOOKALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "U": "0",
        "I": "1",
        "l": "1",
        "|": "1",
        "i": "1",
        "L": "1",
        "Z": "2",
        "z": "2",
        "S": "5",
        "s": "5",
        "G": "6",
        "b": "6",
        "T": "7",
        "B": "8",
        "g": "9",
        "q": "9",
        "x": "X",
        "×": "X",
        "K": "X",
        "k": "X",
        "Ⅹ": "X",
    }
)
# Digits OCR confuses with each other, likeliest first.
DIGIT_CONFUSIONS = {
    "0": "869",
    "1": "74",
    "2": "73",
    "3": "885",
    "4": "19",
    "5": "63",
    "6": "508",
    "7": "12",
    "8": "3690",
    "9": "840",
    "X": "",
}
ID_RUN = re.compile(r"[0-9X]{15,20}")
DATE_CN = re.compile(r"(\d{4})\D{0,2}?(\d{1,2})\D{1,2}?(\d{1,2})")
# Low recogniser scores on fields flag the result as possibly wrong.
LOW_SCORE = 0.8
# A name or address character read with less certainty than this (``TextBox.certainties``)
# flags the result as possibly wrong. Chosen on the ID fronts of real90, real90b (a 4 put
# into 20幢 at 0.76), rare40 (`python -m tests.cardgen.rare_chars --seed 4242`), real-dev
# and the card fixtures (2026-11-30): any threshold from 0.6 to 0.8 flagged the same
# wrong values and no right one more; 0.85 flagged one more right address. Of about
# 1,970 characters read right in those values 27 were under 0.8, most with a rival.
UNSURE_BELOW = 0.8
# Characters of names and addresses whose doubts count (CJK, digits, Latin letters).
VALUE_CHARS = re.compile(r"[\u3400-\u9fff·0-9A-Za-z]+")


def normalise(text: str) -> str:
    """Full-width digits and letters as ASCII (NFKC), without spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def label_match(text: str, label: str) -> int:
    """How many leading characters of ``text`` make up ``label``; 0 when it is not there.

    Long labels are accepted with half their characters misread ('警发机美' for 签发机关);
    two-character labels must be exact, names and places share their characters.
    """
    text = normalise(text)
    if text.startswith(label):
        return len(label)
    if len(label) >= 4 and len(text) >= len(label):
        same = sum(a == b for a, b in zip(text, label, strict=False))
        if same * 2 >= len(label):
            return len(label)
    return 0


@dataclass(frozen=True)
class Anchor:
    label: PlacedBox
    value: PlacedBox | None  # the rest of a merged box ('姓名林娜' -> 林娜)


def find_anchor(view: CardView, label: str) -> Anchor | None:
    best: tuple[float, Anchor] | None = None
    for box in view.placed:
        text = normalise(box.text)
        cut = label_match(text, label)
        # A label inside a box ('性制女民族汉': two fields merged) comes last in rank.
        start = text.find(label, 1) if not cut else 0
        if not cut and start < 0:
            continue
        rank = (0 if text.startswith(label) else 1 if cut else 2) * 1e6 + box.u0
        # Split positions are in box.text, which may hold spaces the cut skipped.
        raw_start = _raw_index(box.text, start)
        raw_cut = _raw_index(box.text, start + (cut or len(label)))
        value = split_placed(box, raw_cut) if raw_cut < len(box.text) else None
        label_box = split_placed(box, raw_start, raw_cut)
        if best is None or rank < best[0]:
            best = (rank, Anchor(label_box, value))
    return best[1] if best else None


def _raw_index(text: str, kept: int) -> int:
    """Index in ``text`` after ``kept`` non-space characters."""
    count = 0
    for index, char in enumerate(text):
        if count == kept:
            return index
        if not char.isspace():
            count += 1
    return len(text)


def value_boxes(view: CardView, anchor: Anchor, max_gap: float = 2.5) -> list[PlacedBox]:
    """The value after a label on its line: the merged rest, then boxes close behind."""
    start = [anchor.value] if anchor.value is not None else []
    edge_box = anchor.value or anchor.label
    following = right_of(edge_box, view.placed, max_gap=max_gap)
    following = [b for b in following if b.box is not edge_box.box]
    return start + following


def value_boxes_without_strays(
    view: CardView, anchor: Anchor, max_gap: float = 2.5
) -> list[PlacedBox]:
    """``value_boxes`` less a stray character merged into the label's box.

    A stroke of the label or the background read as a character ('姓名文' + '刘红志',
    '签发机关工' + the office) is no part of a value that continues in its own box.
    """
    boxes = value_boxes(view, anchor, max_gap)
    stray = anchor.value is not None and len(cjk_only(anchor.value.text)) <= 1
    if stray and len(boxes) > 1 and len(cjk_only(boxes[1].text)) >= 2:
        return boxes[1:]
    return boxes


def doubted_in(view: CardView, values: Iterable[tuple[str, int]]) -> bool:
    """Whether any of ``values`` holds a character the recogniser was unsure of.

    A rare character (裴, 垅) comes out as a common look-alike (装, 城) that no table can
    correct, in a box whose other characters read well; only the recogniser's doubt at
    that character says the value may be wrong: a rival character (``TextBox.doubts``),
    or little certainty in what it read (``TextBox.certainties``, ``UNSURE_BELOW``). The
    latter also catches a character read where none is printed, whose rival is the
    blank, which doubts do not list (a 4 put into a house number's 20幢). The character
    is found in a value by itself and a neighbour, so a doubt in a label or in clutter
    does not count; a digit or letter only with a neighbour. ``values``: (value, where
    its doubts start to count): the characters before are vouched for (an address's
    region, which the region table checks), though they may be the neighbour that
    finds a doubted character (垭 read as 址 at the end of its box, right after 瑶海区).
    """
    found = [(value, start) for value, start in values if value]
    for placed in view.placed:
        text = placed.text
        for at, char in enumerate(text):
            if not unsure_at(placed.box, at):
                continue
            # (the character with a neighbour, the character's index in it)
            parts = [(text[at - 1 : at + 1], 1)] if at >= 1 else []
            parts += [(text[at : at + 2], 0)] if at + 1 < len(text) else []
            parts = [part for part in parts if VALUE_CHARS.fullmatch(part[0])]
            if CJK.match(char) and not parts:
                parts = [(char, 0)]
            for (part, offset), (value, start) in product(parts, found):
                if any(i + offset >= start for i in _occurrences(value, part)):
                    return True
    return False


def _occurrences(text: str, part: str) -> Iterator[int]:
    at = text.find(part)
    while at >= 0:
        yield at
        at = text.find(part, at + 1)


def unsure_at(box: TextBox, at: int) -> bool:
    """Whether the recogniser doubted the name or address character ``box.text[at]``."""
    char = box.text[at]
    if not VALUE_CHARS.fullmatch(char):
        return False
    doubt = box.doubts[at] if len(box.doubts) == len(box.text) else ""
    if CJK.match(char) and any(CJK.match(rival) for rival in doubt):
        return True
    certainties = box.certainties
    return len(certainties) == len(box.text) and certainties[at] < UNSURE_BELOW


def cjk_only(text: str) -> str:
    return "".join(CJK.findall(text))


# The recogniser reads some common surnames as a look-alike that is never a surname
# (侯 -> 候, seen on photos), at times with no doubt at all: ``fixed_surname``'s fallback
# when the recogniser offers no rival. Pairs where both are real surnames (亓/元, 佘/余,
# 逄/逢) stay as read: the photo cannot tell them apart and guessing would mostly be wrong.
SURNAME_MISREADS = {"候": "侯"}


# Peoples whose names carry no surname (or are written X·Y): their first character is
# no surname to check.
NO_SURNAME_PEOPLES = frozenset(
    ("藏", "维吾尔", "蒙古", "哈萨克", "柯尔克孜", "塔吉克", "乌孜别克", "塔塔尔", "门巴", "珞巴")
)


@dataclass(frozen=True)
class SurnameFix:
    """The name's first character as read, and the recogniser's rival put in its place."""

    read: str
    chosen: str


def surname_from_rival(boxes: Sequence[PlacedBox], nationality: str) -> SurnameFix | None:
    """The fix when the name's first character is never a surname and the one surname
    among the recogniser's rivals for it is.

    A rare surname read as a look-alike that no one bears, doubted, the surname second
    (issue 12; the generator's ``rare_chars --surnames 裴`` rebuilds it: 装 read).
    ``surnames()`` holds the Hundred Family Surnames and the frequent modern ones; a
    character outside it is changed only to the single surname among its rivals, and
    the answer stays ``low_confidence`` (the caller's). Two rival surnames (逢/逄 both
    are) or none: as read.
    """
    if nationality in NO_SURNAME_PEOPLES:
        return None
    text = "".join(b.text for b in boxes)
    if "·" in text:
        return None
    for placed in boxes:
        box = placed.box
        for at, char in enumerate(box.text):
            if not CJK.match(char):
                continue
            if char in surnames():
                return None
            doubt = box.doubts[at] if len(box.doubts) == len(box.text) else ""
            rivals = {rival for rival in doubt if rival in surnames()}
            return SurnameFix(char, rivals.pop()) if len(rivals) == 1 else None
    return None


def fixed_surname(
    name: str, boxes: Sequence[PlacedBox] = (), nationality: str = ""
) -> tuple[str, SurnameFix | None]:
    """The name with a first character that is never a surname put right, and the fix
    when the engine chose it among the recogniser's rivals (None otherwise).

    One step for both ways a surname is misread: the recogniser's one surname rival for
    the name's first character as read in ``boxes`` (``surname_from_rival``) first, as it
    says what this photo holds; else the fixed table of look-alikes no one bears
    (``SURNAME_MISREADS``), for a misreading without a rival. A rival's fix is returned
    so that the caller says the name is the engine's choice (``low_confidence``) and puts
    the village named after the family right (``clan_places_fixed``); the table's is
    not, as its look-alike is never a surname. Without boxes (a licence's row text)
    only the table applies.
    """
    fix = surname_from_rival(boxes, nationality) if boxes else None
    if fix is not None and name.startswith(fix.read):
        return fix.chosen + name[1:], fix
    return SURNAME_MISREADS.get(name[:1], name[:1]) + name[1:], None


# Village names after a family (马庄, 李家村, 张营, 王寨): the character before one of these
# is often a surname, and often the holder's own.
CLAN_PLACE_ENDS = "庄村家营屯寨堡店集湾楼岗"


def clan_places_fixed(address: str, fix: SurnameFix, start: int) -> str:
    """The address with the name's misread surname put right where it names a village.

    The same glyph printed in the name and in the address reads the same way: on
    a card the rare surname read as its look-alike in the name (doubted) and in
    the village named after the family (with no doubt at all). A character that is no
    surname (``SurnameFix.read``) before ``CLAN_PLACE_ENDS`` is put right from ``start``
    (after the region part, which the region table checks).
    """
    pattern = re.escape(fix.read) + f"(?=[{CLAN_PLACE_ENDS}])"
    return address[:start] + re.sub(pattern, fix.chosen, address[start:])


# ----------------------------------------------------------------- ID number


def digit_reading(text: str) -> str:
    """The text with look-alike letters turned into the ID characters they stand for."""
    return normalise(text).translate(DIGIT_LOOKALIKES).upper()


def id_runs(text: str) -> list[str]:
    return ID_RUN.findall(digit_reading(text))


def id_corrections(reading: str, max_changes: int = 2) -> Iterator[tuple[int, str]]:
    """(cost, candidate) readings of an ID number, cheapest first (cost = changed chars).

    Cost 1 tries every likely one-character confusion; cost 2 pairs of them. A
    19-character reading (a stroke of the label read as a digit) loses one character
    first, cheapest at either end.
    """
    if len(reading) == 19:
        for i in range(19):
            extra = 1 if i in (0, 18) else 2
            shorter = reading[:i] + reading[i + 1 :]
            for cost, candidate in id_corrections(shorter, max_changes=1):
                yield cost + extra, candidate
        return
    if len(reading) != 18:
        return
    yield 0, reading
    body = reading[:17]
    # Only the last character may be X; one X elsewhere is a misread digit.
    if not body.isdigit() or max_changes < 1:
        return
    yield 1, body + id_check_char(body)
    singles = [(i, alt) for i, char in enumerate(body) for alt in DIGIT_CONFUSIONS.get(char, "")]
    for i, alt in singles:
        fixed = body[:i] + alt + body[i + 1 :]
        if fixed + reading[17] != reading and id_checksum_ok(fixed + reading[17]):
            yield 1, fixed + reading[17]
    if max_changes < 2:
        return
    for (i, a), (j, b) in product(singles, singles):
        if i < j:
            fixed = body[:i] + a + body[i + 1 : j] + b + body[j + 1 :]
            if id_checksum_ok(fixed + reading[17]):
                yield 2, fixed + reading[17]


def best_id(readings: Sequence[str], birth: str, gender: str) -> str:
    """The number: a reading that passes its checksum as read, else the cheapest correction.

    A reading that passes ISO 7064 is never changed: a correction that passes too is
    as likely wrong as right, and on real cards an old region code (of a division
    abolished since) or a misread printed birth date made the engine trade a correct
    number for another valid-looking one. Its other failed checks are reported as
    warnings. Among such readings the one that passes most checks wins.

    A correction must pass *all* checks (checksum, real birth date, known region, and
    the printed birth date and gender when read): with one character free, some
    variant of any number passes the checksum alone. Without such a candidate the
    first 18-character reading is kept so that its failed checks get reported.
    """
    as_read = [
        (sum(not ok for ok in id_checks(reading, birth, gender).values()), order, reading)
        for order, reading in enumerate(readings)
        if id_checksum_ok(reading)
    ]
    if as_read:
        return min(as_read)[2]
    best: tuple[float, str] | None = None
    for order, reading in enumerate(readings):
        for cost, candidate in id_corrections(reading):
            checks = id_checks(candidate, birth, gender)
            failed = sum(not ok for ok in checks.values())
            if not checks["id_checksum"] or (cost > 0 and failed):
                continue
            score = cost + 3 * failed + 0.1 * order
            if best is None or score < best[0]:
                best = (score, candidate)
    if best is not None:
        return best[1]
    return readings[0] if readings else ""


def id_was_corrected(number: str, readings: Iterable[str]) -> bool:
    """True when some of ``number``'s characters are the engine's choice, not a reading.

    Dropping a stray character from a 19-character reading changes no digit.
    """
    return bool(number) and not any(number in reading for reading in readings)


def id_number_boxes(view: CardView, anchor: Anchor | None) -> list[PlacedBox]:
    """Boxes that may hold the number: right of its label first, then any long digit run."""
    found: list[PlacedBox] = []
    if anchor is not None:
        found.extend(value_boxes(view, anchor, max_gap=4.0))
    found.extend(
        b
        for b in sorted(view.placed, key=lambda b: -len(digit_reading(b.text)))
        if b not in found and any(len(run) >= 15 for run in id_runs(b.text))
    )
    return found


def id_readings(boxes: Iterable[PlacedBox]) -> list[str]:
    readings: list[str] = []
    joined = ""
    for box in boxes:
        joined += digit_reading(box.text)
        for run in id_runs(box.text):
            if run not in readings:
                readings.append(run)
    # The number split over two boxes ('3201021980' + '01010012').
    for run in ID_RUN.findall(joined):
        if run not in readings:
            readings.append(run)
    return sorted(readings, key=lambda r: len(r) != 18)


@dataclass(frozen=True)
class SecondLook:
    """The ID runs read in enlarged, re-contrasted crops of the number's boxes, and those
    of them read with a character the recogniser doubted (``doubted_runs``) in every
    crop that gave them."""

    readings: list[str]
    doubted: frozenset[str]


def second_look(view: CardView, boxes: Sequence[PlacedBox], reader: LineReader) -> SecondLook:
    """Readings of enlarged, re-contrasted crops of the number's boxes."""
    crops = [variant for box in boxes[:2] for variant in crop_variants(view.cut(box))]
    readings: list[str] = []
    doubted: set[str] = set()
    sure: set[str] = set()
    for reading in reader(crops):
        runs = id_runs(reading[0])
        for run in runs:
            if run not in readings:
                readings.append(run)
        unsure = doubted_runs(reading)
        doubted |= unsure
        sure |= set(runs) - unsure
    return SecondLook(sorted(readings, key=lambda r: len(r) != 18), frozenset(doubted - sure))


def doubted_runs(reading: tuple[str, float]) -> set[str]:
    """The ID runs of a second look's reading (``id_runs``) with a character the
    recogniser doubted: a rival character or a certainty under UNSURE_BELOW, as for a
    name's characters (``unsure_at``). The number is re-read only when the first reading
    failed its checks, so a doubted character in the re-read is a likely misreading
    even when the number it gives passes the checksum (one in eleven wrong ones do)."""
    if not isinstance(reading, LineReading):
        return set()
    box = TextBox((), reading[0], reading[1], reading.doubts, (), reading.certainties)
    # normalise drops spaces only (NFKC keeps ASCII digits and letters one for one).
    kept = [at for at, char in enumerate(box.text) if not char.isspace()]
    text = digit_reading(box.text)
    if len(text) != len(kept):
        return set()
    return {
        run.group()
        for run in ID_RUN.finditer(text)
        if any(unsure_at(box, kept[at]) for at in range(run.start(), run.end()))
    }


# ----------------------------------------------------------------- front


def extract_front(view: CardView, reader: LineReader | None = None) -> Extracted:
    anchors = {name: find_anchor(view, label) for name, label in FRONT_LABELS.items()}
    fields: dict[str, str] = {"type": "Front"}
    warnings: list[str] = []
    scores: list[float] = []

    if anchors["name"] is not None:
        name_boxes = value_boxes_without_strays(view, anchors["name"], 1.5)
    else:
        name_boxes = boxes_above_value_column(view, anchors["gender"])
    fields["name"] = cjk_only("".join(b.text for b in name_boxes))
    scores += [b.box.score for b in name_boxes]

    gender_line = ""
    if anchors["gender"]:
        gender_boxes = value_boxes(view, anchors["gender"], 2.0)
        gender_line = "".join(b.text for b in gender_boxes)
    printed_gender = next((c for c in gender_line if c in "男女"), "")

    fields["nationality"] = read_nationality(view, anchors["nationality"], gender_line)

    printed_birth = ""
    if anchors["birth"]:
        printed_birth = parse_cn_date("".join(b.text for b in value_boxes(view, anchors["birth"])))

    addr_boxes = address_boxes(view, anchors["addr"], anchors["id"])
    fields["addr"] = clean_address("".join(b.text for b in addr_boxes))

    number_boxes = id_number_boxes(view, anchors["id"])
    readings = id_readings(number_boxes)
    number = best_id(readings, printed_birth, printed_gender)
    looked = SecondLook([], frozenset())
    if reader is not None and number_boxes and not all(id_checks(number).values()):
        looked = second_look(view, number_boxes, reader)
        readings += looked.readings
        number = best_id(readings, printed_birth, printed_gender)
    fields["id"] = number
    scores += [b.box.score for b in number_boxes[:1]]

    if number_boxes and not all(fields.get(name) for name in ("name", "nationality", "addr")):
        rows = FrontRows.find(view, number_boxes[0], number)
        if not fields["name"] and rows.name is not None:
            fields["name"] = name_in_row(rows.name, rows.column)
            name_boxes = list(rows.name.boxes)
            scores += [b.box.score for b in rows.name.boxes]
        if rows.gender is not None:
            row_text = rows.gender.text
            printed_gender = printed_gender or gender_in_row(row_text)
            if not fields["nationality"]:
                fields["nationality"] = nationality_after_gender(row_text)
        if not fields["addr"] and rows.addr:
            fields["addr"] = address_of_rows(rows.addr)
            addr_boxes = [box for line in rows.addr for box in line.boxes]
    fields["nationality"], nationality_ok = in_nationality_domain(fields["nationality"])
    from_row = not fields["nationality"]
    if from_row:
        row = nationality_row(view, anchors["nationality"] or anchors["gender"])
        place = None
        if row is None and number_boxes:
            found_rows = FrontRows.find(view, number_boxes[0], number)
            row, place = found_rows.gender, found_rows.gender_place()
        fields["nationality"] = nationality_of_row(view, row, reader, place)
        # Matched from what the recogniser doubted, not read as printed: said below.
        nationality_ok = nationality_ok and not fields["nationality"]
    if not nationality_ok:
        warnings.append(
            "nationality_corrected" if fields["nationality"] else "nationality_unreadable"
        )
    fields["name"], surname_fix = fixed_surname(fields["name"], name_boxes, fields["nationality"])

    checks = id_checks(number, printed_birth, printed_gender)
    id_good = checks["id_checksum"] and checks["birth_date"]
    if id_good:
        fields["addr"] = fix_region_prefix(fields["addr"], number)
    fields["addr"] = fix_county_name(fields["addr"])
    # The number passed its checksum: it is the better witness of birth and gender.
    fields["gender"] = id_gender(number) if id_good else printed_gender
    if id_good:
        fields["birth"] = id_birth(number)
    else:
        fields["birth"] = printed_birth
    warnings += [f"{name}_failed" for name, ok in checks.items() if not ok]
    # A nationality matched from the gender row's doubts (``nationality_of_row``) was not
    # read: a failed check (said by nationality_corrected), so that the reading stays as
    # incomplete as it was without it and a later reading of the photo that reads the
    # value is still preferred (``local.completeness``): complete with such a nationality,
    # an earlier reading was taken for tests/fixtures/surname-village and lost the address
    # a later one read whole. (A near miss mapped by ``in_nationality_domain`` is left as
    # before: made a failed check too, real90b's photo 27 lost its right address.)
    if from_row and fields["nationality"]:
        checks["nationality"] = False
    if id_was_corrected(number, readings):
        warnings.append("id_corrected")
    # A region the table knows vouches for its own characters, doubted or not.
    vouched = len(region_named_prefix(fields["addr"]))
    if surname_fix is not None:
        fields["addr"] = clan_places_fixed(fields["addr"], surname_fix, vouched)
    values = ((fields["name"], 0), (fields["addr"], vouched))
    unsure = (scores and min(scores) < LOW_SCORE) or doubted_in(view, values)
    unsure = unsure or any(partly_unread(box) for box in addr_boxes)
    # A surname the engine chose among the recogniser's rivals is said, as any doubt.
    unsure = unsure or surname_fix is not None
    # An address ending in a road's bare house number lost its 号, or more.
    unsure = unsure or number_without_unit(fields["addr"])
    if unsure or number in looked.doubted or latin_run(fields["addr"]):
        warnings.append("low_confidence")
    evidence = sum(anchor is not None for anchor in anchors.values()) + 2 * id_good
    warnings += temporary_warning(view)
    return Extracted(fields, checks, warnings, evidence)


@dataclass(frozen=True)
class FrontRows:
    """The front's rows found by its fixed layout, for when their labels are unreadable.

    On a small or faint photo the blue labels (姓名, 住址...) are misread or missed
    while the black values read well. The front's layout is standard: name, then
    gender and nationality, then the birth date, then the address, then the number.
    The number and the birth date (a date matching the number) are found by their
    content; the other rows by their place relative to them.
    """

    name: Line | None
    gender: Line | None
    addr: tuple[Line, ...]
    birth: Line | None  # the row holding the number's birth date; None: no rows found
    column: float | None = None  # where the values start (the birth date's digits)

    @classmethod
    def find(cls, view: CardView, number_box: PlacedBox, number: str) -> FrontRows:
        id_cv = number_box.cv
        height = number_box.height
        # The front is about eight rows of text tall; the rest of the photo is no card.
        above = [
            line for line in view.lines if id_cv - 12 * height < line.cv < id_cv - 0.5 * height
        ]
        birth_index = _birth_row(above, number)
        if birth_index is None:
            return cls(None, None, (), None)
        birth = above[birth_index]
        # The values start in one column, the birth date's, and end before the number
        # does (the number runs furthest right of the card's text). Text that ends
        # before the column is a label, or like text that starts past the number's end
        # no part of the card: clutter beside a far-off card ('电话02' in the address
        # row; a receipt's '周三下午' to the right).
        # The date's box is the one with most digits: a faint 出生 misread with a digit
        # ('出5', real90d's photo 84) starts at the label's place.
        digits = [len(re.findall(r"\d", b.text)) for b in birth.boxes]
        column = birth.boxes[digits.index(max(digits))].u0 if max(digits) else birth.u0
        # A number split over two boxes: its end where its 18 characters would reach.
        read = max(1, len(re.findall(r"[0-9X]", digit_reading(number_box.text))))
        end = number_box.u0 + number_box.width * max(1.0, len(number) / read)
        span = (column + 0.5 * height, end)
        upper = [
            kept
            for line in above[:birth_index]
            if birth.cv - line.cv < 5 * height and (kept := _in_column(line, span))
        ]
        gender_index = next(
            (i for i in range(len(upper) - 1, -1, -1) if gender_in_row(upper[i].text)), None
        )
        if gender_index is not None:
            gender: Line | None = upper[gender_index]
            name = upper[gender_index - 1] if gender_index > 0 else None
        else:
            # No gender read: with two rows above the birth date they are name and
            # gender; one alone is the name (the gender row was not detected at all).
            gender = upper[-1] if len(upper) == 2 else None
            name = upper[0] if len(upper) in (1, 2) else None
        rows = (_in_column(line, span) for line in above[birth_index + 1 :])
        return cls(name, gender, tuple(row for row in rows if row is not None), birth, column)

    def gender_place(self) -> PlacedBox | None:
        """Where the gender row is printed when no box of it was detected (a far-off card's
        faint row: name and birth rows found, nothing between): midway between them, from
        the values' column over the gender and the nationality (``NATIONALITY_PLACE``'s
        end). None when the row was found, or the rows around it were not."""
        if self.gender is not None or self.name is None or self.birth is None:
            return None
        column = self.birth.u0 if self.column is None else self.column
        height = self.birth.height
        return PlacedBox(
            self.birth.boxes[0].box,
            column - 0.5 * height,
            column + (1.0 + NATIONALITY_PLACE[1]) * height,
            (self.name.cv + self.birth.cv) / 2,
            height,
        )


def _in_column(line: Line, span: tuple[float, float]) -> Line | None:
    """The line's boxes that end past ``span[0]`` and start before ``span[1]``: those
    in the card's value column. None when none is."""
    boxes = tuple(b for b in line.boxes if b.u1 > span[0] and b.u0 < span[1])
    return Line(boxes) if boxes else None


def front_layout_found(view: CardView) -> bool:
    """A number that passes its checksum with its birth date printed in a row above it:
    the front's own layout, found by content alone (its faint labels may all be lost)."""
    for box in view.placed:
        for run in id_runs(box.text):
            if len(run) == 18 and id_checksum_ok(run):
                birth = FrontRows.find(view, box, run).birth
                if birth is not None and _holds_birth_of(birth, run):
                    return True
    return False


# The back's title as printed, on two lines beside the emblem.
BACK_TITLE_TEXT = "".join(BACK_TITLES)
# A box this long or longer that is part of the title (a thumb hides its first
# characters: '民身份证') is the back's title standing alone.
TITLE_PART = 4


def back_layout_found(view: CardView) -> bool:
    """The back's fixed layout: its title standing alone in a box of its own (not a
    longer heading that starts the same: 中华人民共和国机动车驾驶证, a passport's), and
    under it one of the back's rows, a label (签发机关, 有效期限) or a validity period.

    It says the photo holds an ID back when a thumb across the rows hides every value
    and most labels: the card is then answered with its fields missing, not taken for
    no card at all (the thumbed backs of seeds 20261129 and 4242: 7 of 26).
    """
    titles = [
        box
        for box in view.placed
        if len(text := normalise(box.text)) >= TITLE_PART and text in BACK_TITLE_TEXT
    ]
    if not titles:
        return False
    top = min(box.cv + box.height for box in titles)
    return any(
        box.cv > top and (_period_shaped(box.text) or _back_label_start(box.text))
        for box in view.placed
    )


def _back_label_start(text: str) -> bool:
    """A back label, or a box holding only its first characters, two or more (the thumb
    hid the rest: '签发机', '有效其')."""
    text = normalise(text)
    for label in BACK_LABELS.values():
        if label_match(text, label):
            return True
        if 2 <= len(text) <= len(label) and text[:2] == label[:2]:
            return True
    return False


def _birth_row(lines: Sequence[Line], number: str) -> int | None:
    """The lowest row holding a date: the number's birth date when it is one of them."""
    matching = [i for i, line in enumerate(lines) if _holds_birth_of(line, number)]
    if matching:
        return matching[-1]
    dated = [i for i, line in enumerate(lines) if parse_cn_date(line.text)]
    # A date misread past parsing ('1907年8月78') places no rows: taking the row under
    # the gender row instead read real90's sample 81 right, but made a reading with a
    # misread name complete first on real90b's sample 12 (a right name lost).
    return dated[-1] if dated else None


def _holds_birth_of(line: Line, number: str) -> bool:
    """The row, or one of its boxes, reads as the number's birth date: the faint label
    before the date may be misread with a digit ('出5' + '1972=128日': real90d's 84)."""
    return _is_birth_of(line.text, number) or any(_is_birth_of(b.text, number) for b in line.boxes)


def _is_birth_of(text: str, number: str) -> bool:
    """The row reads as the number's birth date, with or without its 年/月/日.

    Those characters are printed in the faint label colour and drop out first
    ('1993915' for 1993年9月15日); the digits alone still say which row it is.
    """
    birth = id_birth(number)
    if not birth_date_ok(birth):
        return False
    if parse_cn_date(text) == birth:
        return True
    digits = re.sub(r"\D", "", digit_reading(text))
    unpadded = f"{birth[:4]}{int(birth[4:6])}{int(birth[6:])}"
    return digits in (birth, unpadded)


def gender_in_row(text: str) -> str:
    """男 or 女 as printed on the gender row (a name holding 男/女 is not that row)."""
    text = cjk_only(text)
    found = [c for c in text if c in "男女"]
    return found[0] if len(found) == 1 and len(text) <= 8 else ""


def nationality_after_gender(text: str) -> str:
    text = cjk_only(text)
    gender = gender_in_row(text)
    return text.split(gender, 1)[1] if gender else ""


# A box that starts this many of its row's heights or more before the value column
# starts at the label's place: the front prints 姓名 about two heights before the
# column (real90d's photo 54: 2.1 of the name box's heights), and the values are printed
# from the column on; one height is half way between.
LABEL_PLACE = 1.0


def name_in_row(line: Line, column: float | None = None) -> str:
    """The name row's value: a separate label box or a merged 姓名 is left out, also when
    misread with the label's character as the recogniser's second guess ('姓书东方军',
    名 the rival of 书: real90b's photo 9), or with only one of its characters read
    ('姓章熙静', 名 lost: real90d's photo 54) in a box that starts at the label's place,
    before the values' ``column``: a label character there is the label, not the name's."""
    boxes = list(line.boxes)
    if len(boxes) > 1 and len(cjk_only(boxes[0].text)) <= 2:
        boxes = boxes[1:]
    if boxes and read_as_label(boxes[0].box, "姓名") and len(cjk_only(boxes[0].text[2:])) >= 2:
        boxes[0] = split_placed(boxes[0], 2)
    elif boxes and column is not None and boxes[0].u0 < column - LABEL_PLACE * boxes[0].height:
        first = boxes[0]
        at_label = first.text[:1] in "姓名" or read_as_label(first.box, "姓")
        if at_label and len(cjk_only(first.text[1:])) >= 2:
            boxes[0] = split_placed(first, 1)
    text = cjk_only("".join(b.text for b in boxes))
    for label in ("姓名", "名"):
        if text.startswith(label) and len(text) - len(label) >= 2:
            return text[len(label) :]
    return text


def read_as_label(box: TextBox, label: str) -> bool:
    """Whether ``box`` starts with ``label``, each character as read or as the
    recogniser's rival for it (``TextBox.doubts``)."""
    text, doubts = box.text, box.doubts
    if len(text) < len(label) or len(doubts) != len(text):
        return text.startswith(label)
    return all(
        c == want or want in doubt for c, want, doubt in zip(text, label, doubts, strict=False)
    )


def address_of_rows(lines: Sequence[Line]) -> str:
    """The address rows joined, less a misread 住址 in front ('佳址河北省...', '址湖南省...')."""
    text = clean_address("".join(line.text for line in lines))
    for start in range(min(4, len(text))):
        rest = text[start:]
        if any(rest.startswith(name) for name in province_names().values()):
            return rest
    return text.lstrip("住址")


def boxes_above_value_column(view: CardView, anchor: Anchor | None) -> list[PlacedBox]:
    """The value column of the line above ``anchor``'s: the name when 姓名 was misread."""
    if anchor is None:
        return []
    label = anchor.label
    above = [
        line for line in view.lines if 0.5 * label.height < label.cv - line.cv < 2.5 * label.height
    ]
    if not above:
        return []
    column = label.u1 - 0.3 * label.height
    return [b for b in above[-1].boxes if b.u0 >= column and b.u0 - column < 4 * label.height]


def read_nationality(view: CardView, anchor: Anchor | None, gender_line: str) -> str:
    """The text printed after 民族 (or after the gender on a merged line), as read."""
    text = ""
    if anchor is not None:
        text = "".join(b.text for b in value_boxes(view, anchor, 2.0))
    elif "民族" in gender_line:
        text = gender_line.split("民族", 1)[1]
    return cjk_only(text)


def in_nationality_domain(text: str) -> tuple[str, bool]:
    """(a name from NATIONALITIES, True when it is what was read).

    A name read inside noise ('有汉': a misread 民族 before 汉) is taken as read. A
    near miss ('维吾东') becomes the valid name sharing most characters with it, with
    False so that the caller warns. A reading sharing nothing with any name ('瑞') is
    not returned at all: empty, and False.
    """
    text = cjk_only(text).replace("民族", "")
    if not text:
        return "", True
    if text in NATIONALITIES:
        return text, True
    # The value is printed last on its line: of the names inside, the one ending last.
    inside = [
        (text.rfind(name) + len(name), len(name), name) for name in NATIONALITIES if name in text
    ]
    if inside:
        return max(inside)[2], True
    best = max(NATIONALITIES, key=lambda g: (len(set(g) & set(text)), -abs(len(g) - len(text))))
    return (best if set(best) & set(text) - set("民族") else ""), False


# Characters of the gender row that are no part of its nationality: its labels and the
# gender (their rivals are no nationality's either).
GENDER_ROW_MARKS = frozenset("性别民族男女")


def nationality_row(view: CardView, anchor: Anchor | None) -> Line | None:
    """The line holding ``anchor``'s label (民族's, else 性别's): the gender row."""
    if anchor is None:
        return None
    points = anchor.label.box.points
    return next((ln for ln in view.lines if any(b.box.points == points for b in ln.boxes)), None)


def nationality_of_row(
    view: CardView, row: Line | None, reader: LineReader | None, place: PlacedBox | None = None
) -> str:
    """The nationality of the gender row when nothing read there is one, or ''.

    On far-off cards (8 px text) the value after 民族 is read as a look-alike that is no
    nationality (回 as 网, 汉 as 区), or the row's gender is lost and its misread label
    sits before the value ('民技汉'), or the value's box is not detected at all. The
    value is one of a closed list (``NATIONALITIES``), so what the recogniser offers for
    it can be matched against the list: a name ending the row's text after its labels
    and gender; else the one name among the recogniser's rivals there
    (``nationality_in_rivals``); else the same in enlarged, re-contrasted re-reads
    (``crop_variants``) of the row's boxes after the gender, or of the value's place by
    the card's layout right of the gender when no box was found there
    (``nationality_place``); with no row detected at all, of the row's ``place`` by the
    layout (``FrontRows.gender_place``). A re-read costs a few small crops, only for a
    row with no nationality read. Whatever this gives is a mapping from a doubtful
    reading: the caller says so (``nationality_corrected``).
    """
    places = [place] if place is not None else []
    if row is not None:
        found, _ = _row_nationality([b.box for b in row.boxes])
        if found:
            return found
        values = [b for b in row.boxes if set(cjk_only(b.text)) - GENDER_ROW_MARKS]
        places = values or [at for at in [nationality_place(row)] if at is not None]
    if reader is None or not places:
        return ""
    crops = [variant for at in places[-2:] for variant in crop_variants(view.cut(at))]
    found_in = [_row_nationality([read_box((), reading)]) for reading in reader(crops)]
    # A name read as printed ends a crop's text: taken from one crop (the re-contrasted
    # variants of a faint row often read nothing). A name among rivals only is one crop's
    # guess (a far-off 侗 read as 润 at 0.34, rivals 满悯病调洞, in one variant of three, no
    # nationality in the others): two crops must agree on it.
    read = {name for name, exact in found_in if name and exact}
    if read:
        return read.pop() if len(read) == 1 else ""
    guessed = Counter(name for name, _ in found_in if name)
    agreed = [name for name, count in guessed.items() if count >= 2]
    return agreed[0] if len(agreed) == 1 else ""


def _row_nationality(boxes: Sequence[TextBox]) -> tuple[str, bool]:
    """(a nationality ending the row's text less its labels and gender, True), else (the
    one the recogniser's rivals there spell, False: ``nationality_in_rivals``); ('',
    False) when neither."""
    text = "".join(c for c in cjk_only("".join(b.text for b in boxes)) if c not in "性别男女")
    text = text.replace("民族", "")
    ending = [name for name in NATIONALITIES if text.endswith(name)]
    if ending:
        return max(ending, key=len), True
    return nationality_in_rivals(boxes), False


def nationality_in_rivals(boxes: Iterable[TextBox]) -> str:
    """The one nationality spelt by the characters of ``boxes`` each as read or as one of
    the recogniser's rivals for it (``TextBox.doubts``), a rival at one at least; '' when
    none or several (网 with rivals 国目同回: 回). The row's labels and gender
    (``GENDER_ROW_MARKS``) spell none."""
    found: set[str] = set()
    for box in boxes:
        text = box.text
        if len(box.doubts) != len(text):
            continue
        options = [
            "" if char in GENDER_ROW_MARKS else char + doubt
            for char, doubt in zip(text, box.doubts, strict=True)
        ]
        for name in NATIONALITIES:
            for start in range(len(text) - len(name) + 1):
                spelt = all(c in options[start + k] for k, c in enumerate(name))
                if spelt and text[start : start + len(name)] != name:
                    found.add(name)
    return found.pop() if len(found) == 1 else ""


# Where the nationality is printed on the gender row, in the row's text heights from the
# gender's end: the front prints 民族 about 8 mm and the value about 18 mm after the
# gender, at 3.1-3.5 mm text (its fixed layout, as tests/cardgen/render.py draws it),
# and a detected box is a little taller than its text. With up to three characters of
# value (维吾尔), 3 to 9 heights after the gender hold the label's end and the value, not
# the portrait beyond.
NATIONALITY_PLACE = (3.0, 9.0)


def nationality_place(row: Line) -> PlacedBox | None:
    """The value's place right of the gender on its row (``NATIONALITY_PLACE``), as a
    box to cut; None without a gender read on the row."""
    gender = next((b for b in row.boxes if set(b.text) & set("男女")), None)
    if gender is None:
        return None
    start, end = NATIONALITY_PLACE
    return replace(gender, u0=gender.u1 + start * gender.height, u1=gender.u1 + end * gender.height)


def parse_cn_date(text: str) -> str:
    """'1994年3月16日' (or misread separators) -> '19940316', empty when unreadable."""
    match = DATE_CN.search(digit_reading(text))
    if not match:
        return ""
    year, month, day = match.groups()
    value = f"{year}{int(month):02d}{int(day):02d}"
    return value if parse_date(value) else ""


def address_boxes(
    view: CardView, anchor: Anchor | None, id_anchor: Anchor | None
) -> list[PlacedBox]:
    """The address's boxes: the first line right of 住址, then lines aligned under it.

    Kept as boxes (the value is ``clean_address`` of their texts) so that their room
    can be checked against what was read (``partly_unread``). Lines stop at the ID
    number's line, at a line that does not start under the address column, or after a
    gap of more than one empty line.
    """
    if anchor is None:
        return []
    first = value_boxes_without_strays(view, anchor, 1.5)
    if not first:
        return []
    column = first[0].u0
    height = first[0].height
    stop = id_anchor.label.cv - 0.5 * id_anchor.label.height if id_anchor else float("inf")
    boxes = list(first)
    last_cv = first[0].cv
    for line in view.lines:
        if line.cv <= last_cv + 0.5 * height or line.cv >= stop:
            continue
        if line.cv - last_cv > 2.4 * height:
            break
        starts = [b for b in line.boxes if abs(b.u0 - column) <= 1.2 * height]
        if not starts:
            break
        boxes += [starts[0], *right_of(starts[0], line.boxes, max_gap=1.5)]
        last_cv = line.cv
    return boxes


# Two or more Latin letters in a row. A Chinese address holds CJK, digits and a few
# marks; a Latin letter only alone, naming a building or a block (A座, B栋). A run of
# them is a misread: real90d's photo 72 (seed 59) read its last '8组' as 'sm', each
# letter at 0.81-0.82 (over UNSURE_BELOW) and no CJK rival, and enlarged re-reads of the
# box gave '8m', '801' or 's', never the characters printed.
LATIN_RUN = re.compile(r"[A-Za-z]{2,}")


def latin_run(address: str) -> bool:
    """Whether the address holds a run of Latin letters (``LATIN_RUN``): misread, flagged."""
    return LATIN_RUN.search(address) is not None


def clean_address(text: str) -> str:
    text = normalise(text)
    # Addresses hold CJK, digits, Latin letters (楼 A 座) and a few signs; the rest is noise.
    return re.sub(r"[^\u3400-\u9fff0-9A-Za-z\-·()（）]", "", text)


# ----------------------------------------------------------------- back


def extract_back(view: CardView, reader: LineReader | None = None) -> Extracted:
    del reader  # the back has no checksum worth a second look
    anchors = {name: find_anchor(view, label) for name, label in BACK_LABELS.items()}
    fields: dict[str, str] = {"type": "Back"}
    authority = anchors["authority"]
    fields["authority"] = fix_authority(read_authority(view, authority)) if authority else ""
    valid_text = ""
    if anchors["valid_date"] is not None:
        valid_text = "".join(b.text for b in value_boxes(view, anchors["valid_date"], 2.0))
    else:
        valid_text = next((b.text for b in view.placed if _period_shaped(b.text)), "")
    fields["valid_date"], guessed = read_period(valid_text)
    checks = {"valid_date": valid_date_ok(fields["valid_date"])}
    warnings = [] if checks["valid_date"] else ["valid_date_failed"]
    # Digits changed to make the period valid were not read: said, as for a name's
    # doubted characters (the reply asks to check the card against the answer).
    if guessed and checks["valid_date"]:
        warnings.append("low_confidence")
    # An office of no real division is a misread one ('嘉术县公安局'): said, never
    # returned as if right. An empty one is field_missing's business.
    if fields["authority"] and not authority_known(fields["authority"]):
        warnings.append(AUTHORITY_UNVERIFIED)
    warnings += temporary_warning(view)
    titles = sum(any(t in normalise(b.text) for b in view.placed) for t in BACK_TITLES)
    evidence = sum(a is not None for a in anchors.values()) + titles + 2 * checks["valid_date"]
    return Extracted(fields, checks, warnings, evidence)


# The issuing office read names no real division's police (``authority_known``).
AUTHORITY_UNVERIFIED = "authority_unverified"


def read_authority(view: CardView, anchor: Anchor) -> str:
    text = cjk_only("".join(b.text for b in value_boxes_without_strays(view, anchor, 1.5)))
    label = BACK_LABELS["authority"]
    # The label's last character read twice, once more at the start of the value box
    # ('签发机关' + '关济南市公安局...').
    if anchor.value is None and text.startswith(label[-1]) and len(text) > 4:
        text = text[1:]
    return text


# A start date as printed before the end of a period ('2008.04.27-').
PERIOD_START = re.compile(r"\d{4}\D?\d{2}\D?\d{2}\D")


def _period_shaped(text: str) -> bool:
    """A box that reads as a validity period without its label: two dates' digits, or
    one date before a (misread) 长期 ('2008.04.27-5期' on a far-off card)."""
    text = digit_reading(text)
    digits = len(re.findall(r"\d", text))
    return digits >= 12 or (digits >= 8 and "期" in text and bool(PERIOD_START.search(text)))


def read_valid_date(text: str) -> str:
    """'2018.01.08-2038.01.08' / '2009.03.24-长期' (misread) -> '20180108-20380108'.

    One digit too many (a '2' from the value glued to the label box: '有效期限2' +
    '2013.06.14-长期') is dropped where that makes a valid period.
    """
    return read_period(text)[0]


def read_period(text: str) -> tuple[str, bool]:
    """``read_valid_date``'s period, and whether a digit of it is not the one read: a
    pair that broke the 5/10/20-year rule changed into one that keeps it (``best_period``).

    That change is a guess: a far-off back read '2024.08.18-2034.88.18' for a printed
    2024.05.18-2034.05.18 (real90f's photo 25: both 5s read as 8) and the rule made it
    '20240818-20340818', wrong and looking right. A digit dropped as glued from the
    label is not a guess at a digit and does not count.
    """
    text = normalise(text)
    long_term = "长" in text or "期" in text
    digits = re.sub(r"\D", "", digit_reading(re.sub(r"[长期]", "", text)))
    if len(digits) < 8:
        return "", False
    read = _period(digits, long_term)
    if valid_date_ok(read) or len(digits) <= (8 if long_term else 16):
        return read, _changed(read, digits)
    for i in range(len(digits)):
        kept = digits[:i] + digits[i + 1 :]
        period = _period(kept, long_term)
        if valid_date_ok(period):
            return period, _changed(period, kept)
    return read, _changed(read, digits)


def _changed(period: str, digits: str) -> bool:
    """Whether ``period``'s digits differ from the ``digits`` read (their first 8 or 16)."""
    own = re.sub(r"\D", "", period)
    return own != digits[: len(own)]


def _period(digits: str, long_term: bool) -> str:
    start = digits[:8]
    if long_term and len(digits) < 16:
        return f"{start}-{LONG_TERM}"
    return best_period(start, digits[8:16])


def best_period(start: str, end: str) -> str:
    """The valid period nearest to what was read: the end is the start plus 5/10/20 years.

    When the pair fails that rule, the closest pair that obeys it (fewest changed
    digits, at most two) wins over the raw reading.
    """
    raw = f"{start}-{end}"
    if valid_date_ok(raw):
        return raw
    best: tuple[int, str] | None = None
    for fixed_start, fixed_end in _period_candidates(start, end):
        candidate = f"{fixed_start}-{fixed_end}"
        if not valid_date_ok(candidate):
            continue
        cost = _hamming(fixed_start, start) + _hamming(fixed_end, end)
        if cost <= 2 and (best is None or cost < best[0]):
            best = (cost, candidate)
    return best[1] if best else raw


def _period_candidates(start: str, end: str) -> Iterator[tuple[str, str]]:
    for years in VALID_SPANS_YEARS:
        if end.isdigit() and len(end) == 8:
            yield start, f"{int(start[:4]) + years:04d}{start[4:]}" if start.isdigit() else end
            yield f"{int(end[:4]) - years:04d}{end[4:]}", end


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


# ----------------------------------------------------------------- warnings

# Printed in the title of a temporary card (中华人民共和国临时居民身份证) and nowhere on
# a regular one.
TEMPORARY_MARK = "临时"


def temporary_warning(view: CardView) -> list[str]:
    """``["temporary"]`` when the card's text names it a temporary resident ID."""
    return ["temporary"] if any(TEMPORARY_MARK in normalise(b.text) for b in view.placed) else []


def period_end(valid_date: str) -> dt.date | None:
    """The last day of a ``YYYYMMDD-YYYYMMDD`` period; None for 长期 or an unreadable one."""
    match = VALID_DATE.match(valid_date)
    return parse_date(match.group(2)) if match else None


def invalid_period(valid_date: str, today: dt.date) -> bool:
    """Both ends are real days (or 长期) yet the span is not 5/10/20 years or 长期.

    A garbled value is no period at all and stays ``valid_date_failed`` only.
    """
    match = VALID_DATE.match(valid_date)
    if not match or parse_date(match.group(1)) is None:
        return False
    if match.group(2) != LONG_TERM and parse_date(match.group(2)) is None:
        return False
    return not valid_date_ok(valid_date, today)


def field_warnings(
    fields: dict[str, str], today: dt.date, warnings: Sequence[str] = ()
) -> list[str]:
    """Stable codes the fields alone decide: ``expired``, ``invalid_period``."""
    del warnings  # the same interface as bankcard's; no earlier warning changes these
    valid_date = fields.get("valid_date", "")
    found = []
    end = period_end(valid_date)
    if end is not None and end < today:
        found.append("expired")
    if invalid_period(valid_date, today):
        found.append("invalid_period")
    return found
