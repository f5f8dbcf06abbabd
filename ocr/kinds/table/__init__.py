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

from ocr.documents import table_shape
from ocr.engine import CardResult
from ocr.errors import NoCardFound
from ocr.kinds.base import DocumentKind
from ocr.kinds.table.structure import (
    MIN_COLUMNS,
    MIN_ROWS,
    build_grid,
    find_rulings,
    lattice_rows,
    table_lines,
)
from ocr.layout import CardView, LineReader

NAME = "table"
# What a lattice of MIN_ROWS x MIN_COLUMNS aligned cells scores: more than a page of
# running text's best landmark count. Each row beyond it adds one.
LATTICE_SCORE = 3


def score(view: CardView) -> int:
    """A structural score: rows of at least two aligned columns (0 below three of them).

    An ID card's label column and value column look like a small table, so a lattice
    scores only from MIN_ROWS rows on and grows by one per row: a card's own landmarks
    outnumber it there (README, "Document kinds of issue 15: figures").
    """
    rows = lattice_rows(view.lines)
    return LATTICE_SCORE + rows - MIN_ROWS if rows >= MIN_ROWS else 0


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    del reader
    lines = table_lines(view.lines)
    if len(lines) < MIN_ROWS:
        raise NoCardFound("no table: fewer than three rows of two cells")
    boxes = [box for line in lines for box in line.boxes]
    rulings = find_rulings(view.page.image, view.frame, boxes)
    grid = build_grid(lines, rulings)
    if grid is None:
        raise NoCardFound(f"no table of {MIN_ROWS} rows and {MIN_COLUMNS} columns")
    checks = {"table_shape": table_shape(grid.cells) is not None}
    return CardResult(NAME, {}, checks, cells=grid.cells)


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
