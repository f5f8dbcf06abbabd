"""Image warnings of a card read from an enlarged crop of the photo (issue 16; ocr/local.py
``RapidReader.pages``, ``LocalEngine.recognize``; ocr/layout.py ``OcrPage.photo_boxes``):
decided on the photo as sent, the crop's boxes mapped back onto it. Real engine, a photo
made by the generator."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from faker import Faker

from ocr.engine import AUTO, TextBox
from ocr.engines import create_engine
from ocr.image import ImageLimits, decode_image
from ocr.local import LocalEngine, OcrSettings, RapidReader
from tests.cardgen.fonts import find_fonts, fonts_available
from tests.cardgen.image_conditions import make_condition_sample

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed"),
]


@pytest.fixture(scope="module")
def thumb_photo() -> bytes:
    # Seed 4242's ID front 222 with a thumb across it: the thumb splits the card's text
    # in two groups and the card is read from an enlarged crop of the larger one, whose
    # edges cut through the card (measured on the crop: border_incomplete, wrongly).
    return make_condition_sample(4242, 222, "thumb", find_fonts(), Faker("zh_CN")).encode()


def _centre(box: TextBox) -> tuple[float, float]:
    x, y = np.asarray(box.points, dtype=np.float64).mean(axis=0)
    return float(x), float(y)


def _inside_any(point: tuple[float, float], boxes: list[TextBox]) -> bool:
    return any(
        cv2.pointPolygonTest(np.asarray(b.points, np.float32), point, False) > 0 for b in boxes
    )


def test_the_crops_boxes_map_back_onto_the_same_text_of_the_photo(thumb_photo: bytes) -> None:
    reader = RapidReader(OcrSettings())
    photo = decode_image(thumb_photo, ImageLimits())
    pages = list(reader.pages(photo))
    crop = pages[0]
    assert crop.to_photo is not None and crop.image.shape != photo.shape
    # The photo's own reading with the most lines (it read them one by one, unmerged).
    whole = max((p for p in pages if p.to_photo is None), key=lambda p: len(p.boxes))
    assert len(crop.boxes) >= 5
    # Every line read on the crop, mapped back, lies on a line read on the photo; taken
    # as they are (crop coordinates) nearly none does.
    assert all(_inside_any(_centre(box), whole.boxes) for box in crop.photo_boxes())
    unmapped = sum(_inside_any(_centre(box), whole.boxes) for box in crop.boxes)
    assert unmapped < len(crop.boxes) / 2


def test_a_thumb_read_from_a_crop_is_judged_on_the_whole_photo(thumb_photo: bytes) -> None:
    engine = create_engine("local")
    assert isinstance(engine, LocalEngine)
    result = engine.recognize(thumb_photo, AUTO)
    assert result.fields  # the card was read
    assert "occluded" in result.warnings
    # On the crop the card ran off its edges; on the photo it lies whole.
    assert "border_incomplete" not in result.warnings
