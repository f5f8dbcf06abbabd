"""Card photos with one image fault each, labelled with the warning it deserves (issue 16).

Each condition takes an ordinary generated photo (``scene.photograph``) of an ID front,
ID back or bank card in turn and adds one fault: a black-and-white photocopy, a photo of
the card shown on a screen (subpixel grid, aliased into moiré by the camera), part of the
card cut off by the frame, a thumb over a field, a glare spot washing out a field, heavy
defocus blur. ``clean`` samples are the ordinary photos, labelled ``"warnings": []``.
The main set's seeds are untouched (each sample has its own offset generators).

``python -m tests.cardgen.image_conditions --out DIR --seed S --per-condition N --clean M``
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from faker import Faker
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from tests.cardgen import (
    CARD_KINDS,
    NoFontsError,
    Sample,
    _photo_angle,
    _render_card,
    _sample_rngs,
    scene,
    write_and_report,
)
from tests.cardgen.fonts import FontSet, find_fonts, fonts_available
from tests.cardgen.noise import Array, as_f32
from tests.cardgen.render import CARD_MM

# Condition -> the warning code its samples are labelled with.
CONDITIONS: dict[str, str] = {
    "photocopy": "photocopy",
    "screen": "screen",
    "cut_border": "border_incomplete",
    "thumb": "occluded",
    "glare": "glare",
    "blur": "blur",
}
CLEAN = "clean"
# Offset of these samples' generators from the main set's and bank_conditions' ones.
SEED_OFFSET = 200_000
# Where the fields are on every face, in card millimetres (x0, y0, x1, y1): a thumb or a
# glare spot put there covers some text whatever the card.
TEXT_AREA_MM = (10.0, 12.0, 62.0, 44.0)


def _photo_size(rng: random.Random) -> tuple[int, int]:
    width = rng.randint(900, 1300)
    return width, round(width * rng.choice((3 / 4, 3 / 4, 9 / 16, 4 / 3)))


def photocopy(rng: random.Random, np_rng: np.random.Generator, card: Image.Image) -> Image.Image:
    """A black-and-white copy of the card: greyscale, harder contrast, toner specks."""
    grey = np.asarray(ImageOps.grayscale(card), np.float32)
    mean = float(grey.mean())
    grey = (grey - mean) * rng.uniform(1.2, 1.7) + mean + rng.uniform(0.0, 25.0)
    specks = np_rng.random(grey.shape) < rng.uniform(0.0005, 0.003)
    grey[specks] = rng.uniform(20.0, 90.0)
    soft = cv2.GaussianBlur(grey, (0, 0), rng.uniform(0.4, 1.0))
    copy = Image.fromarray(np.clip(soft, 0, 255).astype(np.uint8), "L").convert("RGB")
    # The copy is cut out of an A4 sheet with a little white paper left around it.
    border = round(card.width * rng.uniform(0.0, 0.06))
    paper = Image.new("RGB", (card.width + 2 * border, card.height + 2 * border), (246,) * 3)
    paper.paste(copy, (border, border))
    return paper


def _screen_content(card: Image.Image, rng: random.Random) -> Image.Image:
    """What the screen shows: the card in a viewer or an app, with that app's background
    around it (a photo viewer's black, a chat's or a browser's white or grey page).

    The card fills 80-100% of the screen's width; above and below it the page goes on for
    up to 60% of a card height in all.
    """
    fill = rng.uniform(0.8, 1.0)
    card_w, card_h = card.size
    screen_w = round(card_w / fill)
    screen_h = round(card_h * rng.uniform(1.0, 1.6))
    level = rng.choice((rng.randint(0, 25), rng.randint(0, 25), rng.randint(225, 250)))
    tint = rng.randint(-4, 4)
    page = Image.new("RGB", (screen_w, screen_h), (level, level, min(255, max(0, level + tint))))
    page.paste(card, ((screen_w - card_w) // 2, rng.randint(0, screen_h - card_h)))
    return page


def _emissive(shown: Array, rng: random.Random) -> Array:
    """Screen tones: a screen emits its picture. Its white point is its own (cooler, bluer,
    than the paper under the room's light: 6500-9000 K panels), and its black is never
    black: the panel's leak plus the room reflected on its glass lift every dark pixel.
    Strengths are drawn from weak (near-neutral white, black at 2%) to strong."""
    black = rng.uniform(0.02, 0.14) * 255.0
    cool = rng.uniform(0.0, 1.0) ** 2  # most screens a little cool, a few markedly so
    white = np.array(
        (1.0 - cool * rng.uniform(0.04, 0.14), 1.0 - cool * rng.uniform(0.0, 0.06), 1.0),
        np.float32,
    )
    return as_f32(black + shown * (1.0 - black / 255.0) * white)


def _banding(height: int, width: int, rng: random.Random) -> Array:
    """Rolling-shutter bands: a screen dimmed by PWM flickers, and a phone camera reading
    its rows one after another sees dark bands across it (1-6% deep, 15-90 px apart,
    slanted a little by the camera's tilt). Drawn on half the screens."""
    if rng.random() < 0.5:
        return np.ones((height, width, 1), np.float32)
    depth = rng.uniform(0.01, 0.06)
    period = rng.uniform(15.0, 90.0)
    slant = rng.uniform(-0.05, 0.05)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = 2 * np.pi * (ys + slant * xs) / period + rng.uniform(0, 2 * np.pi)
    return as_f32(1.0 - depth * (0.5 + 0.5 * np.sin(phase)))[..., None]


def _reflection(height: int, width: int, rng: random.Random) -> Array:
    """The room reflected on the screen's glass: a soft bright band across it (a window,
    a ceiling lamp), 8-35 grey levels, added to what the screen emits. Drawn on half."""
    if rng.random() < 0.5:
        return np.zeros((height, width, 1), np.float32)
    turn = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    across = (xs - width * rng.uniform(0.2, 0.8)) * np.cos(turn) + (
        ys - height * rng.uniform(0.2, 0.8)
    ) * np.sin(turn)
    spread = width * rng.uniform(0.08, 0.2)
    return as_f32(rng.uniform(8.0, 35.0) * np.exp(-0.5 * (across / spread) ** 2))[..., None]


def screen_shot(card: Image.Image, rng: random.Random, width_px: float) -> Image.Image:
    """The card as a phone or monitor shows it, and the screen's frame around it, already
    at the size the camera sees them (``width_px``: the whole frame's width).

    Each screen pixel is three vertical subpixel stripes (R, G, B) with a dark gap under
    it; scaled to a few camera pixels per screen pixel without smoothing, the grid
    aliases into moiré as it does through a camera's sensor. What a re-shot screen shows
    besides (each drawn at a random strength, some weak, so that no one cue gives it
    away): the app's page around the card, the screen's own white point and lifted
    black (``_emissive``), rolling-shutter bands, the room reflected on the glass, and
    the phone's or monitor's bezel (dark, 1.5-5% of the width; a third of the photos
    frame the screen so close that no bezel shows).
    """
    bezel = 0.0 if rng.random() < 1 / 3 else rng.uniform(0.015, 0.05) * width_px
    screen_px = width_px - 2 * bezel
    page = _screen_content(card, rng)
    pitch = rng.uniform(1.6, 3.0)  # camera pixels per screen pixel
    screen_w = max(1, round(screen_px / pitch))
    screen_h = max(1, round(screen_w * page.height / page.width))
    resized = page.resize((screen_w, screen_h), Image.Resampling.LANCZOS)
    shown = _emissive(np.asarray(resized, np.float32), rng)
    cells = np.repeat(np.repeat(shown, 3, axis=0), 3, axis=1)
    stripes = np.full((3, 3, 3), 0.12, np.float32)
    for channel in range(3):
        stripes[:, channel, channel] = 1.0
    stripes[2, :, :] *= rng.uniform(0.35, 0.6)
    mask = np.tile(stripes, (screen_h, screen_w, 1))
    lit = cells * mask * rng.uniform(2.2, 2.6)
    size = (round(screen_px), round(screen_px * page.height / page.width))
    camera = cv2.resize(np.clip(lit, 0, 255), size, interpolation=cv2.INTER_LINEAR)
    camera = camera * _banding(size[1], size[0], rng) + _reflection(size[1], size[0], rng)
    if bezel <= 0:
        return Image.fromarray(np.clip(camera, 0, 255).astype(np.uint8), "RGB")
    edge = round(bezel)
    frame_colour = rng.randint(8, 45)
    framed = np.full((size[1] + 2 * edge, size[0] + 2 * edge, 3), frame_colour, np.float32)
    framed[edge : edge + size[1], edge : edge + size[0]] = camera
    return Image.fromarray(np.clip(framed, 0, 255).astype(np.uint8), "RGB")


def cut_border(rng: random.Random, photo: Image.Image, placed: scene.PlacedCard) -> Image.Image:
    """The photo cropped so that 12-30% of the card on one side lies outside it."""
    corners = np.array(placed.to_frame([(0, 0), (CARD_MM[0], 0), CARD_MM, (0, CARD_MM[1])]))
    low, high = corners.min(axis=0), corners.max(axis=0)
    share = rng.uniform(0.12, 0.3)
    x0, y0, x1, y1 = 0.0, 0.0, float(photo.width), float(photo.height)
    side = rng.choice(("left", "right", "top", "bottom"))
    if side == "left":
        x0 = low[0] + share * (high[0] - low[0])
    elif side == "right":
        x1 = high[0] - share * (high[0] - low[0])
    elif side == "top":
        y0 = low[1] + share * (high[1] - low[1])
    else:
        y1 = high[1] - share * (high[1] - low[1])
    return photo.crop((round(max(0, x0)), round(max(0, y0)), round(x1), round(y1)))


def _area_mask(size: tuple[int, int], outline: list[tuple[float, float]], soft: float) -> Array:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    return np.asarray(mask.filter(ImageFilter.GaussianBlur(soft)), np.float32)[..., None] / 255.0


def _pixels_per_mm(placed: scene.PlacedCard) -> float:
    start, end = placed.to_frame([(0.0, 0.0), (1.0, 0.0)])
    return float(np.hypot(end[0] - start[0], end[1] - start[1]))


def thumb(rng: random.Random, photo: Image.Image, placed: scene.PlacedCard) -> Image.Image:
    """A thumb reaching from the card's lower edge over the text, its tip on a field."""
    tip_x = rng.uniform(TEXT_AREA_MM[0] + 5, TEXT_AREA_MM[2] - 5)
    tip_y = rng.uniform(TEXT_AREA_MM[1] + 6, TEXT_AREA_MM[3] - 6)
    radius = rng.uniform(7.0, 9.0)
    lean = rng.uniform(-0.5, 0.5)  # the thumb comes in a little slanted
    tip = [
        (tip_x + radius * np.cos(t), tip_y - radius * np.sin(t))
        for t in np.linspace(0.0, np.pi, 24)
    ]
    reach = CARD_MM[1] + 60.0 - tip_y
    outline = [
        *tip,
        (tip_x - radius * 1.3 + lean * reach, tip_y + reach),
        (tip_x + radius * 1.3 + lean * reach, tip_y + reach),
    ]
    frame = np.asarray(photo, np.float32)
    size = (photo.width, photo.height)
    mask = _area_mask(size, placed.to_frame(outline), 2.0)
    r, g, b = rng.randint(185, 235), rng.randint(135, 185), rng.randint(105, 160)
    skin = np.array((r, g, b), np.float32)
    shading = 0.7 + 0.35 * cv2.GaussianBlur(mask[..., 0], (0, 0), 15)[..., None]
    out = frame * (1 - mask) + skin * shading * mask
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


def glare(rng: random.Random, photo: Image.Image, placed: scene.PlacedCard) -> Image.Image:
    """A reflection of a lamp off the laminate: a blob washed out to white over the text."""
    cx = rng.uniform(TEXT_AREA_MM[0] + 5, TEXT_AREA_MM[2] - 5)
    cy = rng.uniform(TEXT_AREA_MM[1] + 4, TEXT_AREA_MM[3] - 4)
    ax, ay = rng.uniform(7.0, 15.0), rng.uniform(4.0, 8.0)
    turn = rng.uniform(0, np.pi)
    blob = [
        (
            cx + ax * np.cos(t) * np.cos(turn) - ay * np.sin(t) * np.sin(turn),
            cy + ax * np.cos(t) * np.sin(turn) + ay * np.sin(t) * np.cos(turn),
        )
        for t in np.linspace(0, 2 * np.pi, 40)
    ]
    per_mm = _pixels_per_mm(placed)
    mask = _area_mask((photo.width, photo.height), placed.to_frame(blob), 2.5 * per_mm)
    frame = np.asarray(photo, np.float32)
    out = frame + mask * rng.uniform(260.0, 340.0)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), "RGB")


def defocus(rng: random.Random, photo: Image.Image, placed: scene.PlacedCard) -> Image.Image:
    """Out of focus: a disc blur about a third of a line of text across."""
    per_mm = _pixels_per_mm(placed)
    radius = max(2, round(rng.uniform(0.45, 0.75) * per_mm))
    kernel = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
    cv2.circle(kernel, (radius, radius), radius, 1.0, -1)
    blurred = cv2.filter2D(np.asarray(photo, np.float32), -1, kernel / float(kernel.sum()))
    return Image.fromarray(np.clip(blurred, 0, 255).astype(np.uint8), "RGB")


def make_condition_sample(
    seed: int, index: int, condition: str, fonts: FontSet, fake: Faker
) -> Sample:
    rng, np_rng = _sample_rngs(seed, SEED_OFFSET + index)
    kind = CARD_KINDS[index % len(CARD_KINDS)]
    card, label_kind, expected = _render_card(kind, fonts, rng, np_rng, fake)
    angle = _photo_angle(rng, False)
    size = _photo_size(rng)
    placement: list[scene.PlacedCard] = []
    if condition == "photocopy":
        card = photocopy(rng, np_rng, card)
    width_px: float | None = None
    if condition == "screen":
        width_px = rng.uniform(0.55, 0.85) * size[0]
        card = screen_shot(card, rng, width_px)
    photo = scene.photograph(rng, np_rng, card, fonts, angle, width_px, size, placement=placement)
    placed = placement[0]
    if condition == "cut_border":
        photo = cut_border(rng, photo, placed)
    elif condition == "thumb":
        photo = thumb(rng, photo, placed)
    elif condition == "glare":
        photo = glare(rng, photo, placed)
    elif condition == "blur":
        photo = defocus(rng, photo, placed)
    code = CONDITIONS.get(condition)
    short = {"idcard_front": "idfront", "idcard_back": "idback", "bankcard": "bank"}[kind]
    return Sample(
        f"{index:03d}_{short}_{condition}",
        photo,
        {
            "kind": label_kind,
            "mode": "photo",
            "expected": expected,
            "warnings": [code] if code else [],
        },
        png=False,
        jpeg_quality=rng.randint(75, 90),
    )


def iter_condition_samples(
    seed: int, per_condition: int, clean: int, conditions: Sequence[str] = tuple(CONDITIONS)
) -> Iterator[Sample]:
    unknown = set(conditions) - set(CONDITIONS)
    if unknown:
        raise ValueError(f"conditions must be among {', '.join(CONDITIONS)}")
    if not fonts_available():
        raise NoFontsError(NoFontsError.__doc__)
    fonts = find_fonts()
    fake = Faker("zh_CN")
    index = 0
    for condition in [*([CLEAN] * clean)]:
        yield make_condition_sample(seed, index, condition, fonts, fake)
        index += 1
    for condition in conditions:
        for _ in range(per_condition):
            yield make_condition_sample(seed, index, condition, fonts, fake)
            index += 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cardgen.image_conditions", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--per-condition", type=int, default=10)
    parser.add_argument("--clean", type=int, default=0, help="ordinary photos, no warning")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    args = parser.parse_args(argv)
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    return write_and_report(
        lambda: iter_condition_samples(args.seed, args.per_condition, args.clean, conditions),
        args.out,
    )


if __name__ == "__main__":
    sys.exit(main())
