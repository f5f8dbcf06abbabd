"""The generator's rare-character ID fronts (tests/cardgen/rare_chars.py, issue 12 point 5)."""

from __future__ import annotations

import pytest

from tests.cardgen import content, iter_samples
from tests.cardgen.fonts import fonts_available
from tests.cardgen.rare_chars import RARE_PLACE_CHARS, RARE_SURNAMES, rare_characters

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
