"""The issuing office of an ID card's back checked against the region table (issue 12:
no wrong value that looks right), on the real engine and generated cards."""

from __future__ import annotations

import datetime as dt
import io
import random

import numpy as np
import pytest

from bot.chat import replies
from ocr.engine import AUTO, CardResult
from ocr.local import LocalEngine
from tests.cardgen import CARD_RENDER_WIDTH
from tests.cardgen.content import IdBack
from tests.cardgen.fonts import find_fonts, fonts_available
from tests.cardgen.render import render_id_back

needs_fonts = pytest.mark.skipif(not fonts_available(), reason="CJK fonts not installed")


def back_photo(authority: str, seed: int) -> bytes:
    card = IdBack(authority, dt.date(2010, 6, 28), dt.date(2020, 6, 28))
    image = render_id_back(
        card, find_fonts(), random.Random(seed), np.random.default_rng(seed), CARD_RENDER_WIDTH
    )
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.slow
@needs_fonts
def test_an_office_of_no_real_division_is_read_as_printed_and_flagged() -> None:
    # On real90 '嘉禾县公安局' came back as '嘉术县公安局', no warning: a county no table
    # knows, one character from several real ones. Printed so, it reads so, and the
    # answer says the office may be misread; the real office reads with no such warning.
    engine = LocalEngine(threads=1, intra_op_threads=1)
    for office, known in (("嘉术县公安局", False), ("嘉禾县公安局", True)):
        result = engine.recognize(back_photo(office, 3), AUTO)
        assert result.fields["authority"] == office
        assert ("authority_unverified" not in result.warnings) is known, office


def test_the_reply_names_the_office_as_the_thing_to_check() -> None:
    fields = {"type": "Back", "authority": "嘉术县公安局", "valid_date": "20100628-20200628"}
    result = CardResult(kind="idcard", fields=fields, warnings=["authority_unverified"])
    assert "签发机关与已知的公安机关名称不符" in replies.card_result(result)
    assert "签发机关与" not in replies.card_result(CardResult(kind="idcard", fields=fields))
