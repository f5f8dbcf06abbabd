"""Printed pages: paragraphs of text (one or two columns, Chinese mixed with English words
and numbers) and tables (fully ruled, three-line, or unruled with aligned columns).

A phone photo of a page shows a part of it, so a "page" here is a block of 80-170 mm:
big enough to hold a few paragraphs, small enough that its text stays readable at the
sizes WeChat passes photos on. Labels: ``text`` holds the lines in reading order (the
left column top to bottom, then the right), ``cells`` the table's rows of cells.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from faker import Faker
from PIL import Image, ImageFont

from tests.cardgen.fonts import Face, FontSet
from tests.cardgen.noise import smooth_noise
from tests.cardgen.render import Canvas, _jitter, _pick_face

# Words that mixed Chinese text carries: product names, units, abbreviations, numbers.
LATIN_WORDS = (
    "AI", "GDP", "CPU", "iPhone", "Python", "WiFi", "5G", "App", "API", "USB", "PDF",
    "Excel", "WeChat", "GPS", "CEO", "HTTP", "Linux", "OCR", "LED", "DNA", "ISO", "PM2.5",
)  # fmt: skip
PUNCTUATION = "，，，、；"
PAGE_MARGIN_MM = 6.0


@dataclass(frozen=True)
class Page:
    """Printed text, already broken into lines the way it is set on the page."""

    title: str
    columns: tuple[tuple[str, ...], ...]  # each column's lines, top to bottom
    first_lines: frozenset[tuple[int, int]]  # (column, line) that open a paragraph
    width_mm: float
    height_mm: float
    size_mm: float
    face: Face

    @property
    def lines(self) -> list[str]:
        title = [self.title] if self.title else []
        return title + [line for column in self.columns for line in column]

    def expected(self) -> dict[str, str]:
        return {"text": "\n".join(self.lines)}


def _number(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return f"{rng.randint(1990, 2026)}年"
    if roll < 0.5:
        return f"{rng.uniform(0.1, 99.9):.1f}%"
    if roll < 0.7:
        return f"{rng.randint(2, 9999)}"
    if roll < 0.85:
        return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
    return f"{rng.randint(10, 999)}万元"


def _sentence(rng: random.Random, fake: Faker, english_share: float) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(2, 4)):
        words = [str(w) for w in fake.words(rng.randint(2, 5))]
        for i in range(len(words)):
            roll = rng.random()
            if roll < english_share:
                words[i] = rng.choice(LATIN_WORDS)
            elif roll < english_share * 2:
                words[i] = _number(rng)
        parts.append(_join(words))
    return _join([p + rng.choice(PUNCTUATION) for p in parts[:-1]] + [parts[-1]]) + "。"


def _join(tokens: list[str]) -> str:
    """Tokens run together as Chinese does, with a space only between two Latin words."""
    text = ""
    for token in tokens:
        if text and text[-1].isascii() and text[-1].isalnum() and token[:1].isascii():
            text += " "
        text += token
    return text


def _tokens(text: str) -> list[str]:
    """Units a line may break between: each CJK character, each Latin word with its space."""
    tokens: list[str] = []
    for char in text:
        latin_run = (
            char.isascii() and char != " " and tokens[-1][-1:].isascii() if tokens else False
        )
        if tokens and (char == " " or (latin_run and tokens[-1][-1:] != " ")):
            tokens[-1] += char
        else:
            tokens.append(char)
    return tokens


def break_lines(
    canvas: Canvas, text: str, font: ImageFont.FreeTypeFont, width_mm: float, indent_mm: float
) -> list[str]:
    """A paragraph broken to ``width_mm``, the first line indented, no line opening with
    closing punctuation (as Chinese typesetting does, a comma hangs at the line's end)."""
    lines: list[str] = []
    current = ""
    limit = width_mm - indent_mm
    for token in _tokens(text):
        if current and canvas.width_mm((current + token).rstrip(), font) > limit:
            if token in "，。、；：！？）" and len(token) == 1:
                current += token
                continue
            lines.append(current.rstrip())
            current = ""
            limit = width_mm
        current += token
    if current.strip():
        lines.append(current.rstrip())
    return lines


def make_page(rng: random.Random, fake: Faker, fonts: FontSet, width: int) -> Page:
    """Paragraphs set into one or two columns, broken into lines at the scale that
    ``render_page`` with the same ``width`` (pixels) draws them."""
    fake.seed_instance(rng.getrandbits(32))
    two_columns = rng.random() < 0.35
    width_mm = rng.uniform(130.0, 170.0) if two_columns else rng.uniform(90.0, 150.0)
    size_mm = rng.uniform(3.2, 4.2)
    style = rng.choice(("song", "song", "hei", "kai"))
    face = _pick_face(
        rng, fonts.cjk, "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就", style
    )
    gutter = 6.0
    column_mm = (width_mm - gutter) / 2 if two_columns else width_mm
    probe = Canvas(width, Image.new("RGB", (8, 8)), width_mm + 2 * PAGE_MARGIN_MM)
    font = probe.font(face, size_mm)
    english_share = rng.choice((0.0, 0.05, 0.12))
    per_column = rng.randint(7, 12) if two_columns else rng.randint(6, 14)
    columns: list[tuple[str, ...]] = []
    first: set[tuple[int, int]] = set()
    for column in range(2 if two_columns else 1):
        lines: list[str] = []
        while len(lines) < per_column:
            paragraph = "".join(
                _sentence(rng, fake, english_share) for _ in range(rng.randint(1, 3))
            )
            first.add((column, len(lines)))
            lines += break_lines(probe, paragraph, font, column_mm, 2 * size_mm)
        columns.append(tuple(lines[:per_column]))
    title = _join([str(w) for w in fake.words(rng.randint(2, 4))]) if rng.random() < 0.5 else ""
    line_mm = size_mm * rng.uniform(1.45, 1.8)
    height_mm = 12.0 + (8.0 if title else 0.0) + per_column * line_mm
    return Page(title, tuple(columns), frozenset(first), width_mm, height_mm, size_mm, face)


def _paper(rng: random.Random, np_rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    base = np.array(_jitter(rng, rng.choice(((250, 250, 247), (245, 242, 232))), 5), np.float32)
    grain = smooth_noise(np_rng, size, size[0] // 8)[..., None] * 5 - 2.5
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8), "RGB")


def render_page(
    page: Page, rng: random.Random, np_rng: np.random.Generator, width: int
) -> Image.Image:
    width_mm = page.width_mm + 2 * PAGE_MARGIN_MM
    height = round(width * page.height_mm / width_mm) + round(width * 6.0 / width_mm)
    canvas = Canvas(width, _paper(rng, np_rng, (width, height)), width_mm)
    ink = (*_jitter(rng, (25, 25, 28), 10), 255)
    font = canvas.font(page.face, page.size_mm)
    line_mm = (page.height_mm - 12.0 - (8.0 if page.title else 0.0)) / max(
        1, max(len(c) for c in page.columns)
    )
    top = PAGE_MARGIN_MM + page.size_mm
    if page.title:
        title_font = canvas.font(page.face, page.size_mm * 1.35)
        title_w = canvas.width_mm(page.title, title_font)
        canvas.text(PAGE_MARGIN_MM + (page.width_mm - title_w) / 2, top + 1.0, page.title,
                    title_font, ink)  # fmt: skip
        top += 8.0 + page.size_mm * 0.35
    column_mm = (page.width_mm - 6.0) / 2 if len(page.columns) == 2 else page.width_mm
    for c, lines in enumerate(page.columns):
        left = PAGE_MARGIN_MM + c * (column_mm + 6.0)
        for i, line in enumerate(lines):
            indent = 2 * page.size_mm if (c, i) in page.first_lines else 0.0
            canvas.text(left + indent, top + i * line_mm, line, font, ink)
    return canvas.image


# Tables ---------------------------------------------------------------------------------

TABLE_STYLES = ("ruled", "three_line", "unruled")
PRODUCTS = ("苹果", "香蕉", "办公椅", "打印纸", "显示器", "键盘", "茶叶", "大米", "食用油", "U盘")
UNITS = ("箱", "件", "台", "包", "kg", "个")


@dataclass(frozen=True)
class Table:
    caption: str
    cells: tuple[tuple[str, ...], ...]  # the header row first
    style: str

    def expected(self) -> dict[str, list[list[str]]]:
        return {"cells": [list(row) for row in self.cells]}


def _column(rng: random.Random, fake: Faker, rows: int) -> tuple[str, list[str]]:
    """A header and ``rows`` values of one kind: names, cities, amounts, dates, counts."""
    kind = rng.choice(("name", "city", "product", "amount", "date", "count", "phone", "unit"))
    if kind == "name":
        return rng.choice(("姓名", "负责人", "联系人")), [str(fake.name()) for _ in range(rows)]
    if kind == "city":
        return rng.choice(("城市", "地区")), [str(fake.city_name()) for _ in range(rows)]
    if kind == "product":
        return rng.choice(("品名", "项目", "商品")), [rng.choice(PRODUCTS) for _ in range(rows)]
    if kind == "amount":
        values = [f"{rng.uniform(1, 99999):,.2f}" for _ in range(rows)]
        return rng.choice(("金额(元)", "单价", "合计")), values
    if kind == "date":
        return "日期", [
            f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(rows)
        ]
    if kind == "phone":
        return "电话", [
            f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}" for _ in range(rows)
        ]
    if kind == "unit":
        return "单位", [rng.choice(UNITS) for _ in range(rows)]
    return rng.choice(("数量", "人数", "库存")), [str(rng.randint(0, 999)) for _ in range(rows)]


def make_table(rng: random.Random, fake: Faker) -> Table:
    fake.seed_instance(rng.getrandbits(32))
    rows = rng.randint(3, 9)
    columns = [_column(rng, fake, rows) for _ in range(rng.randint(2, 5))]
    if rng.random() < 0.6:
        columns.insert(0, ("序号", [str(i + 1) for i in range(rows)]))
    header = tuple(h for h, _ in columns)
    body = [tuple(values[r] for _, values in columns) for r in range(rows)]
    caption = rng.choice(("", "", "统计表", "采购清单", "人员名单", f"{rng.randint(1, 12)}月报表"))
    return Table(caption, (header, *body), rng.choice(TABLE_STYLES))


def render_table(
    table: Table,
    fonts: FontSet,
    rng: random.Random,
    np_rng: np.random.Generator,
    width: int,
) -> Image.Image:
    text = "".join("".join(row) for row in table.cells) + table.caption
    face = _pick_face(rng, fonts.cjk, text, rng.choice(("song", "hei")))
    size_mm = rng.uniform(3.0, 3.8)
    pad = size_mm * 0.9
    # Column widths from the widest cell, measured on a probe canvas at the final scale.
    probe_mm = 200.0
    probe = Canvas(round(width * probe_mm / 150.0), Image.new("RGB", (8, 8)), probe_mm)
    font = probe.font(face, size_mm)
    widths = [
        max(probe.width_mm(row[c], font) for row in table.cells) + 2 * pad
        for c in range(len(table.cells[0]))
    ]
    if table.style == "unruled":
        widths = [w + size_mm * 1.5 for w in widths]
    row_mm = size_mm * rng.uniform(1.9, 2.4)
    table_w = sum(widths)
    margin = 6.0
    width_mm = table_w + 2 * margin
    caption_mm = 8.0 if table.caption else 0.0
    height_mm = caption_mm + row_mm * len(table.cells) + 2 * margin
    height = round(width * height_mm / width_mm)
    canvas = Canvas(width, _paper(rng, np_rng, (width, height)), width_mm)
    ink = (*_jitter(rng, (25, 25, 28), 10), 255)
    font = canvas.font(face, size_mm)
    bold = canvas.font(_pick_face(rng, fonts.cjk, "".join(table.cells[0]), "hei"), size_mm)
    top = margin + caption_mm
    if table.caption:
        w = canvas.width_mm(table.caption, bold)
        canvas.text(margin + (table_w - w) / 2, margin + size_mm, table.caption, bold, ink)
    xs = [margin + sum(widths[:c]) for c in range(len(widths) + 1)]
    numeric = [
        all(row[c].replace(",", "").replace(".", "").isdigit() for row in table.cells[1:])
        for c in range(len(widths))
    ]
    for r, row in enumerate(table.cells):
        baseline = top + r * row_mm + row_mm * 0.68
        for c, cell in enumerate(row):
            cell_font = bold if r == 0 else font
            w = canvas.width_mm(cell, cell_font)
            x = xs[c + 1] - pad - w if numeric[c] and r > 0 else xs[c] + pad
            canvas.text(x, baseline, cell, cell_font, ink)
    line = max(1, canvas.px(0.25))
    bottom = top + row_mm * len(table.cells)

    def hline(y_mm: float, weight: int = line) -> None:
        y = canvas.px(y_mm)
        canvas.draw.line((canvas.px(xs[0]), y, canvas.px(xs[-1]), y), fill=ink, width=weight)

    if table.style == "ruled":
        for r in range(len(table.cells) + 1):
            hline(top + r * row_mm)
        for x in xs:
            canvas.draw.line((canvas.px(x), canvas.px(top), canvas.px(x), canvas.px(bottom)),
                             fill=ink, width=line)  # fmt: skip
    elif table.style == "three_line":
        hline(top, line * 2)
        hline(top + row_mm)
        hline(bottom, line * 2)
    return canvas.image
