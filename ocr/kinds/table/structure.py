"""A table's rows and columns from its text boxes, and from its ruling lines when printed.

Everything works in card coordinates (``u`` along the text, ``v`` across it, see
ocr/layout.py), so a turned or tilted photo needs nothing special. The steps:

1. **The table's lines**: the longest run of text lines with two boxes or more, evenly
   spaced and side by side (a caption above it and clutter text on the desk around
   the page are left out).
2. **Columns**: from the vertical ruling lines when the table is ruled (a grid);
   otherwise from the gaps in the boxes' extents along ``u`` over all rows, after
   undoing the slant that perspective gives the columns. A box that bridges a gap
   (the detector joined two cells) is cut there by its characters' widths.
3. **Rows**: one per text line; in a ruled grid, the lines between two horizontal
   rulings make one row (a cell of several lines).
4. **Cells**: a cell's boxes top-down, left to right, joined with nothing (CJK), or a
   space between two Latin words set apart by a visible gap.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import cv2
import numpy as np

from ocr.engine import TextBox
from ocr.image import BGRImage
from ocr.layout import Frame, Line, PlacedBox, partly_unread, warp_upright

# Consecutive rows further apart than this many times the table's usual row pitch end
# the table: what lies beyond is another block of text.
MAX_PITCH_RATIO = 2.2
# Two rows belong to one table when their extents along the text overlap this much of
# the narrower one.
MIN_ROW_OVERLAP = 0.5
# A gap between columns is at least this many text heights wide.
MIN_COLUMN_GAP = 0.2
# Slants of the columns tried (u per v): perspective leans a photographed page's columns.
SHEARS = tuple(s / 100 for s in range(-16, 17, 2))
# A ruling line is at least this long, as a share of the table's extent along it.
MIN_RULING_SHARE = 0.6
# Slants at which ruling lines are looked for (across per along), level first: a
# photographed table's perspective leans its far rules a few degrees off the frame's
# axis, and a rule leaning more than a pixel per opening kernel's length breaks into
# runs too short to survive it (blind seed 44's photo 96: the two rules under its fifth
# row were lost, and its last two rows read as one with no warning). Up to 0.08: a grid
# whose rules were found only in part is worse than one found not at all (seed 7's photo
# 39, its rules 0.05-0.07 off the text's axis: with slants up to 0.04 its sloped columns'
# rules and its upper rows' were found, not its last three rows', and these read as one).
RULE_SHEARS = (0.0, -0.08, -0.06, -0.04, -0.02, 0.02, 0.04, 0.06, 0.08)
# A rule found at another slant is one found already when, where their spans overlap,
# it lies within this many text heights of it.
SAME_RULE = 0.3
# A column at the table's side filled in fewer than this share of rows is clutter.
MIN_FILL = 0.5
# A box is cut at a column boundary only when it reaches this many text heights past
# it on both sides (detector boxes overhang their text; a cell's text may lean over).
SPLIT_MARGIN = 0.5
# A column boundary's own slant is fitted from this many rows; fewer take the table's.
FIT_SLANT_ROWS = 4
# A cell whose boxes the recogniser read less surely than this gets a second look.
SURE_SCORE = 0.9
# A cell whose boxes cover less than this share of its column's stretch gets a second look.
SHORT_CELL = 0.5
# A box holding fewer characters than this share of its width in text heights lost some.
SPARSE_TEXT = 0.6
# Text this many text heights beyond a table's outer column, or this far from its
# cell's text there, is clutter beside the page.
CLUTTER_GAP = 2.0
# Rows holding one box per column: at least this share of the rows (see anchor_columns).
FULL_ROWS_SHARE = 0.25
# A first or last line this far off the rows' spacing (share of it) may be no row.
STRAY_PITCH = 0.25
# Two header boxes of one column this many text heights apart or more, over body cells
# all on one side, head two columns (``headed_columns``): a header read as two boxes is
# a space apart (about half a height; the detector's box heights overhang the text).
HEADER_COLUMN_GAP = 1.0
# A table: at least this many rows of at least this many columns.
MIN_ROWS = 3
MIN_COLUMNS = 2
# A space joins two Latin words only when the gap between their boxes is this many
# text heights or more (closer, the detector cut one word in two).
WORD_GAP = 0.35


@dataclass(frozen=True)
class Ruling:
    """A straight ruling line in card coordinates: ``across = a + b * along``, drawn from
    ``start`` to ``end`` along it (a vertical ruling: u = a + b v, v from start to end)."""

    a: float
    b: float
    start: float
    end: float

    def at(self, along: float) -> float:
        return self.a + self.b * along


@dataclass(frozen=True)
class Rulings:
    horizontal: tuple[Ruling, ...] = ()
    vertical: tuple[Ruling, ...] = ()


NO_RULINGS = Rulings()


@dataclass(frozen=True)
class CellRegion:
    """Where a cell lies in card coordinates, for a second look at it."""

    row: int
    column: int
    u0: float
    u1: float
    cv: float
    height: float
    score: float  # the first reading's least sure box; 0 for an empty cell


@dataclass(frozen=True)
class Grid:
    """The table as read: rows of cell texts, every row as long as the others."""

    cells: list[list[str]]
    ruled: bool
    # Cells that came out empty or unsure, and where they lie (for a second look).
    doubtful: tuple[CellRegion, ...] = ()
    # Per cell, the least certainty the recogniser gave one of its characters
    # (``cell_certainty``); 1.0 for an empty cell.
    certainty: list[list[float]] = field(default_factory=list)
    # Per cell, whether its boxes show that something was missed (``missed_in_cell``).
    missed: list[list[bool]] = field(default_factory=list)
    # Columns only a header made (``headed_columns``): their cells were all missed.
    headed: tuple[int, ...] = ()


def _median_height(boxes: Sequence[PlacedBox]) -> float:
    return statistics.median(b.height for b in boxes) if boxes else 1.0


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def table_lines(lines: Sequence[Line]) -> list[Line]:
    """The table's lines, top to bottom: the run of lines with two boxes or more that
    holds the most boxes, with single-box lines between its rows (a row of one filled
    cell) kept; a caption above it or clutter around the page is left out."""
    multi = [i for i, line in enumerate(lines) if len(line.boxes) >= MIN_COLUMNS]
    if not multi:
        return []
    pitches = [lines[b].cv - lines[a].cv for a, b in itertools.pairwise(multi)]
    pitch = statistics.median(pitches) if pitches else 0.0
    runs: list[list[int]] = [[multi[0]]]
    for index in multi[1:]:
        previous = lines[runs[-1][-1]]
        line = lines[index]
        overlap = _overlap(previous.u0, previous.u1, line.u0, line.u1)
        narrower = min(previous.u1 - previous.u0, line.u1 - line.u0)
        together = (
            line.cv - previous.cv <= MAX_PITCH_RATIO * pitch
            and overlap >= MIN_ROW_OVERLAP * narrower
        )
        if together:
            runs[-1].append(index)
        else:
            runs.append([index])
    best = max(runs, key=lambda run: sum(len(lines[i].boxes) for i in run))
    first, last = best[0], best[-1]
    u0 = min(lines[i].u0 for i in best)
    u1 = max(lines[i].u1 for i in best)
    rows = [lines[i] for i in best]
    picked = []
    for line in lines[first : last + 1]:
        if _overlap(line.u0, line.u1, u0, u1) <= 0.5 * (line.u1 - line.u0):
            continue
        if len(line.boxes) < MIN_COLUMNS and not _fills_a_row(line, rows, pitch):
            continue
        picked.append(line)
    return picked


def _fills_a_row(line: Line, rows: Sequence[Line], pitch: float) -> bool:
    """Whether a line of one box sits where a row of the table is missing (a row with one
    filled cell), rather than squeezed between two rows (a note on the desk beside them)."""
    above = max((r.cv for r in rows if r.cv < line.cv), default=None)
    below = min((r.cv for r in rows if r.cv > line.cv), default=None)
    if above is None or below is None:
        return False
    return below - above > (1 + STRAY_PITCH) * pitch


def _char_width(char: str) -> float:
    """A character's width in CJK character widths: Latin letters and digits are about half."""
    return 1.0 if unicodedata.east_asian_width(char) in "WF" else 0.55


def split_box(
    box: PlacedBox, at: float, places: Sequence[int] | None = None
) -> tuple[PlacedBox, PlacedBox]:
    """The box cut at ``at`` along the text, between the characters nearest that point
    (their widths estimated: a CJK character is about twice a Latin one); ``places``,
    when given, are the only cuts allowed (an index into the text: cut before it)."""
    text = box.text
    edges = _char_edges(box)
    allowed = range(1, len(text)) if places is None else places
    best = min(allowed, key=lambda index: abs(edges[index] - at), default=1)
    cut = edges[best]
    left = PlacedBox(TextBox(box.box.points, text[:best].rstrip(), box.box.score),
                     box.u0, cut, box.cv, box.height)  # fmt: skip
    right = PlacedBox(TextBox(box.box.points, text[best:].lstrip(), box.box.score),
                      cut, box.u1, box.cv, box.height)  # fmt: skip
    return left, right


def _char_edges(box: PlacedBox) -> list[float]:
    """Where each character of the box starts along ``u`` (and, last, where the text
    ends), from the characters' estimated widths."""
    widths = [_char_width(c) for c in box.text]
    per_unit = box.width / (sum(widths) or 1.0)
    edges = [box.u0]
    for width in widths:
        edges.append(edges[-1] + width * per_unit)
    return edges


def _script_breaks(text: str) -> list[int]:
    """Where a cell could end inside ``text``: at a space, or where Chinese meets a digit
    or Latin letter ('1包', '845 办公椅'); never inside a number or a word."""
    breaks = []
    for index in range(1, len(text)):
        before, after = text[index - 1], text[index]
        if after == " " or before == " ":
            if after != " ":
                breaks.append(index)
        elif _char_width(before) != _char_width(after) and (before.isalnum() and after.isalnum()):
            breaks.append(index)
    return breaks


def breaks_near(box: PlacedBox, at: float) -> list[int] | None:
    """The places where ``box``'s text breaks (``_script_breaks``) within a text height
    of ``at``, nearest first, or None (any place) when there is none: a cut falls
    between a number and a name rather than inside the number ('7,842.56黄飞', not
    '7,842.' and '56黄飞')."""
    edges = _char_edges(box)
    near = [i for i in _script_breaks(box.text) if abs(edges[i] - at) <= box.height]
    return sorted(near, key=lambda i: abs(edges[i] - at)) or None


def split_at_header_gaps(lines: Sequence[Line]) -> list[Line]:
    """The lines with the boxes that bridge a gap of the header cut there, when most rows
    bridge it so.

    The detector can join two neighbouring cells in every row ('845 办公椅' under 数量
    and 项目, '1包' under 序号 and 单位): no row then shows the gap between the columns,
    but the header, set apart, does. A gap between two header boxes that most rows below
    bridge with one box reaching well across it, where that box's text breaks (a space,
    or Chinese meeting a digit or a letter), is a column boundary: each such box is cut
    at its break nearest the gap. A number or a word is never cut (a header read as two
    boxes, '金额' '(元)', over amounts wider than either).
    """
    if len(lines) < MIN_ROWS:
        return list(lines)
    header, rows = lines[0], list(lines[1:])
    boxes = [b for line in lines for b in line.boxes]
    height = _median_height(boxes)
    shear = best_shear(boxes)
    ordered = sorted(header.boxes, key=lambda b: b.u0)
    for left, right in itertools.pairwise(ordered):
        if right.u0 - left.u1 < MIN_COLUMN_GAP * height:
            continue
        gap = (left.u1 + right.u0) / 2
        cuts: list[tuple[int, int, int, float]] = []  # (row, box, place, gap's u there)
        margin = SPLIT_MARGIN * height
        for r, line in enumerate(rows):
            at = gap + shear * (line.cv - header.cv)
            for b, box in enumerate(line.boxes):
                if not box.u0 < at - margin < at + margin < box.u1:
                    continue
                places = breaks_near(box, at)
                if places:
                    cuts.append((r, b, places[0], at))
        if len(cuts) < max(2, MIN_FILL * len(rows)):
            continue
        for r, b, place, at in cuts:
            line = rows[r]
            pieces = split_box(line.boxes[b], at, [place])
            rows[r] = Line((*line.boxes[:b], *pieces, *line.boxes[b + 1 :]))
    return [header, *rows]


def headed_columns(
    lines: Sequence[Line], boundaries: Sequence[_Boundary]
) -> tuple[list[_Boundary], frozenset[int]]:
    """The boundaries with one more where a header box stands over a column whose every
    body cell the detector missed, and the indices of those columns.

    The detector can miss a whole inner column of lone characters (包 under 单位, blind
    seed 34's photo 55): no row below shows it, so the text's columns join its header to
    the next one's ('单位日期') and the cells are lost. Two header boxes in one column,
    HEADER_COLUMN_GAP text heights or more apart, with every body box of that column on
    one side of the gap, are two columns: the one over no body box is the missed one,
    kept though empty (``second_look`` then reads its cells). A header read as two boxes
    ('金额' '(元)') is a space apart, and its values reach across it."""
    if len(lines) < MIN_ROWS or not boundaries:
        return list(boundaries), frozenset()
    header, body = lines[0], lines[1:]
    boxes = [b for line in lines for b in line.boxes]
    height = _median_height(boxes)
    shear = best_shear(boxes)

    bounds = list(boundaries)
    added: list[tuple[_Boundary, bool]] = []  # (boundary, the missed column is its left)
    ordered = sorted(header.boxes, key=lambda b: b.u0)
    for left, right in itertools.pairwise(ordered):
        j = _column_of(left, boundaries)
        space = right.u0 - left.u1
        if _column_of(right, boundaries) != j or space < HEADER_COLUMN_GAP * height:
            continue
        gap = _Boundary((left.u1 + right.u0) / 2, shear, header.cv)
        below = [b for line in body for b in line.boxes if _column_of(b, boundaries) == j]
        sides = {b.cu > gap(b.cv) for b in below}
        crossing = any(b.u0 < gap(b.cv) < b.u1 for b in below)
        rows = sum(any(_column_of(b, boundaries) == j for b in line.boxes) for line in body)
        if len(sides) != 1 or crossing or rows < MIN_FILL * len(body):
            continue
        missed_left = sides.pop()
        added.append((gap, missed_left))
        # The boundary on the missed column's other side was placed in the middle of the
        # gap the column left in every row, through its cells: set it as far from the
        # header box as the gap's middle is, unless a box of the column beyond it would
        # then lie on or over it.
        other, edge = (j - 1, left.u0 - space / 2) if missed_left else (j, right.u1 + space / 2)
        if 0 <= other < len(bounds):
            moved = _Boundary(edge, shear, header.cv)
            side = -1 if missed_left else 1
            beyond = [b for line in body for b in line.boxes if _column_of(b, bounds) == j + side]
            if all(side * (b.u0 if side > 0 else b.u1) > side * moved(b.cv) for b in beyond):
                bounds[other] = moved
    if not added:
        return bounds, frozenset()
    merged = sorted([*bounds, *(gap for gap, _ in added)], key=lambda b: b(header.cv))
    headed = frozenset(merged.index(gap) + (0 if missed_left else 1) for gap, missed_left in added)
    return merged, headed


def _slanted(box: PlacedBox, shear: float, v_mid: float) -> tuple[float, float]:
    offset = shear * (box.cv - v_mid)
    return box.u0 - offset, box.u1 - offset


def best_shear(boxes: Sequence[PlacedBox]) -> float:
    """The slant (u per v) under which the boxes' extents, stacked over all rows, cover
    the least length: the columns then line up."""
    height = _median_height(boxes)
    v_mid = statistics.median(b.cv for b in boxes)

    def covered(shear: float) -> float:
        spans = sorted(_slanted(b, shear, v_mid) for b in boxes)
        total, end = 0.0, -math.inf
        for start, stop in spans:
            if stop > end:
                total += stop - max(start, end)
                end = stop
        return total

    return min(SHEARS, key=lambda s: (round(covered(s) / height, 1), abs(s)))


def text_columns(rows: Sequence[Sequence[PlacedBox]]) -> tuple[float, float, list[float]]:
    """Column boundaries from the gaps in the boxes' extents: (shear, v_mid, the middle
    of each gap along ``u - shear * (v - v_mid)``).

    The slant is the one under which the boxes' extents, stacked over all rows, cover the
    least length: columns then line up. A gap is where no box is, or where only boxes
    reaching across it from both sides are (the detector joined two cells of one row;
    a header wider than its column's values does not reach past both ends).
    """
    boxes = [b for row in rows for b in row]
    height = _median_height(boxes)
    v_mid = statistics.median(b.cv for b in boxes)
    shear = best_shear(boxes)
    spans = [(*_slanted(b, shear, v_mid), b) for b in boxes]
    low = math.floor(min(s[0] for s in spans))
    high = math.ceil(max(s[1] for s in spans))
    count = np.zeros(high - low + 1, dtype=np.int32)
    for start, stop, _ in spans:
        count[round(start) - low : round(stop) - low + 1] += 1
    min_gap = MIN_COLUMN_GAP * height
    gaps: list[float] = []
    for start, stop in _runs(count == 0) + _runs(count == 1):
        start_u, stop_u = low + start, low + stop
        if start == 0 or stop == len(count) - 1 or stop_u - start_u < min_gap:
            continue
        if count[start] == 1:
            # Covered by one box all along: a gap only when that box reaches past it on
            # both sides (two cells joined), not when it is a header wider than its values.
            crossing = [(s0, s1) for s0, s1, _ in spans if s0 < stop_u and s1 > start_u]
            if not all(s0 < start_u - 1 and s1 > stop_u + 1 for s0, s1 in crossing):
                continue
        gaps.append((start_u + stop_u) / 2)
    gaps.sort()
    return shear, v_mid, gaps


def anchor_columns(rows: Sequence[Sequence[PlacedBox]]) -> list[_Boundary] | None:
    """Column boundaries from the rows that hold one box per column, or None.

    Most rows of a table read as one box per cell, so the commonest box count is the
    column count, and those full rows place each boundary: a line (along ``v``) through
    the middles of the gaps between their j-th and (j+1)-th boxes. Fitted as a line, it
    follows the slant perspective gives each column, and a header or a number set apart
    from its column (left- versus right-aligned) still falls on the right side of it.
    None when fewer than two rows are full.
    """
    counts = [len(row) for row in rows if len(row) >= MIN_COLUMNS]
    if not counts:
        return None
    # The most boxes that a quarter of the rows (two at least) hold: the OCR drops a
    # cell more often than it adds one, and clutter beside the page joins a row or two.
    enough = max(2, math.ceil(FULL_ROWS_SHARE * len(counts)))
    columns = max((c for c in set(counts) if counts.count(c) >= enough), default=0)
    full = [sorted(row, key=lambda b: b.u0) for row in rows if len(row) == columns]
    if len(full) < 2:
        return None
    shear = best_shear([b for row in rows for b in row])
    gaps = [
        [(row[j].cv, (row[j].u1 + row[j + 1].u0) / 2) for row in full] for j in range(columns - 1)
    ]
    boundaries = [_fitted(points, shear) for points in gaps]
    # Again from every row whose two neighbouring cells are both read: rows with a cell
    # the OCR missed hold most of the table when few rows are full.
    assigned = _assign([[row] for row in rows], boundaries, split=False)
    gaps = [[] for _ in boundaries]
    for cells in assigned:
        for j in range(len(boundaries)):
            left, right = cells[j], cells[j + 1]
            if left and right:
                v = (left[-1].cv + right[0].cv) / 2
                gaps[j].append((v, (max(b.u1 for b in left) + min(b.u0 for b in right)) / 2))
    return [
        _fitted(points, shear) if points else first
        for points, first in zip(gaps, boundaries, strict=True)
    ]


def _fitted(points: Sequence[tuple[float, float]], shear: float) -> _Boundary:
    """A boundary through (v, u) points: its own slant from four rows or more, else the
    table's."""
    vs = np.array([v for v, _ in points])
    us = np.array([u for _, u in points])
    if len(points) >= FIT_SLANT_ROWS and float(np.ptp(vs)) > 0:
        slope, at_zero = np.polyfit(vs, us, 1)
        return _Boundary(float(at_zero), float(slope), 0.0)
    v_mid = float(vs.mean())
    return _Boundary(float(np.median(us - shear * (vs - v_mid))), shear, v_mid)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in ``mask``."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, value in enumerate(mask.tolist()):
        if value and start is None:
            start = index
        elif not value and start is not None:
            runs.append((start, index - 1))
            start = None
    if start is not None:
        runs.append((start, len(mask) - 1))
    return runs


def cell_certainty(boxes: Sequence[PlacedBox]) -> float:
    """The least certainty the recogniser gave a character of the cell (a box's score
    where it did not say per character); 1.0 for an empty cell."""
    least = 1.0
    for placed in boxes:
        box = placed.box
        each = box.certainties if len(box.certainties) == len(box.text) else ()
        least = min(least, min(each, default=box.score) if box.text else 1.0)
    return least


# Two boxes of one cell on one line this many text heights apart hold two cells' texts
# (a column the detector or the columns' gaps missed: '2' and '包' under a joined header)
# or a note's words beside the table ('谢谢惠' before '2'). On seeds 7, 8, 9 and 21 (600
# photos) the 4 such cells were all wrong, and no right table had one.
CELL_GAP = 1.0
# A box of Chinese characters wider than its reading by this share and this many text
# heights had characters left unread ('茶叶' read as '茶', sure, 1.5 times its reading):
# the ID card's test (``partly_unread``) with the tighter bounds a table's one- and
# two-character cells need. Only a box as the recogniser read it (a certainty per
# character): a piece ``split_box`` cut from a joined one ('7 个') reaches from the
# column's boundary, across the gap, and its width says nothing (2.8 heights for a right
# '个' on seed 7's 149). Of those 600 photos it flags 9 tables, all wrong; the right
# boxes reach 1.26 times their reading (a lone '个').
CELL_UNREAD_SHARE = 1.45
CELL_UNREAD_ROOM = 0.4
_WIDE_ONLY = re.compile(r"[\u3400-\u9fff]+")


def missed_in_cell(boxes: Sequence[PlacedBox]) -> bool:
    """Whether a cell's boxes show something missed: two of them far apart on one line
    (``CELL_GAP``), or one of Chinese characters too wide for its reading."""
    ordered = sorted(boxes, key=lambda b: b.u0)
    for left, right in itertools.pairwise(ordered):
        height = min(left.height, right.height)
        if abs(left.cv - right.cv) < 0.5 * height and right.u0 - left.u1 > CELL_GAP * height:
            return True
    return any(
        _WIDE_ONLY.fullmatch(b.text)
        and len(b.box.certainties) == len(b.text)
        and partly_unread(b, CELL_UNREAD_ROOM, CELL_UNREAD_SHARE)
        for b in boxes
    )


def _cell_text(boxes: Sequence[PlacedBox]) -> str:
    """A cell's boxes top-down, left to right; a space only between Latin words apart."""
    text = ""
    previous: PlacedBox | None = None
    for box in boxes:
        if previous is not None and text and box.text:
            latin = text[-1].isascii() and text[-1].isalnum() and box.text[0].isascii()
            apart = (
                box.u0 - previous.u1 >= WORD_GAP * box.height
                or box.cv - previous.cv > 0.5 * box.height
            )
            if latin and box.text[0].isalnum() and apart:
                text += " "
        text += box.text
        previous = box
    return text.strip()


def _assign(
    rows: Sequence[Sequence[Sequence[PlacedBox]]],
    boundary_at: Sequence[_Boundary],
    split: bool = True,
) -> list[list[list[PlacedBox]]]:
    """Each row's boxes in columns, each cell's boxes line by line (a row may hold
    several text lines), left to right. With ``split``, a box reaching well across a
    boundary in a row short of boxes (the detector joined two cells) is cut there."""
    columns = len(boundary_at) + 1
    table: list[list[list[PlacedBox]]] = []
    for row in rows:
        cells: list[list[PlacedBox]] = [[] for _ in range(columns)]
        short = sum(len(line) for line in row) < columns
        for box in (b for line in row for b in sorted(line, key=lambda b: b.u0)):
            pieces = [box]
            for boundary in boundary_at if split and short else ():
                at = boundary(box.cv)
                last = pieces[-1]
                margin = SPLIT_MARGIN * last.height
                if last.u0 < at - margin and last.u1 > at + margin and len(last.text) > 1:
                    left, right = split_box(last, at, breaks_near(last, at))
                    pieces[-1:] = [left, right]
            for piece in pieces:
                if not piece.text:
                    continue
                cells[_column_of(piece, boundary_at)].append(piece)
        table.append(cells)
    return table


def _column_of(box: PlacedBox, boundaries: Sequence[_Boundary]) -> int:
    """The column a box falls in: how many boundaries its middle lies past."""
    return sum(box.cu > boundary(box.cv) for boundary in boundaries)


class _Boundary:
    """A column boundary's position along ``u`` at a given ``v``."""

    def __init__(self, u: float, shear: float = 0.0, v_mid: float = 0.0) -> None:
        self.u, self.shear, self.v_mid = u, shear, v_mid

    def __call__(self, v: float) -> float:
        return self.u + self.shear * (v - self.v_mid)


class _RulingBoundary(_Boundary):
    def __init__(self, ruling: Ruling) -> None:
        super().__init__(ruling.a, ruling.b, 0.0)


def _grid_verticals(rulings: Rulings, lines: Sequence[Line]) -> list[Ruling]:
    """The vertical rulings between columns when the table is a ruled grid, else none.

    A grid has rules at both sides and between its columns, each running the table's
    height; one long edge alone (another sheet of paper beside the page) is no grid.
    """
    boxes = [b for line in lines for b in line.boxes]
    v0 = min(b.v0 for b in boxes)
    v1 = max(b.v1 for b in boxes)
    span = v1 - v0
    full = [
        r for r in rulings.vertical if _overlap(r.start, r.end, v0, v1) >= MIN_RULING_SHARE * span
    ]
    inner = []
    for ruling in full:
        left = sum(b.cu < ruling.at(b.cv) for b in boxes)
        right = sum(b.cu > ruling.at(b.cv) for b in boxes)
        # A box or two of clutter beside the page does not make a rule an inner one.
        if min(left, right) >= max(2, len(lines) // 2):
            inner.append(ruling)
    middle = (v0 + v1) / 2
    merged: list[Ruling] = []
    for ruling in sorted(inner, key=lambda r: r.at(middle)):
        # Pieces of one rule broken by a character or a speck of glare.
        if merged and ruling.at(middle) - merged[-1].at(middle) < 0.5 * _median_height(boxes):
            continue
        merged.append(ruling)
    if not merged or len(full) < len(merged) + 2:
        return []
    return merged


def _drop_outer_clutter(assigned: list[list[list[PlacedBox]]]) -> None:
    """Take out of the outer columns the boxes lying beyond what the other rows hold
    there and set apart from their cell's text: clutter on the desk level with a row
    (a receipt, a scribbled note) that no boundary stops, the sides being open."""
    if not assigned or not assigned[0]:
        return
    last = len(assigned[0]) - 1
    for column, outward in ((0, -1.0), (last, 1.0)):
        for r, row in enumerate(assigned):
            others = [b for i, other in enumerate(assigned) if i != r for b in other[column]]
            if not others or not row[column]:
                continue
            height = _median_height(others)
            edge = max(b.u1 for b in others) if outward > 0 else min(b.u0 for b in others)
            kept = []
            ordered = sorted(row[column], key=lambda b: outward * b.cu)
            for index, box in enumerate(ordered):
                beyond = outward * ((box.u0 if outward > 0 else box.u1) - edge)
                apart = (
                    index > 0
                    and outward
                    * (
                        (box.u0 - ordered[index - 1].u1)
                        if outward > 0
                        else (ordered[index - 1].u0 - box.u1)
                    )
                    > CLUTTER_GAP * height
                )
                if beyond > 0 and (apart or beyond > CLUTTER_GAP * height):
                    break  # this box and any further out
                kept.append(box)
            row[column] = [b for b in row[column] if any(b is k for k in kept)]


def _filled_columns(
    assigned: Sequence[Sequence[Sequence[PlacedBox]]],
    ruled: bool,
    headed: frozenset[int] = frozenset(),
) -> list[int]:
    """The columns to keep: all but sparse ones at either side, which are clutter beside
    the page (a sheet of paper, a receipt) rather than the table's; between filled
    columns a sparse one is the table's own unless the text alone made it (a stray mark)
    and no header of its own made it (``headed``)."""
    columns = len(assigned[0]) if assigned else 0
    used = [sum(bool(row[c]) for row in assigned) for c in range(columns)]
    enough = max(2, math.ceil(MIN_FILL * len(assigned)))
    first = next((c for c in range(columns) if used[c] >= enough), columns)
    last = next((c for c in reversed(range(columns)) if used[c] >= enough), -1)
    return [c for c in range(first, last + 1) if ruled or used[c] >= 2 or c in headed]


def _ruled_rows(rulings: Rulings, lines: Sequence[Line]) -> list[list[Line]]:
    """Text lines grouped by the horizontal rulings between them (a grid's rows)."""
    boxes = [b for line in lines for b in line.boxes]
    u0 = min(b.u0 for b in boxes)
    u1 = max(b.u1 for b in boxes)
    middle = (u0 + u1) / 2
    wide = MIN_RULING_SHARE * (u1 - u0)
    long_enough = [r for r in rulings.horizontal if _overlap(r.start, r.end, u0, u1) >= wide]
    groups: list[list[Line]] = []
    for line in lines:
        if groups:
            above = groups[-1][-1].cv
            if not any(above < r.at(middle) < line.cv for r in long_enough):
                groups[-1].append(line)
                continue
        groups.append([line])
    return groups


def _without_stray_end_lines(lines: Sequence[Line]) -> list[Line]:
    """The lines without a first or last one that holds fewer boxes than the table's
    rows and sits off their even spacing: a caption that a word of clutter joined."""
    kept = list(lines)
    if len(kept) <= MIN_ROWS:
        return kept
    pitch = statistics.median(b.cv - a.cv for a, b in itertools.pairwise(kept))
    most = max(len(line.boxes) for line in kept)
    for end in (0, -1):
        while len(kept) > MIN_ROWS:
            line = kept[end]
            neighbour = kept[1] if end == 0 else kept[-2]
            off = abs(abs(line.cv - neighbour.cv) - pitch) > STRAY_PITCH * pitch
            if not (off and len(line.boxes) < most):
                break
            kept.pop(end)
    return kept


def build_grid(lines: Sequence[Line], rulings: Rulings = NO_RULINGS) -> Grid | None:
    """The table held by ``lines`` (``table_lines`` first picks them from a page), or None
    when they do not make at least MIN_ROWS rows of MIN_COLUMNS columns."""
    if len(lines) < MIN_ROWS:
        return None
    span = ruled_span(rulings, [b for line in lines for b in line.boxes])
    if span is not None:
        lines = _cut_to_span(lines, span)
    lines = _without_stray_end_lines(lines)
    lines = split_at_header_gaps(lines)
    anchors = anchor_columns([line.boxes for line in lines])
    verticals = _grid_verticals(rulings, lines)
    # Rules missed in a faint or blurred photo would merge columns: the text then knows better.
    counts = [len(line.boxes) for line in lines]
    usual = max(set(counts), key=lambda c: (counts.count(c), c))
    ruled = bool(verticals) and len(verticals) + 1 >= usual
    boundaries: list[_Boundary]
    headed: frozenset[int] = frozenset()
    if ruled:
        boundaries = [_RulingBoundary(r) for r in verticals]
        groups = _ruled_rows(rulings, lines)
    else:
        groups = [[line] for line in lines]
        if anchors is None:
            shear, v_mid, gaps = text_columns([line.boxes for line in lines])
            anchors = [_Boundary(u, shear, v_mid) for u in gaps]
        boundaries, headed = headed_columns(lines, anchors)
    assigned = _assign([[line.boxes for line in group] for group in groups], boundaries)
    _drop_outer_clutter(assigned)
    keep = _filled_columns(assigned, ruled, headed)
    filled = [
        (row, group)
        for row, group in zip(assigned, groups, strict=True)
        if any(row[c] for c in keep)
    ]
    cells = [[_cell_text(row[c]) for c in keep] for row, _ in filled]
    certainty = [[cell_certainty(row[c]) for c in keep] for row, _ in filled]
    missed = [[missed_in_cell(row[c]) for c in keep] for row, _ in filled]
    if len(cells) < MIN_ROWS or len(keep) < MIN_COLUMNS:
        return None
    doubtful = _doubtful_cells(filled, keep, boundaries)
    headed_kept = tuple(keep.index(c) for c in sorted(headed) if c in keep)
    return Grid(cells, ruled, doubtful, certainty, missed, headed_kept)


def _doubtful_cells(
    rows: Sequence[tuple[Sequence[Sequence[PlacedBox]], Sequence[Line]]],
    keep: Sequence[int],
    boundaries: Sequence[_Boundary],
) -> tuple[CellRegion, ...]:
    """Empty cells and cells read unsurely, with the stretch between their column's
    boundaries (the outer columns end at their widest box) on their row's line."""
    outer_left = min(b.u0 for row, _ in rows for b in row[keep[0]]) if keep else 0.0
    outer_right = max(b.u1 for row, _ in rows for b in row[keep[-1]]) if keep else 0.0
    found = []
    for r, (row, group) in enumerate(rows):
        boxes = [b for line in group for b in line.boxes]
        height = _median_height(boxes)
        cv = statistics.fmean(line.cv for line in group)
        for index, c in enumerate(keep):
            cell = row[c]
            if len(group) > 1 and cell:
                continue  # a cell of several lines is not cut as one line
            u0 = boundaries[c - 1](cv) if c > 0 else outer_left
            u1 = boundaries[c](cv) if c < len(boundaries) else outer_right
            score = min((b.box.score for b in cell), default=0.0)
            if cell:
                # A sure reading that fills its cell needs no second look; one covering
                # little of it may have lost characters the recogniser was unsure of.
                covered = sum(b.width for b in cell)
                units = sum(_char_width(ch) for b in cell for ch in b.text)
                # Fewer characters than the boxes are wide: some were read as nothing.
                sparse = units < SPARSE_TEXT * sum(b.width / b.height for b in cell)
                if score >= SURE_SCORE and covered >= SHORT_CELL * (u1 - u0) and not sparse:
                    continue
                u0, u1 = min(u0, *(b.u0 for b in cell)), max(u1, *(b.u1 for b in cell))
            if u1 - u0 > height:
                found.append(CellRegion(r, index, u0, u1, cv, height, score))
    return tuple(found)


# Horizontal rules (or a sheet's top and bottom edges) at least this many text heights
# long, two or more of them starting and ending within a text height of each other,
# mark how far the table reaches along its rows.
SPAN_RULE_HEIGHTS = 4.0
# ... when at least this share of the boxes lies between their ends.
SPAN_HOLDS = 0.6
# A box whose middle lies more than this many text heights beyond the rules' ends lies
# off the table (a note on the desk beside the sheet).
SPAN_SLACK = 0.5
# The rules' ends are drawn on this many text heights above the first and below the last
# of them (a caption and the row under a three-line table's header rule lie there).
SPAN_REACH = 2.0


@dataclass(frozen=True)
class Span:
    """How far a table reaches along its rows: from ``start(v)`` to ``end(v)``, each a
    line fitted through the ends of its horizontal rules (perspective slants a table's
    sides like its columns), from a little above the first of those rules to a little
    below the last (``v0``, ``v1``): the lines are not drawn on further, where
    perspective can have turned them."""

    start: _Boundary
    end: _Boundary
    v0: float
    v1: float

    def level(self, box: PlacedBox) -> bool:
        """Whether ``box`` lies where the span's lines are drawn (between v0 and v1)."""
        return self.v0 <= box.cv <= self.v1

    def holds(self, box: PlacedBox, slack: float = 0.0) -> bool:
        if not self.level(box):
            return True
        return self.start(box.cv) - slack <= box.cu <= self.end(box.cv) + slack


def ruled_span(rulings: Rulings, boxes: Sequence[PlacedBox]) -> Span | None:
    """How far the table reaches along its rows, from its horizontal rules, or None when
    they do not say.

    Every horizontal rule of a grid or a three-line table runs from the table's one
    side to the other, and the top and bottom edges of the sheet it is printed on run
    across the sheet: two long ones that start and end together bound the table. Text
    beyond them is on another sheet or on the desk, however it lines up with a row.
    """
    if not boxes:
        return None
    height = _median_height(boxes)
    long = [r for r in rulings.horizontal if r.end - r.start >= SPAN_RULE_HEIGHTS * height]
    best: list[Ruling] = []
    for rule in long:
        together = [
            other
            for other in long
            if abs(other.start - rule.start) <= height and abs(other.end - rule.end) <= height
        ]
        if len(together) > len(best):
            best = together
    if len(best) < 2:
        return None
    starts = [(r.at(r.start), r.start) for r in best]
    ends = [(r.at(r.end), r.end) for r in best]
    vs = [v for v, _ in starts]
    reach = SPAN_REACH * height
    span = Span(_through(starts), _through(ends), min(vs) - reach, max(vs) + reach)
    level = [b for b in boxes if span.level(b)]
    if sum(span.holds(b) for b in level) < max(1.0, SPAN_HOLDS * len(level)):
        return None
    return span


def _through(points: Sequence[tuple[float, float]]) -> _Boundary:
    """The line u = a + b v through (v, u) points (their mean u when they share a v)."""
    vs = np.array([v for v, _ in points])
    us = np.array([u for _, u in points])
    if float(np.ptp(vs)) < 1.0:
        return _Boundary(float(us.mean()))
    slope, at_zero = np.polyfit(vs, us, 1)
    return _Boundary(float(at_zero), float(slope), 0.0)


def off_span(span: Span, box: PlacedBox, height: float) -> bool:
    """Whether ``box`` lies beyond the table's ``span`` (``ruled_span``)."""
    return not span.holds(box, SPAN_SLACK * height)


def _cut_to_span(lines: Sequence[Line], span: Span) -> list[Line]:
    """The lines with each box reaching well past the table's ruled ``span`` cut at its
    end, the part beyond left out: the detector joins a word on a note beside the sheet
    to the outer cell next to it ('谢惠5')."""
    kept = []
    for line in lines:
        boxes = []
        for box in line.boxes:
            margin = SPLIT_MARGIN * box.height
            if not span.level(box):
                boxes.append(box)
                continue
            start, end = span.start(box.cv), span.end(box.cv)
            if len(box.text) > 1 and box.u0 < start - margin < start + margin < box.u1:
                box = split_box(box, start)[1]
            if len(box.text) > 1 and box.u0 < end - margin < end + margin < box.u1:
                box = split_box(box, end)[0]
            if box.text:
                boxes.append(box)
        if boxes:
            kept.append(Line(tuple(boxes)))
    return kept


def lattice_rows(lines: Sequence[Line]) -> int:
    """How many rows of a table of two columns or more the lines hold: 0 when they are
    no table (the kind's detection score)."""
    picked = table_lines(lines)
    if len(picked) < MIN_ROWS or looks_like_prose(picked):
        return 0
    grid = build_grid(picked)
    if grid is None:
        return 0
    full = sum(sum(bool(cell) for cell in row) >= MIN_COLUMNS for row in grid.cells)
    return full if full >= MIN_ROWS else 0


# Running text set in columns: its boxes are whole lines, a table's boxes are cells. A
# page in two columns lines up like a two-column table, and without this was read as
# one. Box widths in box heights (a box is taller than its characters are wide), on the
# committed fixtures: no table box over 4.1; two-column pages 40-90% of boxes over 6
# (the fewest where a cut-out of the page shows the left column's line ends). A table
# with one column of long text among three stays a table (a third of its boxes).
PROSE_BOX_HEIGHTS = 6.0
PROSE_SHARE = 0.4


def looks_like_prose(lines: Sequence[Line]) -> bool:
    """Whether the boxes of ``lines`` are lines of running text rather than cells."""
    widths = [box.width / max(box.height, 1.0) for line in lines for box in line.boxes]
    long = sum(width > PROSE_BOX_HEIGHTS for width in widths)
    return bool(widths) and long >= PROSE_SHARE * len(widths)


# Ruling lines ---------------------------------------------------------------------------


def find_rulings(
    image: BGRImage, frame: Frame, boxes: Sequence[PlacedBox], margin_heights: float = 1.5
) -> Rulings:
    """The straight ruling lines around and between ``boxes``, in card coordinates.

    The region is turned upright (the frame's angle), binarised, and opened with long
    thin kernels: what survives a horizontal kernel several text heights long is a
    horizontal rule (no stroke of a character is that long), likewise vertically.
    """
    if not boxes:
        return NO_RULINGS
    height = _median_height(boxes)
    photo_h, photo_w = image.shape[:2]
    if height > min(photo_h, photo_w):
        return NO_RULINGS  # text taller than its photo: boxes that are no page
    margin = margin_heights * height
    # The region is the boxes' with a margin, kept within the photo's own extent (in card
    # coordinates) widened by that margin: boxes placed far beyond the photo made an
    # upright region of a hundred million pixels and opening kernels thousands long
    # (tests/test_hostile_input.py ran past its timeout). Boxes on the photo, as a reader
    # gives them, are never clipped.
    corners = [frame.to_card(x, y) for x in (0, photo_w) for y in (0, photo_h)]
    u0 = max(min(b.u0 for b in boxes), min(u for u, _ in corners)) - margin
    u1 = min(max(b.u1 for b in boxes), max(u for u, _ in corners)) + margin
    v0 = max(min(b.v0 for b in boxes), min(v for _, v in corners)) - margin
    v1 = min(max(b.v1 for b in boxes), max(v for _, v in corners)) + margin
    width, tall = round(u1 - u0), round(v1 - v0)
    if width < 8 or tall < 8:
        return NO_RULINGS
    grey = cast(BGRImage, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)) if image.ndim == 3 else image
    # Output pixel (i, j) = card point (u0 + i, v0 + j).
    upright = warp_upright(grey, frame, (u0, v0), (width, tall), interpolation=cv2.INTER_LINEAR)
    block = max(3, int(height) | 1)
    ink = cv2.adaptiveThreshold(
        upright, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 10
    )
    # A rule a degree or two off the frame's axis steps from one pixel row to the next:
    # thickened first, it stays one run for the long kernel.
    ink = cv2.dilate(ink, np.ones((3, 3), np.uint8))
    length = max(9, round(2.5 * height))
    same = SAME_RULE * height
    horizontal = _leaning_segments(ink, (length, 1), width, along_u=True, same=same)
    vertical = _leaning_segments(ink, (1, length), tall, along_u=False, same=same)
    return Rulings(
        tuple(Ruling(a + v0 - b * u0, b, s + u0, e + u0) for a, b, s, e in horizontal),
        tuple(Ruling(a + u0 - b * v0, b, s + v0, e + v0) for a, b, s, e in vertical),
    )


Segment = tuple[float, float, float, float]  # (a, b, start, end): across = a + b * along


def _leaning_segments(
    ink: np.ndarray, kernel: tuple[int, int], extent: int, along_u: bool, same: float
) -> list[Segment]:
    """``_segments`` at each of RULE_SHEARS: the ink leaned so that a rule of that slant
    lies straight along the kernel; a rule found at an earlier slant (``same`` pixels
    from it or closer) is not found again."""
    tall, wide = ink.shape
    found: list[Segment] = []
    for shear in RULE_SHEARS:
        # Forward map: across' = across - shear * along + shift (shift keeps it >= 0).
        shift = max(0.0, shear * (wide if along_u else tall))
        if along_u:
            matrix = np.array([[1, 0, 0], [-shear, 1, shift]], dtype=np.float32)
            size = (wide, tall + math.ceil(abs(shear) * wide))
        else:
            matrix = np.array([[1, -shear, shift], [0, 1, 0]], dtype=np.float32)
            size = (wide + math.ceil(abs(shear) * tall), tall)
        leaned = cv2.warpAffine(ink, matrix, size, flags=cv2.INTER_NEAREST) if shear else ink
        earlier = list(found)  # pieces of one rule found at one slant are all kept, as before
        for a, b, start, end in _segments(leaned, kernel, extent, along_u):
            rule = (a - shift, b + shear, start, end)
            if not any(_same_segment(rule, other, same) for other in earlier):
                found.append(rule)
    return found


def _same_segment(one: Segment, other: Segment, same: float) -> bool:
    """Whether two segments overlap along their length and lie within ``same`` of each
    other across it, in the middle of their overlap."""
    start, end = max(one[2], other[2]), min(one[3], other[3])
    if start >= end:
        return False
    middle = (start + end) / 2
    return abs((one[0] + one[1] * middle) - (other[0] + other[1] * middle)) < same


def _segments(
    ink: np.ndarray, kernel: tuple[int, int], extent: int, along_u: bool
) -> list[Segment]:
    """Long straight strokes: (a, b, start, end) with across = a + b * along, in pixels."""
    opened = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones(kernel[::-1], np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    found = []
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        span = w if along_u else h
        if span < 0.3 * extent:
            continue
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == label)
        along = (xs + x) if along_u else (ys + y)
        across = (ys + y) if along_u else (xs + x)
        b, a = np.polyfit(along.astype(np.float64), across.astype(np.float64), 1)
        found.append((float(a), float(b), float(along.min()), float(along.max())))
    return found
