"""The generators of issue 15's document kinds: their labels pass the checks the kind
modules will use (ocr/documents.py), their images decode, and the committed fixtures
stay small and well labelled.

Content checks draw many documents (cheap: no fonts, no pixels); rendering runs once per
kind.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
from faker import Faker
from mrz.checker.td3 import TD3CodeChecker

from ocr.checks import id_checksum_ok
from ocr.documents import (
    car_class_ok,
    email_ok,
    licence_dates_ok,
    licence_id_checks,
    licence_period_ok,
    mobile_ok,
    normalise_phone,
    parse_td3,
    split_numbers,
    table_shape,
    td3_agrees,
    website_ok,
)
from ocr.image import decode_image
from tests.cardgen import DOCUMENT_KINDS, make_card_sample, plan
from tests.cardgen.__main__ import parse_args
from tests.cardgen.businesscard import make_business_card
from tests.cardgen.content import REFERENCE_DATE
from tests.cardgen.drivinglicense import make_licence
from tests.cardgen.fonts import find_fonts, find_ocr_b, fonts_available
from tests.cardgen.passport import make_passport
from tests.cardgen.printed import make_page, make_table

FIXTURES = Path(__file__).parent / "fixtures"
FIELDS = {
    "drivinglicense": {
        "id_num", "name", "sex", "nationality", "address", "birth_date", "issue_date",
        "car_class", "valid_from", "valid_to",
    },
    "passport": {
        "number", "name_cn", "surname", "given_names", "nationality", "sex", "birth",
        "expiry", "issuing_country",
    },
    "businesscard": {"name", "title", "company", "mobile", "phone", "email", "address", "website"},
    "text": {"text"},
    "table": {"cells"},
}  # fmt: skip
MAX_FIXTURE_BYTES = 150 * 1024

needs_fonts = pytest.mark.skipif(not fonts_available(), reason="no CJK font (run `make fonts`)")


def label_problems(kind: str, expected: dict[str, Any]) -> list[str]:
    """What is wrong with one document label, by the checks of ocr/documents.py."""
    problems = [f"unknown field {name}" for name in set(expected) - FIELDS[kind]]
    if kind == "drivinglicense":
        checks = licence_id_checks(expected["id_num"], expected["birth_date"], expected["sex"])
        checks |= licence_dates_ok(
            expected["birth_date"],
            expected["issue_date"],
            expected["valid_from"],
            expected["valid_to"],
        )
        checks["car_class"] = car_class_ok(expected["car_class"])
        problems += [name for name, ok in checks.items() if not ok]
    elif kind == "passport":
        for name in ("birth", "expiry"):
            if len(expected[name]) != 8 or not expected[name].isdigit():
                problems.append(f"{name} not YYYYMMDD")
    elif kind == "businesscard":
        problems += [f"mobile {m}" for m in split_numbers(expected.get("mobile", ""))
                     if not mobile_ok(m)]  # fmt: skip
        problems += [f"phone {p}" for p in split_numbers(expected.get("phone", ""))
                     if normalise_phone(p) != p]  # fmt: skip
        if "email" in expected and not email_ok(expected["email"]):
            problems.append("email")
        if "website" in expected and not website_ok(expected["website"]):
            problems.append("website")
        if not expected.get("name"):
            problems.append("no name")
    elif kind == "text":
        lines = expected["text"].split("\n")
        if not lines or any(not line or line != line.strip() for line in lines):
            problems.append("empty or untrimmed line")
    else:
        if table_shape(expected["cells"]) is None:
            problems.append("ragged table")
        if any(not cell or cell != cell.strip() for row in expected["cells"] for cell in row):
            problems.append("empty or untrimmed cell")
    return problems


@pytest.mark.parametrize("seed", range(30))
def test_generated_driving_licences_pass_every_licence_check(seed: int) -> None:
    licence = make_licence(random.Random(seed), Faker("zh_CN"))
    expected = licence.expected()
    assert label_problems("drivinglicense", expected) == []
    assert id_checksum_ok(expected["id_num"])
    assert licence_period_ok(expected["valid_from"], expected["valid_to"])
    assert licence.valid_from <= REFERENCE_DATE


@pytest.mark.parametrize("seed", range(30))
def test_generated_passports_have_a_valid_mrz_agreeing_with_the_printed_zone(seed: int) -> None:
    passport = make_passport(random.Random(seed), Faker("zh_CN"))
    line1, line2 = passport.mrz
    assert len(line1) == len(line2) == 44
    assert bool(TD3CodeChecker(f"{line1}\n{line2}", check_expiry=False))
    td3 = parse_td3(line1, line2)
    assert td3 is not None and td3.all_checks_ok and td3.corrected == ()
    expected = passport.expected()
    printed = {k: v for k, v in expected.items() if k != "name_cn"}
    agrees = td3_agrees(td3, printed, today=REFERENCE_DATE)
    assert agrees and all(agrees.values()), agrees
    assert label_problems("passport", expected) == []
    assert ("name_cn" in expected) == (passport.issuing_country == "CHN")


def test_passports_are_chinese_and_foreign() -> None:
    fake = Faker("zh_CN")
    countries = {make_passport(random.Random(s), fake).issuing_country for s in range(20)}
    assert "CHN" in countries and len(countries) > 1


@pytest.mark.parametrize("seed", range(30))
def test_generated_business_cards_hold_valid_numbers_and_addresses(seed: int) -> None:
    card = make_business_card(random.Random(seed), Faker("zh_CN"))
    assert label_problems("businesscard", card.expected()) == []


def test_business_cards_vary_their_layouts_and_fields() -> None:
    fake = Faker("zh_CN")
    cards = [make_business_card(random.Random(s), fake) for s in range(40)]
    assert {c.layout for c in cards} == {"left", "logo_left", "centred", "vertical", "bilingual"}
    assert any(";" in c.expected().get("mobile", "") for c in cards)
    assert any("website" not in c.expected() for c in cards)


@needs_fonts
@pytest.mark.parametrize("seed", range(5))
def test_generated_pages_and_tables_are_well_formed(seed: int) -> None:
    fake = Faker("zh_CN")
    page = make_page(random.Random(seed), fake, find_fonts(), 1400)
    assert label_problems("text", page.expected()) == []
    assert len(page.lines) >= 6
    table = make_table(random.Random(seed), fake)
    assert label_problems("table", table.expected()) == []
    assert len(table.cells) >= 4


@needs_fonts
@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
def test_each_document_kind_renders_a_decodable_labelled_photo(kind: str) -> None:
    sample = make_card_sample(15, 0, kind, True, False, find_fonts(), Faker("zh_CN"))
    image = decode_image(sample.encode())
    assert min(image.shape[:2]) >= 500
    assert sample.label["kind"] == kind and sample.label["mode"] == "photo"
    assert label_problems(kind, sample.label["expected"]) == []


def test_passport_mrz_font_is_ocr_b_when_installed() -> None:
    face = find_ocr_b()
    if face is None:
        pytest.skip("fonts-ocr-b not installed (run `make fonts`)")
    assert face.at(20).getname()[0] == "OCR B"


def test_cli_takes_one_document_kind_and_a_mode() -> None:
    args = parse_args(["--kind", "passport", "--count", "3", "--mode", "photo", "--out", "x"])
    assert args.kinds == ["passport"] and args.photo_share == 1.0 and args.seed == 0
    assert all(slot.photo and slot.kind == "passport" for slot in plan(3, 1.0, args.kinds, 0))
    with pytest.raises(SystemExit):
        parse_args(["--kind", "visa", "--count", "3", "--out", "x"])


@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
def test_committed_document_fixtures_are_small_and_well_labelled(kind: str) -> None:
    labels = sorted((FIXTURES / kind).glob("*.json"))
    assert 3 <= len(labels) <= 5
    for label_path in labels:
        image_path = label_path.with_suffix(".jpg")
        assert image_path.stat().st_size < MAX_FIXTURE_BYTES, image_path.name
        decode_image(image_path.read_bytes())
        label = json.loads(label_path.read_text(encoding="utf-8"))
        assert label["kind"] == kind and label["mode"] in ("photo", "scan")
        assert label_problems(kind, label["expected"]) == [], label_path.name


def test_reference_date_keeps_generated_licences_reproducible() -> None:
    # A seed must give the same licence next year: nothing reads today's date.
    first = make_licence(random.Random(7), Faker("zh_CN")).expected()
    again = make_licence(random.Random(7), Faker("zh_CN")).expected()
    assert first == again
    assert dt.date.fromisoformat(first["issue_date"]) <= REFERENCE_DATE
