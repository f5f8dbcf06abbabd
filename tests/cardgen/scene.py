"""Turning a flat card into a phone photo or a scan, and making photos with no card at all.

Photo mode puts the card on a procedurally textured surface (wood, desk, cloth) among
clutter, then applies what phones do: rotation, perspective, uneven light, a cast
shadow, blur, sensor noise and JPEG compression.
"""

from __future__ import annotations

import random
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from tests.cardgen.fonts import FontSet
from tests.cardgen.render import CARD_CORNER_MM, CARD_MM, guilloche, rounded_alpha

Array = npt.NDArray[Any]


def _f32(values: Any) -> Array:
    """Pins numpy/cv2 results (typed loosely) to the float32 arrays this module passes around."""
    return np.asarray(values, dtype=np.float32)


CLUTTER_WORDS = (
    "发票", "收据", "合计 ¥23.50", "会议纪要", "Meeting 10:30", "请勿折叠", "快递单",
    "谢谢惠顾", "NOTE", "购物清单", "周三 下午", "电话 021-", "No.0315", "TEL", "外卖",
)  # fmt: skip


def _resize(array: Array, size: tuple[int, int]) -> Array:
    return cv2.resize(array, size, interpolation=cv2.INTER_LINEAR)


def _smooth(rng: np.random.Generator, size: tuple[int, int], cells: int) -> Array:
    width, height = size
    small = rng.random((max(2, cells * height // width), cells)).astype(np.float32)
    return _resize(small, (width, height))


def _grid(width: int, height: int) -> tuple[Array, Array]:
    """Broadcastable pixel coordinates: (height, 1) and (1, width), cheap to build."""
    return (
        np.arange(height, dtype=np.float32)[:, None],
        np.arange(width, dtype=np.float32)[None, :],
    )


def wood(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    width, height = size
    ys, xs = _grid(width, height)
    warp = _smooth(rng, size, 6) * float(rng.uniform(20, 60))
    rings = np.sin((ys + warp) * float(rng.uniform(0.05, 0.12)) + xs * 0.002)
    grain = _smooth(rng, size, 80) * 0.3
    light = np.array(rng.uniform([150, 105, 60], [210, 160, 110]), np.float32)
    dark = light * float(rng.uniform(0.55, 0.75))
    t = np.clip(0.5 + 0.35 * rings + grain - 0.15, 0, 1)[..., None]
    return light * (1 - t) + dark * t


def desk(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    base = np.array(rng.uniform(60, 235, 3), np.float32)
    mottled = _smooth(rng, size, 10)[..., None] * 25 - 12
    return _f32(base + mottled)


def cloth(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    width, height = size
    ys, xs = _grid(width, height)
    period = float(rng.uniform(6, 14))
    weave = np.sin(xs * 6.28 / period) * np.sin(ys * 6.28 / period)
    base = np.array(rng.uniform(40, 220, 3), np.float32)
    stripes = np.sin(xs * float(rng.uniform(0.01, 0.05))) * float(rng.uniform(0, 30))
    return base + (weave * 6 + stripes)[..., None]


TEXTURES = (wood, desk, cloth)


def surface(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    """A background surface as float32 RGB in [0, 255]."""
    texture = TEXTURES[int(rng.integers(len(TEXTURES)))]
    return _f32(np.clip(texture(rng, size), 0, 255))


def add_clutter(
    rng: random.Random, base: Array, fonts: FontSet, items: int, with_text: bool
) -> Array:
    """Pens, paper scraps, coins and scribbled notes lying around on the surface."""
    image = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(image, "RGBA")
    width, height = image.size
    for _ in range(items):
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255), 255)
        x, y = rng.uniform(-0.1, 1.0) * width, rng.uniform(-0.1, 1.0) * height
        shape = rng.random()
        if shape < 0.35:  # a sheet of paper, sometimes with printed words on it
            w, h = rng.uniform(0.15, 0.45) * width, rng.uniform(0.15, 0.45) * height
            paper = (*[rng.randint(225, 252)] * 3, 255)
            draw.rectangle((x, y, x + w, y + h), fill=paper)
            if with_text and fonts.cjk:
                font = rng.choice(fonts.cjk).at(int(rng.uniform(0.012, 0.025) * width))
                for row in range(rng.randint(1, 4)):
                    draw.text(
                        (x + 10, y + 10 + row * font.size * 1.6),
                        rng.choice(CLUTTER_WORDS),
                        font=font,
                        fill=(50, 50, 60, 255),
                    )
        elif shape < 0.6:  # a pen
            length = rng.uniform(0.2, 0.4) * width
            angle = rng.uniform(0, 3.14)
            x2, y2 = x + np.cos(angle) * length, y + np.sin(angle) * length
            draw.line((x, y, x2, y2), fill=colour, width=int(0.012 * width))
        elif shape < 0.8:  # a coin or a cup ring
            r = rng.uniform(0.02, 0.07) * width
            draw.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=max(2, int(r / 6)))
        else:
            r = rng.uniform(0.015, 0.04) * width
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour[:3], 255))
    return np.asarray(image, np.float32)


def lighting(rng: np.random.Generator, size: tuple[int, int], strength: float) -> Array:
    """A multiplicative light field: a gradient, a soft hot spot and maybe a hand's shadow."""
    width, height = size
    ys, xs = _grid(width, height)
    angle = float(rng.uniform(0, 6.28))
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height) - 0.5
    field = 1.0 + strength * ramp
    cx, cy = float(rng.uniform(0, width)), float(rng.uniform(0, height))
    spot = np.exp(-(((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.35 * width) ** 2)))
    field += strength * 0.5 * spot
    if rng.random() < 0.35:
        shadow = Image.new("L", size, 0)
        corner = [
            (float(rng.uniform(-0.2, 1.2)) * width, float(rng.uniform(-0.2, 1.2)) * height)
            for _ in range(4)
        ]
        ImageDraw.Draw(shadow).polygon(corner, fill=255)
        soft = shadow.filter(ImageFilter.GaussianBlur(width * 0.03))
        field *= 1.0 - float(rng.uniform(0.15, 0.35)) * np.asarray(soft, np.float32) / 255.0
    return _f32(field)[..., None]


def place_card(
    rng: np.random.Generator,
    card: Image.Image,
    canvas_size: tuple[int, int],
    card_fraction: float,
    angle_deg: float,
    perspective: float,
) -> tuple[Array, Array]:
    """Warps the card into the frame; returns (card RGB, alpha) at canvas size, float32."""
    width, height = canvas_size
    card_w, card_h = card.size
    radius = round(CARD_CORNER_MM / CARD_MM[0] * card_w)
    alpha = np.asarray(rounded_alpha(card.size, radius), np.float32) / 255.0
    quarter_turned = round(angle_deg / 90) % 2 == 1
    span = height if quarter_turned else width
    target_w = card_fraction * span
    half_w, half_h = target_w / 2, target_w * card_h / card_w / 2
    corners = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
    theta = np.radians(angle_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    placed = corners @ rotation.T
    placed += rng.uniform(-perspective, perspective, size=(4, 2)) * target_w
    extent = np.abs(placed).max(axis=0)
    centre = np.array(
        [
            rng.uniform(extent[0], max(extent[0] + 1, width - extent[0])),
            rng.uniform(extent[1], max(extent[1] + 1, height - extent[1])),
        ]
    )
    placed += centre
    source = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, placed.astype(np.float32))
    rgb = cv2.warpPerspective(
        np.asarray(card, np.float32), matrix, canvas_size, flags=cv2.INTER_AREA
    )
    mask = cv2.warpPerspective(alpha, matrix, canvas_size, flags=cv2.INTER_LINEAR)
    return rgb, mask[..., None]


def finish(
    rng: np.random.Generator, image: Array, blur_sigma: float, noise_sigma: float
) -> Image.Image:
    if blur_sigma > 0.05:
        image = cv2.GaussianBlur(image, (0, 0), blur_sigma)
    if noise_sigma > 0:
        image = image + rng.standard_normal(image.shape, dtype=np.float32) * noise_sigma
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")


def photo_size(rng: random.Random) -> tuple[int, int]:
    width = rng.randint(1000, 1500)
    aspect = rng.choice((3 / 4, 3 / 4, 9 / 16, 4 / 3))
    return width, round(width * aspect)


def photograph(
    rng: random.Random,
    np_rng: np.random.Generator,
    card: Image.Image,
    fonts: FontSet,
    angle_deg: float,
) -> Image.Image:
    """A phone photo of ``card`` lying on a cluttered surface."""
    size = photo_size(rng)
    background = add_clutter(
        rng, surface(np_rng, size), fonts, rng.randint(0, 5), with_text=rng.random() < 0.5
    )
    rgb, mask = place_card(
        np_rng, card, size, rng.uniform(0.55, 0.85), angle_deg, rng.uniform(0.0, 0.06)
    )
    # The card casts a soft shadow on the surface just beside itself.
    offset = np.array([[1, 0, rng.uniform(-12, 12)], [0, 1, rng.uniform(4, 16)]], np.float32)
    shadow = cv2.warpAffine(mask, offset, size)
    shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(4, 12))[..., None]
    background *= 1.0 - 0.45 * shadow
    image = background * (1 - mask) + rgb * mask
    image *= lighting(np_rng, size, rng.uniform(0.1, 0.45))
    if rng.random() < 0.2:  # glare off the laminate
        glare = np.zeros(size[::-1], np.float32)
        cx, cy = rng.randint(0, size[0]), rng.randint(0, size[1])
        cv2.ellipse(
            glare, (cx, cy), (size[0] // 8, size[1] // 14), rng.uniform(0, 180), 0, 360, 1.0, -1
        )
        glare = cv2.GaussianBlur(glare, (0, 0), size[0] / 40)[..., None] * mask
        image = image + glare * rng.uniform(40, 90)
    return finish(np_rng, image, rng.uniform(0.0, 1.2), rng.uniform(0.5, 2.5))


def scan(
    rng: random.Random, np_rng: np.random.Generator, card: Image.Image, lossless: bool
) -> Image.Image:
    """A flatbed scan: the card upright on white paper with a little scale and skew.

    A lossless (PNG) scan gets no sensor noise: scanners deliver clean images, and noise
    would make the PNG many times larger.
    """
    width = rng.randint(1000, 1300)
    card_w = int(width * rng.uniform(0.7, 0.9))
    card = card.resize(
        (card_w, round(card_w * card.size[1] / card.size[0])), Image.Resampling.LANCZOS
    )
    height = int(card.size[1] / rng.uniform(0.65, 0.85))
    page = np.full((height, width, 3), rng.uniform(240, 252), np.float32)
    rgb, mask = place_card(
        np_rng, card, (width, height), card_w / width, rng.uniform(-1.5, 1.5), 0.0
    )
    image = page * (1 - mask) + rgb * mask
    noise = 0.0 if lossless else rng.uniform(0.5, 2.0)
    return finish(np_rng, image, rng.uniform(0.0, 0.5), noise)


def blank_paper(rng: random.Random, np_rng: np.random.Generator) -> Image.Image:
    size = photo_size(rng)
    paper = np.full((size[1], size[0], 3), rng.uniform(200, 245), np.float32)
    paper += _smooth(np_rng, size, 8)[..., None] * 10
    image = paper * lighting(np_rng, size, rng.uniform(0.2, 0.5))
    return finish(np_rng, image, rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.5))


def clutter_only(rng: random.Random, np_rng: np.random.Generator, fonts: FontSet) -> Image.Image:
    size = photo_size(rng)
    image = add_clutter(rng, surface(np_rng, size), fonts, rng.randint(3, 8), with_text=True)
    image *= lighting(np_rng, size, rng.uniform(0.1, 0.4))
    return finish(np_rng, image, rng.uniform(0.0, 1.5), rng.uniform(0.5, 2.5))


def blurred_beyond_reading(photo: Image.Image, np_rng: np.random.Generator) -> Image.Image:
    """A badly out-of-focus shot: text strokes smeared far wider than themselves."""
    sigma = photo.size[0] / float(np_rng.uniform(60, 90))
    image = cv2.GaussianBlur(np.asarray(photo, np.float32), (0, 0), sigma)
    return finish(np_rng, image, 0.0, float(np_rng.uniform(2.0, 4.0)))


__all__ = [
    "blank_paper",
    "blurred_beyond_reading",
    "clutter_only",
    "guilloche",
    "photograph",
    "scan",
]
