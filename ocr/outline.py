"""The card's outline: its four sides, found from the photo's edges, not from its text.

A card (ID-1 format, 85.60 x 53.98 mm, rounded corners) lies in the photo turned and a
little skewed by perspective. Each side is looked for as a straight edge parallel to the
text (within a few degrees) outside the text: along each candidate line the photo's
gradient across the line is measured, and the line where most of its length is an edge
wins. Sides are searched only over the text's extent, so rounded corners and a finger
holding the card by a corner do not matter.

``find_card_quad(image)`` gives the four corners when all four sides are found;
``find_outline(image, text)`` gives the sides one by one (a missing side is one the
photo cut off, or too faint to see), for deciding whether the card is whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ocr.image import BGRImage, channel_extremes

# ID-1 (ISO/IEC 7810): width over height of ID and bank cards.
CARD_ASPECT = 85.60 / 53.98
# Sides are searched on a copy at most this many pixels long.
WORK_SIDE = 640
# Lines are tried turned up to this many degrees from the text's axis (perspective).
MAX_TILT_DEG = 4.0
TILT_STEP_DEG = 1.0
# Median gradient (grey levels per pixel, across the line) along a side, over its
# length, below which no side is found there.
EDGE_MIN = 4.0
# Sides are looked for from this many text heights beyond the text: the edges of the
# text's own strokes lie inside it.
SIDE_MARGIN = 0.3
# Of a line's samples, at least this share must lie in the photo for it to be tried.
INSIDE_SHARE = 0.9

Floats = npt.NDArray[np.float32]
# The order of sides everywhere: along the text's axis (left, right), across it (top, bottom).
SIDES = ("left", "right", "top", "bottom")


@dataclass(frozen=True)
class Outline:
    """The card's sides in a frame set by its text, in photo pixels.

    ``u`` runs along the text, ``v`` across it, both from ``origin`` (the text's
    centre). ``sides`` holds the offset of each side (left and right along ``u``, top
    and bottom along ``v``) and ``tilts`` its slope against the axis, or None when no
    edge was found. ``reach`` is how far the photo reaches from the origin in each
    side's direction (over the text's extent); ``text`` the text's own extent.
    """

    origin: Floats
    u: Floats
    v: Floats
    sides: tuple[float | None, float | None, float | None, float | None]
    tilts: tuple[float, float, float, float]
    strengths: tuple[float, float, float, float]
    reach: tuple[float, float, float, float]
    text: tuple[float, float, float, float]

    def quad(self) -> Floats | None:
        """The four corners (top-left, top-right, bottom-right, bottom-left in the text's
        frame) when every side was found."""
        left, right, top, bottom = self.sides
        if left is None or right is None or top is None or bottom is None:
            return None
        mid_u = (self.text[0] + self.text[1]) / 2
        mid_v = (self.text[2] + self.text[3]) / 2
        # Each side as a row of a linear equation in the frame's (x, y): a left or right
        # side is x = offset + tilt * (y - mid_v), a top or bottom y = offset + tilt * (x - mid_u).
        equations = [
            ((1.0, -self.tilts[0]), left - self.tilts[0] * mid_v),
            ((1.0, -self.tilts[1]), right - self.tilts[1] * mid_v),
            ((-self.tilts[2], 1.0), top - self.tilts[2] * mid_u),
            ((-self.tilts[3], 1.0), bottom - self.tilts[3] * mid_u),
        ]

        def corner(a: int, b: int) -> Floats:
            rows = np.array([equations[a][0], equations[b][0]])
            x, y = np.linalg.solve(rows, np.array([equations[a][1], equations[b][1]]))
            return np.asarray(self.origin + x * self.u + y * self.v, np.float32)

        return np.stack([corner(0, 2), corner(1, 2), corner(1, 3), corner(0, 3)])


def _axis(points: Floats) -> float:
    """The text's direction in [0, pi), from the long sides of its boxes (angles doubled,
    so that upside-down text counts the same)."""
    quads = points.reshape(-1, 4, 2)
    along = quads[:, 1] - quads[:, 0]
    across = quads[:, 3] - quads[:, 0]
    longer = np.where(
        (np.linalg.norm(along, axis=1) >= np.linalg.norm(across, axis=1))[:, None], along, across
    )
    angles = np.arctan2(longer[:, 1], longer[:, 0])
    weights = np.linalg.norm(longer, axis=1)
    sx, sy = (
        float((weights * np.cos(2 * angles)).sum()),
        float((weights * np.sin(2 * angles)).sum()),
    )
    return (math.atan2(sy, sx) / 2) % math.pi


def _gradients(image: BGRImage, u: Floats) -> tuple[Floats, Floats]:
    """Per pixel the strongest (over the colour channels) gradient along ``u`` and across it."""
    smooth = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.2)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    along, _ = channel_extremes(np.abs(gx * u[0] + gy * u[1]), axis=2)
    across, _ = channel_extremes(np.abs(-gx * u[1] + gy * u[0]), axis=2)
    return np.asarray(along, np.float32), np.asarray(across, np.float32)


# A found side must lie at least this far (work pixels) inside the photo: the photo's
# own edge, cutting through the card's print, looks like a side.
EDGE_CLEARANCE = 4.0
# Peaks of one side's profile closer than this (work pixels) are one edge.
PEAK_SPACING = 6
# Up to this many candidate lines per side are weighed against the others.
CANDIDATES = 3
# With all four sides found, width over height (the text's axis over its normal) within
# this factor of ID-1's 1.586: perspective and the tilt of a hand-held phone stay inside.
ASPECT_TOLERANCE = 1.2


@dataclass(frozen=True)
class _Side:
    candidates: list[tuple[float, float, float]]  # (offset, tilt, strength), strongest first
    reach: float


def _search_side(
    gradient: Floats,
    origin: Floats,
    normal: Floats,
    tangent: Floats,
    start: float,
    span: tuple[float, float],
    sign: float,
) -> _Side:
    """Straight edges beyond ``start`` (in the ``sign`` direction along ``normal``)."""
    height, width = gradient.shape
    ts = np.linspace(span[0], span[1], 64, dtype=np.float32)
    mid = (span[0] + span[1]) / 2
    tilts = np.tan(
        np.radians(np.arange(-MAX_TILT_DEG, MAX_TILT_DEG + 1e-6, TILT_STEP_DEG, dtype=np.float32))
    )
    # Lines are tried outwards up to the photo's farthest corner along ``normal`` (a line
    # beyond it, at any tilt, has no sample inside the photo), not to its diagonal.
    corners = np.array([(0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)])
    farthest = float(((corners - origin) @ normal * sign).max())
    slack = float(np.abs(tilts).max()) * (span[1] - span[0]) / 2 + 1.0
    limit = min(float(np.hypot(width, height)), farthest - sign * start + slack)
    offsets = start + sign * np.arange(0.0, limit, 1.0, dtype=np.float32)
    # offsets x tilts x samples along the line.
    shift = offsets[:, None, None] + tilts[None, :, None] * (ts - mid)[None, None, :]
    xs = origin[0] + shift * normal[0] + ts[None, None, :] * tangent[0]
    ys = origin[1] + shift * normal[1] + ts[None, None, :] * tangent[1]
    c = EDGE_CLEARANCE
    inside = (xs >= c) & (xs <= width - 1 - c) & (ys >= c) & (ys <= height - 1 - c)
    level_inside = inside[:, len(tilts) // 2, :].mean(axis=1) >= INSIDE_SHARE
    if not level_inside.any():
        return _Side([], start)
    reach = float(offsets[int(np.nonzero(level_inside)[0].max())] + sign * c)
    # Lines past the last one mostly inside the photo (at any tilt) score 0 below: they
    # are left out before sampling, which ran to the photo's diagonal (half the time).
    tried = inside.mean(axis=2) >= INSIDE_SHARE
    count = int(np.nonzero(tried.any(axis=1))[0].max()) + 1
    offsets, xs, ys, inside = offsets[:count], xs[:count], ys[:count], inside[:count]
    values = cv2.remap(
        gradient,
        xs.reshape(len(offsets), -1).astype(np.float32),
        ys.reshape(len(offsets), -1).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    ).reshape(xs.shape)
    # Outside samples count as no edge; a line mostly outside is not tried at all.
    values = np.where(inside, values, 0.0)
    medians = np.median(values, axis=2)
    medians[~tried[:count]] = 0.0
    best_tilt = medians.argmax(axis=1)
    profile = medians.max(axis=1)
    candidates: list[tuple[float, float, float]] = []
    for index in np.argsort(-profile):
        strength = float(profile[index])
        if strength < EDGE_MIN or len(candidates) >= CANDIDATES:
            break
        offset = float(offsets[index])
        if all(abs(offset - other[0]) >= PEAK_SPACING for other in candidates):
            candidates.append((offset, float(tilts[best_tilt[index]]), strength))
    return _Side(candidates, reach)


def _choose(sides: list[_Side]) -> list[tuple[float, float, float] | None]:
    """One line per side: the strongest four that make an ID-1 card, else each side's
    strongest (a card cut by the photo's edge has no fourth side to agree with)."""
    best: tuple[float, list[tuple[float, float, float] | None]] | None = None
    left, right, top, bottom = (side.candidates for side in sides)
    for a in left:
        for b in right:
            for c in top:
                for d in bottom:
                    aspect = (b[0] - a[0]) / max(1e-6, d[0] - c[0])
                    if not 1 / ASPECT_TOLERANCE <= aspect / CARD_ASPECT <= ASPECT_TOLERANCE:
                        continue
                    total = a[2] + b[2] + c[2] + d[2]
                    if best is None or total > best[0]:
                        best = (total, [a, b, c, d])
    if best is not None:
        return best[1]
    return [side.candidates[0] if side.candidates else None for side in sides]


def _text_height(points: Floats) -> float:
    quads = points.reshape(-1, 4, 2)
    sides = np.minimum(
        np.linalg.norm(quads[:, 1] - quads[:, 0], axis=1),
        np.linalg.norm(quads[:, 3] - quads[:, 0], axis=1),
    )
    return float(np.median(sides))


def find_outline(image: BGRImage, text: Floats, margin: float | None = None) -> Outline:
    """The card's sides around ``text`` (the corners of its text boxes, N x 2 pixels,
    four per box in the engine's order); sides are looked for from ``margin`` pixels
    beyond the text outwards (by default SIDE_MARGIN text heights)."""
    points = np.asarray(text, np.float32).reshape(-1, 2)
    if margin is None:
        boxes = len(points) >= 4 and len(points) % 4 == 0
        margin = SIDE_MARGIN * _text_height(points) if boxes else 0.0
    scale = min(1.0, WORK_SIDE / float(max(image.shape[:2])))
    small: BGRImage = image
    if scale < 1.0:
        small = np.asarray(
            cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
    angle = _axis(points) if len(points) >= 4 and len(points) % 4 == 0 else 0.0
    u = np.array([math.cos(angle), math.sin(angle)], np.float32)
    v = np.array([-u[1], u[0]], np.float32)
    scaled = points * scale
    origin = scaled.mean(axis=0).astype(np.float32)
    su, sv = (scaled - origin) @ u, (scaled - origin) @ v
    extent = (float(su.min()), float(su.max()), float(sv.min()), float(sv.max()))
    along, across = _gradients(small, u)
    gap = margin * scale
    sides = [
        _search_side(along, origin, u, v, extent[0] - gap, extent[2:], -1.0),
        _search_side(along, origin, u, v, extent[1] + gap, extent[2:], 1.0),
        _search_side(across, origin, v, u, extent[2] - gap, extent[:2], -1.0),
        _search_side(across, origin, v, u, extent[3] + gap, extent[:2], 1.0),
    ]
    chosen = _choose(sides)
    back = 1.0 / scale
    offsets = [None if c is None else c[0] * back for c in chosen]
    tilts = [0.0 if c is None else c[1] for c in chosen]
    strengths = [0.0 if c is None else c[2] for c in chosen]
    reach = [side.reach * back for side in sides]
    return Outline(
        origin=np.asarray(origin * back, np.float32),
        u=u,
        v=v,
        sides=(offsets[0], offsets[1], offsets[2], offsets[3]),
        tilts=(tilts[0], tilts[1], tilts[2], tilts[3]),
        strengths=(strengths[0], strengths[1], strengths[2], strengths[3]),
        reach=(reach[0], reach[1], reach[2], reach[3]),
        text=(extent[0] * back, extent[1] * back, extent[2] * back, extent[3] * back),
    )


def find_card_quad(image: BGRImage, text: Floats | None = None) -> Floats | None:
    """The card's four corners, top-left first as its text reads, then clockwise; None
    when a side cannot be found (cut off by the photo, or too faint). ``text``: the
    corners of the card's text boxes; without them the search starts from the middle
    tenth of the photo, for a card that fills most of it."""
    if text is None:
        height, width = image.shape[:2]
        cx, cy, hw, hh = width / 2, height / 2, width / 20, height / 20
        text = np.array(
            [(cx - hw, cy - hh), (cx + hw, cy - hh), (cx + hw, cy + hh), (cx - hw, cy + hh)],
            np.float32,
        )
    return find_outline(image, text).quad()


def share_outside(outline: Outline) -> float | None:
    """How much of the card lies beyond the photo's edge, as a share of its width or
    height (the larger); None when too few sides were found to tell.

    A side that was not found while the photo reaches past where it should be (from the
    opposite side and the card's other dimension times the ID-1 aspect) was merely too
    faint; one that should lie beyond the photo's edge was cut off by it.
    """
    left, right, top, bottom = outline.sides
    width = None if left is None or right is None else right - left
    height = None if top is None or bottom is None else bottom - top
    if width is None and height is not None:
        width = height * CARD_ASPECT
    if height is None and width is not None:
        height = width / CARD_ASPECT
    if width is None or height is None:
        return None
    shares = [0.0]
    for low, high, reach_low, reach_high, size in (
        (left, right, outline.reach[0], outline.reach[1], width),
        (top, bottom, outline.reach[2], outline.reach[3], height),
    ):
        if low is None and high is not None:
            shares.append((reach_low - (high - size)) / size)
        elif high is None and low is not None:
            shares.append(((low + size) - reach_high) / size)
        elif low is None and high is None:
            shares.append((size - (reach_high - reach_low)) / size)
    return max(shares)
