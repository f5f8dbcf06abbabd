"""Business cards (名片), 90 x 54 mm: horizontal or vertical, Chinese or bilingual, with
a logo block, the name large, then title, company and contact lines; any field but the
name may be absent. Labels hold each field as read without its printed prefix ("手机:",
"Tel"); several numbers are joined with ';'. Numbers are written as
ocr.documents.normalise_mobile / normalise_phone write them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from faker import Faker
from PIL import Image, ImageFont

from ocr.documents import MOBILE_PREFIXES, normalise_phone
from tests.cardgen.content import _address, _chinese_name
from tests.cardgen.fonts import Face, FontSet
from tests.cardgen.noise import smooth_noise
from tests.cardgen.regions import REGIONS
from tests.cardgen.render import Canvas, _jitter, _pick_face, wrap

CARD_MM = (90.0, 54.0)
TITLES = (
    "总经理", "副总经理", "销售经理", "市场总监", "技术总监", "项目经理", "高级工程师",
    "财务主管", "人力资源经理", "董事长", "客户经理", "产品经理", "设计师", "律师", "主任",
)  # fmt: skip
TITLES_EN = {
    "总经理": "General Manager", "副总经理": "Deputy General Manager",
    "销售经理": "Sales Manager", "市场总监": "Marketing Director", "技术总监": "CTO",
    "项目经理": "Project Manager", "高级工程师": "Senior Engineer", "财务主管": "Finance Lead",
    "人力资源经理": "HR Manager", "董事长": "Chairman", "客户经理": "Account Manager",
    "产品经理": "Product Manager", "设计师": "Designer", "律师": "Lawyer", "主任": "Director",
}  # fmt: skip
# Area codes with their local number lengths (8 digits in the big cities, 7 in some).
AREA_CODES = (
    ("010", 8), ("021", 8), ("020", 8), ("0755", 8), ("0571", 8), ("025", 8), ("028", 8),
    ("027", 8), ("0531", 8), ("0898", 7), ("0771", 7), ("0937", 7),
)  # fmt: skip
LAYOUTS = ("left", "logo_left", "centred", "vertical", "bilingual")
PREFIXES = {
    "mobile": ("手机：", "手机:", "M:", "Mob:", "☎ ", ""),
    "phone": ("电话：", "电话:", "T:", "Tel:", "座机："),
    "fax": ("传真：", "F:", "Fax:"),
    "email": ("邮箱：", "E-mail:", "E:", "Email:"),
    "address": ("地址：", "地址:", "A:", "Add:"),
    "website": ("网址：", "Web:", "W:", ""),
}
PINYIN_DOMAINS = ("huaxin", "zhongke", "tianyu", "jinghong", "boya", "hengtong", "xinda",
                  "ruida", "kaiyuan", "dingsheng", "yuanhang", "lianchuang")  # fmt: skip


@dataclass(frozen=True)
class BusinessCard:
    name: str
    name_en: str
    title: str
    company: str
    mobiles: tuple[str, ...]  # as printed
    phones: tuple[str, ...]
    fax: str
    email: str
    address: str
    website: str
    layout: str

    def expected(self) -> dict[str, str]:
        fields = {
            "name": self.name,
            "title": self.title,
            "company": self.company,
            "mobile": ";".join("".join(c for c in m if c.isdigit()) for m in self.mobiles),
            "phone": ";".join(normalise_phone(p) for p in self.phones),
            "email": self.email,
            "address": self.address,
            "website": self.website,
        }
        return {k: v for k, v in fields.items() if v}


def _mobile(rng: random.Random) -> tuple[str, str]:
    """A mobile number as digits and as printed (grouped 3-4-4 or not)."""
    digits = rng.choice(sorted(MOBILE_PREFIXES)) + "".join(
        rng.choice("0123456789") for _ in range(8)
    )
    style = rng.random()
    if style < 0.4:
        return digits, digits
    sep = rng.choice((" ", "-"))
    return digits, f"{digits[:3]}{sep}{digits[3:7]}{sep}{digits[7:]}"


def _phone(rng: random.Random) -> str:
    area, length = rng.choice(AREA_CODES)
    local = str(rng.randint(2, 9)) + "".join(rng.choice("0123456789") for _ in range(length - 1))
    style = rng.random()
    if style < 0.5:
        printed = f"{area}-{local}"
    elif style < 0.75:
        printed = f"({area}){local[:4]} {local[4:]}"
    else:
        printed = f"{area}-{local[:4]}-{local[4:]}"
    if rng.random() < 0.15:
        printed += f" 转{rng.randint(800, 8999)}"
    if rng.random() < 0.1:
        printed = f"400-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    return printed


def make_business_card(rng: random.Random, fake: Faker) -> BusinessCard:
    fake.seed_instance(rng.getrandbits(32))
    layout = rng.choice(LAYOUTS)
    male = rng.random() < 0.5
    name = _chinese_name(rng, fake, male, "汉")
    domain = rng.choice(PINYIN_DOMAINS) + rng.choice(("", "tech", "group", "law", "design"))
    tld = rng.choice((".com", ".cn", ".com.cn", ".net"))
    mobiles = [_mobile(rng)[1] for _ in range(rng.choice((0, 1, 1, 1, 2)))]
    phones = [_phone(rng) for _ in range(rng.choice((0, 1, 1, 2)))]
    user = rng.choice(("info", "sales", "service", "hr")) if rng.random() < 0.3 else None
    local = user or "".join(rng.sample("abcdefghjklmnpqrstwxyz", rng.randint(3, 7)))
    title = rng.choice(TITLES) if rng.random() < 0.9 else ""
    return BusinessCard(
        name=name,
        name_en=f"{fake.romanized_name()}" if layout == "bilingual" else "",
        title=title,
        company=str(fake.company()) if rng.random() < 0.95 else "",
        mobiles=tuple(mobiles),
        phones=tuple(phones),
        fax=_phone(rng) if rng.random() < 0.2 else "",
        email=f"{local}@{domain}{tld}" if rng.random() < 0.8 else "",
        address=_address(rng, fake, rng.choice(REGIONS)) if rng.random() < 0.8 else "",
        website=f"www.{domain}{tld}" if rng.random() < 0.5 else "",
        layout=layout,
    )


def _paper(rng: random.Random, np_rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    base = np.array(_jitter(rng, rng.choice(((250, 250, 248), (244, 240, 230), (236, 240, 244))),
                            5), np.float32)  # fmt: skip
    grain = smooth_noise(np_rng, size, size[0] // 6)[..., None] * 6 - 3
    return Image.fromarray(np.clip(base + grain, 0, 255).astype(np.uint8), "RGB")


def render_business_card(
    card: BusinessCard,
    fonts: FontSet,
    rng: random.Random,
    np_rng: np.random.Generator,
    width: int,
) -> Image.Image:
    vertical = card.layout == "vertical"
    width_mm, height_mm = (CARD_MM[1], CARD_MM[0]) if vertical else CARD_MM
    height = round(width * height_mm / width_mm)
    canvas = Canvas(width, _paper(rng, np_rng, (width, height)), width_mm)
    ink = (*_jitter(rng, (30, 30, 40), 12), 255)
    accent = (*_jitter(rng, rng.choice(((20, 70, 150), (170, 30, 40), (20, 110, 80))), 20), 255)
    everything = card.name + card.title + card.company + card.address
    style = rng.choice(("hei", "song", "kai", "hei"))
    face = _pick_face(rng, fonts.cjk, everything + "手机电话邮箱地址网址传真", style)
    name_face = _pick_face(rng, fonts.cjk, card.name, rng.choice(("hei", "song", "kai")))
    latin = rng.choice(fonts.latin)
    small = rng.uniform(2.3, 2.7)
    line_mm = small * 1.55

    def prefixed(kind: str, value: str) -> str:
        return rng.choice(PREFIXES[kind]) + value

    contact = [prefixed("mobile", m) for m in card.mobiles]
    contact += [prefixed("phone", p) for p in card.phones]
    if card.fax:
        contact.append(prefixed("fax", card.fax))
    if card.email:
        contact.append(prefixed("email", card.email))
    if card.website:
        contact.append(prefixed("website", card.website))
    address_lines = _address_lines(canvas, card.address, face, small, width_mm - 12.0)
    if address_lines:
        label = rng.choice(PREFIXES["address"])
        address_lines[0] = label + address_lines[0]

    def draw_lines(x: float, y: float, lines: list[str], align: str = "left") -> None:
        """Set from baseline ``y`` down, smaller when they would run off the card: a label
        must never name text the card does not show."""
        room = height_mm - 3.5 - y
        size = min(small, room / max(1, len(lines) - 1) / 1.55) if len(lines) > 1 else small
        body = canvas.font(face, size)
        for line in lines:
            w = canvas.width_mm(line, body)
            left = x - w / 2 if align == "centre" else x - w if align == "right" else x
            canvas.text(left, y, line, body, ink)
            y += size * 1.55

    name_font = canvas.font(name_face, rng.uniform(5.0, 6.2))
    title_font = canvas.font(face, rng.uniform(2.6, 3.0))
    company_font = canvas.font(face, rng.uniform(3.0, 3.6))
    margin = rng.uniform(5.0, 7.0)
    if card.layout in ("left", "bilingual", "logo_left"):
        x = margin
        if card.layout == "logo_left":
            _logo(canvas, rng, accent, (margin, margin, margin + 14.0, margin + 14.0))
            x = margin + 18.0
        y = margin + 3.5
        if card.company:
            canvas.text(x, y, card.company, company_font, accent, 0.2)
            y += 8.0
        end = canvas.text(x, y + 3.0, card.name, name_font, ink, 0.8)
        if card.title:
            canvas.text(end + 3.0, y + 3.0, card.title, title_font, ink)
        if card.name_en:
            title_en = TITLES_EN.get(card.title, "")
            text = f"{card.name_en}  {title_en}".strip()
            canvas.text(x, y + 7.0, text, canvas.font(latin, 2.3), ink)
        body = [*contact, *address_lines]
        top = height_mm - margin - line_mm * len(body) + line_mm * 0.7
        draw_lines(x if card.layout != "logo_left" else margin, max(top, y + 10.0), body)
    elif card.layout == "centred":
        centre = width_mm / 2
        y = margin + 4.0
        if card.company:
            w = canvas.width_mm(card.company, company_font, 0.2)
            canvas.text(centre - w / 2, y, card.company, company_font, accent, 0.2)
            y += 10.0
        w = canvas.width_mm(card.name, name_font, 0.8)
        canvas.text(centre - w / 2, y + 2.0, card.name, name_font, ink, 0.8)
        if card.title:
            w = canvas.width_mm(card.title, title_font)
            canvas.text(centre - w / 2, y + 7.5, card.title, title_font, ink)
        draw_lines(centre, y + 14.0, [*contact, *address_lines], "centre")
    else:  # vertical: logo on top, everything centred under it
        centre = width_mm / 2
        _logo(canvas, rng, accent, (centre - 7.0, margin, centre + 7.0, margin + 14.0))
        y = margin + 22.0
        if card.company:
            company_font = _fit(canvas, face, card.company, 3.2, width_mm - 2 * margin)
            w = canvas.width_mm(card.company, company_font)
            canvas.text(centre - w / 2, y, card.company, company_font, accent)
            y += 9.0
        w = canvas.width_mm(card.name, name_font, 0.8)
        canvas.text(centre - w / 2, y + 3.0, card.name, name_font, ink, 0.8)
        if card.title:
            w = canvas.width_mm(card.title, title_font)
            canvas.text(centre - w / 2, y + 9.0, card.title, title_font, ink)
        draw_lines(centre, y + 17.0, [*contact, *address_lines], "centre")
    return canvas.image


def _fit(
    canvas: Canvas, face: Face, text: str, size_mm: float, width_mm: float
) -> ImageFont.FreeTypeFont:
    font = canvas.font(face, size_mm)
    while canvas.width_mm(text, font) > width_mm and size_mm > 1.6:
        size_mm -= 0.1
        font = canvas.font(face, size_mm)
    return font


def _address_lines(
    canvas: Canvas, address: str, face: Face, size_mm: float, width_mm: float
) -> list[str]:
    """The address in one line, or two when it does not fit (broken between characters)."""
    if not address:
        return []
    return wrap(canvas, address, canvas.font(face, size_mm), width_mm - 8.0)


def _logo(
    canvas: Canvas, rng: random.Random, colour: tuple[int, ...], box: tuple[float, ...]
) -> None:
    x0, y0, x1, y1 = (canvas.px(v) for v in box)
    if rng.random() < 0.5:
        canvas.draw.ellipse((x0, y0, x1, y1), outline=colour, width=canvas.px(1.2))
        inner = (x1 - x0) // 4
        canvas.draw.rectangle((x0 + inner, y0 + inner, x1 - inner, y1 - inner), fill=colour)
    else:
        canvas.draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=colour)
