"""Wrong answers that looked right (issue 12): the silent errors a blind set of the
real-photo conditions showed (real90d, seed 59), each rebuilt on its generated photo
(`tests/fixtures/silent-errors/`) and on boxes laid out as the engine reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr.detect import read_card
from ocr.engine import AUTO
from ocr.evaluate import compare, load_samples, silent_errors
from ocr.local import LocalEngine
from tests.card_boxes import Printed
from tests.test_idcard import EXPECTED_FRONT, front, page_of

SILENT_ERRORS = Path(__file__).parent / "fixtures" / "silent-errors"


def sample_named(start: str):  # type: ignore[no-untyped-def]
    (sample,) = [s for s in load_samples(SILENT_ERRORS) if s.name.startswith(start)]
    return sample


@pytest.fixture(scope="module")
def engine() -> LocalEngine:
    return LocalEngine(threads=1, intra_op_threads=1)


# ----------------------------------------------------------------- Latin letters in an address


def test_an_address_read_with_latin_letters_in_it_is_flagged() -> None:
    # real90d's photo 72: the address's last '8组' read as 'sm'. An address holds CJK,
    # digits and a few marks: a run of Latin letters in it is a misread.
    printed = [p for p in front() if p.text != "街934号"] + [Printed("街934sm", 150, 300)]
    result = read_card(page_of(printed), AUTO)
    assert result.fields["addr"] == "江苏省南京市玄武区建设街934sm"
    assert "low_confidence" in result.warnings


def test_a_lone_latin_letter_naming_a_block_is_no_warning() -> None:
    printed = [p for p in front() if p.text != "街934号"] + [Printed("街934号A座", 150, 300)]
    result = read_card(page_of(printed), AUTO)
    assert result.fields["addr"] == EXPECTED_FRONT["addr"] + "A座"
    assert result.warnings == []


@pytest.mark.slow
def test_real90d_72_an_address_ending_read_as_latin_letters_is_not_silent(
    engine: LocalEngine,
) -> None:
    sample = sample_named("real90d_072")
    result = engine.recognize(sample.image.read_bytes(), AUTO)
    wrong = compare(sample, result, None)
    assert result.kind == "idcard"
    assert silent_errors(wrong, result) == frozenset(), wrong
