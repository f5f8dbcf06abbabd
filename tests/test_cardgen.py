"""The synthetic card generator and the committed fixture set it produced.

Fixture checks need no fonts; generation tests are skipped when no CJK font is installed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from faker import Faker
from PIL import Image

from ocr.checks import id_checksum_ok, luhn_ok, region_known
from ocr.evaluate import load_samples
from ocr.image import decode_image
from tests.cardgen import CARD_KINDS, Sample, bank_conditions, generate, plan, scene, write_samples
from tests.cardgen.__main__ import main
from tests.cardgen.content import BINS, make_bank_card, make_person, pinyin_holder
from tests.cardgen.fonts import find_fonts, fonts_available
from tests.cardgen.regions import OLD_CODE_REGIONS, REGIONS
from tests.cardgen.render import Canvas, address_lines

FIXTURES = Path(__file__).parent / "fixtures" / "cards"
REAL_CONDITIONS = Path(__file__).parent / "fixtures" / "real-conditions"
FRONT_FIELDS = {"type", "name", "gender", "nationality", "birth", "addr", "id"}
BACK_FIELDS = {"type", "authority", "valid_date"}
REGION_BY_CODE = {region.code: region for region in (*REGIONS, *OLD_CODE_REGIONS)}
BANK_BY_BIN = {entry[0]: entry[1] for entry in BINS}

needs_fonts = pytest.mark.skipif(
    not fonts_available(),
    reason="no CJK font installed (run `make fonts`); committed fixtures are still checked",
)


def parse_day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()


def label_problems(label: dict[str, Any]) -> list[str]:
    """Everything wrong with one label file, per the eval contract and the card rules."""
    problems: list[str] = []
    if label.get("kind") not in ("idcard", "bankcard"):
        problems.append("kind")
    if label.get("mode") not in ("photo", "scan"):
        problems.append("mode")
    expected = label.get("expected")
    if not isinstance(expected, dict) or not all(
        isinstance(v, str) and v == v.strip() and v for v in expected.values()
    ):
        return [*problems, "expected must map fields to trimmed non-empty strings"]
    if "error" in expected:
        return problems if expected == {"error": "no_card"} else [*problems, "error label"]
    if label["kind"] == "bankcard":
        return problems + bank_problems(expected)
    if expected.get("type") == "Front":
        return problems + front_problems(expected)
    return problems + back_problems(expected)


def front_problems(fields: dict[str, str]) -> list[str]:
    if set(fields) != FRONT_FIELDS:
        return [f"front fields {sorted(fields)}"]
    number = fields["id"]
    problems = []
    if not id_checksum_ok(number):
        problems.append("id checksum")
    if number[6:14] != fields["birth"]:
        problems.append("birth differs from id")
    if fields["gender"] != ("男" if int(number[16]) % 2 else "女"):
        problems.append("gender differs from id")
    region = REGION_BY_CODE.get(number[:6])
    if region is None or not fields["addr"].startswith(region.prefix):
        problems.append("address is not in the id's region")
    if " " in fields["addr"] or not 12 <= len(fields["addr"]) <= 40:
        problems.append("address shape")
    if not 2 <= len(fields["name"]) <= 9:
        problems.append("name length")
    parse_day(fields["birth"])
    return problems


def back_problems(fields: dict[str, str]) -> list[str]:
    if set(fields) != BACK_FIELDS or fields["type"] != "Back":
        return [f"back fields {sorted(fields)}"]
    start_text, _, end_text = fields["valid_date"].partition("-")
    start = parse_day(start_text)
    if end_text == "长期":
        return [] if fields["authority"].endswith(("局", "分局")) else ["authority"]
    years = parse_day(end_text).year - start.year
    problems = [] if years in (5, 10, 20) else [f"validity of {years} years"]
    if not fields["authority"].endswith("局"):
        problems.append("authority")
    return problems


def bank_problems(fields: dict[str, str]) -> list[str]:
    if not {"number", "bank"} <= set(fields) <= {"number", "bank", "valid_thru"}:
        return [f"bank fields {sorted(fields)}"]
    number = fields["number"]
    problems = []
    if not (number.isdigit() and 16 <= len(number) <= 19 and luhn_ok(number)):
        problems.append("number")
    if BANK_BY_BIN.get(number[:6]) != fields["bank"]:
        problems.append("bank differs from BIN")
    valid_thru = fields.get("valid_thru")
    if valid_thru is not None and not (
        len(valid_thru) == 5 and valid_thru[2] == "/" and 1 <= int(valid_thru[:2]) <= 12
    ):
        problems.append("valid_thru")
    return problems


def fixture_labels() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(FIXTURES.glob("*.json"))
    ]


def test_every_fixture_has_a_valid_label_and_a_decodable_image() -> None:
    labels = fixture_labels()
    assert len(labels) >= 40
    for path, label in labels:
        assert label_problems(label) == [], path.name
        images = [p for p in (path.with_suffix(".jpg"), path.with_suffix(".png")) if p.is_file()]
        assert len(images) == 1, path.name
        image = decode_image(images[0].read_bytes())
        assert image.ndim == 3
        assert image.shape[1] >= 900, path.name


def test_the_eval_loader_accepts_the_fixture_set() -> None:
    samples = load_samples(FIXTURES)
    assert len(samples) == len(fixture_labels())


def test_fixture_set_covers_every_kind_mode_and_orientation() -> None:
    labels = [label for _, label in fixture_labels()]
    names = [path.stem for path, _ in fixture_labels()]
    types = [label["expected"].get("type", label["kind"]) for label in labels]
    assert {"Front", "Back", "bankcard"} <= set(types)
    assert {"photo", "scan"} == {label["mode"] for label in labels}
    assert sum(label["mode"] == "photo" for label in labels) > len(labels) * 0.7
    assert sum(label["expected"] == {"error": "no_card"} for label in labels) == 4
    assert 3 <= sum("_turned" in name for name in names) <= 5
    assert any(label["expected"].get("id", "").endswith("X") for label in labels)
    assert sum(1 for path, _ in fixture_labels() if path.with_suffix(".jpg").is_file()) < len(
        labels
    )


def test_fixture_set_stays_small() -> None:
    total = sum(path.stat().st_size for path in FIXTURES.iterdir())
    assert total < 5_000_000


def test_label_checks_catch_broken_labels() -> None:
    """The consistency checks above must be able to fail, or the fixture test proves nothing."""
    front = next(lbl for _, lbl in fixture_labels() if lbl["expected"].get("type") == "Front")
    fields = front["expected"]
    wrong_check = "1" if fields["id"].endswith("0") else "0"
    broken_id = dict(front, expected=dict(fields, id=fields["id"][:-1] + wrong_check))
    flipped = "女" if fields["gender"] == "男" else "男"
    wrong_gender = dict(front, expected=dict(fields, gender=flipped))
    elsewhere = dict(front, expected=dict(fields, addr="西藏自治区拉萨市城关区北京中路1号"))
    assert "id checksum" in label_problems(broken_id)
    assert "gender differs from id" in label_problems(wrong_gender)
    if not fields["id"].startswith("540102"):
        assert "address is not in the id's region" in label_problems(elsewhere)
    assert "number" in bank_problems({"number": "6222021234567890123", "bank": "中国工商银行"})


def test_plan_spreads_modes_turns_and_kinds_like_the_eval_set() -> None:
    slots = plan(150, 0.8, CARD_KINDS, 0)
    assert sum(not s.photo for s in slots) == 30
    assert {s.kind for s in slots} == set(CARD_KINDS)
    turned = [s for s in slots if s.quarter_turn]
    assert all(s.photo for s in turned)
    assert 6 <= len(turned) <= 15
    # Regression: a single shared photo count once turned only ID backs.
    assert {s.kind for s in turned} == set(CARD_KINDS)


def test_plan_puts_the_unreadable_samples_last() -> None:
    slots = plan(10, 1.0, ["bankcard"], 3)
    assert [s.readable for s in slots] == [True] * 7 + [False] * 3
    assert {s.kind for s in slots[7:]} == {"blank", "clutter", "blurred"}
    assert all(s.photo for s in slots)
    with pytest.raises(ValueError, match="unreadable"):
        plan(2, 0.8, CARD_KINDS, 3)


@pytest.mark.parametrize("angle", [0.0, 14.0, -15.0, 90.0, 183.0, 268.0])
def test_a_placed_card_never_leaves_the_frame(angle: float) -> None:
    """Regression: close-ups tilted 15 degrees once cut off the ID number of a labelled card."""
    card = Image.new("RGB", (856, 540), "white")
    for seed in range(5):
        rng = np.random.default_rng(seed)
        for frame in ((1000, 750), (1000, 1333), (1400, 788)):
            placed = scene.place_card(rng, card, frame, 0.97, angle, 0.06, margin=0.01)
            alpha = placed.alpha[..., 0]
            border = np.concatenate([alpha[0], alpha[-1], alpha[:, 0], alpha[:, -1]])
            assert border.max() == 0.0, (seed, frame)
            assert alpha.sum() > 0.2 * alpha.size * (0.5 if frame[1] > frame[0] else 1.0)


@needs_fonts
def test_same_seed_gives_the_same_images_and_labels() -> None:
    first = generate(4, seed=11, photo_share=0.5)
    again = generate(4, seed=11, photo_share=0.5)
    assert [s.name for s in first] == [s.name for s in again]
    assert [s.label for s in first] == [s.label for s in again]
    assert [s.encode() for s in first] == [s.encode() for s in again]
    other = generate(4, seed=12, photo_share=0.5)
    assert [s.label for s in other] != [s.label for s in first]


@needs_fonts
def test_a_sample_does_not_change_when_the_count_does() -> None:
    short = generate(2, seed=5)
    longer = generate(3, seed=5)
    assert [s.label for s in short] == [s.label for s in longer[:2]]


def test_generated_people_and_bank_cards_are_self_consistent() -> None:
    """Card content needs no fonts, so many draws are cheap and cover the rare branches."""
    rng = random.Random(1)
    fake = Faker("zh_CN")
    fronts, backs, banks = [], [], []
    for _ in range(300):
        person = make_person(rng, fake)
        fronts.append(person.front.expected())
        backs.append(person.back.expected())
        banks.append(make_bank_card(rng, pinyin_holder(rng)).expected())
    for fields in fronts:
        assert front_problems(fields) == [], fields
    for fields in backs:
        assert back_problems(fields) == [], fields
    for fields in banks:
        assert bank_problems(fields) == [], fields
    assert any(f["id"].endswith("X") for f in fronts)
    assert {f["gender"] for f in fronts} == {"男", "女"}
    assert len({f["nationality"] for f in fronts}) >= 5
    assert any(len(f["name"]) == 4 for f in fronts) and any(len(f["name"]) == 2 for f in fronts)
    assert any(b["valid_date"].endswith("长期") for b in backs)
    assert {len(b["number"]) for b in banks} >= {16, 18, 19}
    assert any("valid_thru" not in b for b in banks)
    assert len({f["id"][:2] for f in fronts}) >= 25  # provinces spread across the country


@needs_fonts
def test_generated_samples_have_valid_labels() -> None:
    samples = generate(8, seed=7, photo_share=0.75, unreadable=2)
    for sample in samples:
        assert label_problems(sample.label) == [], sample.name
    cards = [s for s in samples if "error" not in s.label["expected"]]
    assert {s.label["expected"].get("type", s.label["kind"]) for s in cards} == {
        "Front",
        "Back",
        "bankcard",
    }
    assert sum(s.label["expected"] == {"error": "no_card"} for s in samples) == 2
    assert sum(s.label["mode"] == "scan" for s in samples) == int(6 * 0.25)


@needs_fonts
def test_kinds_option_limits_the_card_kinds() -> None:
    samples: list[Sample] = generate(3, seed=2, kinds=["bankcard"])
    assert {s.label["kind"] for s in samples} == {"bankcard"}
    with pytest.raises(ValueError, match="kinds"):
        generate(1, seed=2, kinds=["visa"])  # passport became a kind (issue 15)


@needs_fonts
def test_cli_writes_image_and_label_pairs(tmp_path: Path) -> None:
    out = tmp_path / "set"
    assert main(["--out", str(out), "--count", "4", "--seed", "3", "--unreadable", "1"]) == 0
    labels = sorted(out.glob("*.json"))
    assert len(labels) == 4
    assert len(load_samples(out)) == 4
    assert json.loads(labels[-1].read_text(encoding="utf-8"))["expected"] == {"error": "no_card"}


def test_cli_rejects_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--count", "2", "--seed", "1", "--kinds", "visa"])
    assert exit_info.value.code == 2
    assert "--kinds" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@needs_fonts
def test_written_samples_read_back_as_written(tmp_path: Path) -> None:
    samples = generate(len(CARD_KINDS), seed=4)
    written = write_samples(samples, tmp_path)
    for sample, image_path in zip(samples, written, strict=True):
        assert image_path.read_bytes() == sample.encode()
        label_path = image_path.with_suffix(".json")
        assert json.loads(label_path.read_text(encoding="utf-8")) == sample.label


@needs_fonts
def test_a_long_address_is_set_smaller_not_cut() -> None:
    canvas = Canvas(856, Image.new("RGB", (856, 540), "white"))
    face = find_fonts().cjk[0]
    address = "新疆维吾尔自治区乌鲁木齐市沙依巴克区光明北路758号1幢6单元504室"
    lines = address_lines(canvas, address, face, 3.5)
    assert "".join(text for text, _ in lines) == address
    assert len(lines) <= 3
    assert lines[0][1].size < canvas.font(face, 3.5).size
    short = address_lines(canvas, "北京市朝阳区建国路", face, 3.5)
    assert [text for text, _ in short] == ["北京市朝阳区建国路"]
    assert short[0][1].size == canvas.font(face, 3.5).size


CONDITION_FIXTURES = Path(__file__).parent / "fixtures" / "bank-conditions"


def test_bank_condition_fixtures_have_valid_labels_and_stay_small() -> None:
    labels = sorted(CONDITION_FIXTURES.glob("*.json"))
    assert {path.stem.split("_bank_")[1] for path in labels} == set(bank_conditions.CONDITIONS)
    for path in labels:
        label = json.loads(path.read_text(encoding="utf-8"))
        assert label_problems(label) == [], path.name
        assert path.with_suffix(".jpg").is_file(), path.name
    # Two photos of each of nine conditions, each under 150 KB (1.07 MB with busy_group).
    assert all(path.stat().st_size < 150_000 for path in CONDITION_FIXTURES.glob("*.jpg"))
    assert sum(path.stat().st_size for path in CONDITION_FIXTURES.iterdir()) < 1_100_000


@needs_fonts
def test_a_dated_note_beside_a_card_without_a_date_is_drawn_only_when_asked() -> None:
    # Asked by name only: each seed's default bank-condition sets stay as they were.
    fonts = find_fonts()
    for condition in ("dated_note", "dated_note_under"):
        assert condition not in bank_conditions.CONDITIONS
        sample = bank_conditions.make_condition_sample(5, 0, condition, fonts)
        assert label_problems(sample.label) == []
        assert "valid_thru" not in sample.label["expected"]  # the note's date is not the card's
    # The same card, its note laid elsewhere.
    beside = bank_conditions.make_condition_sample(5, 0, "dated_note", fonts)
    assert sample.label == beside.label
    assert sample.encode() != beside.encode()


@needs_fonts
def test_bank_conditions_are_drawn_only_when_asked_and_labelled_month_first() -> None:
    fonts = find_fonts()
    first = bank_conditions.make_condition_sample(3, 0, "year_first", fonts)
    again = bank_conditions.make_condition_sample(3, 0, "year_first", fonts)
    assert first.encode() == again.encode()
    assert label_problems(first.label) == []
    # Printed "2031/12", labelled the way WeChat answers: MM/YY.
    assert len(first.label["expected"]["valid_thru"]) == 5
    turned = bank_conditions.make_condition_sample(3, 0, "upside_down_line", fonts)
    assert turned.label == first.label  # the same card, drawn another way
    assert turned.encode() != first.encode()


def test_old_code_people_carry_an_abolished_code_the_engine_knows() -> None:
    rng = random.Random(3)
    fake = Faker("zh_CN")
    old = {region.code for region in OLD_CODE_REGIONS}
    current = {region.code for region in REGIONS}
    for _ in range(40):
        fields = make_person(rng, fake, old_code=True).front.expected()
        assert front_problems(fields) == [], fields
        assert fields["id"][:6] in old and fields["id"][:6] not in current
        # The shipped table holds every GB/T 2260 code since 1980 (scripts/gen_regions.py).
        assert region_known(fields["id"]), fields["id"][:6]


def test_real_condition_fixtures_have_valid_labels_and_small_cards() -> None:
    labels = sorted(REAL_CONDITIONS.glob("*.json"))
    assert len(labels) >= 6
    for path in labels:
        label = json.loads(path.read_text(encoding="utf-8"))
        assert label_problems(label) == [], path.name
        image = decode_image(path.with_suffix(".jpg").read_bytes())
        if "_small_photo" in path.stem:
            assert max(image.shape[:2]) < 600, path.name
        else:
            assert "_far_card" in path.stem and image.shape[1] >= 1000, path.name
    names = " ".join(path.stem for path in labels)
    for mark in ("_small_photo", "_far_card", "_faint_labels", "_old_code"):
        assert mark in names
    total = sum(path.stat().st_size for path in REAL_CONDITIONS.iterdir())
    assert total < 300_000


@needs_fonts
def test_conditions_make_small_cards_faint_labels_and_old_codes() -> None:
    samples = generate(
        2, seed=9, kinds=["idcard_front"], photo_share=1.0, conditions=scene.SCENE_CONDITIONS
    )
    small, far = samples
    assert small.name.endswith("_small_photo") and far.name.endswith("_far_card")
    assert max(small.image.size) < 600
    assert far.image.size[0] >= 1000
    marked = generate(1, seed=9, kinds=["idcard_front"], conditions=["faint_labels", "old_code"])
    assert marked[0].name.endswith("_faint_labels_old_code")
    assert marked[0].label["expected"]["id"][:6] in {r.code for r in OLD_CODE_REGIONS}
    with pytest.raises(ValueError, match="conditions"):
        generate(1, seed=9, conditions=["rain"])


@needs_fonts
def test_the_upside_down_line_condition_turns_one_band_of_the_front_only() -> None:
    # The address's last line turned half round in place: the same card, the same label,
    # pixels changed only in one band of the card (rows of one text line).
    (plain,) = generate(1, seed=9, kinds=["idcard_front"], photo_share=0.0)
    (turned,) = generate(
        1, seed=9, kinds=["idcard_front"], photo_share=0.0, conditions=["upside_down_line"]
    )
    assert turned.name.endswith("_upside_down_line")
    assert turned.label == plain.label
    a = np.asarray(plain.image.convert("L"), dtype=np.int16)
    b = np.asarray(turned.image.convert("L"), dtype=np.int16)
    rows = np.flatnonzero(np.abs(a - b).max(axis=1) > 40)
    assert len(rows) > 0
    assert rows[-1] - rows[0] < a.shape[0] * 0.12


@needs_fonts
def test_scene_conditions_change_the_photo_not_the_card() -> None:
    plain = generate(2, seed=5, kinds=["idcard_front"], photo_share=1.0)
    shot = generate(2, seed=5, kinds=["idcard_front"], photo_share=1.0, conditions=["far_card"])
    assert [s.label for s in plain] == [s.label for s in shot]
    assert [s.image.size for s in plain] != [s.image.size for s in shot]


@needs_fonts
def test_image_conditions_builder_labels_each_condition_with_its_warning(tmp_path: Path) -> None:
    from tests.cardgen import image_conditions

    out = tmp_path / "quality"
    assert (
        image_conditions.main(
            ["--out", str(out), "--seed", "5", "--per-condition", "1", "--clean", "1"]
        )
        == 0
    )
    labels = {
        path.stem.split("_", 2)[2]: json.loads(path.read_text(encoding="utf-8"))
        for path in out.glob("*.json")
    }
    assert labels.pop("clean")["warnings"] == []
    assert {name: label["warnings"] for name, label in labels.items()} == {
        condition: [code] for condition, code in image_conditions.CONDITIONS.items()
    }


def test_a_generated_screen_shot_shows_the_screens_frame_page_and_lifted_black() -> None:
    # Issue 16: the screen condition drew the card's pixel grid only, so a soft photo of
    # it had nothing else to be told by; a re-shot screen also shows the phone's or
    # monitor's bezel (not always: framed close, none shows), the app's page around the
    # card, and an emissive black that is never black.
    from tests.cardgen.image_conditions import screen_shot

    card = Image.new("RGB", (428, 270), (235, 235, 235))
    card.paste((0, 0, 0), (100, 100, 330, 170))  # a black stroke, well inside the card
    framed = unframed = 0
    for seed in range(24):
        shot = np.asarray(screen_shot(card, random.Random(seed), 600.0), np.float32)
        assert abs(shot.shape[1] - 600) <= 1  # the bezel rounded to whole pixels
        rim = shot[0, :, :]
        if float(rim.std()) < 1.0 and float(rim.mean()) < 50:
            framed += 1
        else:
            unframed += 1
        # The card's black (and a viewer's black page) as the screen emits it: lifted
        # above true black, over a few screen pixels whatever their subpixel stripes.
        assert float(cv2.blur(shot.mean(axis=2), (9, 9)).min()) > 3.0
    assert framed and unframed
