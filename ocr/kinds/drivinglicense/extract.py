"""Text boxes of a PRC driving licence's main page -> WeChat's cv/ocr/drivinglicense fields.

Fields: id_num, name, sex, nationality, address, birth_date, issue_date, car_class,
valid_from, valid_to (dates ``YYYY-MM-DD``; valid_to may be 长期).

The page prints bilingual labels (Chinese over small English) with the values to their
right, in a fixed layout: 证号; 姓名, 性别 and 国籍 on one row; 住址 over up to two rows;
then 出生日期, 初次领证日期, 准驾车型 and 有效期限 under each other in a right-hand
column. Values are found next to their labels in card coordinates, with the ID card's
label matching; where a label is unreadable the dates and the class are found by the
layout and their content instead. The card number is a resident ID number, so it is read
and corrected exactly as on the ID card, and it is the better witness of the birth date
and sex: a number that passes its checksum is never changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ocr.checks import (
    fix_county_name,
    fix_region_prefix,
    id_birth,
    id_checks,
    id_gender,
    number_without_unit,
    region_named_prefix,
)
from ocr.documents import (
    LICENCE_LONG_TERM,
    LICENCE_SPANS_YEARS,
    car_class_ok,
    fix_car_class,
    licence_period_ok,
)

# Extracted: fields, checks, warnings and the evidence (labels, title, a valid card
# number found) that picks the frame and the kind, as for the ID card.
from ocr.kinds.base import Extracted

# The card number is a resident ID number: read, corrected and checked as on the ID card.
from ocr.kinds.idcard.extract import (
    Anchor,
    best_id,
    cjk_only,
    clean_address,
    digit_reading,
    doubted_in,
    find_anchor,
    fixed_surname,
    id_number_boxes,
    id_readings,
    id_was_corrected,
    normalise,
    second_look,
    unsure_at,
    value_boxes,
    value_boxes_without_strays,
)
from ocr.layout import CardView, LineReader, PlacedBox, right_of

LABELS = {
    "id_num": "证号",
    "name": "姓名",
    "sex": "性别",
    "nationality": "国籍",
    "address": "住址",
    "birth_date": "出生日期",
    "issue_date": "初次领证日期",
    "car_class": "准驾车型",
    "valid": "有效期限",
}
# Top to bottom as printed (姓名/性别/国籍 share a row): which way up a photo is.
LABEL_ORDER = ("证号", "姓名", "住址", "出生日期", "初次领证日期", "准驾车型", "有效期限")
# Printed on a licence and on no other document the bot reads (the ID card has 姓名,
# 性别, 住址, 出生 and 有效期限 too, so those do not tell the kinds apart).
TITLE_MARKS = ("驾驶证", "机动车")
ENGLISH_MARKS = ("DRIVINGLICEN", "DATEOFFIRSTISSUE", "VALIDPERIOD", "NATIONALITY")
OWN_LABELS = ("证号", "国籍", "初次领证日期", "准驾车型")
FIELDS = (
    "id_num",
    "name",
    "sex",
    "nationality",
    "address",
    "birth_date",
    "issue_date",
    "car_class",
    "valid_from",
    "valid_to",
)
# A resident ID number is issued to Chinese citizens only (foreigners' licences carry
# their passport number), so a valid one says what an unreadable 国籍 holds.
CITIZENS = "中国"
DATE = re.compile(r"(\d{4})-?(\d{1,2})-?(\d{1,2})")
# How many digits a correction of a validity date may change.
MAX_DATE_FIXES = 2


def landmarks(view: CardView) -> int:
    """How many of the licence's own landmarks the text shows (none are on an ID card)."""
    text = "".join(normalise(b.text) for b in view.placed)
    upper = text.upper().replace(".", "").replace("'", "")
    found = sum(mark in text for mark in TITLE_MARKS)
    found += sum(mark in upper for mark in ENGLISH_MARKS)
    found += sum(find_anchor(view, label) is not None for label in OWN_LABELS)
    return found


def order_agreement(view: CardView) -> int:
    """Pairs of labels seen top-to-bottom as printed, minus pairs seen reversed."""
    found = [a.label.cv for label in LABEL_ORDER if (a := find_anchor(view, label)) is not None]
    total = 0
    for i, upper in enumerate(found):
        for lower in found[i + 1 :]:
            total += 1 if upper < lower else -1
    return total


def extract(view: CardView, reader: LineReader | None = None) -> Extracted:
    anchors = {name: find_anchor(view, label) for name, label in LABELS.items()}
    fields: dict[str, str] = {}
    warnings: list[str] = []

    name_text = _row_value(view, anchors["name"], (anchors["sex"], anchors["nationality"]))
    fields["name"] = fixed_surname(cjk_only(name_text.split(LABELS["sex"])[0]))[0]
    sex_text = _row_value(view, anchors["sex"], (anchors["nationality"],))
    printed_sex = next(
        (c for c in cjk_only(sex_text.split(LABELS["nationality"])[0]) if c in "男女"), ""
    )
    if not printed_sex and not anchors["sex"]:
        printed_sex = next((c for c in cjk_only(name_text) if c in "男女"), "")
    nationality = cjk_only(_row_value(view, anchors["nationality"], ()))
    if not nationality and LABELS["nationality"] in name_text:
        nationality = cjk_only(name_text.split(LABELS["nationality"], 1)[1])

    dates = _DateRows.find(view, anchors)
    printed_birth = dates.birth
    birth_digits = printed_birth.replace("-", "")

    number_boxes = id_number_boxes(view, anchors["id_num"])
    readings = id_readings(number_boxes)
    number = best_id(readings, birth_digits, printed_sex)
    if reader is not None and number_boxes and not all(id_checks(number).values()):
        looked = second_look(view, number_boxes, reader)
        readings += looked.readings
        number = best_id(readings, birth_digits, printed_sex)
        if number in looked.doubted:
            # A number re-read with a character the recogniser doubted (as on the ID card).
            warnings.append("low_confidence")
    fields["id_num"] = number

    checks = id_checks(number, birth_digits, printed_sex)
    id_good = checks["id_checksum"] and checks["birth_date"]
    fields["sex"] = id_gender(number) if id_good else printed_sex
    fields["nationality"] = _nationality(nationality, id_good)
    stop = anchors["birth_date"] or anchors["issue_date"]
    fields["address"] = _read_address(view, anchors["address"], stop)
    if not fields["address"] and anchors["address"] is not None and anchors["address"].value:
        fields["address"] = clean_address(anchors["address"].value.text)
    if number_boxes and not (fields["name"] and fields["address"]):
        rows = _HolderRows.find(view, number_boxes[0])
        fields["name"] = fields["name"] or fixed_surname(rows.name)[0]
        fields["address"] = fields["address"] or rows.address
    if id_good:
        # As on the ID card: the number's region code names the province and city the
        # address starts with, which undoes a misread place name ('社严市' for 拉萨市).
        fields["address"] = fix_region_prefix(fields["address"], number)
    fields["address"] = fix_county_name(fields["address"])
    born = id_birth(number)
    fields["birth_date"] = f"{born[:4]}-{born[4:6]}-{born[6:]}" if id_good else printed_birth
    fields["issue_date"] = plausible_issue(dates.issue, fields["birth_date"], dates.valid_from)
    fields["car_class"] = fix_car_class(dates.car_class) if dates.car_class else ""
    fields["valid_from"], fields["valid_to"] = best_period(dates.valid_from, dates.valid_to)

    checks["car_class"] = car_class_ok(fields["car_class"])
    checks["valid_period"] = licence_period_ok(fields["valid_from"], fields["valid_to"])
    warnings += [f"{name}_failed" for name, ok in checks.items() if not ok]
    if id_was_corrected(number, readings):
        warnings.append("id_corrected")
    # Digits best_period changed to fit the 6/10-year rule were not read: a guess, said as
    # on the ID back (a far-off back's 2024.05.18-2034.05.18 read with both 5s as 8 was
    # "repaired" into a wrong period that kept the rule).
    repaired = (fields["valid_from"], fields["valid_to"]) != (dates.valid_from, dates.valid_to)
    if repaired and checks["valid_period"]:
        warnings.append("low_confidence")
    # As on the ID card: a name or address character the recogniser doubted (a rival, or
    # a certainty under UNSURE_BELOW) says the value may be wrong; the region part the
    # table knows vouches for itself.
    vouched = len(region_named_prefix(fields["address"]))
    values = ((fields["name"], 0), (fields["address"], vouched))
    # An address ending in a road's bare house number lost its 号, or more (a second
    # row read upside down as a lone digit: blind seed 21's 016).
    if "low_confidence" not in warnings and (
        doubted_in(view, values)
        or _glued_doubt(anchors["name"], fields["name"])
        or number_without_unit(fields["address"])
    ):
        warnings.append("low_confidence")
    title = sum(mark in normalise(b.text) for b in view.placed for mark in TITLE_MARKS)
    evidence = sum(a is not None for a in anchors.values()) + min(title, 2) + 2 * id_good
    return Extracted(fields, checks, warnings, evidence)


def _glued_doubt(anchor: Anchor | None, value: str) -> bool:
    """Whether the rest of the label's box, the start of ``value``, holds a doubted character.

    ``doubted_in`` finds a doubted character by itself and a neighbour in the value, and
    here the neighbour is in another box: a label read '姓名名' (the last 名 at certainty
    0.5) before a box '金斌' gave the name '名金斌' with no doubt said (blind seed 12).
    """
    rest = anchor.value if anchor is not None else None
    if rest is None or not value:
        return False
    return any(unsure_at(rest.box, at) for at in range(len(rest.box.text)))


def _row_value(view: CardView, anchor: Anchor | None, next_labels: Sequence[Anchor | None]) -> str:
    """The text right of a label on its row, up to the next label of that row."""
    if anchor is None:
        return ""
    stops = [a.label.u0 for a in next_labels if a is not None and a.label.u0 > anchor.label.u0]
    end = min(stops, default=float("inf"))
    boxes = [b for b in value_boxes(view, anchor, max_gap=6.0) if b.u0 < end - 0.3 * b.height]
    return normalise("".join(b.text for b in boxes))


def _read_address(view: CardView, anchor: Anchor | None, stop: Anchor | None) -> str:
    """The first row right of 住址, then the rows starting under it, up to ``stop``.

    Unlike the ID card's, a row of English alone (the small "Address" under 住址, which
    may sit between the two rows of the value) is stepped over, not taken for the end.
    """
    if anchor is None:
        return ""
    first = _one_row(value_boxes_without_strays(view, anchor, 1.5), anchor.label.cv)
    if not first:
        return ""
    column, height = first[0].u0, first[0].height
    end = stop.label.cv - 0.5 * stop.label.height if stop else float("inf")
    parts = [b.text for b in first]
    last_cv = first[0].cv
    used = {id(b.box) for b in first}
    for line in view.lines:
        if line.cv <= last_cv or line.cv >= end or any(id(b.box) in used for b in line.boxes):
            continue
        if line.cv - last_cv > 2.4 * height:
            break
        boxes = [b for b in line.boxes if cjk_only(b.text) or re.search(r"\d", b.text)]
        starts = [b for b in boxes if abs(b.u0 - column) <= 1.2 * height]
        if not boxes:
            continue  # English labels only
        if not starts:
            break
        row = "".join([starts[0].text, *(b.text for b in right_of(starts[0], boxes, 1.5))])
        # On a turned photo the first row's boxes may already hold this row.
        if not "".join(parts).endswith(row):
            parts.append(row)
        last_cv = line.cv
    return clean_address("".join(parts))


def _one_row(boxes: Sequence[PlacedBox], cv: float) -> list[PlacedBox]:
    """The boxes of the row at ``cv``, left to right, less those of the next row.

    On a turned photo whose text direction is a little off, the second row of the
    address passes for the label's row too; of two boxes one above the other, the one
    nearer the label is its row's.
    """
    kept: list[PlacedBox] = []
    for box in sorted(boxes, key=lambda b: abs(b.cv - cv)):
        overlap = [min(k.u1, box.u1) - max(k.u0, box.u0) for k in kept]
        if all(o <= 0.5 * min(box.width, k.width) for o, k in zip(overlap, kept, strict=True)):
            kept.append(box)
    return sorted(kept, key=lambda b: b.u0)


def _nationality(read: str, id_good: bool) -> str:
    if CITIZENS in read or (not read and id_good):
        return CITIZENS
    return read


@dataclass(frozen=True)
class _HolderRows:
    """The name and the address by the page's layout, for when their labels are unread.

    The name row is the first row under the card number; its value is the first box of
    two or more characters. The address is the rows after it down to the first row
    holding a date (the birth date), the part of each starting under the name.
    """

    name: str
    address: str

    @classmethod
    def find(cls, view: CardView, number_box: PlacedBox) -> _HolderRows:
        height = number_box.height
        below = [
            line
            for line in view.lines
            if number_box.cv + 0.5 * height < line.cv < number_box.cv + 8 * height
        ]
        if not below:
            return cls("", "")
        values = [b for b in below[0].boxes if len(cjk_only(b.text)) >= 2 and not _is_label(b)]
        if not values:
            return cls("", "")
        name_box = values[0]
        parts: list[str] = []
        for line in below[1:]:
            if _dates_in(line.text):
                break
            # A label is never the value: on a turned photo whose address rows went
            # unseen, the 住址 label alone stood under the name (blind seed 21's 004).
            boxes = [b for b in line.boxes if not _is_label(b)]
            starts = [b for b in boxes if abs(b.u0 - name_box.u0) <= 1.5 * name_box.height]
            if starts:
                parts.append("".join(b.text for b in boxes if b.u0 >= starts[0].u0))
        return cls(cjk_only(name_box.text), clean_address("".join(parts)))


def _is_label(box: PlacedBox) -> bool:
    text = normalise(box.text)
    return any(text.startswith(label) for label in LABELS.values())


# ----------------------------------------------------------------- dates and class


def parse_date(text: str) -> str:
    """The first date in ``text`` as ``YYYY-MM-DD`` ('2018-05-02', '2018-0502', '20180502')."""
    for match in DATE.finditer(digit_reading(text).replace(".", "-")):
        year, month, day = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            continue
    return ""


def _dates_in(text: str) -> list[str]:
    """Every date of the text in order, each read from its own run of digits."""
    found: list[str] = []
    for run in re.findall(r"[\d-]{8,}", digit_reading(text).replace(".", "-")):
        digits = run.replace("-", "")
        while len(digits) >= 8:
            date = parse_date(digits[:8])
            if date:
                found.append(date)
            digits = digits[8:]
    return found


@dataclass(frozen=True)
class _DateRows:
    """The right-hand column: birth date, first issue, class and the valid period."""

    birth: str
    issue: str
    car_class: str
    valid_from: str
    valid_to: str

    @classmethod
    def find(cls, view: CardView, anchors: dict[str, Anchor | None]) -> _DateRows:
        texts = {
            name: "".join(b.text for b in value_boxes(view, anchor, max_gap=8.0))
            for name in ("birth_date", "issue_date", "car_class", "valid")
            if (anchor := anchors[name]) is not None
        }
        birth = parse_date(texts.get("birth_date", ""))
        issue = parse_date(texts.get("issue_date", ""))
        car_class = _class_text(texts.get("car_class", ""))
        valid_text = normalise(texts.get("valid", ""))
        valid_from, valid_to = _period_of(valid_text)
        if not (birth and issue and car_class and valid_from and valid_to):
            laid_out = _by_layout(view)
            birth = birth or laid_out.birth
            issue = issue or laid_out.issue
            car_class = car_class or laid_out.car_class
            valid_from = valid_from or laid_out.valid_from
            valid_to = valid_to or laid_out.valid_to
        return cls(birth, issue, car_class, valid_from, valid_to)


def _class_text(text: str) -> str:
    """The class as printed: letters and digits only, the English label left out."""
    compact = re.sub(r"[^0-9A-Za-z|]", "", normalise(text)).upper().replace("CLASS", "")
    return compact[:6]


def _period_of(text: str) -> tuple[str, str]:
    """'2018-05-02至2028-05-02' / '2018-05-02至长期' -> (from, to)."""
    text = normalise(text)
    long_term = "长" in text or "期" in text.split("至")[-1]
    dates = _dates_in(text)
    start = dates[0] if dates else ""
    if long_term and len(dates) < 2:
        return start, LICENCE_LONG_TERM if start else ""
    return start, dates[1] if len(dates) > 1 else ""


def _by_layout(view: CardView) -> _DateRows:
    """The column's values by content where their labels were not read.

    The valid period is the row with two dates (or a date and 长期), the lowest; the
    birth date and the first issue are the two single dates above it, in that order;
    the class is a box between the first issue and the period that is a legal class.
    """
    rows: list[tuple[float, list[str], bool]] = []
    for line in view.lines:
        text = normalise(line.text)
        if re.search(r"\d{15,}", digit_reading(text)) and len(_dates_in(text)) != 2:
            continue  # the card number
        dates = _dates_in(text)
        if dates:
            rows.append((line.cv, dates, "长期" in text))
    valid_from = valid_to = ""
    singles = [r for r in rows if len(r[1]) == 1 and not r[2]]
    periods = [r for r in rows if len(r[1]) >= 2 or r[2]]
    period_cv = float("inf")
    if periods:
        cv, dates, long_term = periods[-1]
        period_cv = cv
        valid_from = dates[0]
        valid_to = dates[1] if len(dates) > 1 else LICENCE_LONG_TERM if long_term else ""
    above = [r for r in singles if r[0] < period_cv]
    birth = above[-2][1][0] if len(above) >= 2 else ""
    issue = above[-1][1][0] if above else ""
    issue_cv = above[-1][0] if above else -float("inf")
    car_class = ""
    for box in view.placed:
        if issue_cv < box.cv < period_cv:
            candidate = fix_car_class(_class_text(box.text))
            if car_class_ok(candidate) and not cjk_only(box.text):
                car_class = candidate
    return _DateRows(birth, issue, car_class, valid_from, valid_to)


# A licence is first issued at 18 or later (《机动车驾驶证申领和使用规定》: no class is
# granted younger), and its first period starts on that day, so no period in force starts
# before it. The generator keeps to both (tests/cardgen/drivinglicense.py).
LICENCE_MIN_AGE = 18


def plausible_issue(issue: str, birth: str, valid_from: str) -> str:
    """The first issue date, or "" when it cannot be one: before the holder's 18th
    birthday, or after the period in force began. Blind seed 41's photo 016: the issue
    row lost, ``_by_layout`` took the birth date above it for the first issue, answered
    with only a ``blur`` warning; dropped, the reply names it as not read."""
    if not _is_date(issue):
        return issue
    if _is_date(birth) and issue < _plus_years(birth, LICENCE_MIN_AGE):
        return ""
    if _is_date(valid_from) and issue > valid_from:
        return ""
    return issue


# ----------------------------------------------------------------- the valid period


def _plus_years(iso: str, years: int) -> str:
    day = dt.date.fromisoformat(iso)
    try:
        return day.replace(year=day.year + years).isoformat()
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28).isoformat()


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def best_period(valid_from: str, valid_to: str) -> tuple[str, str]:
    """The period nearest to what was read that runs 6 or 10 years (or 长期).

    A period that passes as read is kept. Otherwise one end is recomputed from the
    other (each span in turn) and the candidate changing fewest digits wins, when it
    changes at most two; else the reading stays and its check fails.
    """
    if licence_period_ok(valid_from, valid_to) or not valid_from or not valid_to:
        return valid_from, valid_to
    best: tuple[int, tuple[str, str]] | None = None
    for years in LICENCE_SPANS_YEARS:
        candidates = []
        if _is_date(valid_from):
            candidates.append((valid_from, _plus_years(valid_from, years)))
        if _is_date(valid_to):
            candidates.append((_plus_years(valid_to, -years), valid_to))
        for start, end in candidates:
            cost = _hamming(start, valid_from) + _hamming(end, valid_to)
            fits = cost <= MAX_DATE_FIXES and licence_period_ok(start, end)
            if fits and (best is None or cost < best[0]):
                best = (cost, (start, end))
    return best[1] if best else (valid_from, valid_to)


def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


# ----------------------------------------------------------------- warnings


def field_warnings(
    fields: dict[str, str], today: dt.date, warnings: Sequence[str] = ()
) -> list[str]:
    """``expired`` when valid_to is before today; ``invalid_period`` when both ends are
    real (or 长期) yet the period is not 6 or 10 years or 长期."""
    del warnings  # no earlier warning changes these
    start, end = fields.get("valid_from", ""), fields.get("valid_to", "")
    found = []
    if _is_date(end) and dt.date.fromisoformat(end) < today:
        found.append("expired")
    both_read = _is_date(start) and (_is_date(end) or end == LICENCE_LONG_TERM)
    if both_read and not licence_period_ok(start, end):
        found.append("invalid_period")
    return found


__all__ = ["FIELDS", "Extracted", "extract", "field_warnings", "landmarks", "order_agreement"]
