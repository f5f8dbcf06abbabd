"""The generator's rare-character ID fronts (tests/cardgen/rare_chars.py, issue 12 point 5)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cardgen import content, iter_samples
from tests.cardgen.fonts import fonts_available
from tests.cardgen.rare_chars import RARE_PLACE_CHARS, RARE_SURNAMES, main, rare_characters

VILLAGE = re.compile(r"[镇乡](.)[庄营寨湾家楼]村")

pytestmark = pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")


def test_every_rare_character_card_has_a_rare_surname_and_most_a_rare_place() -> None:
    with rare_characters():
        labels = [s.label["expected"] for s in iter_samples(6, 4242, 0.0, ["idcard_front"])]
    assert all(label["name"][0] in RARE_SURNAMES for label in labels)
    with_place = [label for label in labels if set(label["addr"]) & set(RARE_PLACE_CHARS)]
    assert len(with_place) >= 4


def test_the_generator_draws_its_usual_names_again_afterwards() -> None:
    usual = (content._chinese_name, content._address, content.TOWN_WORDS)
    with rare_characters():
        assert content._chinese_name is not usual[0]
    assert (content._chinese_name, content._address, content.TOWN_WORDS) == usual


def test_rare_character_cards_take_the_conditions_of_real_photos(tmp_path: Path) -> None:
    # Rare characters on small cards, as on real photos: the look-alikes' certainties
    # were measured on such a set (tests/test_idcard_unsure.py).
    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--count",
                "2",
                "--seed",
                "5",
                "--photo-share",
                "1.0",
                "--conditions",
                "small_photo",
            ]
        )
        == 0
    )
    labels = sorted(tmp_path.glob("*.json"))
    assert len(labels) == 2
    assert all("_small_photo" in path.stem for path in labels)
    names = [json.loads(path.read_text(encoding="utf-8"))["expected"]["name"] for path in labels]
    assert all(name[0] in RARE_SURNAMES for name in names)


def test_surname_villages_name_a_rural_village_after_the_holder() -> None:
    # real-dev's card printed the holder's rare surname in the name and in the village
    # (X庄村) read as the same look-alike in both (tests/test_surname_rivals.py).
    with rare_characters(surname_villages=1.0):
        labels = [s.label["expected"] for s in iter_samples(12, 4545, 0.0, ["idcard_front"])]
    villages = [(VILLAGE.search(label["addr"]), label["name"]) for label in labels]
    rural = [(village.group(1), name) for village, name in villages if village]
    assert rural
    assert all(first == name[0] for first, name in rural)
    # Without the option the villages keep the generator's own draws.
    with rare_characters():
        usual = [s.label["expected"] for s in iter_samples(12, 4545, 0.0, ["idcard_front"])]
    assert [label["name"] for label in usual] == [label["name"] for label in labels]
    villages = [(VILLAGE.search(label["addr"]), label["name"]) for label in usual]
    assert any(village.group(1) != name[0] for village, name in villages if village)
