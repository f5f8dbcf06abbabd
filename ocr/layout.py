"""Geometry on OCR boxes: the card's text direction, lines in reading order, label neighbours.

RapidOCR returns boxes in its own order, which on rotated photos puts a label between
pieces of its value. Extractors therefore work in *card coordinates*: ``u`` runs along
the printed text (left to right on the card) and ``v`` across it (top to bottom on the
card), whatever the rotation of the photo.

A ``Frame`` is one hypothesis of the card's reading direction. The axis of the text
follows from the box shapes; which way along that axis the card reads (0 vs 180
degrees) does not, so callers try ``candidate_frames`` and keep the one whose content
makes sense (labels in their printed order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from ocr.engine import TextBox
from ocr.image import BGRImage

# A box joins a line when its centre is this close (in box heights) to the line's
# nearest box: lines of an ID card address are ~1.2 heights apart.
LINE_TOLERANCE = 0.55


@dataclass(frozen=True)
class Frame:
    """Card coordinates for one reading direction, ``angle`` in radians in image space."""

    angle: float

    def to_card(self, x: float, y: float) -> tuple[float, float]:
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        return x * cos + y * sin, -x * sin + y * cos

    def flipped(self) -> Frame:
        return Frame(normalise_angle(self.angle + math.pi))

    def turned(self, quarter_turns: int) -> Frame:
        """The frame rotated by ``quarter_turns`` * 90 degrees."""
        return Frame(normalise_angle(self.angle + quarter_turns * math.pi / 2))

    @property
    def degrees(self) -> float:
        return math.degrees(self.angle)


@dataclass(frozen=True)
class PlacedBox:
    """A box seen in a frame: its extent along (u) and across (v) the text."""

    box: TextBox
    u0: float
    u1: float
    cv: float
    height: float

    @property
    def text(self) -> str:
        return self.box.text

    @property
    def cu(self) -> float:
        return (self.u0 + self.u1) / 2

    @property
    def v0(self) -> float:
        return self.cv - self.height / 2

    @property
    def v1(self) -> float:
        return self.cv + self.height / 2

    @property
    def width(self) -> float:
        return self.u1 - self.u0


# A CJK character (or the name dot ·): about a box height across, twice a digit or a
# Latin letter.
CJK = re.compile(r"[\u3400-\u9fff·]")


# How much wider than its reading an ID card's address box may be before part of what it
# holds is taken as unread: by more than half a height (about a digit) and by half again its reading
# width (``reading_width``: one height per CJK character, half one per other; the card's
# glyphs take about 0.75 and 0.4 of a box's height, the rest is the detector's margin,
# which makes a short box's reading fill less of it: a lone '室' about 0.9). Chosen on
# the address boxes of real90g (seed 97), real90, real90b, real-dev and eval150
# (2026-12-01): no box of a right address was wider than 1.11 times its reading (a lone
# '室'; real-dev's widest 1.06, a long line whose margin adds up: hence both bounds)
# while real90g's photo 48 read a last line '04室' as '10' at 0.96-0.99 with no rival:
# 1.78 times its reading, 0.78 of a height unaccounted for. Newly flagged: that one
# wrong address, no right one.
UNREAD_ROOM = 0.5
UNREAD_SHARE = 1.5


def reading_width(text: str) -> float:
    """The width ``text`` needs at most, in box heights (see ``UNREAD_ROOM``)."""
    return sum(1.0 if CJK.match(char) else 0.5 for char in text)


def partly_unread(box: PlacedBox, room: float = UNREAD_ROOM, share: float = UNREAD_SHARE) -> bool:
    """Whether ``box`` is wider than its reading can fill: characters were left unread.

    A line's tail misread as fewer, sure characters ('04室' as '10', no rival, each at
    0.96 or more) is a wrong value with no doubt at any character to flag it; only the
    room left in its box says something printed there was not read. ``room`` (heights)
    and ``share`` are the bounds both to be passed (``UNREAD_ROOM``, ``UNREAD_SHARE``).
    """
    if box.height <= 0 or not box.text:
        return False
    width = box.width / box.height
    needed = reading_width(box.text)
    return width - needed > room and width > share * needed


@dataclass(frozen=True)
class Line:
    """Boxes of one printed line, left to right."""

    boxes: tuple[PlacedBox, ...]

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.boxes)

    @property
    def cv(self) -> float:
        return sum(b.cv for b in self.boxes) / len(self.boxes)

    @property
    def height(self) -> float:
        return max(b.height for b in self.boxes)

    @property
    def u0(self) -> float:
        return self.boxes[0].u0

    @property
    def u1(self) -> float:
        return max(b.u1 for b in self.boxes)


def normalise_angle(angle: float) -> float:
    """The same direction in (-pi, pi]."""
    wrapped = math.fmod(angle + math.pi, 2 * math.pi)
    if wrapped <= 0:
        wrapped += 2 * math.pi
    return wrapped - math.pi


def _edges(box: TextBox) -> tuple[tuple[float, float], tuple[float, float], float, float]:
    """Mean long-edge vector, mean short-edge vector and their lengths."""
    pts = box.points
    if len(pts) != 4:
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        pts = ((min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys)))
    # Edges 0-1 and 3-2 are one pair, 1-2 and 0-3 the other; average each pair.
    a = (
        (pts[1][0] - pts[0][0] + pts[2][0] - pts[3][0]) / 2,
        (pts[1][1] - pts[0][1] + pts[2][1] - pts[3][1]) / 2,
    )
    b = (
        (pts[3][0] - pts[0][0] + pts[2][0] - pts[1][0]) / 2,
        (pts[3][1] - pts[0][1] + pts[2][1] - pts[1][1]) / 2,
    )
    len_a, len_b = math.hypot(*a), math.hypot(*b)
    if len_a >= len_b:
        return a, b, len_a, len_b
    return b, a, len_b, len_a


def box_axis(box: TextBox) -> tuple[float, float]:
    """The box's long-axis angle in [0, pi) and how much to trust it (0 for squares).

    A one-character box is about square, so its shape says nothing about direction.
    """
    (dx, dy), _, long_len, short_len = _edges(box)
    if long_len == 0:
        return 0.0, 0.0
    angle = math.atan2(dy, dx) % math.pi
    elongation = long_len / max(short_len, 1.0) - 1.2
    return angle, max(0.0, elongation) * long_len


def estimate_axis(boxes: Iterable[TextBox]) -> float:
    """The dominant text axis in [0, pi): a weighted mean of box axes (angles doubled)."""
    sx = sy = 0.0
    for box in boxes:
        angle, weight = box_axis(box)
        sx += weight * math.cos(2 * angle)
        sy += weight * math.sin(2 * angle)
    if sx == 0 and sy == 0:
        return 0.0
    return (math.atan2(sy, sx) / 2) % math.pi


def candidate_frames(boxes: Sequence[TextBox]) -> list[Frame]:
    """The two reading directions along the estimated axis, the likelier one first.

    Photos are more often upright than upside down, and rotated a quarter turn
    clockwise (text reading downwards) about as often as anticlockwise, so the
    first guess is the direction closest to plain left-to-right.
    """
    axis = normalise_angle(estimate_axis(boxes))
    first = Frame(axis if abs(axis) <= math.pi / 2 + 1e-9 else normalise_angle(axis + math.pi))
    return [first, first.flipped()]


def place(box: TextBox, frame: Frame) -> PlacedBox:
    short_len = _edges(box)[3]
    card = [frame.to_card(x, y) for x, y in box.points]
    us = [u for u, _ in card]
    cv = sum(v for _, v in card) / len(card)
    # The height is the box's own short side: projecting the corners instead would
    # inflate it on long boxes whenever the frame's angle is a little off.
    height = short_len if short_len > 0 else max(v for _, v in card) - min(v for _, v in card)
    return PlacedBox(box, min(us), max(us), cv, max(height, 1.0))


def place_all(boxes: Iterable[TextBox], frame: Frame) -> list[PlacedBox]:
    return [place(b, frame) for b in boxes]


def group_lines(placed: Sequence[PlacedBox]) -> list[Line]:
    """Cluster boxes into printed lines, top to bottom, each left to right."""
    lines: list[list[PlacedBox]] = []
    for box in sorted(placed, key=lambda b: b.cv):
        best: tuple[float, int] | None = None
        for index, members in enumerate(lines):
            # Compare with the member nearest along the line: on a tilted or
            # perspective photo far ends of one line sit at different heights.
            nearest = min(members, key=lambda m: _gap_along(m, box))
            distance = abs(nearest.cv - box.cv)
            limit = LINE_TOLERANCE * (nearest.height + box.height) / 2
            overlapping = any(
                _overlap_along(m, box) > 0.5 * min(m.width, box.width) for m in members
            )
            if distance <= limit and not overlapping and (best is None or distance < best[0]):
                best = (distance, index)
        if best is None:
            lines.append([box])
        else:
            lines[best[1]].append(box)
    result = [Line(tuple(sorted(members, key=lambda b: b.u0))) for members in lines]
    return sorted(result, key=lambda line: line.cv)


def _gap_along(a: PlacedBox, b: PlacedBox) -> float:
    return max(0.0, max(a.u0, b.u0) - min(a.u1, b.u1))


def _overlap_along(a: PlacedBox, b: PlacedBox) -> float:
    return max(0.0, min(a.u1, b.u1) - max(a.u0, b.u0))


def reading_lines(boxes: Sequence[TextBox], frame: Frame) -> list[Line]:
    """The boxes as lines in reading order for one frame."""
    return group_lines(place_all(boxes, frame))


def frame_rectangle(
    frame: Frame, u0: float, u1: float, v0: float, v1: float
) -> tuple[tuple[float, float], ...]:
    """Corners of a rectangle given along and across ``frame``'s text, in the coordinates
    the frame was estimated from (clockwise from top left, as the detector gives boxes)."""
    cos, sin = math.cos(frame.angle), math.sin(frame.angle)
    return tuple(
        (u * cos - v * sin, u * sin + v * cos) for u, v in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))
    )


def same_line(a: PlacedBox, b: PlacedBox) -> bool:
    return abs(a.cv - b.cv) <= LINE_TOLERANCE * (a.height + b.height) / 2


def right_of(
    anchor: PlacedBox, placed: Sequence[PlacedBox], max_gap: float | None = None
) -> list[PlacedBox]:
    """Boxes on the anchor's line that start after it, left to right.

    ``max_gap`` (in anchor heights) stops at the first gap wider than that, so a value
    does not run on into the next column.
    """
    slack = 0.3 * anchor.height
    found = sorted(
        (
            b
            for b in placed
            if b is not anchor
            and same_line(anchor, b)
            # Detector boxes overhang their text, so neighbours may overlap a lot.
            and b.u0 > anchor.u0
            and b.cu >= anchor.u1 - slack
        ),
        key=lambda b: b.u0,
    )
    if max_gap is None:
        return found
    kept: list[PlacedBox] = []
    edge = anchor.u1
    for box in found:
        if box.u0 - edge > max_gap * anchor.height:
            break
        kept.append(box)
        edge = max(edge, box.u1)
    return kept


def below(
    anchor: PlacedBox, placed: Sequence[PlacedBox], max_distance: float | None = None
) -> list[PlacedBox]:
    """Boxes whose centre lies under the anchor's line, nearest first.

    ``max_distance`` is in anchor heights, measured between centres.
    """
    found = [b for b in placed if b is not anchor and b.cv > anchor.cv and not same_line(anchor, b)]
    if max_distance is not None:
        found = [b for b in found if b.cv - anchor.cv <= max_distance * anchor.height]
    return sorted(found, key=lambda b: (b.cv, b.u0))


def split_placed(box: PlacedBox, start: int, end: int | None = None) -> PlacedBox:
    """The part of a box holding characters ``start:end``, assuming even character widths.

    Used when a label and its value come as one box ('姓名林娜').
    """
    text = box.text
    end = len(text) if end is None else end
    if not text:
        return box
    per_char = box.width / len(text)
    blanks = box.box.blanks[start:end]
    if blanks:  # a part has no character before its first one
        blanks = (0.0, *blanks[1:])
    doubts = box.box.doubts[start:end]
    certainties = box.box.certainties[start:end]
    passed = box.box.passed[start:end] if len(box.box.passed) == len(text) else ()
    if passed:  # nor anything passed over before it
        passed = (("", 0.0), *passed[1:])
    # What was passed over after the part's last character: before the next one's.
    after = box.box.passed_after if end >= len(text) else ("", 0.0)
    if end < len(text) and len(box.box.passed) == len(text):
        after = box.box.passed[end]
    part = TextBox(
        box.box.points, text[start:end], box.box.score, doubts, blanks, certainties, passed, after
    )
    return PlacedBox(part, box.u0 + start * per_char, box.u0 + end * per_char, box.cv, box.height)


# A 3x3 matrix of a plane's points (homogeneous coordinates).
Matrix = npt.NDArray[np.float64]


class LineReading(tuple[str, float]):
    """One crop read by a ``LineReader`` (a second look): (text, score), with what the
    recogniser doubted in it as a page's boxes carry it (``TextBox.doubts`` and
    ``TextBox.certainties``, per character of ``text``; empty when not known).

    A tuple, so that second looks that want only the text and score take it as before;
    those whose reading may become a value's keep its doubts with ``read_box``: a
    character misread there must flag the answer as one misread in the first reading
    does, not pass silently.
    """

    doubts: tuple[str, ...]
    certainties: tuple[float, ...]

    def __new__(
        cls,
        text: str,
        score: float,
        doubts: tuple[str, ...] = (),
        certainties: tuple[float, ...] = (),
    ) -> LineReading:
        reading = super().__new__(cls, (text, score))
        reading.doubts = doubts if len(doubts) == len(text) else ()
        reading.certainties = certainties if len(certainties) == len(text) else ()
        return reading

    def without(self, drop: Iterable[int]) -> LineReading:
        """The reading less the characters at ``drop``, their doubts with them."""
        gone = set(drop)
        kept = [i for i in range(len(self[0])) if i not in gone]
        return LineReading(
            "".join(self[0][i] for i in kept),
            self[1],
            tuple(self.doubts[i] for i in kept) if self.doubts else (),
            tuple(self.certainties[i] for i in kept) if self.certainties else (),
        )


def read_box(points: tuple[tuple[float, float], ...], reading: tuple[str, float]) -> TextBox:
    """A box at ``points`` holding a second look's ``reading``, stripped, with its doubts
    and certainties when the reader gave them (a ``LineReading``) and they still line up."""
    text, score = reading
    stripped = text.strip()
    if not isinstance(reading, LineReading) or stripped != text:
        return TextBox(points, stripped, score)
    return TextBox(points, text, score, reading.doubts, (), reading.certainties)


# Recognises upright text-line crops: (text, score) per crop, with the recogniser's doubts
# (``LineReading``) when the reader is the local engine's.
LineReader = Callable[[Sequence[BGRImage]], list[tuple[str, float]]]


@dataclass
class OcrPage:
    """What the detector and recogniser found on one photo.

    ``directions`` holds, per box, the unit vector along which its text reads in image
    coordinates (from the angle classifier), or is empty when unknown. ``to_photo``: the
    3x3 matrix taking ``image`` coordinates to those of the photo as sent, when ``image``
    is an enlarged crop, a quarter turn or a straightening of it; None when it is the
    photo itself.
    """

    image: BGRImage
    boxes: list[TextBox]
    directions: list[tuple[float, float]] = field(default_factory=list)
    to_photo: Matrix | None = None

    def photo_boxes(self) -> list[TextBox]:
        """The boxes in the coordinates of the photo as sent (see ``to_photo``)."""
        if self.to_photo is None:
            return list(self.boxes)
        moved = []
        for box in self.boxes:
            corners = cv2.perspectiveTransform(np.asarray([box.points], np.float64), self.to_photo)
            moved.append(replace(box, points=tuple((float(x), float(y)) for x, y in corners[0])))
        return moved

    def frames(self) -> list[Frame]:
        """Reading directions to try, the likeliest first."""
        frames = candidate_frames(self.boxes)
        if len(self.directions) != len(self.boxes):
            return frames
        vote = 0.0
        axis = frames[0].angle
        for box, (dx, dy) in zip(self.boxes, self.directions, strict=True):
            _, weight = box_axis(box)
            vote += weight * (dx * math.cos(axis) + dy * math.sin(axis))
        return frames if vote >= 0 else frames[::-1]


def cut_text(
    image: BGRImage,
    box: PlacedBox,
    frame: Frame,
    pad: float = 0.25,
    target_height: int = 64,
    pad_across: float | None = None,
) -> BGRImage:
    """An upright, enlarged crop of one box for a second reading.

    ``pad`` is in box heights, along the text and, unless ``pad_across`` says otherwise,
    above and below it; the crop is scaled so the text is ``target_height`` tall.
    """
    margin = pad * box.height
    across = margin if pad_across is None else pad_across * box.height
    u0, u1 = box.u0 - margin, box.u1 + margin
    v0, v1 = box.v0 - across, box.v1 + across
    scale = target_height / box.height
    width = max(1, round((u1 - u0) * scale))
    height = max(1, round((v1 - v0) * scale))
    return warp_upright(image, frame, (u0, v0), (width, height), scale)


def warp_upright(
    image: BGRImage,
    frame: Frame,
    origin: tuple[float, float],
    size: tuple[int, int],
    scale: float = 1.0,
    interpolation: int = cv2.INTER_CUBIC,
) -> BGRImage:
    """The card-frame rectangle from ``origin`` (u, v) cut out of ``image`` upright,
    enlarged ``scale`` times into ``size`` (width, height) pixels; the border replicated.
    Grey images too (uint8, one channel)."""
    u0, v0 = origin
    cos, sin = math.cos(frame.angle), math.sin(frame.angle)
    # Card (u, v) -> image (x, y) is the inverse rotation of Frame.to_card.
    origin_x, origin_y = u0 * cos - v0 * sin, u0 * sin + v0 * cos
    # Output pixel (i, j) samples image at origin + (i*cos - j*sin, i*sin + j*cos) / scale.
    matrix = np.array(
        [[cos / scale, -sin / scale, origin_x], [sin / scale, cos / scale, origin_y]],
        dtype=np.float64,
    )
    crop = cv2.warpAffine(
        image,
        matrix,
        size,
        flags=interpolation | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return cast(BGRImage, crop)


@dataclass
class CardView:
    """A page seen in one frame: its boxes placed and grouped into lines."""

    page: OcrPage
    frame: Frame
    placed: list[PlacedBox]
    lines: list[Line]

    @classmethod
    def of(cls, page: OcrPage, frame: Frame) -> CardView:
        placed = place_all(page.boxes, frame)
        return cls(page, frame, placed, group_lines(placed))

    def line_of(self, box: PlacedBox) -> Line | None:
        for line in self.lines:
            if any(member.box is box.box for member in line.boxes):
                return line
        return None

    def cut(self, box: PlacedBox, pad: float = 0.25, pad_across: float | None = None) -> BGRImage:
        return cut_text(self.page.image, box, self.frame, pad, pad_across=pad_across)


# cos 45 degrees: a direction within 45 degrees of a frame's runs along it.
ALONG = math.cos(math.pi / 4)


def reads_along(frame: Frame, direction: tuple[float, float], limit: float = ALONG) -> bool:
    """Whether a box's reading direction (the angle classifier's) runs along the frame:
    their cosine above ``limit`` (45 degrees by default; 0 for "not against it")."""
    dx, dy = direction
    return dx * math.cos(frame.angle) + dy * math.sin(frame.angle) > limit


def righted(view: CardView, reader: LineReader, sure: float, *, sideways: bool = False) -> CardView:
    """The view with the boxes the angle classifier read against the page's direction
    read again the page's way up: a short number looks as likely upside down to it
    ('90' read as '06', both at 0.9999), and all of a table or a page reads one way (the
    view's, which most boxes agree with). With ``sideways`` a short box read at a quarter
    turn to it is read again too (RapidOCR turns only tall cuts: on a table lying on its
    side a lone digit is read sideways). A second reading replaces the first when it is at
    least ``sure`` or surer than the first."""
    directions = view.page.directions
    if len(directions) != len(view.page.boxes):
        return view
    limit = ALONG if sideways else 0.0
    against = [i for i, d in enumerate(directions) if not reads_along(view.frame, d, limit)]
    if not against or len(against) > len(directions) // 2:
        return view
    readings = reader([view.cut(view.placed[i]) for i in against])
    boxes = list(view.page.boxes)
    for i, reading in zip(against, readings, strict=True):
        # The box read again keeps what the recogniser doubted, as the first reading's
        # boxes do (``read_box``).
        again = read_box(boxes[i].points, reading)
        if again.text and (again.score >= sure or again.score > boxes[i].score):
            boxes[i] = again
    return CardView.of(OcrPage(view.page.image, boxes, list(directions)), view.frame)


def crop_variants(crop: BGRImage) -> list[BGRImage]:
    """The crop as it is, contrast-equalised, and binarised: each fools OCR differently."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    equalised = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(grey)
    _, binary = cv2.threshold(
        cv2.GaussianBlur(grey, (3, 3), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    return [
        crop,
        cast(BGRImage, cv2.cvtColor(equalised, cv2.COLOR_GRAY2BGR)),
        cast(BGRImage, cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR)),
    ]
