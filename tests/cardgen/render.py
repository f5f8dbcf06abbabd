"""Drawing the three card faces at their real 85.6 x 54 mm ratio, flat and upright.

Positions are in millimetres measured off real cards so the text layout (labels left,
values beside them, the ID number along the bottom) matches what extractors will see.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.cardgen.content import BANK_COLOURS, BANK_ENGLISH, BankCard, IdBack, IdFront
from tests.cardgen.fonts import Face, FontSet, has_glyphs
from tests.cardgen.noise import smooth_noise

CARD_MM = (85.6, 54.0)
CARD_CORNER_MM = 3.2
RGB = tuple[int, int, int]
RGB4 = tuple[int, ...]


class Canvas:
    """A card image plus its pixels-per-millimetre, so layouts read in millimetres."""

    def __init__(
        self, width_px: int, background: Image.Image, width_mm: float = CARD_MM[0]
    ) -> None:
        self.scale = width_px / width_mm
        self.image = background
        self.draw = ImageDraw.Draw(self.image, "RGBA")

    def px(self, mm: float) -> int:
        return round(mm * self.scale)

    def font(self, face: Face, size_mm: float) -> ImageFont.FreeTypeFont:
        return face.at(self.px(size_mm))

    def text(
        self,
        x_mm: float,
        baseline_mm: float,
        text: str,
        font: ImageFont.FreeTypeFont,
        fill: tuple[int, ...],
        spacing_mm: float = 0.0,
    ) -> float:
        """Draws left-to-right from a baseline; returns the x (mm) where the text ends."""
        x = x_mm * self.scale
        y = baseline_mm * self.scale
        if spacing_mm == 0.0:
            self.draw.text((x, y), text, font=font, fill=fill, anchor="ls")
            return (x + font.getlength(text)) / self.scale
        for char in text:
            self.draw.text((x, y), char, font=font, fill=fill, anchor="ls")
            x += font.getlength(char) + spacing_mm * self.scale
        return x / self.scale

    def width_mm(self, text: str, font: ImageFont.FreeTypeFont, spacing_mm: float = 0.0) -> float:
        return (font.getlength(text) + spacing_mm * self.scale * len(text)) / self.scale


def guilloche(
    rng: np.random.Generator, size: tuple[int, int], base: RGB, ink: RGB, strength: float
) -> Image.Image:
    """A security-print background: a tinted base with interleaved fine wave lines."""
    width, height = size
    half_w, half_h = width // 2, height // 2
    ys, xs = np.mgrid[0:half_h, 0:half_w].astype(np.float32)
    xs /= half_w
    ys /= half_h
    lines = np.zeros((half_h, half_w), np.float32)
    for _ in range(int(rng.integers(2, 4))):
        freq = float(rng.uniform(25, 60))
        wobble = float(rng.uniform(0.08, 0.3))
        phase = float(rng.uniform(0, 6.28))
        bend = float(rng.uniform(2, 7))
        if rng.random() < 0.5:
            wave = np.sin(freq * (ys + wobble * np.sin(bend * xs + phase)))
        else:
            wave = np.sin(freq * (xs * 0.6 + ys * 0.4 + wobble * np.sin(bend * ys + phase)))
        lines = np.maximum(lines, np.exp(-((wave / 0.12) ** 2)))
    lines = (
        np.asarray(
            Image.fromarray((lines * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR),
            np.float32,
        )[..., None]
        / 255.0
    )
    tint = smooth_noise(rng, (width, height), 4)[..., None]
    base_arr = np.array(base, np.float32) * (0.97 + 0.05 * tint)
    ink_arr = np.array(ink, np.float32)
    mixed = base_arr * (1 - strength * lines) + ink_arr * (strength * lines)
    return Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8), "RGB")


def _tinted(
    image: Image.Image, top: tuple[float, float, float], bottom: tuple[float, float, float]
) -> Image.Image:
    """Fades a colour tint from top to bottom, like the blue-to-peach print of an ID card."""
    ramp = np.linspace(0.0, 1.0, image.size[1], dtype=np.float32)[:, None, None]
    tint = np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp
    return Image.fromarray(np.clip(np.asarray(image, np.float32) * tint, 0, 255).astype(np.uint8))


def rounded_alpha(size: tuple[int, int], radius: int) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius, fill=255)
    return mask


def _pick_face(rng: random.Random, faces: tuple[Face, ...], text: str, style: str = "") -> Face:
    usable = [f for f in faces if has_glyphs(f, text)] or list(faces)
    styled = [f for f in usable if f.style == style]
    return rng.choice(styled or usable)


def _jitter(rng: random.Random, colour: RGB, amount: int = 18) -> RGB:
    r, g, b = (max(0, min(255, c + rng.randint(-amount, amount))) for c in colour)
    return (r, g, b)


def _portrait(
    canvas: Canvas, rng: random.Random, box_mm: tuple[float, float, float, float]
) -> None:
    """A plain head-and-shoulders stand-in for the holder's photo."""
    x0, y0, x1, y1 = (canvas.px(v) for v in box_mm)
    w, h = x1 - x0, y1 - y0
    photo = Image.new("RGB", (w, h), _jitter(rng, (236, 240, 246), 10))
    draw = ImageDraw.Draw(photo)
    skin = _jitter(rng, (222, 188, 160), 20)
    hair = _jitter(rng, (35, 30, 28), 15)
    cloth = _jitter(rng, rng.choice([(40, 45, 60), (230, 230, 230), (90, 30, 40), (50, 70, 110)]))
    draw.ellipse((w * 0.08, h * 0.72, w * 0.92, h * 1.35), fill=cloth)
    draw.rectangle((w * 0.42, h * 0.55, w * 0.58, h * 0.8), fill=skin)
    draw.ellipse((w * 0.27, h * 0.14, w * 0.73, h * 0.66), fill=skin)
    draw.chord((w * 0.25, h * 0.1, w * 0.75, h * 0.5), 180, 360, fill=hair)
    photo = photo.filter(ImageFilter.GaussianBlur(canvas.scale * 0.15))
    canvas.image.paste(photo, (x0, y0))


# Washed-out labels (worn cards, overexposed photos): the blue is this share of the way
# to the card's background.
FAINT_LABEL_FADE = (0.45, 0.65)


def render_id_front(
    card: IdFront,
    fonts: FontSet,
    rng: random.Random,
    np_rng: np.random.Generator,
    width: int,
    faint_labels: bool = False,
    upside_down_line: bool = False,
) -> Image.Image:
    """An ID front; with ``upside_down_line`` its address's last line alone is turned half
    round (a worn card reprinted, a photo montage: the line the angle classifier then
    leaves upside down, and the reader has to turn and read again)."""
    height = round(width * CARD_MM[1] / CARD_MM[0])
    background = guilloche(
        np_rng, (width, height), _jitter(rng, (240, 242, 236), 6), (120, 170, 200), 0.22
    )
    canvas = Canvas(width, _tinted(background, (0.97, 0.99, 1.0), (1.0, 0.97, 0.94)))
    blue = _jitter(rng, (40, 110, 170), 20)
    value_colour = (*_jitter(rng, (25, 25, 25), 12), 255)
    if faint_labels:
        fade = rng.uniform(*FAINT_LABEL_FADE)
        r, g, b = (round(c + (p - c) * fade) for c, p in zip(blue, (240, 242, 236), strict=True))
        blue = (r, g, b)
    label_colour = (*blue, 255)
    label_face = _pick_face(rng, fonts.cjk, "姓名性别民族出生年月日住址公民身份号码", "hei")
    value_face = _pick_face(rng, fonts.cjk, card.name + card.addr + card.nationality)
    label_font = canvas.font(label_face, rng.uniform(2.6, 3.0))
    value_size = rng.uniform(3.1, 3.5)
    value_font = canvas.font(value_face, value_size)
    name_font = canvas.font(value_face, rng.uniform(3.7, 4.3))
    dx, dy = rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6)
    label_x, value_x = 6.0 + dx, 16.0 + dx

    canvas.text(label_x, 10.5 + dy, "姓名", label_font, label_colour, 0.5)
    canvas.text(value_x, 10.7 + dy, card.name, name_font, value_colour, 0.3)
    canvas.text(label_x, 17.5 + dy, "性别", label_font, label_colour, 0.5)
    canvas.text(value_x, 17.6 + dy, card.gender, value_font, value_colour)
    canvas.text(label_x + 21.5, 17.5 + dy, "民族", label_font, label_colour, 0.5)
    canvas.text(value_x + 21.5, 17.6 + dy, card.nationality, value_font, value_colour)
    canvas.text(label_x, 24.5 + dy, "出生", label_font, label_colour, 0.5)
    x = canvas.text(value_x, 24.6 + dy, str(card.birth.year), value_font, value_colour)
    for number, unit in ((card.birth.month, "月"), (card.birth.day, "日")):
        x = canvas.text(
            x + 0.8, 24.5 + dy, "年" if unit == "月" else "月", label_font, label_colour
        )
        x = canvas.text(x + 0.8, 24.6 + dy, str(number), value_font, value_colour)
    canvas.text(x + 0.8, 24.5 + dy, "日", label_font, label_colour)

    canvas.text(label_x, 31.5 + dy, "住址", label_font, label_colour, 0.5)
    line_mm = 4.6
    lines = address_lines(canvas, card.addr, value_face, value_size)
    end = value_x
    for row, line in enumerate(lines):
        end = canvas.text(value_x, 31.6 + dy + row * line_mm, line[0], line[1], value_colour)
    if upside_down_line:
        baseline = 31.6 + dy + (len(lines) - 1) * line_mm
        top, bottom = baseline - value_size * 1.05, baseline + value_size * 0.35
        box = (canvas.px(value_x - 0.3), canvas.px(top), canvas.px(end + 0.3), canvas.px(bottom))
        canvas.image.paste(canvas.image.crop(box).rotate(180), box[:2])

    canvas.text(label_x, 48.5 + dy, "公民身份号码", label_font, label_colour, 0.3)
    id_face = _pick_face(rng, fonts.digits, card.id)
    id_size = rng.uniform(3.9, 4.5)
    id_font = canvas.font(id_face, id_size)
    spacing = max(0.0, (51.0 - canvas.width_mm(card.id, id_font)) / len(card.id))
    canvas.text(28.5 + dx, 48.8 + dy, card.id, id_font, value_colour, min(spacing, 0.7))
    _portrait(canvas, rng, (56.0, 5.5, 81.0, 38.0))
    return canvas.image


def address_lines(
    canvas: Canvas, address: str, face: Face, size_mm: float
) -> list[tuple[str, ImageFont.FreeTypeFont]]:
    """The address in at most three lines: a long one is set smaller, as on real cards."""
    font = canvas.font(face, size_mm)
    lines = wrap(canvas, address, font, 36.0)
    while len(lines) > 3:
        size_mm -= 0.1
        font = canvas.font(face, size_mm)
        lines = wrap(canvas, address, font, 36.0)
    return [(line, font) for line in lines]


def wrap(canvas: Canvas, text: str, font: ImageFont.FreeTypeFont, width_mm: float) -> list[str]:
    """Breaks text into lines no wider than ``width_mm``, character by character like the card."""
    lines, current = [], ""
    for char in text:
        if current and canvas.width_mm(current + char, font) > width_mm:
            lines.append(current)
            current = ""
        current += char
    return [*lines, current] if current else lines


def _emblem(
    canvas: Canvas, rng: random.Random, centre_mm: tuple[float, float], r_mm: float
) -> None:
    """The national emblem's silhouette: red disc, gold rim, stars and a gate."""
    cx, cy, r = canvas.px(centre_mm[0]), canvas.px(centre_mm[1]), canvas.px(r_mm)
    gold = (*_jitter(rng, (228, 180, 40), 15), 255)
    red = (*_jitter(rng, (215, 30, 30), 15), 255)
    canvas.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=gold)
    inner = int(r * 0.82)
    canvas.draw.ellipse((cx - inner, cy - inner, cx + inner, cy + inner), fill=red)
    star = r * 0.2
    canvas.draw.regular_polygon((cx - r * 0.25, cy - r * 0.35, star), 5, fill=gold)
    for angle in (-50, -20, 10, 40):
        sx = cx - r * 0.25 + np.cos(np.radians(angle)) * r * 0.42
        sy = cy - r * 0.35 + np.sin(np.radians(angle)) * r * 0.42
        canvas.draw.regular_polygon((sx, sy, star * 0.38), 5, fill=gold)
    canvas.draw.rectangle((cx - r * 0.45, cy + r * 0.12, cx + r * 0.45, cy + r * 0.42), fill=gold)
    canvas.draw.rectangle((cx - r * 0.3, cy - r * 0.02, cx + r * 0.3, cy + r * 0.12), fill=gold)


def render_id_back(
    card: IdBack, fonts: FontSet, rng: random.Random, np_rng: np.random.Generator, width: int
) -> Image.Image:
    height = round(width * CARD_MM[1] / CARD_MM[0])
    background = guilloche(
        np_rng, (width, height), _jitter(rng, (238, 242, 238), 6), (110, 175, 160), 0.25
    )
    canvas = Canvas(width, background)
    # A faint Great Wall ridge behind the lower half, as on the real card.
    ridge = [
        (canvas.px(x), canvas.px(30 + 4 * np.sin(x / 9.0) + rng.uniform(-0.5, 0.5)))
        for x in np.linspace(0, CARD_MM[0], 40)
    ]
    canvas.draw.line(ridge, fill=(150, 190, 175, 90), width=canvas.px(1.2))
    dx, dy = rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6)
    _emblem(canvas, rng, (14.0 + dx, 13.5 + dy), 8.5)
    ink = (*_jitter(rng, (20, 20, 20), 12), 255)
    title_face = _pick_face(rng, fonts.cjk, "中华人民共和国居民身份证", "hei")
    canvas.text(29.0 + dx, 12.0 + dy, "中华人民共和国", canvas.font(title_face, 4.6), ink, 2.2)
    canvas.text(29.0 + dx, 23.5 + dy, "居民身份证", canvas.font(title_face, 7.0), ink, 2.6)
    label_face = _pick_face(rng, fonts.cjk, "签发机关有效期限", "hei")
    value_face = _pick_face(rng, fonts.cjk, card.authority + "长期")
    label_font = canvas.font(label_face, rng.uniform(2.6, 3.0))
    value_font = canvas.font(value_face, rng.uniform(3.1, 3.5))
    digit_font = canvas.font(_pick_face(rng, fonts.digits, "0123456789.-"), rng.uniform(3.6, 4.2))
    canvas.text(13.5 + dx, 41.0 + dy, "签发机关", label_font, ink, 0.4)
    canvas.text(30.0 + dx, 41.1 + dy, card.authority, value_font, ink)
    canvas.text(13.5 + dx, 48.0 + dy, "有效期限", label_font, ink, 0.4)
    start, _, end = card.printed_validity.partition("-")
    x = canvas.text(30.0 + dx, 48.1 + dy, f"{start}-", digit_font, ink)
    canvas.text(x, 48.1 + dy, end, value_font if end == "长期" else digit_font, ink)
    return canvas.image


def _brand_mark(canvas: Canvas, fonts: FontSet, rng: random.Random, brand: str, dark: bool) -> None:
    right, bottom = CARD_MM[0] - 5.0, CARD_MM[1] - 4.0
    latin = fonts.latin[0]
    if brand == "unionpay":
        w, h = 15.0, 9.5
        x0, y0 = right - w, bottom - h
        for i, colour in enumerate(((221, 0, 37), (0, 71, 136), (0, 125, 125))):
            left = x0 + i * w / 3.3
            canvas.draw.polygon(
                [
                    (canvas.px(left + 1.2), canvas.px(y0)),
                    (canvas.px(left + w / 3.3 + 1.6), canvas.px(y0)),
                    (canvas.px(left + w / 3.3 + 0.4), canvas.px(bottom)),
                    (canvas.px(left), canvas.px(bottom)),
                ],
                fill=(*colour, 255),
            )
        cjk = _pick_face(rng, fonts.cjk, "银联", "hei")
        canvas.text(x0 + 3.0, y0 + 4.6, "银联", canvas.font(cjk, 3.6), (255, 255, 255, 255), 0.8)
        canvas.text(x0 + 1.6, y0 + 8.3, "UnionPay", canvas.font(latin, 2.1), (255, 255, 255, 255))
    elif brand == "visa":
        font = canvas.font(latin, 6.5)
        width = canvas.width_mm("VISA", font)
        visa_blue = (26, 31, 113, 255)
        canvas.text(
            right - width, bottom - 1.0, "VISA", font, (255, 255, 255, 255) if dark else visa_blue
        )
    else:
        r = canvas.px(3.6)
        cx, cy = canvas.px(right - 9.5), canvas.px(bottom - 5.0)
        canvas.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(235, 0, 27, 255))
        cx2 = cx + int(r * 1.25)
        canvas.draw.ellipse((cx2 - r, cy - r, cx2 + r, cy + r), fill=(247, 158, 27, 230))
        word = (255, 255, 255, 255) if dark else (30, 30, 30, 255)
        canvas.text(right - 13.0, bottom + 0.8, "mastercard", canvas.font(latin, 1.8), word)


@dataclass(frozen=True)
class BankStyle:
    """Conditions forced on a bank card (issue 12's real-photo failures); the default
    draws everything at random exactly as before, so existing seeds give the same cards.

    ``expiry``: "" as drawn, "year_first" ("有效期限 2031/12"), "month_year" (a
    "有效期限 月/年" label over the date), "from_thru" (VALID FROM and VALID THRU dates).
    """

    embossed: bool | None = None
    glare: bool = False  # a glare band and a shadow across the number
    expiry: str = ""
    number_upside_down: bool = False  # the number line alone turned half round
    # Washed out to this share of its contrast (1.0: as printed), as glare over embossed
    # foil leaves it on real photos: the number's first group, or the expiry date.
    faded_group: float = 1.0
    faded_expiry: float = 1.0
    # Ink strokes across one embossed digit (a pen mark, a pattern line through it): the
    # recogniser reads another digit there, unsure, with the printed one its runner-up.
    marked_digit: bool = False
    # The first group embossed over a busy, high-contrast part of the card's picture
    # (a building's eaves: bright and dark stripes through the digits), one of its digits
    # the picture's own colour so that it all but vanishes (a real card's first group,
    # read as other digits in every reading).
    busy_group: bool = False


EXPIRY_STYLES = ("", "year_first", "month_year", "from_thru", "month_year_below")


def render_bank_card(
    card: BankCard,
    fonts: FontSet,
    rng: random.Random,
    np_rng: np.random.Generator,
    width: int,
    style: BankStyle = BankStyle(),
) -> Image.Image:
    height = round(width * CARD_MM[1] / CARD_MM[0])
    colour = BANK_COLOURS.get(card.bank, (60, 60, 120))
    dark = rng.random() < 0.6
    base = _jitter(rng, colour, 20) if dark else _jitter(rng, (236, 236, 232), 10)
    ink_pattern = _jitter(rng, (255, 255, 255) if dark else colour, 20)
    background = guilloche(np_rng, (width, height), base, ink_pattern, 0.18)
    shade = np.linspace(0.85, 1.1, width, dtype=np.float32)[None, :, None]
    background = Image.fromarray(
        np.clip(np.asarray(background, np.float32) * shade, 0, 255).astype(np.uint8)
    )
    canvas = Canvas(width, background)
    ink = (245, 245, 245, 255) if dark else (*_jitter(rng, (30, 30, 30), 10), 255)
    accent = (255, 255, 255, 255) if dark else (*colour, 255)
    _decoration(canvas, rng, ink_pattern)

    r = canvas.px(3.0)
    lx, ly = canvas.px(8.5), canvas.px(8.5)
    canvas.draw.ellipse((lx - r, ly - r, lx + r, ly + r), outline=accent, width=canvas.px(0.9))
    canvas.draw.rectangle((lx - r // 3, ly - r // 3, lx + r // 3, ly + r // 3), fill=accent)
    name_face = _pick_face(rng, fonts.cjk, card.bank + card.card_type)
    canvas.text(13.0, 10.5, card.bank, canvas.font(name_face, rng.uniform(3.8, 4.6)), ink, 0.3)
    english = BANK_ENGLISH.get(card.bank, "")
    canvas.text(13.0, 13.6, english, canvas.font(fonts.latin[-1], 1.5), ink)
    type_font = canvas.font(name_face, rng.uniform(2.8, 3.4))
    type_width = canvas.width_mm(card.card_type, type_font)
    canvas.text(CARD_MM[0] - 6.0 - type_width, 10.0, card.card_type, type_font, ink)

    if rng.random() < 0.85:
        chip = (canvas.px(9.0), canvas.px(17.0), canvas.px(19.5), canvas.px(25.0))
        canvas.draw.rounded_rectangle(
            chip, canvas.px(1.2), fill=(*_jitter(rng, (212, 180, 110), 12), 255)
        )
        for frac in (0.33, 0.66):
            y = chip[1] + (chip[3] - chip[1]) * frac
            canvas.draw.line((chip[0], y, chip[2], y), fill=(150, 120, 60, 255), width=2)
        middle = (chip[0] + chip[2]) // 2
        canvas.draw.line((middle, chip[1], middle, chip[3]), fill=(150, 120, 60, 255), width=2)
        if rng.random() < 0.5:
            _contactless_mark(canvas, (23.0, 21.0), ink)

    if style.busy_group:
        _busy_picture(canvas, rng)
    number_box = _bank_number(canvas, card, fonts, rng, dark, style.embossed, style.marked_digit)
    if style.busy_group:
        # One digit of the first group (not its first: the "62" of a UnionPay number
        # stands clear on the real card) lost in the picture.
        x0, y0, x1, y1 = number_box
        digit = (x1 - x0) / len(card.number)
        at = rng.randrange(1, len(card.printed_groups[0]))
        _fade(canvas, (round(x0 + digit * at), y0, round(x0 + digit * (at + 0.8)), y1), 0.15)
    small = canvas.font(fonts.latin[-1], 1.6)
    digit_face = _pick_face(rng, fonts.digits, "0123456789/")
    expiry_box: tuple[int, int, int, int] | None = None
    if card.valid_thru:
        x = 34.0 + rng.uniform(-3, 3)
        if style.expiry:
            expiry_box = _styled_expiry(
                canvas, fonts, rng, card.valid_thru, style.expiry, x, ink, digit_face
            )
        elif rng.random() < 0.5:
            canvas.text(x, 40.6, "VALID", small, ink)
            canvas.text(x, 42.5, "THRU", small, ink)
            canvas.text(x + 7.0, 42.5, card.valid_thru, canvas.font(digit_face, 3.4), ink)
        else:
            label = canvas.font(_pick_face(rng, fonts.cjk, "有效期"), 2.4)
            end = canvas.text(x, 42.5, "有效期", label, ink)
            canvas.text(end + 1.5, 42.5, card.valid_thru, canvas.font(digit_face, 3.4), ink)
    if card.holder:
        canvas.text(9.0, 49.0, card.holder, canvas.font(fonts.latin[0], 2.8), ink, 0.3)
    _brand_mark(canvas, fonts, rng, card.brand, dark)
    if style.glare:
        _glare_and_shadow(canvas, rng, number_box)
    if style.faded_group < 1.0:
        x0, y0, x1, y1 = number_box
        share = len(card.printed_groups[0]) / len("".join(card.printed_groups))
        _fade(canvas, (x0, y0, x0 + round((x1 - x0) * share), y1), style.faded_group)
    if style.faded_expiry < 1.0 and expiry_box is not None:
        _fade(canvas, expiry_box, style.faded_expiry)
    if style.number_upside_down:
        band = canvas.image.crop(number_box).rotate(180)
        canvas.image.paste(band, number_box[:2])
    return canvas.image


def _styled_expiry(
    canvas: Canvas,
    fonts: FontSet,
    rng: random.Random,
    valid_thru: str,
    form: str,
    x: float,
    ink: RGB4,
    face: Face,
) -> tuple[int, int, int, int] | None:
    """The expiry printed the less common ways seen on real cards; the box around the
    date where a fade may be applied (only for forms that say where it is)."""
    month, year = valid_thru.split("/")
    small = canvas.font(fonts.latin[-1], 1.6)
    digits = canvas.font(face, 3.4)
    label = canvas.font(_pick_face(rng, fonts.cjk, "有效期限月年"), 2.2)
    if form == "year_first":
        end = canvas.text(x, 42.5, "有效期限", label, ink)
        canvas.text(end + 1.5, 42.5, f"20{year}/{month}", digits, ink)
    elif form == "month_year":
        canvas.text(x, 39.8, "有效期限 月/年", label, ink)
        canvas.text(x + 2.0, 43.6, valid_thru, digits, ink)
    elif form == "month_year_below":
        # VALID THRU left of a small MONTH/YEAR label, the date under the label.
        canvas.text(x - 8.0, 41.6, "VALID", small, ink)
        canvas.text(x - 8.0, 43.5, "THRU", small, ink)
        canvas.text(x + 1.0, 40.2, "MONTH/YEAR", small, ink)
        end = canvas.text(x + 1.0, 44.4, valid_thru, digits, ink)
        return (canvas.px(x + 0.5), canvas.px(40.9), canvas.px(end + 0.5), canvas.px(45.2))
    elif form == "from_thru":
        issued = f"{month}/{int(year) - 5:02d}"
        for left, word, date in ((x - 12.0, "FROM", issued), (x + 10.0, "THRU", valid_thru)):
            canvas.text(left, 40.6, "VALID", small, ink)
            canvas.text(left, 42.5, word, small, ink)
            canvas.text(left + 7.0, 42.5, date, digits, ink)
    else:
        raise ValueError(f"unknown expiry form {form!r}")
    return None


def _fade(canvas: Canvas, box: tuple[int, int, int, int], contrast: float) -> None:
    """The box's print pulled towards its blurred surroundings, to ``contrast`` of itself,
    with soft edges (a hard-edged patch would be a landmark no real glare leaves)."""
    x0, y0, x1, y1 = box
    pixels = np.asarray(canvas.image.convert("RGB"), np.float32)
    height, width = pixels.shape[:2]
    soft = max(2.0, (y1 - y0) / 3)
    mask = np.zeros((height, width), np.float32)
    grow = round(2 * soft)  # the whole box at full strength, the blur outside it
    mask[max(0, y0 - grow) : y1 + grow, max(0, x0 - grow) : x1 + grow] = 1.0
    mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), soft), np.float32)[..., None]
    blurred = np.asarray(cv2.GaussianBlur(pixels, (0, 0), (y1 - y0) / 2), np.float32)
    faded = blurred + (pixels - blurred) * contrast
    pixels = (pixels * (1 - mask) + faded * mask).astype(np.float32)
    canvas.image.paste(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))


def _busy_picture(canvas: Canvas, rng: random.Random) -> None:
    """Card art behind the number's first group: a dark roof with bright eaves, its
    edge slanting across the group (drawn before the number, as printed under it)."""
    top, bottom = 26.5 + rng.uniform(-1, 1), 37.5 + rng.uniform(-1, 1)
    left, right = 4.0, 30.0 + rng.uniform(-4, 4)
    roof = _jitter(rng, (120, 40, 30), 25)
    eaves = _jitter(rng, (235, 190, 80), 20)
    slant = rng.uniform(4, 10)
    canvas.draw.polygon(
        [
            (canvas.px(left + slant), canvas.px(top)),
            (canvas.px(right), canvas.px(top)),
            (canvas.px(right), canvas.px(bottom)),
            (canvas.px(left), canvas.px(bottom)),
        ],
        fill=(*roof, 255),
    )
    y = top + rng.uniform(0.5, 1.5)
    while y < bottom:
        thick = rng.uniform(0.4, 1.1)
        canvas.draw.line(
            (
                canvas.px(left + slant * (bottom - y) / (bottom - top)),
                canvas.px(y),
                canvas.px(right),
                canvas.px(y + rng.uniform(-0.8, 0.8)),
            ),
            fill=(*eaves, 255),
            width=max(1, canvas.px(thick)),
        )
        y += rng.uniform(1.4, 2.6)


def _glare_and_shadow(canvas: Canvas, rng: random.Random, box: tuple[int, int, int, int]) -> None:
    """A bright laminate glare over part of the number and a soft shadow over another."""
    x0, y0, x1, y1 = box
    width, height = canvas.image.size
    light = np.zeros((height, width), np.float32)
    dark = np.zeros((height, width), np.float32)
    glare_x = rng.uniform(x0 + 0.1 * (x1 - x0), x1 - 0.3 * (x1 - x0))
    cv2.ellipse(
        light,
        (round(glare_x), round((y0 + y1) / 2)),
        (round(0.09 * (x1 - x0)), round(1.4 * (y1 - y0))),
        rng.uniform(-30, 30),
        0,
        360,
        1.0,
        -1,
    )
    shadow_x = glare_x + rng.choice((-1, 1)) * 0.35 * (x1 - x0)
    cv2.ellipse(
        dark,
        (round(shadow_x), round(y1)),
        (round(0.2 * (x1 - x0)), round(1.2 * (y1 - y0))),
        0,
        0,
        360,
        1.0,
        -1,
    )
    glow = np.asarray(cv2.GaussianBlur(light, (0, 0), (x1 - x0) / 40), np.float32)[..., None]
    shade = np.asarray(cv2.GaussianBlur(dark, (0, 0), (x1 - x0) / 25), np.float32)[..., None]
    pixels = np.asarray(canvas.image.convert("RGB"), np.float32)
    pixels = pixels * (1 - 0.45 * shade) + glow * rng.uniform(120, 170)
    canvas.image.paste(Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)))


def _decoration(canvas: Canvas, rng: random.Random, colour: RGB) -> None:
    """One of the usual card-art motifs: a sweep, big translucent discs or a diagonal band."""
    style = rng.choice(("sweep", "discs", "band"))
    if style == "sweep":
        mid, depth = rng.uniform(34, 46), rng.uniform(8, 16)
        sweep = [
            (canvas.px(x), canvas.px(mid - depth * np.sin(x / 27.0)))
            for x in np.linspace(0, 86, 30)
        ]
        canvas.draw.line(sweep, fill=(*colour, 70), width=canvas.px(rng.uniform(2, 6)))
    elif style == "discs":
        for _ in range(rng.randint(2, 4)):
            cx, cy, r = rng.uniform(30, 90), rng.uniform(-10, 60), rng.uniform(12, 35)
            box = (canvas.px(cx - r), canvas.px(cy - r), canvas.px(cx + r), canvas.px(cy + r))
            canvas.draw.ellipse(box, fill=(*colour, rng.randint(25, 55)))
    else:
        x0 = rng.uniform(30, 60)
        band = [(x0, 0.0), (x0 + 18, 0.0), (x0 - 10, CARD_MM[1]), (x0 - 28, CARD_MM[1])]
        canvas.draw.polygon(
            [(canvas.px(x), canvas.px(y)) for x, y in band], fill=(*colour, rng.randint(30, 60))
        )


def _contactless_mark(canvas: Canvas, centre_mm: tuple[float, float], ink: tuple[int, ...]) -> None:
    """The four nested arcs of a contactless (QuickPass) card."""
    cx, cy = canvas.px(centre_mm[0]), canvas.px(centre_mm[1])
    for step in range(1, 5):
        r = canvas.px(0.9 * step)
        box = (cx - r, cy - r, cx + r, cy + r)
        canvas.draw.arc(box, -45, 45, fill=ink, width=max(1, canvas.px(0.35)))


# The digit a mark over a digit makes it look like (a smear turns a 4 into a 7).
MARK_LOOKALIKES = dict(zip("0123456789", "8772765138", strict=True))


def _bank_number(
    canvas: Canvas,
    card: BankCard,
    fonts: FontSet,
    rng: random.Random,
    dark: bool,
    force_embossed: bool | None = None,
    marked: bool = False,
) -> tuple[int, int, int, int]:
    """The card number in groups: embossed (light digits with a shadow) or flat-printed.

    ``marked``: a mark over one digit of a group after the first (the BIN's digits have
    other ways back) turns it half into a look-alike digit, as an ink smear or a line of
    the card's pattern does on real photos. Returns the pixel box around the number.
    """
    face = _pick_face(rng, fonts.digits, card.number)
    groups = card.printed_groups
    gap = rng.uniform(1.8, 3.2)
    size = 6.4
    font = canvas.font(face, size)
    while size > 3.5 and (
        canvas.width_mm("".join(groups), font, 0.2) + gap * (len(groups) - 1) > 72.0
    ):
        size -= 0.2
        font = canvas.font(face, size)
    embossed = rng.random() < 0.5
    if force_embossed is not None:
        embossed = force_embossed
    x, baseline = 8.0 + rng.uniform(-1, 1.5), 34.5 + rng.uniform(-1.5, 1.5)
    left = x
    mark_group = rng.randrange(1, len(groups)) if marked else -1
    mark_at = rng.randrange(len(groups[mark_group])) if marked else -1
    if embossed:
        # Raised digits are foil-tipped: light foil on dark cards, dark foil on light ones.
        foils = [(236, 236, 230), (220, 196, 130), (200, 200, 205)]
        if not dark:
            foils = [(70, 70, 70), (140, 110, 45), (45, 45, 95)]
        colour = rng.choice(foils)
        shadow = max(1, canvas.px(0.18))
        for index, group in enumerate(groups):
            canvas.text(
                x + shadow / canvas.scale,
                baseline + shadow / canvas.scale,
                group,
                font,
                (20, 20, 20, 200),
                0.2,
            )
            canvas.text(x - 0.05, baseline - 0.05, group, font, (255, 255, 255, 160), 0.2)
            end = canvas.text(x, baseline, group, font, (*colour, 255), 0.2)
            if index == mark_group:
                before = sum(font.getlength(c) / canvas.scale + 0.2 for c in group[:mark_at])
                ghost = MARK_LOOKALIKES[group[mark_at]]
                canvas.text(x + before, baseline, ghost, font, (25, 25, 60, rng.randint(150, 230)))
            x = end + gap
    else:
        colour = (245, 245, 245) if dark else (20, 20, 20)
        for group in groups:
            x = canvas.text(x, baseline, group, font, (*colour, 255), 0.2) + gap
    ascent, descent = font.getmetrics()
    return (
        max(0, canvas.px(left - 1.0)),
        max(0, canvas.px(baseline) - ascent - canvas.px(0.8)),
        min(canvas.image.size[0], canvas.px(x - gap + 1.0)),
        min(canvas.image.size[1], canvas.px(baseline) + descent + canvas.px(0.8)),
    )
