"""What goes on a card: people, addresses, ID numbers, bank numbers, as labelled values.

Everything here is drawn from a ``random.Random`` so one seed gives one data set; Faker
is reseeded from it for names. Nothing here needs fonts.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from faker import Faker

from ocr.checks import id_check_char, luhn_check_digit
from tests.cardgen.regions import OLD_CODE_REGIONS, REGIONS, Region

# Today's date is fixed so a seed gives the same cards next year too.
REFERENCE_DATE = dt.date(2026, 11, 1)

# Rarer surnames, all inside GB2312 so every bundled CJK font has the glyphs.
RARE_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙",
    "单", "仇", "解", "查", "区", "佘", "覃", "闫", "尹", "蒯", "亓", "訾", "逄", "鄢",
)  # fmt: skip
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰晨宇浩然梓涵欣怡子轩思雨嘉琪俊熙佳慧立新振海"  # noqa: E501

# Weighted like the population: most cards are Han.
NATIONALITIES = (
    ("汉", 80), ("回", 3), ("满", 2), ("壮", 3), ("维吾尔", 2), ("蒙古", 2), ("苗", 1),
    ("土家", 1), ("藏", 1), ("彝", 1), ("朝鲜", 1), ("侗", 1), ("瑶", 1), ("白", 1),
    ("哈萨克", 1),
)  # fmt: skip
UYGHUR_GIVEN = ("买买提", "艾力", "阿依古丽", "热依拉", "努尔", "古丽", "艾尔肯", "迪丽")

ROADS = (
    "中山", "人民", "解放", "建设", "和平", "长江", "黄河", "新华", "文化", "北京", "胜利",
    "青年", "光明", "朝阳", "东风", "团结", "幸福", "迎宾", "工农", "育才", "滨河", "湖滨",
)  # fmt: skip
ROAD_KINDS = ("路", "街", "大道", "北路", "南路", "东路", "西路", "中路", "大街")
ESTATES = ("金色家园", "阳光花园", "翠苑小区", "锦绣华庭", "新村", "东方明珠苑", "丽景湾")
TOWN_WORDS = "城关新集上集下庄白沙石桥马店李寨高楼柳林杨河王岗陈湾张营刘庄黄土岭"
ORDINALS = "一二三四五六七八九十"

# Real issuer prefixes: (BIN, bank, card type printed on the card, brand, number length).
# Visa starts with 4, Mastercard with 51-55, UnionPay with 62.
BINS: tuple[tuple[str, str, str, str, int], ...] = (
    ("622202", "中国工商银行", "牡丹灵通卡", "unionpay", 19),
    ("621226", "中国工商银行", "借记卡", "unionpay", 19),
    ("427020", "中国工商银行", "牡丹信用卡", "visa", 16),
    ("621700", "中国建设银行", "龙卡储蓄卡", "unionpay", 19),
    ("436742", "中国建设银行", "龙卡储蓄卡", "visa", 19),
    ("524094", "中国建设银行", "龙卡信用卡", "mastercard", 16),
    ("552245", "中国建设银行", "龙卡信用卡", "mastercard", 16),
    ("622848", "中国农业银行", "金穗借记卡", "unionpay", 19),
    ("622845", "中国农业银行", "金穗借记卡", "unionpay", 19),
    ("621661", "中国银行", "长城电子借记卡", "unionpay", 19),
    ("456351", "中国银行", "长城电子借记卡", "visa", 19),
    ("622588", "招商银行", "一卡通", "unionpay", 16),
    ("621483", "招商银行", "一卡通", "unionpay", 16),
    ("622260", "交通银行", "太平洋借记卡", "unionpay", 19),
    ("622150", "中国邮政储蓄银行", "绿卡通", "unionpay", 19),
    ("621799", "中国邮政储蓄银行", "借记卡", "unionpay", 19),
    ("622908", "兴业银行", "借记卡", "unionpay", 18),
    ("622521", "上海浦东发展银行", "借记卡", "unionpay", 16),
    ("622622", "中国民生银行", "借记卡", "unionpay", 16),
    ("622155", "平安银行", "借记卡", "unionpay", 16),
    ("622690", "中信银行", "借记卡", "unionpay", 16),
    ("622666", "中国光大银行", "阳光借记卡", "unionpay", 16),
    ("622568", "广发银行", "借记卡", "unionpay", 16),
)

BANK_ENGLISH = {
    "中国工商银行": "INDUSTRIAL AND COMMERCIAL BANK OF CHINA",
    "中国建设银行": "CHINA CONSTRUCTION BANK",
    "中国农业银行": "AGRICULTURAL BANK OF CHINA",
    "中国银行": "BANK OF CHINA",
    "招商银行": "CHINA MERCHANTS BANK",
    "交通银行": "BANK OF COMMUNICATIONS",
    "中国邮政储蓄银行": "POSTAL SAVINGS BANK OF CHINA",
    "兴业银行": "INDUSTRIAL BANK CO.,LTD.",
    "上海浦东发展银行": "SHANGHAI PUDONG DEVELOPMENT BANK",
    "中国民生银行": "CHINA MINSHENG BANK",
    "平安银行": "PING AN BANK",
    "中信银行": "CHINA CITIC BANK",
    "中国光大银行": "CHINA EVERBRIGHT BANK",
    "广发银行": "CHINA GUANGFA BANK",
}

# Brand colours, so a card looks like its bank at a glance.
BANK_COLOURS = {
    "中国工商银行": (200, 16, 46),
    "中国建设银行": (0, 62, 140),
    "中国农业银行": (0, 132, 111),
    "中国银行": (178, 0, 30),
    "招商银行": (196, 22, 28),
    "交通银行": (20, 50, 120),
    "中国邮政储蓄银行": (0, 122, 68),
    "兴业银行": (0, 60, 145),
    "上海浦东发展银行": (0, 54, 120),
    "中国民生银行": (0, 110, 160),
    "平安银行": (236, 98, 0),
    "中信银行": (190, 10, 30),
    "中国光大银行": (90, 30, 120),
    "广发银行": (180, 20, 40),
}

GROUPINGS = {
    16: ((4, 4, 4, 4),),
    17: ((4, 4, 4, 5), (6, 11)),
    18: ((4, 4, 4, 6), (6, 12)),
    19: ((4, 4, 4, 4, 3), (6, 13)),
}


@dataclass(frozen=True)
class IdFront:
    name: str
    gender: str
    nationality: str
    birth: dt.date
    addr: str
    id: str

    def expected(self) -> dict[str, str]:
        return {
            "type": "Front",
            "name": self.name,
            "gender": self.gender,
            "nationality": self.nationality,
            "birth": self.birth.strftime("%Y%m%d"),
            "addr": self.addr,
            "id": self.id,
        }


@dataclass(frozen=True)
class IdBack:
    authority: str
    start: dt.date
    end: dt.date | None  # None = 长期 (valid for life)

    @property
    def printed_validity(self) -> str:
        end = self.end.strftime("%Y.%m.%d") if self.end else "长期"
        return f"{self.start.strftime('%Y.%m.%d')}-{end}"

    def expected(self) -> dict[str, str]:
        end = self.end.strftime("%Y%m%d") if self.end else "长期"
        return {
            "type": "Back",
            "authority": self.authority,
            "valid_date": f"{self.start.strftime('%Y%m%d')}-{end}",
        }


@dataclass(frozen=True)
class BankCard:
    number: str
    bank: str
    card_type: str
    brand: str  # unionpay | visa | mastercard
    grouping: tuple[int, ...]
    valid_thru: str | None  # "MM/YY" when printed
    holder: str | None  # pinyin name on credit cards

    @property
    def printed_groups(self) -> list[str]:
        groups, start = [], 0
        for size in self.grouping:
            groups.append(self.number[start : start + size])
            start += size
        return groups

    def expected(self) -> dict[str, str]:
        fields = {"number": self.number, "bank": self.bank}
        if self.valid_thru:
            fields["valid_thru"] = self.valid_thru
        return fields


@dataclass(frozen=True)
class Person:
    front: IdFront
    back: IdBack
    region: Region


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _chinese_name(rng: random.Random, fake: Faker, male: bool, nationality: str) -> str:
    if nationality == "维吾尔" and rng.random() < 0.5:
        return f"{rng.choice(UYGHUR_GIVEN)}·{rng.choice(UYGHUR_GIVEN)}"
    surname = rng.choice(RARE_SURNAMES) if rng.random() < 0.12 else str(fake.last_name())
    roll = rng.random()
    if roll < 0.25:
        given = str(fake.first_name_male() if male else fake.first_name_female())[:1]
    elif roll < 0.85:
        given = str(fake.first_name_male() if male else fake.first_name_female())
        if len(given) == 1:
            given += rng.choice(GIVEN_CHARS)
    else:
        given = "".join(rng.sample(GIVEN_CHARS, 2))
    return (surname + given)[:4]


def _flat(rng: random.Random) -> str:
    return f"{rng.randint(1, 30)}栋{rng.randint(1, 32)}0{rng.randint(1, 6)}室"


def _house(rng: random.Random) -> str:
    number = f"{rng.randint(1, 999)}号"
    roll = rng.random()
    if roll < 0.45:
        unit = f"{rng.randint(1, 6)}单元{rng.randint(1, 28)}0{rng.randint(1, 4)}室"
        return f"{number}{rng.randint(1, 30)}幢{unit}"
    if roll < 0.7:
        return number + _flat(rng)
    return number


def _address(rng: random.Random, fake: Faker, region: Region) -> str:
    if region.rural:
        town = "".join(rng.sample(TOWN_WORDS, 2)) + rng.choice(("镇", "乡"))
        village = str(fake.last_name())[:1] + rng.choice(("庄", "营", "寨", "湾", "家", "楼"))
        group = rng.choice(ORDINALS) if rng.random() < 0.6 else str(rng.randint(1, 15))
        tail = f"{village}村{group}组"
        if rng.random() < 0.7:
            tail += f"{rng.randint(1, 120)}号"
        return region.prefix + town + tail
    road = rng.choice(ROADS) + rng.choice(ROAD_KINDS)
    if rng.random() < 0.25:
        number = f"{rng.randint(1, 500)}号"
        return region.prefix + road + number + rng.choice(ESTATES) + _flat(rng)
    return region.prefix + road + _house(rng)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _random_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def make_person(rng: random.Random, fake: Faker, old_code: bool = False) -> Person:
    """One resident whose ID number, birth date, gender, address and validity all agree.

    ``old_code``: the number carries the code of a division abolished since (see
    OLD_CODE_REGIONS), the address today's name of the place.
    """
    fake.seed_instance(rng.getrandbits(32))
    region = rng.choice(OLD_CODE_REGIONS if old_code else REGIONS)
    birth = _random_date(rng, dt.date(1950, 1, 1), dt.date(2008, 12, 31))
    male = rng.random() < 0.5
    want_x = rng.random() < 0.12  # X check chars are rare (1 in 11) yet trip up OCR
    for _ in range(200):
        sequence = rng.randrange(0, 1000)
        if sequence % 2 != male:
            sequence = (sequence + 1) % 1000
        first17 = f"{region.code}{birth:%Y%m%d}{sequence:03d}"
        check = id_check_char(first17)
        if check == "X" or not want_x:
            break
    nationality = _weighted(rng, NATIONALITIES)
    front = IdFront(
        name=_chinese_name(rng, fake, male, nationality),
        gender="男" if male else "女",
        nationality=nationality,
        birth=birth,
        addr=_address(rng, fake, region),
        id=first17 + check,
    )
    adult = _add_years(birth, 16)
    start = _random_date(rng, max(adult, dt.date(2005, 1, 1)), REFERENCE_DATE)
    if start.month == 2 and start.day == 29:
        start = start.replace(day=28)
    age = (start - birth).days // 365
    years = 10 if age <= 25 else 20 if age <= 45 else None
    end = _add_years(start, years) if years else None
    return Person(front, IdBack(region.authority, start, end), region)


def make_bank_card(rng: random.Random, holder_pinyin: str | None) -> BankCard:
    bin_prefix, bank, card_type, brand, length = rng.choice(BINS)
    body = bin_prefix + "".join(rng.choice("0123456789") for _ in range(length - 7))
    number = body + luhn_check_digit(body)
    grouping = rng.choice(GROUPINGS[length])
    valid_thru = None
    if rng.random() < 0.85:
        valid_thru = f"{rng.randint(1, 12):02d}/{rng.randint(26, 35):02d}"
    credit = "信用" in card_type or brand != "unionpay"
    return BankCard(
        number=number,
        bank=bank,
        card_type=card_type,
        brand=brand,
        grouping=grouping,
        valid_thru=valid_thru,
        holder=holder_pinyin if credit and rng.random() < 0.7 else None,
    )


PINYIN_SURNAMES = ("ZHANG", "WANG", "LI", "ZHAO", "CHEN", "LIU", "YANG", "HUANG", "ZHOU", "WU")
PINYIN_GIVEN = ("WEI", "FANG", "NA", "MIN", "JING", "LEI", "JUN", "YANG", "XIU YING", "JIAN GUO")


def pinyin_holder(rng: random.Random) -> str:
    return f"{rng.choice(PINYIN_SURNAMES)} {rng.choice(PINYIN_GIVEN)}"
