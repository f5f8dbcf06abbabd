"""The data page of a passport (ICAO 9303 TD3, 125 x 88 mm), Chinese or foreign.

The printed zone (bilingual labels on Chinese passports) sits right of the photo; the
machine-readable zone (two lines of 44 OCR-B characters) runs along the bottom. Its
lines come from ocr.documents.compose_td3 and are cross-checked against the `mrz`
package in the tests.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass

import numpy as np
from faker import Faker
from PIL import Image, ImageFont

from ocr.documents import compose_td3
from tests.cardgen.content import REFERENCE_DATE, _add_years, _random_date
from tests.cardgen.fonts import FontSet, find_ocr_b
from tests.cardgen.render import Canvas, _jitter, _pick_face, _portrait, guilloche

PASSPORT_MM = (125.0, 88.0)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# Chinese passport numbers: E + 8 digits (2012 on), then E + a letter (no I or O) + 7.
NUMBER_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
SURNAMES_PINYIN = {
    "王": "WANG", "李": "LI", "张": "ZHANG", "刘": "LIU", "陈": "CHEN", "杨": "YANG",
    "黄": "HUANG", "赵": "ZHAO", "吴": "WU", "周": "ZHOU", "徐": "XU", "孙": "SUN",
    "马": "MA", "朱": "ZHU", "胡": "HU", "郭": "GUO", "何": "HE", "林": "LIN", "高": "GAO",
    "罗": "LUO", "郑": "ZHENG", "梁": "LIANG", "谢": "XIE", "宋": "SONG", "唐": "TANG",
}  # fmt: skip
GIVEN_HANZI = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰晨宇浩然子轩思"
# The Hanyu Pinyin of each character above: given names are written as one word.
GIVEN_PINYIN = (
    "WEI", "FANG", "NA", "MIN", "JING", "LI", "QIANG", "LEI", "JUN", "YANG", "YONG", "YAN",
    "JIE", "JUAN", "TAO", "MING", "CHAO", "XIU", "XIA", "PING", "GANG", "GUI", "YING", "HUA",
    "JIAN", "GUO", "ZHI", "HONG", "YU", "LAN", "CHEN", "YU", "HAO", "RAN", "ZI", "XUAN", "SI",
)  # fmt: skip
# Foreign passports: (issuing state, nationality printed, Faker locale for the name).
FOREIGN = (
    ("GBR", "BRITISH CITIZEN", "en_GB"),
    ("USA", "UNITED STATES OF AMERICA", "en_US"),
    ("CAN", "CANADIAN", "en_CA"),
    ("AUS", "AUSTRALIAN", "en_AU"),
    ("D", "DEUTSCH", "de_DE"),  # ICAO writes Germany as "D<<"
    ("FRA", "FRANCAISE", "fr_FR"),
    ("NZL", "NEW ZEALAND", "en_NZ"),
)
PROVINCES = (
    ("北京", "BEIJING"), ("上海", "SHANGHAI"), ("广东", "GUANGDONG"), ("浙江", "ZHEJIANG"),
    ("江苏", "JIANGSU"), ("四川", "SICHUAN"), ("湖北", "HUBEI"), ("山东", "SHANDONG"),
    ("河南", "HENAN"), ("福建", "FUJIAN"),
)  # fmt: skip


@dataclass(frozen=True)
class Passport:
    number: str
    name_cn: str  # empty on foreign passports
    surname: str
    given_names: str
    nationality: str  # ICAO code, as in the MRZ
    nationality_printed: str
    sex: str  # M or F
    birth: dt.date
    issue: dt.date
    expiry: dt.date
    issuing_country: str
    place_of_birth: str
    place_of_issue: str
    mrz: tuple[str, str]

    @property
    def chinese(self) -> bool:
        return self.issuing_country == "CHN"

    def expected(self) -> dict[str, str]:
        fields = {
            "number": self.number,
            "surname": self.surname,
            "given_names": self.given_names,
            "nationality": self.nationality,
            "sex": self.sex,
            "birth": f"{self.birth:%Y%m%d}",
            "expiry": f"{self.expiry:%Y%m%d}",
            "issuing_country": self.issuing_country,
        }
        if self.name_cn:
            fields["name_cn"] = self.name_cn
        return fields


def printed_date(day: dt.date) -> str:
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


def _chinese_name(rng: random.Random) -> tuple[str, str, str]:
    surname = rng.choice(sorted(SURNAMES_PINYIN))
    count = rng.choice((1, 2, 2))
    picks = [rng.randrange(len(GIVEN_HANZI)) for _ in range(count)]
    given_cn = "".join(GIVEN_HANZI[i] for i in picks)
    given = "".join(GIVEN_PINYIN[i] for i in picks)
    return surname + given_cn, SURNAMES_PINYIN[surname], given


def make_passport(rng: random.Random, fake: Faker, chinese: bool | None = None) -> Passport:
    """A passport whose MRZ and printed zone agree; ``chinese`` one in four foreign."""
    if chinese is None:
        chinese = rng.random() < 0.75
    fake.seed_instance(rng.getrandbits(32))
    male = rng.random() < 0.5
    birth = _random_date(rng, dt.date(1945, 1, 1), dt.date(2020, 12, 31))
    issue = _random_date(rng, REFERENCE_DATE - dt.timedelta(days=3650), REFERENCE_DATE)
    adult = issue >= _add_years(birth, 16)
    expiry = _add_years(issue, 10 if adult else 5) - dt.timedelta(days=1)
    if chinese:
        name_cn, surname, given = _chinese_name(rng)
        if rng.random() < 0.5:
            number = "E" + "".join(rng.choice("0123456789") for _ in range(8))
        else:
            digits = "".join(rng.choice("0123456789") for _ in range(7))
            number = "E" + rng.choice(NUMBER_LETTERS) + digits
        # Chinese passports fill the optional data with an encoding of the ID number.
        optional = "".join(rng.choice("ABCDEFGHIJKLMNOP") for _ in range(10))
        optional += rng.choice(("<<<<", "".join(rng.choice("ABCDEFGHIJKLMNOP") for _ in "1234")))
        province = rng.choice(PROVINCES)
        place_birth = f"{province[0]}/{province[1]}"
        place_issue = rng.choice((place_birth, "北京/BEIJING", "上海/SHANGHAI"))
        code, nationality_printed = "CHN", "中国/CHINESE"
    else:
        code, nationality_printed, locale = rng.choice(FOREIGN)
        local = Faker(locale)
        local.seed_instance(rng.getrandbits(32))
        name_cn = ""
        surname = _ascii(str(local.last_name())).upper()
        firsts = [str(local.first_name_male() if male else local.first_name_female())]
        if rng.random() < 0.4:
            firsts.append(str(local.first_name_male() if male else local.first_name_female()))
        given = " ".join(_ascii(n).upper() for n in firsts)
        alphabet = "0123456789" if code in ("GBR", "USA", "AUS") else "0123456789CFGHJKLMNPRTVWXYZ"
        number = "".join(rng.choice(alphabet) for _ in range(9))
        optional = ""
        place_birth = _ascii(str(local.city())).upper()
        place_issue = rng.choice(("HM PASSPORT OFFICE", "PASSPORT AGENCY", "AUTHORITY", code))
    mrz = compose_td3(
        document_code="P",
        issuing_country=code,
        surname=surname,
        given_names=given,
        number=number,
        nationality=code,
        birth=f"{birth:%y%m%d}",
        sex="M" if male else "F",
        expiry=f"{expiry:%y%m%d}",
        optional=optional,
    )
    return Passport(
        number=number,
        name_cn=name_cn,
        surname=surname,
        given_names=given,
        nationality=code,
        nationality_printed=nationality_printed,
        sex="M" if male else "F",
        birth=birth,
        issue=issue,
        expiry=expiry,
        issuing_country=code,
        place_of_birth=place_birth,
        place_of_issue=place_issue,
        mrz=mrz,
    )


def _ascii(name: str) -> str:
    """A Latin name with its accents dropped and only letters, spaces and hyphens kept."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(c for c in plain if c.isalpha() or c in " -")


def render_passport(
    passport: Passport,
    fonts: FontSet,
    rng: random.Random,
    np_rng: np.random.Generator,
    width: int,
) -> Image.Image:
    height = round(width * PASSPORT_MM[1] / PASSPORT_MM[0])
    base = (238, 232, 236) if passport.chinese else (232, 238, 240)
    background = guilloche(
        np_rng, (width, height), _jitter(rng, base, 6), (200, 150, 170), rng.uniform(0.15, 0.25)
    )
    canvas = Canvas(width, background, PASSPORT_MM[0])
    ink = (*_jitter(rng, (25, 25, 30), 10), 255)
    label_ink = (*_jitter(rng, (70, 60, 80), 15), 255)
    cjk = _pick_face(rng, fonts.cjk, passport.name_cn + "中华人民共和国护照类型国家码", "hei")
    latin = fonts.latin[-1]
    bold = fonts.latin[0]
    dx, dy = rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8)
    label_font = canvas.font(cjk, 2.0) if passport.chinese else canvas.font(latin, 2.0)
    value_font = canvas.font(bold, rng.uniform(2.9, 3.3))
    cjk_value = canvas.font(cjk, rng.uniform(3.4, 3.8))

    if passport.chinese:
        canvas.text(6.0 + dx, 8.0 + dy, "中华人民共和国", canvas.font(cjk, 3.6), ink, 0.3)
        canvas.text(6.0 + dx, 11.5 + dy, "PEOPLE'S REPUBLIC OF CHINA", canvas.font(latin, 2.2),
                    ink)  # fmt: skip
        canvas.text(70.0 + dx, 8.0 + dy, "护照", canvas.font(cjk, 3.6), ink, 0.6)
        canvas.text(85.0 + dx, 8.0 + dy, "PASSPORT", canvas.font(bold, 3.4), ink)
    else:
        canvas.text(6.0 + dx, 8.5 + dy, "PASSPORT", canvas.font(bold, 3.8), ink)
        canvas.text(40.0 + dx, 8.5 + dy, passport.nationality_printed, canvas.font(bold, 2.8), ink)

    def field(
        x: float, y: float, cn: str, en: str, value: str,
        font: ImageFont.FreeTypeFont | None = None,
    ) -> None:  # fmt: skip
        label = f"{cn}/{en}" if passport.chinese else en
        canvas.text(x + dx, y + dy, label, label_font, label_ink)
        canvas.text(x + dx, y + dy + 4.0, value, font or value_font, ink, 0.15)

    left, middle, right = 40.0, 62.0, 88.0
    field(left, 17.0, "类型", "Type", "P")
    field(middle, 17.0, "国家码", "Country Code", passport.issuing_country)
    field(right, 17.0, "护照号", "Passport No.", passport.number)
    y = 26.0
    if passport.chinese:
        canvas.text(left + dx, y + dy, "姓名/Name", label_font, label_ink)
        canvas.text(left + dx, y + dy + 4.3, passport.name_cn, cjk_value, ink, 0.4)
        canvas.text(left + dx, y + dy + 8.4, f"{passport.surname}, {passport.given_names}",
                    value_font, ink)  # fmt: skip
        y += 13.0
    else:
        field(left, y, "", "Surname", passport.surname)
        field(left, y + 7.5, "", "Given names", passport.given_names)
        y += 15.0
    sex = ("男/M" if passport.sex == "M" else "女/F") if passport.chinese else passport.sex
    if passport.chinese:
        field(left, y, "性别", "Sex", sex, cjk_value)
        field(middle, y, "国籍", "Nationality", passport.nationality_printed, cjk_value)
    else:
        field(left, y, "", "Sex", sex)
        field(middle, y, "", "Nationality", passport.nationality_printed)
    y += 8.0
    both = cjk_value if passport.chinese else None
    field(left, y, "出生日期", "Date of birth", printed_date(passport.birth))
    field(right - 6.0, y, "出生地点", "Place of birth", passport.place_of_birth, both)
    y += 8.0
    field(left, y, "签发日期", "Date of issue", printed_date(passport.issue))
    field(right - 6.0, y, "签发地点", "Place of issue", passport.place_of_issue, both)
    y += 8.0
    field(left, y, "有效期至", "Date of expiry", printed_date(passport.expiry))
    _portrait(canvas, rng, (6.0 + dx, 17.0 + dy, 34.0 + dx, 55.0 + dy))

    ocr_b = find_ocr_b()
    mrz_face = ocr_b if ocr_b is not None else fonts.digits[0]
    mrz_font = canvas.font(mrz_face, 3.6)
    # OCR-B's pitch in a TD3 MRZ: 44 characters over about 114 mm.
    pitch = 114.0 / 44
    for row, line in enumerate(passport.mrz):
        baseline = 73.5 + row * 6.5 + dy
        for i, char in enumerate(line):
            canvas.text(5.5 + dx + i * pitch, baseline, char, mrz_font, ink)
    return canvas.image
