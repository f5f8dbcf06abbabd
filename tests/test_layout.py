from __future__ import annotations

import math

import pytest

from ocr.layout import (
    Frame,
    below,
    candidate_frames,
    estimate_axis,
    place_all,
    reading_lines,
    right_of,
    split_placed,
    warp_upright,
)
from tests.card_boxes import Printed, card_boxes

FRONT = [
    Printed("姓名", 60, 60),
    Printed("黄玉华", 150, 58),
    Printed("性别", 60, 125),
    Printed("女", 150, 125),
    Printed("民族", 260, 125),
    Printed("汉", 350, 125),
    Printed("住址", 60, 190),
    Printed("江苏省南京市玄武区建设", 150, 190),
    Printed("街934号", 150, 234),
    Printed("公民身份号码", 60, 320),
    Printed("320102198001010012", 290, 320, char_width=22),
]

EXPECTED_LINES = [
    "姓名黄玉华",
    "性别女民族汉",
    "住址江苏省南京市玄武区建设",
    "街934号",
    "公民身份号码320102198001010012",
]


def axis_distance(a: float, b: float) -> float:
    d = abs(a - b) % math.pi
    return min(d, math.pi - d)


@pytest.mark.parametrize("degrees", [0, 7, -12, 90, 180, 265])
def test_estimate_axis_follows_the_text(degrees: float) -> None:
    axis = estimate_axis(card_boxes(FRONT, degrees))
    assert axis_distance(axis, math.radians(degrees)) < math.radians(2)


def test_single_characters_do_not_sway_the_axis() -> None:
    boxes = card_boxes(
        [Printed("汉", 0, 0), Printed("女", 0, 50), Printed("住址江苏省", 0, 100)], 30
    )
    assert axis_distance(estimate_axis(boxes), math.radians(30)) < math.radians(2)


@pytest.mark.parametrize("degrees", [0, 9, -14])
def test_reading_lines_restore_order_of_shuffled_tilted_boxes(degrees: float) -> None:
    boxes = card_boxes(FRONT, degrees, shuffle_seed=3)
    frame = candidate_frames(boxes)[0]
    assert [line.text for line in reading_lines(boxes, frame)] == EXPECTED_LINES


@pytest.mark.parametrize("degrees", [90, 180, 270, -95])
def test_one_of_the_candidate_frames_reads_a_turned_card(degrees: float) -> None:
    boxes = card_boxes(FRONT, degrees, shuffle_seed=5)
    readings = [[line.text for line in reading_lines(boxes, f)] for f in candidate_frames(boxes)]
    assert EXPECTED_LINES in readings
    # The other direction reads the card upside down: lines reversed, boxes mirrored.
    assert len(readings) == 2 and readings[0] != readings[1]


def test_upright_card_prefers_left_to_right() -> None:
    frames = candidate_frames(card_boxes(FRONT, 3))
    assert abs(frames[0].degrees - 3) < 2
    assert abs(abs(frames[1].degrees) - 177) < 2


def test_right_of_and_below_find_values_next_to_labels() -> None:
    boxes = card_boxes(FRONT, 11, shuffle_seed=1)
    frame = Frame(math.radians(11))
    placed = place_all(boxes, frame)
    by_text = {p.text: p for p in placed}
    assert [p.text for p in right_of(by_text["性别"], placed)] == ["女", "民族", "汉"]
    assert [p.text for p in right_of(by_text["性别"], placed, max_gap=1.0)] == ["女"]
    under = below(by_text["江苏省南京市玄武区建设"], placed, max_distance=1.6)
    assert [p.text for p in under] == ["街934号"]
    assert below(by_text["公民身份号码"], placed) == []


def test_split_placed_cuts_a_merged_label_off_its_value() -> None:
    placed = place_all(card_boxes([Printed("姓名林娜", 100, 100)]), Frame(0.0))[0]
    value = split_placed(placed, 2)
    assert value.text == "林娜"
    assert value.u0 == pytest.approx(placed.u0 + placed.width / 2)
    assert value.u1 == pytest.approx(placed.u1)


def test_frame_helpers() -> None:
    frame = Frame(math.radians(90))
    assert frame.to_card(0, 10) == pytest.approx((10, 0))
    assert frame.flipped().degrees == pytest.approx(-90)
    assert frame.turned(1).degrees == pytest.approx(180)


def test_warp_upright_cuts_the_card_frame_rectangle_out_of_the_image() -> None:
    import cv2
    import numpy as np

    near = cv2.INTER_NEAREST
    image = np.arange(40 * 60, dtype=np.uint16).reshape(40, 60).astype(np.uint8)
    # Upright frame, no scaling: exactly the pixels from (u0, v0) on.
    crop = warp_upright(image, Frame(0.0), (10.0, 5.0), (20, 8), interpolation=near)
    assert crop.shape == (8, 20)
    assert (crop == image[5:13, 10:30]).all()
    # A half turn: card point (u, v) is image point (-u, -v); read back upside down.
    turned = warp_upright(image, Frame(math.pi), (-29.0, -12.0), (20, 8), interpolation=near)
    assert (turned == image[5:13, 10:30][::-1, ::-1]).all()
    # Enlarged twice: twice the pixels, each source pixel repeated (nearest neighbour).
    bigger = warp_upright(image, Frame(0.0), (10.0, 5.0), (40, 16), scale=2.0, interpolation=near)
    assert (bigger[::2, ::2] == image[5:13, 10:30]).all()
