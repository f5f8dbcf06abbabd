"""The main page of the PRC motor vehicle driving licence (中华人民共和国机动车驾驶证).

88 x 60 mm, printed on security paper inside a plastic sleeve: the title in Chinese and
English, then bilingual labels (Chinese over small English) with the values beside them,
the holder's photo at the right and the issuing authority's red seal at the bottom left.
The card number is the holder's resident ID number.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import numpy as np
from faker import Faker
from PIL import Image

from tests.cardgen.content import REFERENCE_DATE, _add_years, _random_date, make_person
from tests.cardgen.fonts import FontSet
from tests.cardgen.render import Canvas, _jitter, _pick_face, _portrait, guilloche, wrap

LICENCE_MM = (88.0, 60.0)
# 准驾车型 values as printed, weighted roughly like the licences in circulation: one
# class, or a class plus the motorcycle or trailer classes added later (增驾).
CAR_CLASS_VALUES = (
    ("C1", 50), ("C2", 12), ("B2", 6), ("A1", 3), ("A2", 4), ("B1", 2), ("A3", 1),
    ("C1D", 3), ("C1E", 4), ("B2E", 1), ("A2E", 1), ("A1A2", 1), ("D", 2), ("E", 3),
    ("F", 1), ("C3", 1), ("C4", 1), ("C5", 1), ("C1C6", 1), ("M", 1), ("N", 1), ("P", 1),
)  # fmt: skip
FIRST_PERIOD_YEARS = 6
SECOND_PERIOD_YEARS = 10
LONG_TERM = "长期"
AUTHORITIES = ("公安局交通警察支队", "公安局公安交通管理局", "公安局交通管理局")


@dataclass(frozen=True)
class DrivingLicence:
    id_num: str
    name: str
    sex: str
    nationality: str
    address: str
    birth_date: dt.date
    issue_date: dt.date
    car_class: str
    valid_from: dt.date
    valid_to: dt.date | None  # None: 长期
    authority: str

    def expected(self) -> dict[str, str]:
        return {
            "id_num": self.id_num,
            "name": self.name,
            "sex": self.sex,
            "nationality": self.nationality,
            "address": self.address,
            "birth_date": self.birth_date.isoformat(),
            "issue_date": self.issue_date.isoformat(),
            "car_class": self.car_class,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else LONG_TERM,
        }


def make_licence(rng: random.Random, fake: Faker) -> DrivingLicence:
    """A licence whose ID number, birth date, sex, first issue and period all agree.

    The first licence runs 6 years, the next 10, then 长期; a renewed period starts on the
    day the old one ends.
    """
    person = make_person(rng, fake)
    # Licences need 18 years and a while to pass the test: draw again for the very young.
    while _add_years(person.front.birth, 18) > REFERENCE_DATE - dt.timedelta(days=120):
        person = make_person(rng, fake)
    front = person.front
    adult = _add_years(front.birth, 18)
    issue = _random_date(rng, max(adult, dt.date(1995, 1, 1)), REFERENCE_DATE)
    if issue > REFERENCE_DATE - dt.timedelta(days=30):
        issue = max(adult, REFERENCE_DATE - dt.timedelta(days=rng.randint(30, 400)))
    if issue.month == 2 and issue.day == 29:
        issue = issue.replace(day=28)
    second = _add_years(issue, FIRST_PERIOD_YEARS)
    third = _add_years(second, SECOND_PERIOD_YEARS)
    # The period in force on a day of the last two years: a few licences have lapsed.
    seen = max(issue, REFERENCE_DATE - dt.timedelta(days=rng.randint(0, 730)))
    if seen < second:
        valid_from, valid_to = issue, second
    elif seen < third:
        valid_from, valid_to = second, third
    else:
        valid_from, valid_to = third, None
    classes, weights = zip(*CAR_CLASS_VALUES, strict=True)
    return DrivingLicence(
        id_num=front.id,
        name=front.name,
        sex=front.gender,
        nationality="中国",
        address=front.addr,
        birth_date=front.birth,
        issue_date=issue,
        car_class=rng.choices(classes, weights=weights)[0],
        valid_from=valid_from,
        valid_to=valid_to,
        authority=(person.region.city or person.region.province) + rng.choice(AUTHORITIES),
    )


def render_licence(
    licence: DrivingLicence,
    fonts: FontSet,
    rng: random.Random,
    np_rng: np.random.Generator,
    width: int,
) -> Image.Image:
    height = round(width * LICENCE_MM[1] / LICENCE_MM[0])
    background = guilloche(
        np_rng, (width, height), _jitter(rng, (236, 240, 232), 6), (150, 190, 170), 0.18
    )
    canvas = Canvas(width, background, LICENCE_MM[0])
    ink = (*_jitter(rng, (30, 30, 35), 10), 255)
    label_ink = (*_jitter(rng, (35, 35, 40), 12), 255)
    cjk = _pick_face(rng, fonts.cjk, licence.name + licence.address + "中华人民共和国机动车驾驶证")
    hei = _pick_face(rng, fonts.cjk, "中华人民共和国机动车驾驶证", "hei")
    latin = fonts.latin[-1]
    digits = _pick_face(rng, fonts.digits, licence.id_num)
    dx, dy = rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6)

    title = "中华人民共和国机动车驾驶证"
    title_font = canvas.font(hei, rng.uniform(3.6, 4.0))
    centre = LICENCE_MM[0] / 2 + dx
    canvas.text(centre - canvas.width_mm(title, title_font, 0.4) / 2, 7.5 + dy, title,
                title_font, ink, 0.4)  # fmt: skip
    english = "Driving License of the People's Republic of China"
    english_font = canvas.font(latin, 1.9)
    canvas.text(centre - canvas.width_mm(english, english_font) / 2, 10.6 + dy, english,
                english_font, label_ink)  # fmt: skip

    label_font = canvas.font(cjk, 2.5)
    small = canvas.font(latin, 1.45)
    value_font = canvas.font(cjk, rng.uniform(2.9, 3.2))
    digit_font = canvas.font(digits, rng.uniform(3.0, 3.3))
    left = 5.0 + dx

    def label(x: float, y: float, chinese: str, latin_text: str) -> float:
        end = canvas.text(x, y, chinese, label_font, label_ink, 0.2)
        canvas.text(x, y + 2.1, latin_text, small, label_ink)
        return end

    x = label(left, 16.0 + dy, "证号", "No.")
    canvas.text(x + 3.0, 16.2 + dy, licence.id_num, digit_font, ink, 0.25)
    x = label(left, 22.5 + dy, "姓名", "Name")
    canvas.text(x + 3.0, 22.7 + dy, licence.name, value_font, ink, 0.3)
    x = label(40.0 + dx, 22.5 + dy, "性别", "Sex")
    canvas.text(x + 2.0, 22.7 + dy, licence.sex, value_font, ink)
    x = label(52.0 + dx, 22.5 + dy, "国籍", "Nationality")
    canvas.text(x + 2.0, 22.7 + dy, licence.nationality, value_font, ink)
    x = label(left, 29.0 + dy, "住址", "Address")
    lines = wrap(canvas, licence.address, value_font, 55.0 - x)
    while len(lines) > 2:
        value_font = canvas.font(cjk, value_font.size / canvas.scale - 0.15)
        lines = wrap(canvas, licence.address, value_font, 55.0 - x)
    for row, line in enumerate(lines):
        canvas.text(x + 3.0, 29.2 + dy + row * 3.8, line, value_font, ink)

    rows = (
        ("出生日期", "Date of Birth", licence.birth_date.isoformat()),
        ("初次领证日期", "Date of First Issue", licence.issue_date.isoformat()),
        ("准驾车型", "Class", licence.car_class),
    )
    for row, (chinese, latin_text, value) in enumerate(rows):
        y = 38.5 + dy + row * 5.6
        x = label(left + 17.0, y, chinese, latin_text)
        canvas.text(max(x + 3.0, left + 37.0), y + 0.2, value, digit_font, ink, 0.2)
    until = licence.valid_to.isoformat() if licence.valid_to else LONG_TERM
    x = label(left + 17.0, 55.3 + dy, "有效期限", "Valid Period")
    x = canvas.text(x + 2.5, 55.5 + dy, licence.valid_from.isoformat(), digit_font, ink, 0.2)
    x = canvas.text(x + 1.2, 55.4 + dy, "至", label_font, label_ink)
    canvas.text(x + 1.2, 55.5 + dy, until, value_font if until == LONG_TERM else digit_font,
                ink, 0.2)  # fmt: skip
    _portrait(canvas, rng, (64.0 + dx, 27.0 + dy, 83.0 + dx, 52.0 + dy))
    _seal(canvas, rng, licence.authority, fonts, (11.0 + dx, 45.0 + dy))
    return canvas.image


def _seal(
    canvas: Canvas, rng: random.Random, authority: str, fonts: FontSet, centre: tuple[float, float]
) -> None:
    """The authority's round red seal: a ring, the name round the top, a star inside."""
    red = (*_jitter(rng, (200, 40, 40), 15), rng.randint(110, 170))
    cx, cy, r = canvas.px(centre[0]), canvas.px(centre[1]), canvas.px(8.0)
    canvas.draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=red, width=canvas.px(0.5))
    face = _pick_face(rng, fonts.cjk, authority, "song")
    font = canvas.font(face, 1.8)
    text = authority[:14]
    for i, char in enumerate(text):
        angle = np.radians(200 + i * 140 / max(1, len(text) - 1))
        x = cx + 0.75 * r * np.cos(angle)
        y = cy + 0.75 * r * np.sin(angle)
        canvas.draw.text((x, y), char, font=font, fill=red, anchor="mm")
    star = [
        (cx + 0.3 * r * np.cos(a) * (1 if k % 2 == 0 else 0.4),
         cy + 0.3 * r * np.sin(a) * (1 if k % 2 == 0 else 0.4))
        for k, a in enumerate(np.linspace(-np.pi / 2, 1.5 * np.pi, 11)[:10])
    ]  # fmt: skip
    canvas.draw.polygon(star, fill=red)
