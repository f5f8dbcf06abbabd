"""The nationality of a far-off front matched against the closed list (issue 12: real90's
far-off cards with 8 px text answered ``field_missing:nationality``).

The value after 民族 is one of 58 names (``NATIONALITIES``). When nothing read on the
gender row is one of them, what the recogniser offered there is matched against the
list: a name ending the row after its misread label ('民技汉', the gender lost), the one
name among a look-alike's rivals (回 read as 网, its rivals 国目同回), or the same in
re-reads of the row's boxes that two crops agree on. Every such answer is a mapping
from a doubtful reading and says so (``nationality_corrected``), never silent.

The rule's cases on boxes laid out as the engine reads them (``tests.card_boxes``, the
rivals as ``TextBox.doubts``); and generated photos rebuilding the failure
(``tests/fixtures/far-nationality/``: samples 3, 15 and 75 of ``python -m tests.cardgen
--out build/real90 --count 90 --seed 20261129 --photo-share 1.0 --conditions
small_photo,far_card,faint_labels,old_code`` and sample 15 of the same with ``--seed 47``,
byte for byte; see its README), read once by the real engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr.detect import read_card
from ocr.engine import AUTO, CardResult
from ocr.evaluate import SampleOutcome, iter_outcomes, load_samples
from ocr.local import LocalEngine
from tests.card_boxes import Printed
from tests.test_idcard import EXPECTED_FRONT, front, page_of
from tests.test_surname_rivals import with_doubts

FAR_NATIONALITY = Path(__file__).parent / "fixtures" / "far-nationality"


def front_reading(nationality: str, gender: str = "男", label: str = "民族") -> list[Printed]:
    """The test front with its nationality, gender and 民族 label read as given ('' for
    a piece not detected at all)."""
    printed = [p for p in front() if p.text not in ("男", "民族", "汉")]
    pieces = [Printed(gender, 150, 125), Printed(label, 260, 125), Printed(nationality, 350, 125)]
    return printed + [p for p in pieces if p.text]


def read(printed: list[Printed], doubts: dict[str, str]) -> CardResult:
    """The front read with the boxes reading each key of ``doubts`` given its rivals (one
    character)."""
    page = page_of(printed)
    for text, rivals in doubts.items():
        page = with_doubts(page, text, {0: rivals})
    result = read_card(page, AUTO)
    assert result.kind == "idcard" and result.fields["id"] == EXPECTED_FRONT["id"]
    return result


@pytest.mark.parametrize(
    ("read_as", "rivals", "expected"),
    [
        ("网", "国目同回", "回"),  # the one nationality among four rivals
        ("区", "汉", "汉"),  # the label 民族 lost too: the value's box alone
        ("例", "", ""),  # no rival: nothing to match, missing as before
        ("网", "回水", ""),  # two nationalities among the rivals: no guess
    ],
)
def test_a_look_alike_takes_its_one_nationality_rival(
    read_as: str, rivals: str, expected: str
) -> None:
    result = read(front_reading(read_as, label=""), {read_as: rivals})
    assert result.fields["nationality"] == expected
    if expected:
        # A value the engine chose among the rivals says so.
        assert "nationality_corrected" in result.warnings


def test_the_gender_rows_misread_label_before_the_value_is_left_out() -> None:
    # The gender lost, 民族 read as 民技 glued to the value: the value ends the row.
    result = read(front_reading("民技汉", gender="", label=""), {})
    assert result.fields["nationality"] == "汉"
    assert "nationality_corrected" in result.warnings


def test_a_nationality_read_as_printed_carries_no_warning() -> None:
    result = read(front(), {"汉": "汊"})
    assert result.fields["nationality"] == "汉"
    assert "nationality_corrected" not in result.warnings


@pytest.fixture(scope="module")
def far_outcomes() -> list[tuple[SampleOutcome, CardResult | None]]:
    """Each fixture photo read once by the real engine, the kind not given."""
    engine = LocalEngine(threads=1, intra_op_threads=1)
    return list(iter_outcomes(engine, load_samples(FAR_NATIONALITY), True))


@pytest.mark.slow
def test_far_off_fronts_read_their_nationality_flagged(
    far_outcomes: list[tuple[SampleOutcome, CardResult | None]],
) -> None:
    # Far-off cards (8 px text, faint labels) whose nationality was missing: 回 read as
    # 网 (rival), 汉 as 区 (rival), 汉 after a misread 民族 with the gender lost, and a
    # gender row not detected at all (its place by the layout re-read). Each now read
    # right, and flagged.
    assert len(far_outcomes) == 4
    for outcome, result in far_outcomes:
        assert result is not None and "kind" not in outcome.wrong
        assert result.fields["nationality"] == outcome.sample.expected["nationality"]
        assert "nationality_corrected" in result.warnings
        assert not outcome.silent
