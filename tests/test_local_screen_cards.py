"""Cards shown on a screen that the engine answered "no card" (issue 16's screen photos,
issue 12's small card in a large photo)."""

from __future__ import annotations

import itertools

import numpy as np

from ocr.checks import id_checksum_ok, luhn_check_digit, luhn_ok
from ocr.detect import kind_scores, read_card, upright_view
from ocr.engine import AUTO
from ocr.layout import OcrPage
from tests.card_boxes import Printed, card_boxes

BLANK = np.zeros((8, 8, 3), np.uint8)
# A Postal Savings Bank debit BIN whose cards are 19 digits long (ocr/kinds/bankcard/data).
BIN_19 = "621799"


def number_passing_both_checks() -> str:
    """A 19-digit card number (Luhn-valid, BIN_19) whose last 18 digits also pass the ID
    checksum, as one number in 11 does."""
    for middle in itertools.count(1_000_000_000):
        partial = f"{BIN_19}{middle:012d}"
        number = partial + luhn_check_digit(partial)
        if id_checksum_ok(number[-18:]):
            return number
    raise AssertionError("unreachable")


def test_a_bank_number_that_also_scores_as_an_id_number_is_read_as_the_bank_card() -> None:
    # Seed 20261129's screen photo 134: the bank card's only readable line was its number,
    # read right, and the photo was answered "no card": the ID card won the tie of
    # landmarks and found no ID number in 19 digits.
    number = number_passing_both_checks()
    assert luhn_ok(number)
    page = OcrPage(BLANK, card_boxes([Printed(f"{number[:6]} {number[6:]}", 40, 300)]))
    scores = kind_scores(upright_view(page))
    assert scores["idcard"] == scores["bankcard"] >= 2
    result = read_card(page, AUTO)
    assert result.kind == "bankcard"
    assert result.fields["number"] == number
    assert result.checks["luhn"]
