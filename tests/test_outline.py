"""The card's outline (ocr/outline.py) on drawn cards: found turned and skewed a little,
and a card cut by the photo's edge told from one merely cropped close."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.image import BGRImage
from ocr.local import WORK_SIDE, card_shaped, rectified_card
from ocr.outline import CARD_ASPECT, find_card_quad, find_outline, share_outside
from ocr.quality import OUTSIDE_LIMIT

CARD_W = 428.0
CARD_H = CARD_W / CARD_ASPECT


def photo_of_card(
    angle_deg: float, size: tuple[int, int] = (900, 700)
) -> tuple[BGRImage, np.ndarray, np.ndarray]:
    """A light card with six dark lines of text on a mottled desk, turned ``angle_deg``:
    the photo, the card's corners and its text boxes' corners."""
    rng = np.random.default_rng(7)
    width, height = size
    desk = 90 + 25 * cv2.GaussianBlur(rng.random((height, width)).astype(np.float32), (0, 0), 6)
    image = np.dstack([desk * 0.8, desk * 0.9, desk]).astype(np.float32)
    centre = np.array([width / 2, height / 2], np.float32)
    turn = np.radians(angle_deg)
    u = np.array([np.cos(turn), np.sin(turn)], np.float32)
    v = np.array([-u[1], u[0]], np.float32)

    def at(x: float, y: float) -> np.ndarray:
        return np.asarray(centre + (x - CARD_W / 2) * u + (y - CARD_H / 2) * v, np.float32)

    corners = np.array([at(0, 0), at(CARD_W, 0), at(CARD_W, CARD_H), at(0, CARD_H)], np.float32)
    cv2.fillConvexPoly(image, corners.astype(np.int32), (225, 232, 238))
    boxes = []
    for row in range(6):
        y = 40 + row * 34
        box = np.array([at(60, y), at(300, y), at(300, y + 20), at(60, y + 20)], np.float32)
        cv2.fillConvexPoly(image, box.astype(np.int32), (50, 50, 50))
        boxes.append(box)
    photo: BGRImage = np.clip(image, 0, 255).astype(np.uint8)
    return photo, corners, np.concatenate(boxes)


def test_the_four_corners_of_a_turned_card_are_found() -> None:
    photo, corners, text = photo_of_card(8.0)
    quad = find_card_quad(photo, text)
    assert quad is not None
    assert np.abs(quad - corners).max() < 6
    outline = find_outline(photo, text)
    assert share_outside(outline) == 0.0


def test_a_card_cut_beyond_its_text_margin_is_outside_the_photo() -> None:
    # The failure of the text-only rule: every line of text inside the photo, far from
    # its edge, and yet a fifth of the card cut off.
    photo, corners, text = photo_of_card(3.0)
    right = int(corners[:, 0].max() - 0.2 * CARD_W)
    assert text[:, 0].max() < right - 40
    cut = photo[:, :right]
    assert find_card_quad(cut, text) is None
    share = share_outside(find_outline(cut, text))
    assert share is not None and OUTSIDE_LIMIT < share < 0.3


def test_a_photo_cropped_close_around_the_card_is_not_a_cut_card() -> None:
    photo, corners, text = photo_of_card(0.0)
    x0, y0 = (corners.min(axis=0) - 12).astype(int)
    x1, y1 = (corners.max(axis=0) + 12).astype(int)
    crop = photo[y0:y1, x0:x1]
    moved = text - np.array([x0, y0], np.float32)
    assert share_outside(find_outline(crop, moved)) == 0.0


def test_a_small_turned_card_is_cut_along_its_outline_and_straightened() -> None:
    # Issue 12 point 2: a small card read from its text's bounding box kept its tilt and
    # the desk around it; cut along its outline it is read as if scanned.
    photo, _, text = photo_of_card(8.0)
    quads = [text[i : i + 4] for i in range(0, len(text), 4)]
    card = rectified_card(photo, quads)
    assert card is not None
    height, width = card.shape[:2]
    assert (width, height) == (WORK_SIDE, round(WORK_SIDE / CARD_ASPECT))
    grey = card.mean(axis=2)
    # No desk left at the card's edges (desk 70-115, card 225-238)...
    inset = 6
    assert grey[inset, inset:-inset].min() > 170 and grey[-inset, inset:-inset].min() > 170
    assert grey[inset:-inset, inset].min() > 170 and grey[inset:-inset, -inset].min() > 170
    # ...and the first line of text level: dark from its start to its end on one row.
    scale = width / CARD_W
    row = round((40 + 10) * scale)
    assert grey[row, round(70 * scale) : round(290 * scale)].max() < 120


def test_a_quad_of_another_shape_is_not_taken_for_the_card() -> None:
    square = np.array([(0, 0), (300, 0), (300, 300), (0, 300)], np.float32)
    card = np.array([(0, 0), (428, 0), (428, 270), (0, 270)], np.float32)
    assert not card_shaped(square)
    assert card_shaped(card)
