"""Small cards straightened along their outline (issue 12 point 2; ocr/local.py:
``rectified_card``, ``RapidReader.pages``), on the real engine and a generated photo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ocr.image import ImageLimits, decode_image
from ocr.local import WORK_SIDE, OcrSettings, RapidReader
from ocr.outline import CARD_ASPECT

SMALL_TURNED_CARD = (
    Path(__file__).parent
    / "fixtures"
    / "real-conditions"
    / "000_idfront_photo_small_photo_faint_labels_old_code.jpg"
)

pytestmark = pytest.mark.slow


def test_after_a_small_cards_enlarged_reading_comes_the_card_straightened() -> None:
    # A 356 px card in a small photo: after its enlarged text region (taken when it is
    # complete), the next reading is the card cut along its four sides, flat, at the
    # working size, where the whole ID number reads.
    reader = RapidReader(OcrSettings())
    photo = decode_image(SMALL_TURNED_CARD.read_bytes(), ImageLimits())
    pages = reader.pages(photo)
    enlarged = next(pages)
    straightened = next(pages)
    assert enlarged.image.shape[:2] != straightened.image.shape[:2]
    assert straightened.image.shape[:2] == (round(WORK_SIDE / CARD_ASPECT), WORK_SIDE)
    label = SMALL_TURNED_CARD.with_suffix(".json").read_text(encoding="utf-8")
    number = re.search(r'"id": "(\w{18})"', label)
    assert number is not None
    assert any(number.group(1) in box.text.replace(" ", "") for box in straightened.boxes)
