"""A printed table (表格), ruled or not, photographed or scanned.

Its one field is ``cells``: rows of cell strings, every row as long as the others
(empty strings for empty cells). It travels as ``CardResult.cells``, not in ``fields``
(which holds strings): ``scan --json`` shows it as ``"fields": {"cells": [[...]]}``, eval
labels give it as ``expected.cells``, and replies show one line per row, cells joined
by ｜, each cell masked by ``ocr.mask.mask_numbers_in_text`` (ocr/mask.py: mask_cells).
The structure comes from the text boxes and the ruling lines (structure.py). WeChat's
OCR has no table route: the ``wechat`` engine answers EngineUnavailable, so ``chain``
reads a table locally.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

from ocr.documents import table_shape
from ocr.engine import CardResult, TextBox
from ocr.errors import NoCardFound
from ocr.image import BGRImage
from ocr.kinds.base import ORIGINAL_ONLY_WARNINGS, DocumentKind
from ocr.kinds.table.structure import (
    MIN_COLUMNS,
    MIN_FILL,
    MIN_ROWS,
    CellRegion,
    Grid,
    Rulings,
    build_grid,
    find_rulings,
    lattice_rows,
    off_span,
    ruled_span,
    table_lines,
)
from ocr.layout import (
    ALONG,
    CardView,
    Frame,
    Line,
    LineReader,
    OcrPage,
    PlacedBox,
    crop_variants,
    estimate_axis,
    normalise_angle,
    reads_along,
    righted,
)

NAME = "table"
# Symbols (☑, ▏...) a ruling line or a speck beside a cell is read as.
SYMBOLS = "".join(
    chr(c) for c in range(0x2000, 0x2BFF) if unicodedata.category(chr(c)).startswith("S")
)
# What a lattice of MIN_ROWS x MIN_COLUMNS aligned cells scores: more than a page of
# running text's best landmark count. Each row beyond it adds one.
LATTICE_SCORE = 3
# A second look at a cell: its crop inset from the column's boundaries and padded
# across the line (in text heights); a reading is taken from this score on.
SECOND_LOOK_INSET = 0.3
SECOND_LOOK_PAD = 0.2
SECOND_LOOK_SCORE = 0.8


def score(view: CardView) -> int:
    """A structural score: rows of at least two aligned columns (0 below three of them).

    An ID card's label column and value column look like a small table, so a lattice
    scores only from MIN_ROWS rows on and grows by one per row: a card's own landmarks
    outnumber it there (docs/kinds.md, "Table").
    """
    rows = lattice_rows(view.lines)
    return LATTICE_SCORE + rows - MIN_ROWS if rows >= MIN_ROWS else 0


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    view = table_view(view)
    if reader is not None:
        view = righted(view, reader, SECOND_LOOK_SCORE, sideways=True)
    view, rulings = within_rules(view)
    lines = table_lines(view.lines)
    if len(lines) < MIN_ROWS:
        raise NoCardFound("no table: fewer than three rows of two cells")
    if reader is not None:
        lines = with_missed_columns(view, lines, reader)
    grid = build_grid(lines, rulings)
    if grid is None:
        raise NoCardFound(f"no table of {MIN_ROWS} rows and {MIN_COLUMNS} columns")
    cells = [list(row) for row in grid.cells]
    if reader is not None:
        second_look(view, reader, grid.doubtful, cells)
    cells = [[grouped_amount(cell) for cell in row] for row in cells]
    numbered, overruled = with_row_numbers(cells)
    checks = {"table_shape": table_shape(numbered) is not None}
    marks_only = any(cell and all(_mark(c) for c in cell) for row in numbered for cell in row)
    # A cell that shows something missed, unless its row's number put it right.
    missed = any(
        grid.missed[r][c] and numbered[r][c] == cells[r][c]
        for r in range(len(grid.missed))
        for c in range(len(grid.missed[r]))
    )
    misplaced = extra_row(numbered) or headless_outer_column(numbered)
    # A column the detector missed whole whose cells the second look left empty.
    unread = any(not row[c] for row in numbered[1:] for c in grid.headed)
    doubted = unsure(grid) or marks_only or missed or overruled or misplaced or unread
    warnings = ["low_confidence"] if doubted else []
    cells = numbered
    return CardResult(NAME, {}, checks, warnings, cells=cells)


# A column numbering its rows (序号) counts up by one from row to row: when every body
# cell but one, and at least this many, says so, the odd one is put right. Four such
# cells on seeds 7, 8 and 21 (450 photos): '。' and 'I' for a lone digit, an empty cell
# whose second look read nothing, and a note's words read into the cell ('谢谢惠2').
ROW_NUMBERS_AGREEING = 3


def with_row_numbers(cells: list[list[str]]) -> tuple[list[list[str]], bool]:
    """``cells`` with the one odd cell of a row-numbering column put right, and whether
    a number read there was overruled (said as a doubt, as a corrected ID number is).

    The odd cell is taken for its row's number when nothing in it says otherwise (empty,
    marks or letters alone: a digit read as 'I' or '。'; or that number among other
    characters: a note's words read into it), and overruled when it is another number
    of the same length ('1' read for 7). A last row left empty is not filled: it may be
    a total's.
    """
    if table_shape(cells) is None or len(cells) < ROW_NUMBERS_AGREEING + 2:
        return cells, False
    fixed = [list(row) for row in cells]
    overruled = False
    for column in range(len(cells[0])):
        values = [row[column] for row in cells[1:]]
        # The first row's number, as most of the column's numbers have it.
        starts = Counter(int(v) - i for i, v in enumerate(values) if v.isdigit())
        if not starts:
            continue
        start, agreeing = starts.most_common(1)[0]
        odd = [i for i, value in enumerate(values) if value != str(start + i)]
        if start < 0 or agreeing < ROW_NUMBERS_AGREEING or len(odd) != 1:
            continue
        at, value = odd[0], values[odd[0]]
        wanted = str(start + at)
        digits = re.findall(r"\d+", value)
        if not value and at == len(values) - 1:
            continue
        if value.isdigit() and len(value) == len(wanted):
            overruled = True
        elif digits and digits != [wanted]:
            continue  # another number among other text: not ours to overwrite
        fixed[at + 1][column] = wanted
    return fixed, overruled


def extra_row(cells: Sequence[Sequence[str]]) -> bool:
    """Whether a column of row numbers counts up by one from 0 or 1 over
    ROW_NUMBERS_AGREEING rows or more once one row is taken out: that row is not the
    table's own (a row read twice, or a note's line among the rows). Seed 8's photo 74
    read 1, 11, 2, 3, 4: row 1 again, cut differently, beside a note's words made a
    column; answered with no warning. (Years with one missing, 2019-2021 and 2023, are
    no row numbers.)"""
    body = cells[1:]
    if len(body) < ROW_NUMBERS_AGREEING + 1 or table_shape(cells) is None:
        return False
    for column in range(len(body[0])):
        values = [row[column] for row in body]
        if not all(value.isdigit() for value in values):
            continue
        numbers = [int(value) for value in values]
        if _counts_up(numbers):
            continue
        if any(_counts_up(numbers[:skip] + numbers[skip + 1 :]) for skip in range(len(numbers))):
            return True
    return False


def headless_outer_column(cells: Sequence[Sequence[str]]) -> bool:
    """Whether an outer column has no header and gaps in its body while every other
    column has its header: text beside the table (a receipt's words, a note) lined up
    with its rows and made a column. Seed 9's photo 29 answered 发票, 购物清单, ¥23.50
    and 折叠 as a first column under an empty header, with no warning. A table whose row
    labels stand under an empty corner (a cross table) fills every one of them."""
    if table_shape(cells) is None or len(cells[0]) < MIN_COLUMNS + 1:
        return False
    header = cells[0]
    for column, inner in ((0, header[1:]), (len(header) - 1, header[:-1])):
        body = [row[column] for row in cells[1:]]
        if not header[column] and all(inner) and any(body) and not all(body):
            return True
    return False


def _counts_up(numbers: Sequence[int]) -> bool:
    """Whether ``numbers`` number rows: from 0 or 1, up by one."""
    return numbers[:1] in ([0], [1]) and all(b - a == 1 for a, b in itertools.pairwise(numbers))


def _mark(char: str) -> bool:
    """A punctuation mark or symbol: a cell of nothing else is a misread value ('。' for
    a lone 6 on seed 7), or a speck, never a value printed in a table."""
    return unicodedata.category(char)[0] in "PS"


# A cell holding a character the recogniser gave less certainty than this may be misread
# (the ID card's bar, ``UNSURE_BELOW``). On seeds 7 and 8 (300 generated photos) it
# flagged 17 of the 22 tables read with a wrong cell and the right shape, and 7 of the
# 278 read right.
UNSURE_CELL = 0.8


def unsure(grid: Grid) -> bool:
    """Whether a cell of the table holds a character the recogniser was unsure of: the
    answer then carries ``low_confidence``, and the reply asks to check it."""
    return any(c < UNSURE_CELL for row in grid.certainty for c in row)


# An amount grouped by thousands with one of its commas read as a dot ('52.442.64'): a
# number has one decimal point, so every dot but the last one is a comma.
MISREAD_GROUPING = re.compile(r"\d{1,3}(?:[.,]\d{3})+\.\d{2}")
# ... and its decimal point read as a comma ('52,795,43'): a group of two digits after
# groups of three is the cents.
MISREAD_POINT = re.compile(r"\d{1,3}(?:,\d{3})+,\d{2}")


def grouped_amount(cell: str) -> str:
    """The cell with the commas of a thousands-grouped amount put back where the
    recogniser read them as dots (two decimal points cannot both be right), and its
    decimal point where it read a comma (a thousands group has three digits)."""
    if MISREAD_POINT.fullmatch(cell):
        whole, cents = cell.rsplit(",", 1)
        return whole + "." + cents
    if cell.count(".") < 2 or not MISREAD_GROUPING.fullmatch(cell):
        return cell
    whole, cents = cell.rsplit(".", 1)
    return whole.replace(".", ",") + "." + cents


def table_view(view: CardView) -> CardView:
    """The page seen the way its boxes read, decided for the page as a whole.

    The view handed in is the one whose printed landmarks come in some kind's order; a
    table has none, and cell text can happen to match a card's order upside down. The
    angle classifier's direction of every box of two characters or more votes instead
    (a one-character box is square: its cut says nothing); of the four quarter turns the
    one most of them read along wins, its axis fitted on the boxes reading that way. In
    that frame a long box reading across it is text on another sheet (a note lying
    crosswise on the desk) and is left out.
    """
    page = view.page
    if len(page.directions) != len(page.boxes):
        return view
    voters = [
        (box, direction)
        for box, direction in zip(page.boxes, page.directions, strict=True)
        if len(box.text) >= 2
    ]
    if not voters:
        return view
    turns = [view.frame.turned(q) for q in range(4)]
    frame = max(turns, key=lambda f: (_agreeing(f, voters), -turns.index(f)))
    if frame != view.frame:
        along = [box for box, d in voters if reads_along(frame, d)]
        axis = estimate_axis(along)
        # The fitted axis, pointing the way the voters read.
        fitted = Frame(normalise_angle(axis))
        if math.cos(fitted.angle - frame.angle) < 0:
            fitted = fitted.flipped()
        frame = fitted if math.cos(fitted.angle - frame.angle) > CROSSWISE else frame
    keep = [i for i, box in enumerate(page.boxes) if not _crosswise(frame, box)]
    if frame == view.frame and len(keep) == len(page.boxes):
        return view
    boxes = [page.boxes[i] for i in keep]
    directions = [page.directions[i] for i in keep]
    return CardView.of(OcrPage(page.image, boxes, directions), frame)


def within_rules(view: CardView) -> tuple[CardView, Rulings]:
    """The view without the boxes beyond the table's horizontal rules, and the page's
    ruling lines.

    Text on a note or receipt beside the sheet can line up with the table's rows; it
    then joined an outer cell ('茶叶请勿折叠'), made a column of its own, or split the
    rows into two runs so that the header was lost. Where the rules (or the sheet's top
    and bottom edges) show how far the table reaches (``ruled_span``), what lies beyond
    is left out before the rows are found.
    """
    rulings = find_rulings(view.page.image, view.frame, view.placed)
    span = ruled_span(rulings, view.placed)
    if span is None:
        return view, rulings
    height = statistics.median(b.height for b in view.placed)
    page = view.page
    keep = [i for i, box in enumerate(view.placed) if not off_span(span, box, height)]
    if len(keep) == len(page.boxes):
        return view, rulings
    whole = len(page.directions) == len(page.boxes)
    directions = [page.directions[i] for i in keep] if whole else []
    boxes = [page.boxes[i] for i in keep]
    return CardView.of(OcrPage(page.image, boxes, directions), view.frame), rulings


# An axis within 45 degrees of a frame's runs along it.
CROSSWISE = ALONG
# A box of two characters or more at least this many times taller than long in a frame
# reads across it (a two-character cell is about twice as long as tall the right way).
CROSSWISE_ELONGATION = 1.5


def _agreeing(frame: Frame, voters: Sequence[tuple[TextBox, tuple[float, float]]]) -> int:
    return sum(reads_along(frame, direction) for _, direction in voters)


def _crosswise(frame: Frame, box: TextBox) -> bool:
    """Whether a box of several characters runs across the frame (printed the other way)."""
    if len(box.text) < 2:
        return False
    card = [frame.to_card(x, y) for x, y in box.points]
    along = max(u for u, _ in card) - min(u for u, _ in card)
    across = max(v for _, v in card) - min(v for _, v in card)
    return across >= CROSSWISE_ELONGATION * along


def with_missed_columns(view: CardView, lines: Sequence[Line], reader: LineReader) -> list[Line]:
    """The lines with the boxes of an outer column the detector missed, read in its band.

    The detector can miss a whole column of lone digits (序号 1-9), or join its header to
    the next one ('序号日期'); the table's outline (its widest line, often the header)
    then reaches past the rows' outer boxes. Where most rows leave room for a cell
    there, the band is cut out on each such row and read; when most of them read surely,
    the readings join their rows as boxes (the column's header, joined to its
    neighbour, is then cut at the new boundary by ``build_grid``).
    """
    boxes = [b for line in lines for b in line.boxes]
    height = statistics.median(b.height for b in boxes)
    outline = (min(b.u0 for b in boxes), max(b.u1 for b in boxes))
    rows = list(lines)
    for side in (0, 1):
        bands: list[tuple[int, PlacedBox]] = []
        for index, line in enumerate(rows):
            if side == 0:
                u0, u1 = outline[0], line.u0 - BAND_GAP * height
            else:
                u0, u1 = line.u1 + BAND_GAP * height, outline[1]
            if u1 - u0 >= MISSED_COLUMN_HEIGHTS * height:
                band = PlacedBox(TextBox((), "", 0.0), u0, u1, line.cv, line.height)
                bands.append((index, band))
        if len(bands) < max(MIN_ROWS, MIN_FILL * len(rows)):
            continue
        crops = [view.cut(band, pad=SECOND_LOOK_PAD) for _, band in bands]
        readings = read_variants(reader, crops, _sure)
        found = []
        for (index, band), tried in zip(bands, readings, strict=True):
            sure = [(score, text) for text, score in tried if _sure(index, text, score)]
            if sure:
                found.append((index, band, *max(sure)))
        if len(found) < MIN_FILL * len(bands):
            continue
        for index, band, score, text in found:
            box = PlacedBox(TextBox((), text, score), band.u0, band.u1, band.cv, band.height)
            rows[index] = Line(tuple(sorted((*rows[index].boxes, box), key=lambda b: b.u0)))
    return rows


def _sure(index: int, text: str, score: float) -> bool:
    del index
    return bool(text) and score >= SECOND_LOOK_SCORE


# A band at least this many text heights wide between a row's outer box and the table's
# outline has room for a cell (a lone digit and the gap to its neighbour: 1.5).
MISSED_COLUMN_HEIGHTS = 1.5
# A missed cell's band stops this many text heights short of its row's outer box.
BAND_GAP = 0.3


def second_look(
    view: CardView, reader: LineReader, regions: Sequence[CellRegion], cells: list[list[str]]
) -> None:
    """Read again, cut out on their own, the cells that came out empty: the detector
    misses a lone digit or a short word beside a rule. Each cell is read as it is, and
    only when that gives no sure reading equalised and binarised too (``read_variants``);
    the surest sure reading is kept."""
    # Only the empty ones: on seeds 1502 and 1503 and the committed tables, 706 cells
    # read unsurely or short for their box were looked at again and none came out
    # better (3 worse: a neighbour's digit read into the cell), while 11 of 17 empty
    # cells were read right (3 wrongly). Each look costs one to three recognitions.
    regions = [region for region in regions if not cells[region.row][region.column]]
    if not regions:
        return
    crops: list[BGRImage] = []
    for region in regions:
        # Inset from the boundaries, so that a ruling line or a neighbour's character
        # is not read into the cell.
        inset = SECOND_LOOK_INSET * region.height
        box = PlacedBox(
            TextBox((), "", 0.0), region.u0 + inset, region.u1 - inset, region.cv, region.height
        )
        crops.append(view.cut(box, pad=SECOND_LOOK_PAD))

    for index, tried in enumerate(read_variants(reader, crops, _sure)):
        region = regions[index]
        # The column's header read in a cell of its own is the header's ink caught by
        # the crop of the empty cell under it (seed 8's photo 108: '序号' over '1').
        header = cells[0][region.column] if region.row > 0 else ""
        taken = [
            (score, text)
            for text, score in tried
            if _sure(index, text, score) and not (header and text == header)
        ]
        if taken:
            cells[region.row][region.column] = max(taken)[1]


def read_variants(
    reader: LineReader, crops: Sequence[BGRImage], acceptable: Callable[[int, str, float], bool]
) -> list[list[tuple[str, float]]]:
    """Each crop's readings, trimmed: as it is, then, only for the crops whose reading is
    not ``acceptable``, equalised and binarised (``crop_variants``: each fools the
    recogniser differently). Reading every variant of every crop cost two thirds of the
    second looks' time for the few cells that only a variant reads."""
    tried = [[(_trimmed(text), score)] for text, score in reader(crops)]
    again = [
        index
        for index, readings in enumerate(tried)
        if not any(acceptable(index, text, score) for text, score in readings)
    ]
    if again:
        variants = [variant for index in again for variant in crop_variants(crops[index])[1:]]
        more = reader(variants)
        per_crop = len(more) // len(again)
        for k, index in enumerate(again):
            tried[index] += [(_trimmed(t), s) for t, s in more[k * per_crop : (k + 1) * per_crop]]
    return tried


def _trimmed(text: str) -> str:
    """A reading without the symbols a ruling line or a speck is read as at its ends (a
    rule under a lone digit reads as an underscore: '_9')."""
    return text.strip().strip("|丨[]_").strip(SYMBOLS).strip()


def _no_fields(result: CardResult) -> tuple[str, ...]:
    del result
    return ()


KIND = DocumentKind(
    name=NAME,
    title="表格",
    thing="表格",
    moot_warnings=ORIGINAL_ONLY_WARNINGS,
    words=("表格", "table", "表格识别"),
    labels=(),
    mask_rules={},
    score=score,
    read=read,
    complete_fields=_no_fields,
    required_fields=_no_fields,
    structural=True,
)
