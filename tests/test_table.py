"""The table kind (issue 15): rows and columns from text boxes and ruling lines, the cells
masked as free text, the reply (one line per row), ``scan --csv`` and ``--json``, auto
detection, and the chain engine keeping a table away from WeChat (no table route)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from bot.chat.replies import card_result
from bot.cli import app as cli_app
from bot.wxapi.ocr_engine import WechatEngine
from ocr.detect import kind_scores, read_card, upright_view
from ocr.engine import AUTO, CardResult, ChainEngine, TextBox
from ocr.errors import EngineUnavailable, NoCardFound
from ocr.image import BGRImage
from ocr.kinds.table import KIND, second_look, with_row_numbers
from ocr.kinds.table.structure import (
    CellRegion,
    breaks_near,
    build_grid,
    find_rulings,
    split_box,
    table_lines,
)
from ocr.layout import CardView, Frame, OcrPage, PlacedBox
from ocr.local import LocalEngine, OcrSettings, RapidReader
from tests.card_boxes import Printed, card_boxes, to_box
from tests.kind_helpers import committed_samples, wechat_never_asked

# A valid resident ID number and a Luhn-valid 19-digit card number (made up).
ID_NUMBER = "11010519491231002X"
CARD_NUMBER = "6222021234567890128"


def page(*printed: Printed, degrees: float = 0.0, image: np.ndarray | None = None) -> OcrPage:
    blank = np.full((8, 8, 3), 255, dtype=np.uint8) if image is None else image
    return OcrPage(blank, card_boxes(printed, degrees))


def lattice(rows: list[list[str]], x0: float = 100, y0: float = 100) -> list[Printed]:
    """Cells laid out as a table prints them: columns 420 apart, rows 70 apart."""
    return [
        Printed(text, x0 + 420 * c, y0 + 70 * r)
        for r, row in enumerate(rows)
        for c, text in enumerate(row)
        if text
    ]


ROWS = [
    ["日期", "商品", "地区"],
    ["2026-10-11", "苹果", "海口"],
    ["2026-06-23", "显示器", "昆明"],
    ["2026-11-23", "打印纸", "福州"],
]


def test_unruled_boxes_make_rows_and_columns_in_any_order() -> None:
    result = read_card(page(*lattice(ROWS)), "table")
    assert result.kind == "table"
    assert result.cells == ROWS
    assert result.fields == {}
    assert result.checks == {"table_shape": True}


@pytest.mark.parametrize("degrees", [0.0, 7.0, 90.0, 180.0, -90.0])
def test_a_turned_or_tilted_table_reads_the_same(degrees: float) -> None:
    boxes = card_boxes(lattice(ROWS), degrees, shuffle_seed=3)
    # The photo's direction as the angle classifier reports it: each box reads along
    # the turned x axis.
    import math

    along = (math.cos(math.radians(degrees)), math.sin(math.radians(degrees)))
    turned = OcrPage(np.full((8, 8, 3), 255, np.uint8), boxes, [along] * len(boxes))
    assert read_card(turned, "table").cells == ROWS


def test_caption_above_and_clutter_beside_the_page_are_not_cells() -> None:
    printed = [
        Printed("采购清单", 300, 20),  # the caption, centred above the table
        *lattice(ROWS),
        Printed("谢谢惠顾", 1500, 240),  # a receipt on the desk, level with one row
    ]
    assert read_card(page(*printed), "table").cells == ROWS


def test_a_cell_read_unsurely_flags_the_table_and_a_sure_one_does_not() -> None:
    """A character the recogniser gave under 0.8 ('打Ep纸', '唯' for U盘 on seed 7) makes
    the answer ``low_confidence``, as an ID card's name does; the cells are kept."""
    boxes = card_boxes(lattice(ROWS))
    sure = read_card(OcrPage(np.full((8, 8, 3), 255, np.uint8), boxes), "table")
    assert sure.cells == ROWS and "low_confidence" not in sure.warnings
    at = next(i for i, box in enumerate(boxes) if box.text == "显示器")
    boxes[at] = replace(boxes[at], certainties=(0.99, 0.62, 0.97))
    unsure = read_card(OcrPage(np.full((8, 8, 3), 255, np.uint8), boxes), "table")
    assert unsure.cells == ROWS and "low_confidence" in unsure.warnings


NUMBERED = [
    ["序号", "商品"],
    ["1", "苹果"],
    ["2", "香蕉"],
    ["3", "大米"],
    ["4", "茶叶"],
    ["5", "U盘"],
]


@pytest.mark.parametrize(
    ("read", "overruled"),
    [("。", False), ("I", False), ("", False), ("谢谢惠3", False), ("8", True)],
)
def test_the_odd_cell_of_a_row_numbering_column_is_its_rows_number(
    read: str, overruled: bool
) -> None:
    # Seeds 7, 9 and 21: '。' and 'I' for a lone digit, an empty cell, a note's words read
    # into the cell, '1' read for 7 (the last said as a doubt).
    cells = [row[:] for row in NUMBERED]
    cells[3][0] = read
    assert with_row_numbers(cells) == (NUMBERED, overruled)


@pytest.mark.parametrize(
    "column",
    [
        ["1", "2", "x", "y", "5"],  # two odd cells
        ["1", "2", "3", "4", ""],  # the last row empty: a total's, perhaps
        ["1", "2", "3", "74", "5"],  # another number, longer
        ["1", "2", "45元", "4", "5"],  # another number among other text
        ["3", "9", "12", "14", "5"],  # no numbering
    ],
)
def test_a_column_that_does_not_number_its_rows_is_left_alone(column: list[str]) -> None:
    cells = [NUMBERED[0], *([n, row[1]] for n, row in zip(column, NUMBERED[1:], strict=True))]
    assert with_row_numbers(cells) == (cells, False)


def test_a_row_number_put_right_is_answered() -> None:
    rows = [row[:] for row in NUMBERED]
    rows[2][0] = "。"
    result = read_card(page(*lattice(rows)), "table")
    assert result.cells == NUMBERED
    assert "low_confidence" not in result.warnings


def test_a_cell_of_two_boxes_far_apart_on_its_line_flags_the_table() -> None:
    # Blind seed 21's photo 21: a note's '谢谢惠' read into the 序号 cell '2' beside it;
    # photo 30: a unit '包' under a header the detector joined, read into the '2' cell.
    printed = lattice(ROWS)
    at = next(i for i, p in enumerate(printed) if p.text == "苹果")
    near = [*printed, Printed("汁", 520 + 2 * 34 + 10, 170)]
    far = [*printed, Printed("汁", 520 + 2 * 34 + 60, 170)]
    assert printed[at].x == 520
    close = read_card(page(*near), "table")
    assert close.cells is not None and close.cells[1][1] == "苹果汁"
    assert "low_confidence" not in close.warnings
    apart = read_card(page(*far), "table")
    assert apart.cells is not None and apart.cells[1][1] == "苹果汁"
    assert "low_confidence" in apart.warnings


def scored(box: TextBox) -> TextBox:
    """The box with a certainty per character, as the local engine reads it."""
    return replace(box, certainties=(0.99,) * len(box.text))


def test_a_chinese_box_wider_than_its_reading_flags_the_table() -> None:
    # Blind seed 21's photo 70: '茶叶' read as '茶' alone, sure, its box 1.5 times its
    # reading: a character was left unread.
    def with_apple(char_width: float) -> CardResult:
        printed = [
            Printed("苹", p.x, p.y, char_width=char_width) if p.text == "苹果" else p
            for p in lattice(ROWS)
        ]
        return read_card(OcrPage(page().image, [scored(b) for b in card_boxes(printed)]), "table")

    fits = with_apple(38)
    assert fits.cells is not None and fits.cells[1][1] == "苹"
    assert "low_confidence" not in fits.warnings
    assert "low_confidence" in with_apple(2 * 34).warnings


def test_a_piece_cut_from_a_joined_box_is_not_measured_for_unread_characters() -> None:
    # Seed 7's photo 149: '7 个' read as one box and cut at the column's boundary; the
    # piece '个' reaches from the boundary across the gap, 2.8 heights for one character.
    printed = [p for p in lattice(ROWS) if p.text not in ("2026-10-11", "苹果")]
    joined = Printed("2026-10-11" + " " * 10 + "苹", 100, 170, char_width=23)
    boxes = [scored(b) for b in card_boxes([*printed, joined])]
    result = read_card(OcrPage(page().image, boxes), "table")
    assert result.cells is not None and result.cells[1][:2] == ["2026-10-11", "苹"]
    assert "low_confidence" not in result.warnings


def test_an_empty_cell_stays_in_its_column() -> None:
    rows = [row[:] for row in ROWS]
    rows[2][1] = ""
    assert read_card(page(*lattice(rows)), "table").cells == rows


def test_right_aligned_numbers_under_a_left_aligned_header_stay_one_column() -> None:
    """A numeric column is set flush right under a header set flush left: the header
    and its values need not overlap along the line."""
    printed = [
        Printed("序号", 100, 100),
        Printed("姓名", 300, 100),
        *[Printed(str(n), 220, 100 + 70 * n) for n in range(1, 5)],
        *[
            Printed(name, 300, 100 + 70 * n)
            for n, name in enumerate(["李明", "王芳", "张伟", "刘洋"], 1)
        ],
    ]
    cells = read_card(page(*printed), "table").cells
    assert cells == [["序号", "姓名"], ["1", "李明"], ["2", "王芳"], ["3", "张伟"], ["4", "刘洋"]]


def test_a_box_joining_two_cells_is_cut_at_the_column_boundary() -> None:
    printed = lattice(ROWS)
    joined = [p for p in printed if p.text not in ("苹果", "海口")]
    # The detector joined 苹果 and 海口 of one row into one box spanning both columns.
    joined.append(Printed("苹果" + " " * 10 + "海口", 520, 170))
    assert read_card(page(*joined), "table").cells == ROWS


def test_cells_the_detector_joined_in_every_row_are_cut_at_the_headers_gap() -> None:
    """数量 and 项目 read in one box per row ('845 办公椅', from under 数量 to the end of
    项目's column): the header's gap between them cuts each box where its text breaks
    (seed 8's photos 131 and 018 came out a column short)."""
    header = ["序号", "数量", "项目", "品名"]
    rows = [
        ["1", "845", "办公椅", "香蕉"],
        ["2", "419", "键盘", "显示器"],
        ["3", "351", "大米", "食用油"],
    ]
    printed = [Printed(text, 100 + 300 * c, 100) for c, text in enumerate(header)]
    for r, row in enumerate(rows, start=1):
        joined = f"{row[1]} {row[2]}"
        # 420 to 790 px, so that by the estimated widths the space falls in the gap.
        width = 370 / len(joined)
        printed += [Printed(row[0], 100, 100 + 70 * r), Printed(row[3], 1000, 100 + 70 * r)]
        printed.append(Printed(joined, 420, 100 + 70 * r, char_width=width))
    assert read_card(page(*printed), "table").cells == [header, *rows]


def test_a_header_read_as_two_boxes_does_not_cut_the_amounts_under_it() -> None:
    """'金额' '(元)' read apart over amounts wider than either: an amount has no place to
    break, so the column stays whole."""
    printed = [Printed("序号", 100, 100), Printed("金额", 400, 100), Printed("(元)", 520, 100)]
    amounts = ["45,790.14", "22,061.67", "99,220.43"]
    for r, amount in enumerate(amounts, start=1):
        printed += [Printed(str(r), 100, 100 + 70 * r), Printed(amount, 400, 100 + 70 * r)]
    cells = read_card(page(*printed), "table").cells
    assert cells is not None and [row[-1] for row in cells[1:]] == amounts


def test_a_joined_box_is_cut_where_a_number_meets_a_name_not_inside_the_number() -> None:
    box = PlacedBox(card_boxes([Printed("7,842.56黄飞", 0, 0)])[0], 0.0, 320.0, 0.0, 36.0)
    # By the estimated widths (50 px a Latin character, 100 a Chinese one) 190 lies
    # inside the number; the number meets the name at 220.
    assert split_box(box, 190.0)[1].text == "6黄飞"
    left, right = split_box(box, 190.0, breaks_near(box, 190.0))
    assert (left.text, right.text) == ("7,842.56", "黄飞")


def test_split_box_cuts_between_characters_by_their_widths() -> None:
    box = PlacedBox(card_boxes([Printed("AB苹果", 0, 0)])[0], 0.0, 300.0, 0.0, 36.0)
    left, right = split_box(box, 110.0)
    assert (left.text, right.text) == ("AB", "苹果")
    assert left.u1 == right.u0


def test_latin_words_of_one_cell_in_two_boxes_keep_their_space() -> None:
    printed = lattice([["型号", "说明"], ["A1", "x"], ["B2", "y"], ["C3", "z"]])
    printed = [p for p in printed if p.text != "x"]
    printed += [Printed("USB", 360, 170, char_width=20), Printed("Hub", 460, 170, char_width=20)]
    cells = read_card(page(*printed), "table").cells
    assert cells is not None and cells[1] == ["A1", "USB Hub"]


def test_two_lines_are_no_table_and_text_without_columns_is_none() -> None:
    with pytest.raises(NoCardFound):
        read_card(page(*lattice(ROWS[:2])), "table")
    prose = [Printed("这是一段没有表格的文字内容", 100, 100 + 60 * i) for i in range(5)]
    with pytest.raises(NoCardFound):
        read_card(page(*prose), "table")
    view = upright_view(page(*prose))
    assert kind_scores(view)["table"] == 0


def test_a_lattice_scores_from_three_rows_of_two_columns() -> None:
    assert kind_scores(upright_view(page(*lattice(ROWS))))["table"] == 4
    assert kind_scores(upright_view(page(*lattice(ROWS[:3]))))["table"] == 3


def ruled_photo(rows: list[list[str]], heights: list[int]) -> tuple[np.ndarray, list[Printed]]:
    """A white page with a ruled grid and where its text lies; ``heights`` in text lines
    per row (a row of 2 holds a cell of two lines)."""
    image = np.full((900, 1100, 3), 255, dtype=np.uint8)
    printed: list[Printed] = []
    xs = [80, 380, 680, 800]
    y = 60
    ys = [y]
    for row, lines in zip(rows, heights, strict=True):
        for c, text in enumerate(row):
            for part, piece in enumerate(text.split("\n")):
                printed.append(Printed(piece, xs[c] + 20, y + 15 + 50 * part, char_width=30))
        y += 20 + 50 * lines
        ys.append(y)
    for x in xs:
        cv2.line(image, (x, ys[0]), (x, ys[-1]), (20, 20, 20), 3)
    for y in ys:
        cv2.line(image, (xs[0], y), (xs[-1], y), (20, 20, 20), 3)
    return image, printed


def test_ruled_grid_gives_the_columns_and_joins_a_cell_of_two_lines() -> None:
    rows = [
        ["项目", "说明", "金额"],
        ["A", "上午\n下午", "10"],
        ["B", "全天", "20"],
        ["C", "夜间", "30"],
    ]
    image, printed = ruled_photo(rows, [1, 2, 1, 1])
    # Boxes where the text is drawn (card_boxes moves its cards 2000 px off the origin).
    photo = OcrPage(image, [to_box(p) for p in printed])
    photo.boxes = [
        TextBox(tuple((x - 2000, y - 2000) for x, y in b.points), b.text, b.score)
        for b in photo.boxes
    ]
    view = CardView.of(photo, photo.frames()[0])
    lines = table_lines(view.lines)
    boxes = [b for line in lines for b in line.boxes]
    rulings = find_rulings(image, view.frame, boxes)
    assert len(rulings.vertical) >= 4 and len(rulings.horizontal) >= 5
    grid = build_grid(lines, rulings)
    assert grid is not None and grid.ruled
    # CJK lines of one cell join with nothing between them, as the page reads.
    assert grid.cells == [
        ["项目", "说明", "金额"],
        ["A", "上午下午", "10"],
        ["B", "全天", "20"],
        ["C", "夜间", "30"],
    ]


def test_rules_leaning_a_few_degrees_are_found_and_keep_the_rows_apart() -> None:
    """Perspective leans a photographed grid's far rules off the text's axis (blind seed
    44's photo 96: the two rules under its fifth row, lost, so that its last two rows read
    as one, with no warning). A rule leaning 0.05 (about 3 degrees) breaks into runs
    shorter than the opening kernel when looked for level only."""
    rows = [["项目", "说明", "金额"], *[[k, "全天", f"{k}0"] for k in "ABCDE"]]
    image = np.full((900, 1100, 3), 255, dtype=np.uint8)
    xs, pitch, lean = [80, 380, 680, 800], 70, 0.05
    ys = [60 + pitch * k for k in range(len(rows) + 1)]
    for x in xs:
        cv2.line(image, (x, ys[0]), (x, ys[-1] + 36), (20, 20, 20), 2)
    for k, y in enumerate(ys):
        drop = round(lean * (xs[-1] - xs[0])) if k >= 4 else 0  # the far rules lean
        cv2.line(image, (xs[0], y), (xs[-1], y + drop), (20, 20, 20), 1)  # a fine rule
    printed = [
        Printed(text, xs[c] + 20, ys[r] + 15, char_width=30)
        for r, row in enumerate(rows)
        for c, text in enumerate(row)
    ]
    # Boxes where the text would be drawn (card_boxes moves its cards 2000 px off the origin).
    boxes = [to_box(p) for p in printed]
    view = ruled_page(
        image,
        [TextBox(tuple((x - 2000, y - 2000) for x, y in b.points), b.text, b.score) for b in boxes],
    )
    lines = table_lines(view.lines)
    rulings = find_rulings(image, view.frame, [b for line in lines for b in line.boxes])
    middle = (xs[0] + xs[-1]) / 2
    for k, y in enumerate(ys[4:], start=4):
        at = y + lean * (middle - xs[0])
        assert any(abs(r.at(middle) - at) < 4 for r in rulings.horizontal), (k, rulings)
    grid = build_grid(lines, rulings)
    assert grid is not None and grid.ruled
    assert grid.cells == rows


def ruled_page(image: np.ndarray, boxes: list[TextBox]) -> CardView:
    """The view of a drawn page whose boxes are given in its own pixels."""
    photo = OcrPage(image, boxes)
    return CardView.of(photo, photo.frames()[0])


def test_text_beyond_a_ruled_tables_sides_is_no_cell() -> None:
    """Notes on the desk beside the sheet, level with its rows: a word beyond the grid's
    right side and one the detector joined to a first cell ('谢惠B') were read into the
    outer cells; the grid's horizontal rules say how far the table reaches."""
    rows = [["项目", "说明", "金额"], ["A", "全天", "10"], ["B", "夜间", "20"], ["C", "上午", "30"]]
    image, printed = ruled_photo(rows, [1, 1, 1, 1])
    boxes = [to_box(p) for p in printed if p.text != "B"]
    boxes = [
        TextBox(tuple((x - 2000, y - 2000) for x, y in b.points), b.text, b.score) for b in boxes
    ]
    row_b = next(p for p in printed if p.text == "B")
    top, bottom = row_b.y, row_b.y + row_b.height
    # The note's two characters (x 20-70) end short of the left rule (x 80), where the
    # sheet covers the note; the cell's 'B' follows at x 100-117.
    joined = ((20.0, top), (117.0, top), (117.0, bottom), (20.0, bottom))
    note = next(p for p in printed if p.text == "全天")
    beside = ((850.0, note.y), (990.0, note.y), (990.0, note.y + 36), (850.0, note.y + 36))
    boxes += [TextBox(joined, "谢惠B", 0.95), TextBox(beside, "请勿折叠", 0.97)]
    assert KIND.read(ruled_page(image, boxes), None).cells == rows
    # Without the rules nothing tells the note from a cell.
    blank = np.full_like(image, 255)
    assert KIND.read(ruled_page(blank, boxes), None).cells != rows


def test_cells_are_masked_as_free_text_in_the_reply() -> None:
    result = CardResult(
        "table", {}, {"table_shape": True},
        cells=[["姓名", "证件号", "卡号"], ["张三", ID_NUMBER, CARD_NUMBER], ["李四", "", "无"]],
    )  # fmt: skip
    reply = card_result(result)
    lines = reply.splitlines()
    assert lines[0] == "识别结果：表格"
    assert lines[1:4] == [
        "姓名｜证件号｜卡号",
        "张三｜110***********002X｜6222 **** **** 0128",
        "李四｜｜无",
    ]
    assert ID_NUMBER not in reply and CARD_NUMBER not in reply


def fixtures() -> list[tuple[Path, list[list[str]]]]:
    return [(path, expected["cells"]) for path, expected in committed_samples("table")]


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine()


@pytest.mark.slow
def test_committed_fixtures_are_read_right_and_detected_as_tables(engine: LocalEngine) -> None:
    for image, expected in fixtures():
        result = engine.recognize(image.read_bytes(), AUTO)
        assert (result.kind, result.cells) == ("table", expected), image.name


@pytest.mark.slow
def test_scan_writes_a_tables_cells_as_csv_and_json(tmp_path: Path) -> None:
    image, expected = fixtures()[0]
    runner = CliRunner()
    written = runner.invoke(cli_app, ["scan", str(image), "--kind", "table", "--csv"])
    assert written.exit_code == 0, written.output
    assert list(csv.reader(io.StringIO(written.stdout))) == expected
    shown = runner.invoke(cli_app, ["scan", str(image), "--kind", "table", "--json"])
    assert shown.exit_code == 0, shown.output
    record = json.loads(shown.stdout)
    assert (record["kind"], record["fields"]) == ("table", {"cells": expected})


def test_scan_csv_masks_card_numbers_in_cells_unless_revealed(tmp_path: Path) -> None:
    """The CSV is the scan's fields: masked unless --reveal, as scan shows any field. The
    page is drawn here (digits are read reliably) so the cells hold an ID number."""
    image = np.full((420, 1400, 3), 255, dtype=np.uint8)
    rows = [["姓名", "证件号码"], ["张三", ID_NUMBER], ["李四", "无"], ["王五", "无"]]
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            put_text(image, text, (80 + 500 * c, 80 + 90 * r))
    path = tmp_path / "numbers.png"
    cv2.imwrite(str(path), image)
    runner = CliRunner()
    masked = runner.invoke(cli_app, ["scan", str(path), "--kind", "table", "--csv"])
    assert masked.exit_code == 0, masked.output
    assert ID_NUMBER not in masked.stdout
    revealed = runner.invoke(cli_app, ["scan", str(path), "--kind", "table", "--csv", "--reveal"])
    assert revealed.exit_code == 0, revealed.output
    assert list(csv.reader(io.StringIO(revealed.stdout)))[1] == ["张三", ID_NUMBER]
    assert list(csv.reader(io.StringIO(masked.stdout)))[1] == ["张三", "110***********002X"]


def put_text(image: np.ndarray, text: str, at: tuple[int, int]) -> None:
    """Draw text with a CJK font from tests/cardgen (the generator's fonts)."""
    from PIL import Image, ImageDraw

    from tests.cardgen.fonts import find_fonts

    font = find_fonts().cjk[0].at(40)
    drawn = Image.fromarray(image)
    ImageDraw.Draw(drawn).text(at, text, font=font, fill=(20, 20, 20))
    image[:] = np.asarray(drawn)


@pytest.mark.slow
def test_chain_reads_a_table_locally_without_asking_wechat(engine: LocalEngine) -> None:
    client, asked = wechat_never_asked()
    image, expected = fixtures()[0]
    with pytest.raises(EngineUnavailable, match="no OCR for table"):
        WechatEngine(client).recognize(image.read_bytes(), "table")
    result = ChainEngine([WechatEngine(client), engine]).recognize(image.read_bytes(), "table")
    assert (result.kind, result.engine, result.cells) == ("table", "local", expected)
    assert asked == []


@pytest.mark.parametrize(("header", "kept"), [("AB", ""), ("CD", "AB")])
def test_a_second_look_reading_its_columns_header_leaves_the_cell_empty(
    header: str, kept: str
) -> None:
    """The cut of an empty cell right under its header caught the header's ink and read
    it into the cell (seed 8's photo 108: '序号' for '1'): a cell reading as its own
    column's header stays empty; any other reading is taken."""
    image = np.full((120, 600, 3), 255, np.uint8)
    cv2.putText(image, "AB", (360, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (20, 20, 20), 3)
    view = CardView.of(OcrPage(image, []), Frame(0.0))
    cells = [["No", header], ["1", ""]]
    second_look(view, RapidReader(OcrSettings()).read_lines,
                [CellRegion(1, 1, 320, 580, 62.0, 40.0, 0.0)], cells)  # fmt: skip
    assert cells == [["No", header], ["1", kept]]


def test_second_look_reads_the_empty_cells_and_leaves_read_ones_alone() -> None:
    """The real recogniser reads the empty cells' cuts, each once when it reads surely; a
    cell read already, though short for its column, is not cut out again (a neighbour's
    digit crept into such cells, and none came out better)."""
    image = np.full((120, 900, 3), 255, np.uint8)
    for x, text in ((60, "12"), (360, "34"), (660, "56")):
        cv2.putText(image, text, (x, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (20, 20, 20), 3)
    view = CardView.of(OcrPage(image, []), Frame(0.0))
    regions = [
        CellRegion(0, column, 300 * column + 20, 300 * column + 280, 62.0, 40.0, score)
        for column, score in ((0, 0.95), (1, 0.0), (2, 0.0))
    ]
    # The first cell was read, short for its column; the other two came out empty.
    cells = [["12", "", ""]]
    handed: list[int] = []
    reader = RapidReader(OcrSettings())

    def recording(crops: Sequence[BGRImage]) -> list[tuple[str, float]]:
        handed.append(len(crops))
        return reader.read_lines(crops)

    second_look(view, recording, regions, cells)
    assert cells == [["12", "34", "56"]]
    assert handed == [2]
