"""Build TextBox lists the way RapidOCR would report a card photographed at any angle.

Tests lay a card out in card coordinates (x right, y down, one unit = one pixel of an
upright card) and turn it by ``degrees`` about the origin, so the extractors see the
same geometry a rotated photo gives.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ocr.engine import TextBox

CHAR_WIDTH = 34.0
LINE_HEIGHT = 36.0


@dataclass(frozen=True)
class Printed:
    """One piece of text printed on the card at (x, y) = its top-left corner."""

    text: str
    x: float
    y: float
    height: float = LINE_HEIGHT
    char_width: float = CHAR_WIDTH


def to_box(item: Printed, degrees: float = 0.0, score: float = 0.98) -> TextBox:
    width = max(1, len(item.text)) * item.char_width
    corners = (
        (item.x, item.y),
        (item.x + width, item.y),
        (item.x + width, item.y + item.height),
        (item.x, item.y + item.height),
    )
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    turned = [(x * cos - y * sin + 2000, x * sin + y * cos + 2000) for x, y in corners]
    # RapidOCR lists corners clockwise from the top-left corner *in the image*.
    start = min(range(4), key=lambda i: turned[i][0] + turned[i][1])
    ordered = tuple(turned[(start + i) % 4] for i in range(4))
    return TextBox(ordered, item.text, score)


def card_boxes(
    printed: Sequence[Printed], degrees: float = 0.0, shuffle_seed: int | None = None
) -> list[TextBox]:
    boxes = [to_box(item, degrees) for item in printed]
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(boxes)
    return boxes
