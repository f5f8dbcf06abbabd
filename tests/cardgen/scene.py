"""Turning a flat card into a phone photo or a scan, and making photos with no card at all.

Photo mode puts the card on a procedurally textured surface (wood, desk, cloth) among
clutter, then applies what phones do: rotation, perspective, uneven light, a cast
shadow, blur, sensor noise and JPEG compression.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tests.cardgen.fonts import FontSet
from tests.cardgen.noise import Array, as_f32, grid, resize, smooth_noise
from tests.cardgen.render import CARD_CORNER_MM, CARD_MM, rounded_alpha

# A card's corner radius as a share of its width (ID and bank cards, ISO/IEC 7810 ID-1).
CARD_CORNER_SHARE = CARD_CORNER_MM / CARD_MM[0]

CLUTTER_WORDS = (
    "发票", "收据", "合计 ¥23.50", "会议纪要", "Meeting 10:30", "请勿折叠", "快递单",
    "谢谢惠顾", "NOTE", "购物清单", "周三 下午", "电话 021-", "No.0315", "TEL", "外卖",
)  # fmt: skip


def _streaks(rng: np.random.Generator, size: tuple[int, int], along: int, across: int) -> Array:
    """Noise stretched along x: ``along`` cells across the width, ``across`` down the height."""
    small = rng.random((across, along)).astype(np.float32)
    return resize(small, size)


def wood(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    """Boards with grain: stretched streaks bent by slow rings, dark seams between boards."""
    width, height = size
    ys, xs = grid(width, height)
    warp = smooth_noise(rng, size, 5) * float(rng.uniform(30, 90))
    rings = np.sin(
        (ys + warp + xs * float(rng.uniform(-0.05, 0.05))) * float(rng.uniform(0.03, 0.08))
    )
    fine = _streaks(rng, size, 6, height // 3)
    coarse = _streaks(rng, size, 3, height // 25)
    light = np.array(rng.uniform([150, 100, 55], [225, 175, 120]), np.float32)
    dark = light * float(rng.uniform(0.5, 0.72))
    t = np.clip(0.25 + 0.2 * rings + 0.35 * fine + 0.3 * coarse - 0.1, 0, 1)
    board = float(rng.uniform(0.18, 0.4)) * height
    offset = float(rng.uniform(0, board))
    seam = np.exp(-((((ys + offset) % board) - 1.5) ** 2) / 2.0)
    t = np.clip(t + 0.6 * seam, 0, 1)[..., None]
    return as_f32(light * (1 - t) + dark * t)


def _natural_colour(rng: np.random.Generator) -> Array:
    """A muted colour like real furniture and fabric: a grey with a moderate tint."""
    grey = float(rng.uniform(45, 230))
    tint = (rng.random(3).astype(np.float32) - 0.5) * float(rng.uniform(15, 90))
    return as_f32(np.clip(grey + tint, 0, 255))


def desk(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    """A plain laminate or painted desk, mottled, with fine speckle."""
    base = _natural_colour(rng)
    mottled = smooth_noise(rng, size, 10)[..., None] * 25 - 12
    speckle = smooth_noise(rng, size, size[0] // 4)[..., None] * 12 - 6
    return as_f32(base + mottled + speckle)


def cloth(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    """Woven fabric, plain or checked (gingham), with soft folds."""
    width, height = size
    ys, xs = grid(width, height)
    period = float(rng.uniform(6, 14))
    weave = np.sin(xs * 6.28 / period) * np.sin(ys * 6.28 / period)
    base = _natural_colour(rng)
    folds = (smooth_noise(rng, size, 4) - 0.5) * float(rng.uniform(20, 60))
    fabric = base + (weave * 6 + folds)[..., None]
    if rng.random() < 0.4:
        check = float(rng.uniform(30, 80))
        bands = ((xs % check) < check / 2).astype(np.float32) + ((ys % check) < check / 2)
        second = _natural_colour(rng)
        fabric = fabric + (second - base) * (bands[..., None] * 0.3)
    return as_f32(fabric)


def marble(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    """A stone counter top: pale with dark, wandering veins."""
    width, height = size
    ys, xs = grid(width, height)
    turbulence = smooth_noise(rng, size, 3) * 1.2 + smooth_noise(rng, size, 14) * 0.25
    angle = float(rng.uniform(0, 3.14))
    along = (np.cos(angle) * xs + np.sin(angle) * ys) / width
    veins = np.abs(np.sin((along * float(rng.uniform(1.5, 4)) + turbulence) * 3.14))
    vein = np.exp(-((veins / 0.05) ** 2))
    base = float(rng.uniform(205, 245)) + (rng.random(3).astype(np.float32) - 0.5) * 8
    ink = np.array(rng.uniform(60, 140, 3), np.float32)
    strength = float(rng.uniform(0.3, 0.7))
    cloud = (smooth_noise(rng, size, 6) - 0.5)[..., None] * 20
    return as_f32(
        base * (1 - strength * vein[..., None]) + ink * strength * vein[..., None] + cloud
    )


def notebook(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    """A ruled notebook page: faint blue lines and a red margin."""
    width, height = size
    ys, xs = grid(width, height)
    page = np.full((height, width, 3), float(rng.uniform(225, 250)), np.float32)
    spacing = float(rng.uniform(28, 45))
    rule = np.exp(-((((ys + float(rng.uniform(0, spacing))) % spacing) - 1) ** 2) / 1.5)
    page -= rule[..., None] * np.array([60, 35, 5], np.float32)
    margin = np.exp(-((xs - float(rng.uniform(0.1, 0.2)) * width) ** 2) / 3.0)
    page -= margin[..., None] * np.array([5, 90, 90], np.float32)
    return as_f32(page + (smooth_noise(rng, size, 8)[..., None] - 0.5) * 10)


TEXTURES = (wood, wood, desk, desk, cloth, marble, notebook)


def surface(rng: np.random.Generator, size: tuple[int, int]) -> Array:
    """A background surface as float32 RGB in [0, 255]."""
    texture = TEXTURES[int(rng.integers(len(TEXTURES)))]
    return as_f32(np.clip(texture(rng, size), 0, 255))


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
    ys, xs = grid(width, height)
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
    return as_f32(field)[..., None]


@dataclass(frozen=True)
class PlacedCard:
    """A card warped into the frame: colour and coverage at frame size, float32."""

    rgb: Array
    alpha: Array  # (height, width, 1) in [0, 1]
    matrix: Array  # card pixels -> frame pixels
    card_size: tuple[int, int]

    def to_frame(self, points_mm: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Frame coordinates of points given in millimetres on the card."""
        per_mm = self.card_size[0] / CARD_MM[0]
        source = np.array([[[x * per_mm, y * per_mm] for x, y in points_mm]], np.float32)
        placed = cv2.perspectiveTransform(source, self.matrix)[0]
        return [(float(x), float(y)) for x, y in placed]


def place_card(
    rng: np.random.Generator,
    card: Image.Image,
    canvas_size: tuple[int, int],
    card_fraction: float,
    angle_deg: float,
    perspective: float,
    margin: float = 0.0,
    corner_share: float = CARD_CORNER_SHARE,
) -> PlacedCard:
    """Turns, tilts and moves the card into the frame, keeping ``margin`` (share) clear.

    ``corner_share``: the corner radius as a share of the width (0 for a sheet of paper).
    """
    width, height = canvas_size
    quarter_turned = round(angle_deg / 90) % 2 == 1
    target_w = card_fraction * (height if quarter_turned else width)
    if target_w < card.size[0]:
        # Shrink first: a perspective warp alone samples sparsely and aliases thin strokes.
        scaled_h = round(target_w * card.size[1] / card.size[0])
        card = card.resize((round(target_w), scaled_h), Image.Resampling.LANCZOS)
    card_w, card_h = card.size
    radius = round(corner_share * card_w)
    alpha = np.asarray(rounded_alpha(card.size, radius), np.float32) / 255.0
    half_w, half_h = target_w / 2, target_w * card_h / card_w / 2
    corners = np.array([[-half_w, -half_h], [half_w, -half_h], [half_w, half_h], [-half_w, half_h]])
    theta = np.radians(angle_deg)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    placed = corners @ rotation.T
    placed += rng.uniform(-perspective, perspective, size=(4, 2)) * target_w
    frame = np.array([width, height], np.float64)
    extent = np.abs(placed).max(axis=0)
    # A close-up whose tilted corners would leave the frame is shrunk to fit: a label must
    # never name text that the photo cut off.
    fit = float(min(1.0, *(frame * (1 - 2 * margin) / (2 * extent))))
    placed *= fit
    low = extent * fit + margin * frame
    high = frame - low
    centre = [rng.uniform(low[i], high[i]) if high[i] > low[i] else frame[i] / 2 for i in (0, 1)]
    placed += np.array(centre)
    source = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, placed.astype(np.float32))
    rgb = cv2.warpPerspective(np.asarray(card, np.float32), matrix, canvas_size)
    mask = cv2.warpPerspective(alpha, matrix, canvas_size)
    return PlacedCard(as_f32(rgb), as_f32(mask)[..., None], as_f32(matrix), (card_w, card_h))


def add_thumb(rng: random.Random, image: Array, card: PlacedCard) -> Array:
    """A thumb holding the card at its right edge, where no card face has text."""
    centre_y = rng.uniform(17.0, 25.0)
    radius = rng.uniform(5.5, 7.0)
    tip_x = CARD_MM[0] - 3.0 + radius  # the tip reaches 3 mm onto the card
    tip = [
        (tip_x + radius * np.cos(t), centre_y + radius * np.sin(t))
        for t in np.linspace(np.pi / 2, 3 * np.pi / 2, 20)
    ]
    # The rest of the hand widens as it leaves the frame.
    outline = [
        *tip,
        (CARD_MM[0] + 90.0, centre_y - radius * 1.6),
        (CARD_MM[0] + 90.0, centre_y + radius * 1.6),
    ]
    nail = [
        (tip_x + 2.5 + 3.5 * np.cos(t), centre_y + radius * 0.55 * np.sin(t))
        for t in np.linspace(0, 2 * np.pi, 20)
    ]
    size = (image.shape[1], image.shape[0])
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).polygon(card.to_frame(outline), fill=255)
    nail_mask = Image.new("L", size, 0)
    ImageDraw.Draw(nail_mask).polygon(card.to_frame(nail), fill=255)
    soft = np.asarray(mask.filter(ImageFilter.GaussianBlur(2)), np.float32)[..., None] / 255.0
    nail_soft = np.asarray(nail_mask.filter(ImageFilter.GaussianBlur(2)), np.float32)[..., None]
    skin = np.array(_skin(rng), np.float32) * (1.0 + 0.12 * nail_soft / 255.0)
    shading = 0.75 + 0.3 * cv2.GaussianBlur(soft[..., 0], (0, 0), 12)[..., None]
    return as_f32(image * (1 - soft) + skin * shading * soft)


def _skin(rng: random.Random) -> tuple[int, int, int]:
    r, g, b = rng.randint(190, 235), rng.randint(140, 185), rng.randint(110, 160)
    return (r, g, b)


def camera_response(rng: random.Random, np_rng: np.random.Generator, image: Array) -> Array:
    """What a phone adds: exposure error, a white-balance cast, vignetting, sometimes shake."""
    exposure = rng.uniform(0.75, 1.08)
    cast = np.array([exposure * rng.uniform(0.92, 1.08) for _ in range(3)], np.float32)
    image = image * cast
    height, width = image.shape[:2]
    ys, xs = grid(width, height)
    radius = ((xs / width - 0.5) ** 2 + (ys / height - 0.5) ** 2) * 2
    image = image * (1.0 - rng.uniform(0.0, 0.3) * radius)[..., None]
    if rng.random() < 0.15:
        length = rng.randint(3, 7)
        line = np.zeros((length, length), np.float32)
        line[length // 2, :] = 1.0 / length
        turn = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1)
        kernel = as_f32(cv2.warpAffine(line, turn, (length, length)))
        image = cv2.filter2D(image, -1, kernel / max(float(kernel.sum()), 1e-6))
    return as_f32(image)


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
    card_width_px: float | None = None,
    size: tuple[int, int] | None = None,
    corner_share: float = CARD_CORNER_SHARE,
    hand: bool = True,
    placement: list[PlacedCard] | None = None,
) -> Image.Image:
    """A phone photo of ``card`` lying on a cluttered surface (or held in a hand).

    ``card_width_px``: the card this many pixels wide in a photo of ``size`` (drawn
    when not given), instead of filling half the frame or more. ``hand``: a thumb may
    hold it (not a page, whose text reaches its edges). ``corner_share``: see place_card.
    ``placement``, when given, receives where the card went (for conditions drawn over
    it afterwards).
    """
    size = size or photo_size(rng)
    background = add_clutter(
        rng, surface(np_rng, size), fonts, rng.randint(0, 5), with_text=rng.random() < 0.5
    )
    if card_width_px is not None:
        fraction = card_width_px / size[0]
    elif rng.random() < 0.85:
        fraction = rng.uniform(0.5, 0.9)
    else:
        fraction = rng.uniform(0.9, 0.97)
    placed = place_card(
        np_rng, card, size, fraction, angle_deg, rng.uniform(0.0, 0.06), 0.01, corner_share
    )
    if placement is not None:
        placement.append(placed)
    # The card casts a soft shadow on the surface just beside itself.
    offset = np.array([[1, 0, rng.uniform(-12, 12)], [0, 1, rng.uniform(4, 16)]], np.float32)
    shadow = cv2.warpAffine(placed.alpha, offset, size)
    shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(4, 12))[..., None]
    background *= 1.0 - 0.45 * shadow
    image = background * (1 - placed.alpha) + placed.rgb * placed.alpha
    # Drawn whatever ``hand`` says, so the random draws (and each seed's photos) stay put.
    if rng.random() < 0.2 and hand:
        image = add_thumb(rng, image, placed)
    image *= lighting(np_rng, size, rng.uniform(0.1, 0.45))
    if rng.random() < 0.2:  # glare off the laminate
        glare = np.zeros(size[::-1], np.float32)
        cx, cy = rng.randint(0, size[0]), rng.randint(0, size[1])
        axes = (size[0] // 8, size[1] // 14)
        cv2.ellipse(glare, (cx, cy), axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        glare = cv2.GaussianBlur(glare, (0, 0), size[0] / 40)[..., None] * placed.alpha
        image = image + glare * rng.uniform(40, 90)
    image = camera_response(rng, np_rng, image)
    photo = finish(np_rng, image, rng.uniform(0.0, 1.2), rng.uniform(0.5, 2.5))
    if rng.random() < 0.5:
        # The phone's own JPEG, which the chat app then compresses again on upload.
        photo = recompressed(photo, rng.randint(75, 95))
    return photo


# What loses whole fields on real uploads: a card only 250-450 px wide, in a small
# photo (a crop or a thumbnail passed on) or far off in a large one.
SMALL_CARD_WIDTH_PX = (250.0, 450.0)
SCENE_CONDITIONS = ("small_photo", "far_card")


def small_photo(
    rng: random.Random,
    np_rng: np.random.Generator,
    card: Image.Image,
    fonts: FontSet,
    angle_deg: float,
) -> Image.Image:
    """A low-resolution photo that is mostly card, the card 250-450 px wide."""
    size = photo_size(rng)
    filled = rng.uniform(0.8, 0.92) * size[0]
    photo = photograph(rng, np_rng, card, fonts, angle_deg, filled, size)
    scale = rng.uniform(*SMALL_CARD_WIDTH_PX) / filled
    small = (round(photo.size[0] * scale), round(photo.size[1] * scale))
    return photo.resize(small, Image.Resampling.LANCZOS)


def far_card(
    rng: random.Random,
    np_rng: np.random.Generator,
    card: Image.Image,
    fonts: FontSet,
    angle_deg: float,
) -> Image.Image:
    """A large photo with the card far off: 250-450 px wide among the clutter."""
    width = rng.uniform(*SMALL_CARD_WIDTH_PX)
    return photograph(rng, np_rng, card, fonts, angle_deg, width)


def recompressed(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def scan(
    rng: random.Random,
    np_rng: np.random.Generator,
    card: Image.Image,
    lossless: bool,
    corner_share: float = CARD_CORNER_SHARE,
) -> Image.Image:
    """A flatbed scan: the card upright on white paper with a little scale and skew.

    A lossless (PNG) scan gets no sensor noise: scanners deliver clean images, and noise
    would make the PNG many times larger.
    """
    width = rng.randint(1000, 1300)
    height = round(width * rng.uniform(0.68, 0.9))
    page = np.full((height, width, 3), rng.uniform(240, 252), np.float32)
    fraction = rng.uniform(0.6, 0.8)
    angle = rng.uniform(-1.5, 1.5)
    placed = place_card(np_rng, card, (width, height), fraction, angle, 0.0, 0.03, corner_share)
    image = page * (1 - placed.alpha) + placed.rgb * placed.alpha
    noise = 0.0 if lossless else rng.uniform(0.5, 2.0)
    return finish(np_rng, image, rng.uniform(0.0, 0.5), noise)


def blank_paper(rng: random.Random, np_rng: np.random.Generator) -> Image.Image:
    size = photo_size(rng)
    paper = np.full((size[1], size[0], 3), rng.uniform(200, 245), np.float32)
    paper += smooth_noise(np_rng, size, 8)[..., None] * 10
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
