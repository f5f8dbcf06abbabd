"""Printed text (文字): a photographed page read as lines in reading order.

One field, ``text``: the page's lines joined with ``\\n``, one or two columns read
left column first (extract.py). Its mask rule is ``mask_numbers_in_text``: the text is
the user's to read, but an ID or bank card number in it is masked as on its card.

Auto detection takes a page as text only as a last resort (``fallback``): when no
other kind shows any of its landmarks and the photo holds many lines of text, so a
card whose own landmarks were misread is refused, never answered as a page.

WeChat reads printed text with ``cv/ocr/comm``: ``items`` of ``text`` with their
corners (``pos``), ordered here by the same geometry as the local engine's boxes.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from ocr.engine import CardResult, TextBox
from ocr.errors import NoCardFound
from ocr.kinds.base import ORIGINAL_ONLY_WARNINGS, DocumentKind
from ocr.kinds.text.extract import (
    lines_unbroken,
    median_height,
    ordered_lines,
    page_boxes,
    page_text,
    read_text,
)
from ocr.layout import CardView, LineReader, PlacedBox, candidate_frames, place_all, righted
from ocr.mask import mask_numbers_in_text

NAME = "text"
FIELD = "text"
# A page: at least this many lines of at least LONG_LINE characters. A card shows
# fewer (an ID front at most four: the address, birth and number lines).
MIN_LINES = 5
LONG_LINE = 8
# Below this mean certainty per character a reading of a page is mostly wrong: measured
# on generated photos, pages read at 0.96 or under had a character error rate of a third
# or more, while readings at 0.97 and over were right within a few per cent.
LEGIBLE = 0.97
# Below this much of a page is read wrong, not a few places: on seeds 7, 8, 1501 and
# 1502 (40-150 generated photos each) the 9 pages read under 0.87 had character error
# rates of 17-72% (far-off pages with print 6-10 px tall, blurred or photocopied), those
# flagged above it 2-17%. Such a page is answered ``text_unreadable`` too: the reply asks
# for a retake closer up rather than only to check the text against the page.
UNREADABLE = 0.87
UNREADABLE_WARNING = "text_unreadable"
UNREADABLE_TEXT = (
    "页面上大部分文字看不清，以上内容错误较多，请靠近页面、让页面占满画面、文字清晰后重拍"
)
# A line read again the page's way up replaces the first reading when at least this sure
# (or surer than it), as a table's cells do: the upside-down lines of seed 1501's turned
# photo first read as marks at 0.72-0.83, and right the other way up.
SURE_TURNED = 0.8
# Text closer than this (box heights) to the image's edge is cut by it.
EDGE_MARGIN = 0.1
# The score of a page (auto detection's MIN_EVIDENCE).
PAGE_SCORE = 2
# The reply when no text was read: a page far off in the photo (seed 8's photo 148: a
# turned page filling a fifth of the photo's width, its print a few pixels tall and
# blurred) gives the detector nothing to find, and read closer up it was still garbage.
NO_TEXT = "未读出页面上的文字，请靠近页面拍摄，让页面占满画面、文字清晰后重拍"
# cv/ocr/comm's corner names, clockwise from the top left as the detector gives boxes.
CORNERS = ("left_top", "right_top", "right_bottom", "left_bottom")


def score(view: CardView) -> int:
    """PAGE_SCORE for a page of text (many long lines), else 0."""
    long_lines = sum(len(line.text) >= LONG_LINE for line in ordered_lines(page_boxes(view.placed)))
    return PAGE_SCORE if long_lines >= MIN_LINES else 0


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    """The page's text. Its check ``legible`` (the recogniser's mean certainty per
    character over LEGIBLE) makes the local engine try its other readings of the photo
    (zoomed in on the text) and keep a legible one; an illegible answer is flagged
    ``low_confidence``, and one read mostly wrong ``text_unreadable`` too."""
    view = page_view(view, reader)
    lines = read_text(view)
    if not lines:
        raise NoCardFound("no text on the page")
    boxes = page_boxes(view.placed)
    characters = sum(len(box.text) for box in boxes)
    certainty = sum(box.box.score * len(box.text) for box in boxes) / max(1, characters)
    legible = certainty >= LEGIBLE
    warnings = [] if legible else ["low_confidence"]
    if certainty < UNREADABLE:
        warnings.append(UNREADABLE_WARNING)
    checks = {
        "legible": legible,
        "whole_page": _inside(boxes, view.page.image.shape[:2]),
        "lines_unbroken": lines_unbroken(view.placed),
    }
    return CardResult(NAME, {FIELD: "\n".join(lines)}, checks, warnings)


# A legible reading of the photo lost the page when an earlier reading of it held this
# many times as many lines, and this many more (blind seed 45's photo 052: a far-off
# turned page read as its title and three garbled body lines, then, zoomed, as its
# large title alone, legibly: answered as a one-line page with only ``blur``). Clutter
# read into the first reading (a note's two or three lines) stays under both.
LOST_LINES_RATIO = 2
LOST_LINES = 3


def read_short(result: CardResult, earlier: Sequence[CardResult]) -> list[str]:
    """The warnings of a legible page that an earlier reading of the photo saw much more of
    (LOST_LINES_RATIO and LOST_LINES): most of the page was not read."""
    lines = len(result.fields.get(FIELD, "").splitlines())
    seen = max((len(other.fields.get(FIELD, "").splitlines()) for other in earlier), default=0)
    if seen >= LOST_LINES_RATIO * lines and seen >= lines + LOST_LINES:
        return ["low_confidence", UNREADABLE_WARNING]
    return []


def page_view(view: CardView, reader: LineReader | None) -> CardView:
    """The page in the reading direction the angle classifier's votes give, with the boxes
    it read against that direction read again that way up.

    A page has no landmarks whose order says which way up it is, but auto detection's
    ``upright_view`` counts the other kinds' landmarks, which clutter on the desk may show
    (a receipt's 电话, TEL): a tilted page was read bottom-up, its lines in reverse. And
    on a turned photo the classifier left some lines upside down, read as marks
    (``··:·一``) sure enough not to be tried the other way (``righted``, as tables do).
    """
    page = view.page
    frame = page.frames()[0]
    if frame.angle != view.frame.angle:
        view = CardView.of(page, frame)
    return view if reader is None else righted(view, reader, SURE_TURNED)


def _inside(boxes: list[PlacedBox], shape: tuple[int, ...]) -> bool:
    """No text of the page at the image's edge. The local engine first reads a cut-out of
    the largest cluster of text, enlarged (made for small cards): on a page, one column
    is such a cluster, and the cut takes in the other's line ends. A reading cut so is
    not complete, and the engine goes on to the whole photo."""
    height, width = shape
    margin = EDGE_MARGIN * median_height(boxes)
    return all(
        margin <= x <= width - margin and margin <= y <= height - margin
        for box in boxes
        for x, y in box.box.points
    )


def _fields(result: CardResult) -> tuple[str, ...]:
    del result
    return (FIELD,)


def wechat_body(result: CardResult) -> dict[str, Any]:
    """cv/ocr/comm's answer for a result: one item per line, placed one under another.

    A result keeps no geometry, so the sandbox lays the lines out in reading order."""
    lines = result.fields.get(FIELD, "").split("\n")
    items: list[dict[str, Any]] = []
    width = 0
    for row, line in enumerate(lines):
        top, bottom, right = 40 * row + 10, 40 * row + 40, 10 + 30 * max(1, len(line))
        corners = ((10, top), (right, top), (right, bottom), (10, bottom))
        pos = {name: {"x": x, "y": y} for name, (x, y) in zip(CORNERS, corners, strict=True)}
        items.append({"text": line, "pos": pos})
        width = max(width, right + 10)
    return {
        "errcode": 0,
        "errmsg": "ok",
        "items": items,
        "img_size": {"w": width, "h": 40 * len(lines) + 20},
    }


def _item_box(item: Mapping[str, Any]) -> TextBox | None:
    text = item.get("text")
    pos = item.get("pos")
    if not isinstance(text, str) or not text.strip() or not isinstance(pos, Mapping):
        return None
    try:
        points = tuple((float(pos[c]["x"]), float(pos[c]["y"])) for c in CORNERS)
    except (KeyError, TypeError, ValueError):
        return None
    return TextBox(points, text.strip(), 1.0)


def from_wechat(body: Mapping[str, Any]) -> CardResult:
    """cv/ocr/comm's ``items`` in reading order, as the local engine orders its boxes."""
    items = body.get("items")
    boxes = [b for item in items if (b := _item_box(item))] if isinstance(items, list) else []
    if not boxes:
        raise NoCardFound("WeChat found no text")
    lines = page_text(place_all(boxes, candidate_frames(boxes)[0]))
    # As the local engine's auto detection asks (``score``): with the user's choice of
    # 文字 any text is answered, but a few words are no page for auto detection.
    page = sum(len(line) >= LONG_LINE for line in lines) >= MIN_LINES
    return CardResult(NAME, {FIELD: "\n".join(lines)}, {"page": page}, engine="wechat")


def lines_correct(expected: str, read: str) -> tuple[int, int]:
    """(expected lines read exactly and in order, expected lines): the read lines are
    aligned with the expected ones, so a missed or extra line costs only itself."""
    want = [line.strip() for line in expected.split("\n") if line.strip()]
    got = [line.strip() for line in read.split("\n") if line.strip()]
    matcher = difflib.SequenceMatcher(a=want, b=got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()), len(want)


def eval_counts(expected: Mapping[str, str], got: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    return {"lines": lines_correct(expected.get(FIELD, ""), got.get(FIELD, ""))}


KIND = DocumentKind(
    name=NAME,
    title="文字",
    thing="页面",
    moot_warnings=ORIGINAL_ONLY_WARNINGS,
    words=("文字", "text", "文字识别"),
    labels=((FIELD, "内容"),),
    mask_rules={FIELD: mask_numbers_in_text},
    score=score,
    read=read,
    complete_fields=_fields,
    required_fields=_fields,
    fallback=True,
    wechat_path="/cv/ocr/comm",
    wechat_fields=_fields,
    from_wechat=from_wechat,
    wechat_answers=(FIELD,),
    wechat_body=wechat_body,
    eval_counts=eval_counts,
    cer_field=FIELD,
    read_short=read_short,
    no_card_text=NO_TEXT,
    warning_texts={UNREADABLE_WARNING: UNREADABLE_TEXT},
)
