"""The image measures started while the boxes are read (issue 12, latency; ocr/local.py:
``early_measures``), on the real engine and committed generated photos.

They stand in for the measures of the reading the card came from only when its boxes
are the early ones corner for corner; that holds only if ``quality.measure`` depends on
the photo and the boxes' corners, never on what a box reads: the first test holds it to
that, so that a change making the measures read the text fails here, not silently.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ocr.engine import AUTO
from ocr.image import ImageLimits, decode_image
from ocr.local import LocalEngine, OcrSettings, PageMeasures, RapidReader, early_measures
from ocr.quality import measure
from ocr.runtime import crop_line

CARDS = Path(__file__).parent / "fixtures" / "cards"
# An ID front, an ID back and a bank card, each a photo with clutter around the card.
PHOTOS = ["000_idfront_photo.jpg", "001_idback_photo.jpg", "002_bank_photo.jpg"]
# A small ID front (tests/fixtures/real-conditions: cards 250-450 px wide), read enlarged.
SMALL = (
    Path(__file__).parent
    / "fixtures"
    / "real-conditions"
    / "000_idfront_photo_small_photo_faint_labels_old_code.jpg"
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", PHOTOS)
def test_the_measures_depend_on_the_boxes_corners_not_on_their_text(name: str) -> None:
    photo = decode_image((CARDS / name).read_bytes(), ImageLimits())
    page = RapidReader(OcrSettings()).read(photo)
    assert len(page.boxes) >= 3
    read = measure(photo, page.boxes)
    unread = [replace(box, text="", score=1.0, doubts=(), blanks=()) for box in page.boxes]
    blank = measure(photo, unread)
    assert read is not None
    assert blank == read


@pytest.mark.parametrize("path", [*(CARDS / name for name in PHOTOS), SMALL])
def test_the_measures_started_are_those_of_the_reading_the_card_came_from(path: Path) -> None:
    # The early measures (a card read from the first detection's boxes), or, for a small
    # card read enlarged first, those PageMeasures started with the reading the card came
    # from before the card was read from it: both are what ``measure`` gives after it.
    engine = LocalEngine(threads=1)
    reader = RapidReader(OcrSettings())
    photo = decode_image(path.read_bytes(), ImageLimits())
    quads = reader.detect(photo)
    early = early_measures(photo, quads)
    # A card filling much of a level photo is read as it is, a small one enlarged.
    assert (early is None) == (path == SMALL)
    measuring = PageMeasures(photo, early)
    result, page = engine._read_card(reader, photo, AUTO, quads, measuring.start)
    assert result.fields
    boxes = page.photo_boxes()
    late = measure(photo, boxes)
    assert late is not None
    assert measuring.measures(boxes) == late
    # Boxes other than those measured (one dropped) get no measures.
    assert measuring.measures(boxes[1:]) is None
    if early is not None:
        assert early.measures(boxes) == late
        assert early.measures(boxes[1:]) is None
    else:
        assert page.to_photo is not None  # read from the enlarged card, not the photo


def test_a_small_card_read_enlarged_first_gets_no_early_measures() -> None:
    photo = decode_image(SMALL.read_bytes(), ImageLimits())
    quads = RapidReader(OcrSettings()).detect(photo)
    assert quads
    assert early_measures(photo, quads) is None


@pytest.mark.parametrize("name", ["000_idfront_photo.jpg", "002_bank_photo.jpg"])
def test_lines_recognised_on_two_threads_read_as_on_one(name: str) -> None:
    # RapidReader.recognised: every other line on a helper thread, each read on one
    # intra-op thread (OcrSettings); each line's reading, score, doubts and place are the
    # same as when the lines are read one after another on the recogniser's two threads.
    photo = decode_image((CARDS / name).read_bytes(), ImageLimits())
    split = RapidReader(OcrSettings(split_recognition=True))
    single = RapidReader(OcrSettings(split_recognition=False))
    quads = single.detect(photo)
    assert len(quads) >= 4
    one, two = single.read(photo), split.read(photo)
    assert len(one.boxes) >= 4
    assert two.boxes == one.boxes
    assert two.directions == one.directions
    crops = [crop_line(photo, quad) for quad in quads]
    assert split.read_lines(crops) == single.read_lines(crops)


def test_lines_are_shared_between_the_threads_one_at_a_time_costliest_first() -> None:
    # RapidReader.recognised: the two threads take the crops one at a time from one
    # queue, the widest input first (a long address line against a 1-character 汉), and
    # the readings come back in the crops' order.
    reader = RapidReader(OcrSettings(split_recognition=True))
    widths = [100, 900, 60, 2000, 300, 48, 1500]
    crops = [np.zeros((48, width, 3), np.uint8) for width in widths]
    asked: dict[str, list[list[int]]] = {}
    lock = threading.Lock()

    def recognise(part: list[np.ndarray]) -> list[int]:
        with lock:
            asked.setdefault(threading.current_thread().name, []).append(
                [crop.shape[1] for crop in part]
            )
        return [crop.shape[1] for crop in part]

    assert reader.recognised(recognise, crops) == widths
    calls = [part for parts in asked.values() for part in parts]
    assert all(len(part) == 1 for part in calls)
    assert sorted(width for (width,) in calls) == sorted(widths)
    # Each thread took its crops in falling order of the recogniser's input width (at
    # least 320 px for a 48 px high crop), and the widest was the first taken.
    for parts in asked.values():
        costs = [max(320, width) for (width,) in parts]
        assert costs == sorted(costs, reverse=True)
    assert max(parts[0][0] for parts in asked.values()) == 2000
