"""A name's first character that is never a surname, the recogniser's one surname rival
put in its place, and the village named after the family put right with it (issue 12:
real-dev's one missed name and one of its two missed addresses, a rare surname read as a
look-alike in the name, doubted, and in the village named after the family, undoubted).

The rule's cases on boxes laid out as the engine reads them (``tests.card_boxes``), the
rivals given as the recogniser gives them (``TextBox.doubts``); and the generated photo
that rebuilds the failure (``tests/fixtures/surname-village/``, 16 KB: sample 4 of
``python -m tests.cardgen.rare_chars --out build/hunt --count 12 --seed 91 --photo-share
1.0 --surname-villages 1.0 --surnames 裴 --conditions small_photo,faint_labels``, byte for
byte), read by the engine: its name reads 装 with 裴 the rival at 0.88, its village 装家村
with no doubt, as on the real card.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ocr.checks import surnames
from ocr.detect import read_card
from ocr.engine import AUTO, TextBox
from ocr.evaluate import iter_outcomes, load_samples
from ocr.layout import OcrPage
from ocr.local import LocalEngine
from tests.card_boxes import Printed
from tests.test_idcard import EXPECTED_FRONT, front, page_of

REGION = "江苏省南京市玄武区"
SURNAME_VILLAGE = Path(__file__).parent / "fixtures" / "surname-village"


def front_of(name: str, address: tuple[str, str], nationality: str = "汉") -> list[Printed]:
    """The test front with this name, these two address lines and nationality."""
    printed = [p for p in front() if p.text not in ("林娜", "汉", REGION + "建设", "街934号")]
    return [
        *printed,
        Printed(name, 150, 58),
        Printed(nationality, 350, 125),
        Printed(address[0], 150, 255),
        Printed(address[1], 150, 300),
    ]


def with_doubts(page: OcrPage, text: str, doubts: dict[int, str]) -> OcrPage:
    """The page with the box reading ``text`` given these rivals (by character index);
    every character of every box at 0.95, over the unsure mark."""
    boxes = [
        TextBox(
            b.points,
            b.text,
            b.score,
            tuple(doubts.get(i, "") if b.text == text else "" for i in range(len(b.text))),
            (),
            (0.95,) * len(b.text),
        )
        for b in page.boxes
    ]
    return OcrPage(page.image, boxes, page.directions)


def read(
    name: str, address: tuple[str, str], doubts: str, nationality: str = "汉"
) -> tuple[str, str, list[str]]:
    """(name, address, warnings) read from the front whose name's first character has
    the rivals ``doubts``."""
    page = with_doubts(page_of(front_of(name, address, nationality)), name, {0: doubts})
    result = read_card(page, AUTO)
    assert result.kind == "idcard" and result.fields["id"] == EXPECTED_FRONT["id"]
    return result.fields["name"], result.fields["addr"], result.warnings


def test_a_first_character_that_is_no_surname_takes_its_one_surname_rival() -> None:
    # As the generator's rare_chars --surnames 裴 rebuilds it: 裴 read as 装 (no one's
    # surname), 裴 its runner-up; the village named after the family read 装庄 with no doubt.
    assert "装" not in surnames() and "裴" in surnames()
    name, addr, warnings = read("装娜", (REGION + "装庄", "村934号"), "裴")
    assert name == "裴娜"
    assert addr == REGION + "裴庄村934号"
    # A value the engine chose says so.
    assert "low_confidence" in warnings


def test_the_look_alike_elsewhere_in_the_address_is_left_as_read() -> None:
    # 装 that names no village (服装城) stays; only X before 庄, 村, 家... is a family's.
    name, addr, warnings = read("装娜", (REGION + "服装城", "8号"), "裴")
    assert (name, addr) == ("裴娜", REGION + "服装城8号")
    assert "low_confidence" in warnings


@pytest.mark.parametrize(
    ("read_as", "rivals"),
    [
        ("元娜", "亓"),  # 元 is a surname itself: 亓/元 cannot be told apart, as read
        ("装娜", "逄逢"),  # two surnames among the rivals: no guess
        ("装娜", "奘"),  # no surname among them
    ],
)
def test_a_surname_or_an_open_choice_is_left_as_read(read_as: str, rivals: str) -> None:
    name, addr, warnings = read(read_as, (REGION + read_as[0] + "庄", "村934号"), rivals)
    assert name == read_as
    assert addr == REGION + read_as[0] + "庄村934号"
    assert "low_confidence" in warnings  # the rival still says the name is doubted


def test_a_name_of_a_people_without_surnames_is_left_as_read() -> None:
    name, _, warnings = read("装娜", (REGION + "建设", "街934号"), "裴", nationality="藏")
    assert name == "装娜"
    assert "low_confidence" in warnings


def test_an_undoubted_name_is_left_as_read() -> None:
    name, addr, warnings = read("装娜", (REGION + "装庄", "村934号"), "")
    assert (name, addr) == ("装娜", REGION + "装庄村934号")
    assert "low_confidence" not in warnings


@pytest.mark.slow
def test_the_generated_photo_reads_the_surname_and_its_village() -> None:
    # A turned small photo with faint labels: the name comes from the front's rows.
    engine = LocalEngine(threads=1, intra_op_threads=1)
    ((outcome, result),) = iter_outcomes(engine, load_samples(SURNAME_VILLAGE), True)
    assert result is not None and "kind" not in outcome.wrong
    assert result.fields["name"] == outcome.sample.expected["name"]
    assert "裴家村" in result.fields["addr"]
    # The town's rare 畈 (read as 贩, doubted) is still missed: flagged, never silent.
    assert set(outcome.wrong) <= {"addr"}, outcome.wrong
    assert not outcome.silent
    assert "low_confidence" in result.warnings
