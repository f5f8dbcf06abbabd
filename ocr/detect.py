"""From the text boxes of a photo to a card: which way up it is, which kind, which fields.

Kind detection uses the text alone. Each kind has printed landmarks (the ID front's
labels and 18-character number, the back's titles and validity period, a bank card's
bank name, network logo and digit groups); the kind with the most landmarks wins,
and a photo with too few of any raises NoCardFound instead of inventing fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import cast

import cv2

from ocr.checks import id_checksum_ok, luhn_ok
from ocr.engine import CardResult, Kind, TextBox
from ocr.errors import NoCardFound
from ocr.idcard import (
    BACK_LABELS,
    BACK_TITLES,
    FRONT_LABELS,
    Extracted,
    digit_reading,
    extract_back,
    extract_front,
    find_anchor,
    id_runs,
    normalise,
)
from ocr.image import BGRImage
from ocr.layout import CardView, LineReader, OcrPage, PlacedBox, crop_variants

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
# Fewer landmarks than this and the photo is not taken for a card of that kind.
MIN_EVIDENCE = 2

FRONT_ORDER = tuple(FRONT_LABELS.values())
BACK_ORDER = (*BACK_TITLES, *BACK_LABELS.values())


def read_card(page: OcrPage, kind: Kind, reader: LineReader | None = None) -> CardResult:
    """The card on the page, of the asked kind (or the detected one for AUTO)."""
    if not page.boxes:
        raise NoCardFound("no text on the photo")
    view = upright_view(page)
    scores = kind_scores(view)
    if kind is Kind.AUTO:
        best = max(scores, key=lambda k: scores[k])
        if scores[best] < MIN_EVIDENCE:
            raise NoCardFound("no card landmarks in the text")
        chosen = "bankcard" if best == "bank" else "idcard"
    else:
        chosen = kind.value
    if chosen == "bankcard":
        return read_bankcard(view, reader)
    side = "back" if scores["back"] > scores["front"] else "front"
    extracted = (extract_back if side == "back" else extract_front)(view, reader)
    if extracted.evidence < MIN_EVIDENCE or not has_values(extracted):
        raise NoCardFound("no readable ID card")
    return CardResult("idcard", extracted.fields, extracted.checks, extracted.warnings)


def has_values(extracted: Extracted) -> bool:
    fields = extracted.fields
    if fields.get("type") == "Back":
        return bool(fields.get("valid_date") or fields.get("authority"))
    return bool(fields.get("id") or fields.get("name"))


def upright_view(page: OcrPage) -> CardView:
    """The view whose printed labels come in the card's order; the classifier's vote breaks ties."""
    views = [CardView.of(page, frame) for frame in page.frames()]
    return max(views, key=lambda v: (order_agreement(v), -views.index(v)))


def order_agreement(view: CardView) -> int:
    """Pairs of landmarks seen top-to-bottom as printed, minus pairs seen reversed."""
    total = 0
    for order in (FRONT_ORDER, BACK_ORDER):
        found = [a.label.cv for label in order if (a := find_anchor(view, label)) is not None]
        for i, upper in enumerate(found):
            for lower in found[i + 1 :]:
                total += 1 if upper < lower else -1
    return total


def kind_scores(view: CardView) -> dict[str, int]:
    texts = [normalise(b.text) for b in view.placed]
    front = sum(find_anchor(view, label) is not None for label in FRONT_ORDER)
    front += 2 * any(id_checksum_ok(run[-18:]) for t in texts for run in id_runs(t))
    back = sum(find_anchor(view, label) is not None for label in BACK_LABELS.values())
    back += sum(any(title in t for t in texts) for title in BACK_TITLES)
    back += any(len(re.findall(r"\d", t)) >= 12 and ("-" in t or "长期" in t) for t in texts)
    upper = [t.upper() for t in texts]
    bank = sum(any(word in t for t in upper) for word in BANK_WORDS)
    groups = [t for t in texts if DIGIT_GROUP.match(digit_reading(t))]
    bank += min(2, len(groups) // 2)
    bank += 2 * any(luhn_ok(d) and 15 <= len(d) <= 19 for d in _line_digits(view))
    return {"front": front, "back": back, "bank": bank}


def _line_digits(view: CardView) -> list[str]:
    return [re.sub(r"\D", "", line.text) for line in view.lines]


def upright_boxes(view: CardView) -> list[TextBox]:
    """The boxes in card coordinates, as if the photo had been turned upright."""
    to_card = view.frame.to_card
    return [
        TextBox(tuple(to_card(x, y) for x, y in b.points), b.text, b.score) for b in view.page.boxes
    ]


def bank_extractor() -> Callable[..., CardResult] | None:
    try:
        from ocr.bankcard import extract_bankcard
    except ImportError:  # the bank card reader is optional in a partial install
        return None
    return extract_bankcard


Readings = list[list[tuple[str, float]]]


def read_bankcard(view: CardView, reader: LineReader | None = None) -> CardResult:
    extract = bank_extractor()
    if extract is None:
        raise NoCardFound("bank cards cannot be read by this installation")
    boxes = upright_boxes(view)
    if reader is None:
        return extract(boxes)
    return extract(boxes, second_look(view, boxes, reader))


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
