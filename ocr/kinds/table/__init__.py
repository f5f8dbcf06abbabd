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

import unicodedata
from collections.abc import Sequence

from ocr.documents import table_shape
from ocr.engine import CardResult, TextBox
from ocr.errors import NoCardFound
from ocr.image import BGRImage
from ocr.kinds.base import DocumentKind
from ocr.kinds.table.structure import (
    MIN_COLUMNS,
    MIN_ROWS,
    CellRegion,
    build_grid,
    find_rulings,
    lattice_rows,
    table_lines,
)
from ocr.layout import CardView, LineReader, PlacedBox, crop_variants, righted

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
# A first reading less sure than this gives way to a second one at least this sure.
UNSURE_SCORE = 0.7
SURE_SECOND_LOOK = 0.9


def score(view: CardView) -> int:
    """A structural score: rows of at least two aligned columns (0 below three of them).

    An ID card's label column and value column look like a small table, so a lattice
    scores only from MIN_ROWS rows on and grows by one per row: a card's own landmarks
    outnumber it there (README, "Document kinds of issue 15: passport, business card, printed
    text, table").
    """
    rows = lattice_rows(view.lines)
    return LATTICE_SCORE + rows - MIN_ROWS if rows >= MIN_ROWS else 0


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    if reader is not None:
        view = righted(view, reader, SECOND_LOOK_SCORE)
    lines = table_lines(view.lines)
    if len(lines) < MIN_ROWS:
        raise NoCardFound("no table: fewer than three rows of two cells")
    boxes = [box for line in lines for box in line.boxes]
    rulings = find_rulings(view.page.image, view.frame, boxes)
    grid = build_grid(lines, rulings)
    if grid is None:
        raise NoCardFound(f"no table of {MIN_ROWS} rows and {MIN_COLUMNS} columns")
    cells = [list(row) for row in grid.cells]
    if reader is not None:
        second_look(view, reader, grid.doubtful, cells)
    checks = {"table_shape": table_shape(cells) is not None}
    return CardResult(NAME, {}, checks, cells=cells)


def second_look(
    view: CardView, reader: LineReader, regions: Sequence[CellRegion], cells: list[list[str]]
) -> None:
    """Read again, cut out on their own, the cells that came out empty or unsure: the
    detector misses a lone digit or a short word beside a rule, and the recogniser loses
    characters of a word. Each cell is read as it is, equalised and binarised
    (``crop_variants``); the surest acceptable reading is kept (``_better``)."""
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
        crops += crop_variants(view.cut(box, pad=SECOND_LOOK_PAD))
    readings = reader(crops)
    per_region = len(readings) // len(regions)
    for index, region in enumerate(regions):
        before = cells[region.row][region.column]
        tried = readings[index * per_region : (index + 1) * per_region]
        taken = [
            (score, text)
            for text, score in ((_trimmed(text), score) for text, score in tried)
            if text and score >= SECOND_LOOK_SCORE and _better(before, region.score, text, score)
        ]
        if taken:
            cells[region.row][region.column] = max(taken)[1]


def _trimmed(text: str) -> str:
    """A reading without the symbols a ruling line or a speck is read as at its ends."""
    return text.strip().strip("|丨[]").strip(SYMBOLS).strip()


def _better(before: str, before_score: float, text: str, score: float) -> bool:
    """An empty cell takes any sure reading; a read one a longer reading that holds it
    (characters the detector cut off), or a sure one where the first was unsure."""
    if not before:
        return True
    if before in text and len(text) > len(before):
        return True
    return before_score < UNSURE_SCORE and score >= SURE_SECOND_LOOK


def _no_fields(result: CardResult) -> tuple[str, ...]:
    del result
    return ()


KIND = DocumentKind(
    name=NAME,
    title="表格",
    thing="表格",
    words=("表格", "table", "表格识别"),
    labels=(),
    mask_rules={},
    score=score,
    read=read,
    complete_fields=_no_fields,
    required_fields=_no_fields,
)
