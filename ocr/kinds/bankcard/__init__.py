"""The bank card (银行卡): number (Luhn + BIN checked), bank, card type, valid thru.

Extraction is in extract.py (the number assembled from pieces, corrected by Luhn and
the BIN table); this module says how the card is recognised and what the rest of the
bot needs to know about it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

import cv2

from ocr.checks import luhn_ok
from ocr.engine import CardResult, TextBox
from ocr.errors import NoCardFound
from ocr.image import BGRImage
from ocr.kinds.bankcard.extract import (
    extract_bankcard,
    field_warnings,
    lookup_bin,
    refusal,
    with_doubted_digits,
)

# The ID card's text normalisation and look-alike table read digit groups here too, so
# that both kinds score the same text the same way.
from ocr.kinds.base import DocumentKind
from ocr.kinds.idcard.extract import digit_reading, normalise
from ocr.layout import CardView, LineReader, PlacedBox, crop_variants
from ocr.mask import mask_card_number, show

NAME = "bankcard"

# Field names follow WeChat's cv/ocr/bankcard answer (number only); the others are ours.
FIELDS = ("number", "bank", "card_type", "valid_thru")

BANK_WORDS = (
    "银行",
    "银联",
    "UNIONPAY",
    "VISA",
    "MASTERCARD",
    "借记",
    "信用卡",
    "储蓄",
    "DEBIT",
    "CREDIT",
    "VALID",
    "THRU",
    "BANK",
    "金穗",
    "龙卡",
    "牡丹",
    "长城",
    "一卡通",
)
DIGIT_GROUP = re.compile(r"^\d{4,6}$")


def score(view: CardView) -> int:
    """Bank names and network logos, digit groups, and a number that passes Luhn."""
    texts = [normalise(b.text) for b in view.placed]
    upper = [t.upper() for t in texts]
    bank = sum(any(word in t for t in upper) for word in BANK_WORDS)
    groups = [t for t in texts if DIGIT_GROUP.match(digit_reading(t))]
    bank += min(2, len(groups) // 2)
    bank += 2 * any(luhn_ok(d) and 15 <= len(d) <= 19 for d in _line_digits(view))
    return bank


def _line_digits(view: CardView) -> list[str]:
    # A sign the recogniser nearly read as a digit counts as that digit (see
    # extract.with_doubted_digits): a mark over one digit does not hide the card.
    return [
        re.sub(r"\D", "", "".join(with_doubted_digits(b.text, b.box.doubts) for b in line.boxes))
        for line in view.lines
    ]


def upright_boxes(view: CardView) -> list[TextBox]:
    """The boxes in card coordinates, as if the photo had been turned upright."""
    to_card = view.frame.to_card
    # Each keeps what the recogniser doubted (its doubts and certainties).
    return [replace(b, points=tuple(to_card(x, y) for x, y in b.points)) for b in view.page.boxes]


Readings = list[list[tuple[str, float]]]


def read_bankcard(view: CardView, reader: LineReader | None = None) -> CardResult:
    boxes = upright_boxes(view)
    if reader is None:
        return extract_bankcard(boxes)
    return extract_bankcard(boxes, second_look(view, boxes, reader))


def second_look(
    view: CardView, boxes: Sequence[TextBox], reader: LineReader
) -> Callable[[Sequence[TextBox]], Readings]:
    """For the bank card reader: re-read some of ``boxes`` (``upright_boxes(view)``)."""
    placed_of = {id(upright): placed for upright, placed in zip(boxes, view.placed, strict=True)}

    def placed_in(box: TextBox) -> PlacedBox:
        """One of ``boxes`` as placed in the view, or a region the reader drew itself
        (the whole number band): upright coordinates are the view's card coordinates."""
        if id(box) in placed_of:
            return placed_of[id(box)]
        us = [u for u, _ in box.points]
        vs = [v for _, v in box.points]
        return PlacedBox(
            box, min(us), max(us), (min(vs) + max(vs)) / 2, max(max(vs) - min(vs), 1.0)
        )

    def reread(asked: Sequence[TextBox]) -> Readings:
        """Readings of enlarged, re-contrasted crops, one list per asked box.

        Each crop is also read turned half round: embossed digits fool the angle
        classifier, and a bank card has no printed labels whose order would tell which
        way up it is, so the number line may have been read upside down ('5h29 80hh').
        """
        crops = [turned_too(crop_variants(view.cut(placed_in(box)))) for box in asked]
        answers = reader([crop for variants in crops for crop in variants])
        grouped: Readings = []
        for variants in crops:
            grouped.append(answers[: len(variants)])
            answers = answers[len(variants) :]
        return grouped

    return reread


def turned_too(variants: list[BGRImage]) -> list[BGRImage]:
    """The variants, then the first two of them turned 180 degrees."""
    return variants + [cast(BGRImage, cv2.rotate(v, cv2.ROTATE_180)) for v in variants[:2]]


def from_wechat(body: Mapping[str, Any]) -> CardResult:
    # The documentation names the field "number" but its example answers "id".
    raw = body.get("number") or body.get("id") or ""
    number = re.sub(r"\D", "", str(raw))
    if not number:
        raise NoCardFound("WeChat found no card number")
    info = lookup_bin(number)
    if refusal(number, info) is not None:
        # The same rule as the local reader's: digits that cannot be a card number are
        # no answer, whoever read them.
        raise NoCardFound("WeChat's digits cannot be a card number")
    passed = luhn_ok(number)
    fields = {"number": number}
    # WeChat answers the number only: the bank comes from the same BIN table as the
    # local reader's, so the reply names it the same way whichever engine read the card.
    if info is not None and info.bank:
        fields |= {"bank": info.bank, "card_type": info.card_type}
    warnings = [] if passed else ["luhn_failed"]
    if info is None or not info.bank:
        warnings.append("unknown_bin")
    if info is not None and len(number) not in info.lengths:
        warnings.append("length_unusual")
    return CardResult(
        kind=NAME,
        fields=fields,
        checks={"luhn": passed, "bin": bool(info and info.bank)},
        warnings=warnings,
        engine="wechat",
    )


def expired_line(masked: Mapping[str, str]) -> str:
    until = masked.get("valid_thru", "")
    return f"卡片已过期（有效期至 {until}）" if until else "卡片已过期"


def fill_bank(result: CardResult, masked: dict[str, str]) -> None:
    # One line for the bank: from the BIN, else as printed, else 未知; the BIN table not
    # knowing a bank that the card names is no unknown bank.
    if result.fields.get("number") and not masked.get("bank"):
        masked["bank"] = "未知"


def _number_only(result: CardResult) -> tuple[str, ...]:
    # A bank card's bank, type and valid-thru are not on every card.
    del result
    return FIELDS[:1]


KIND = DocumentKind(
    name=NAME,
    title="银行卡",
    thing="卡片",
    words=("银行卡", "bankcard", "bank", "yhk", "银行卡识别"),
    labels=(
        ("bank", "发卡行"),
        ("card_type", "卡种"),
        ("number", "卡号"),
        ("valid_thru", "有效期"),
    ),
    mask_rules={
        "number": mask_card_number,
        "bank": show,
        "card_type": show,
        "valid_thru": show,
    },
    score=score,
    read=read_bankcard,
    complete_fields=_number_only,
    required_fields=_number_only,
    warnings=field_warnings,
    expired_line=expired_line,
    reply_fill=fill_bank,
    warning_texts={
        "valid_thru_unsure": "有效期的数字看不清，可能识别有误，请核对原件",
        "valid_thru_unreadable": "卡上的有效期未能识别，请核对原件或重拍",
    },
    wechat_path="/cv/ocr/bankcard",
    wechat_fields=_number_only,
    from_wechat=from_wechat,
    wechat_answers=("number",),
)
