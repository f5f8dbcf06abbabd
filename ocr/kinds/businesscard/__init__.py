"""The business card (名片), Chinese or bilingual, in any layout.

Fields (eval labels, ``scan --json``): name, title, company, mobile, phone, email,
address, website, each absent when the card does not print it; several numbers of a
kind are joined with ';', each written as ``ocr.documents.normalise_mobile`` /
``normalise_phone`` write them. Fields are assigned by their content and printed
labels, not by their place (extract.py).

Masking: none. A business card is printed to be handed out: its name, numbers and
addresses are meant to be shared, so every field is ``show``n, and the reply does not
claim to have hidden anything. (Its text is still never stored or logged, as for every
kind.)

The bot reads business cards only locally (issue 15): the kind has no ``wechat_path``,
so the ``wechat`` engine answers EngineUnavailable for one and ``chain`` reads it with
the local engine.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ocr.checks import number_without_unit, region_named_prefix
from ocr.documents import split_numbers
from ocr.engine import CardResult, TextBox
from ocr.errors import NoCardFound
from ocr.kinds.base import ORIGINAL_ONLY_WARNINGS, DocumentKind
from ocr.kinds.businesscard.extract import (
    FIELDS,
    MIN_EVIDENCE,
    MULTI,
    extract,
    landmarks,
    order_agreement,
    other_document,
    second_look,
)
from ocr.kinds.idcard.extract import UNSURE_BELOW, doubted_in
from ocr.layout import CardView, LineReader
from ocr.mask import show

NAME = "businesscard"
# Reply texts of the warnings the reader gives (ocr/kinds/businesscard/extract.py).
WARNING_TEXTS = {
    "mobile_invalid": "手机号码不是有效的号码段，可能识别有误，请核对原件",
    "phone_invalid": "电话号码格式不对，可能识别有误，请核对原件",
    "number_unread": "名片上有一个号码没有认清，未列出，请核对原件",
    "email_corrected": "邮箱中有字符看不清，已按格式推断，请核对原件",
    "email_invalid": "邮箱格式不对，可能识别有误，请核对原件",
    "website_corrected": "网址中有字符看不清，已按格式推断，请核对原件",
    "website_invalid": "网址格式不对，可能识别有误，请核对原件",
    "domain_mismatch": "邮箱与网址的域名不一致，可能有字符识别有误，请核对原件",
    "contact_missing": "未读出手机、电话或邮箱；如名片上印有，请靠近名片、让名片占满画面后重拍",
}
# A card gives a way to reach its holder: a reading with none of these (a far-off card,
# its small contact lines beneath the detector) is incomplete and said to be.
CONTACTS = ("mobile", "phone", "email")


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    if other_document(view):
        raise NoCardFound("the text is another document's, not a business card's")
    extracted = extract(view)
    if extracted.evidence < MIN_EVIDENCE:
        raise NoCardFound("no readable business card")
    if reader is not None:
        second_look(view, extracted, reader)
    values = _doubt_counts(extracted.fields)
    email = extracted.fields.get("email", "")
    # An e-mail already said to be repaired or invalid is not said twice.
    email_said = bool({"email_corrected", "email_invalid"} & set(extracted.warnings))
    if (
        doubted_in(_holding(view, [value for value, _ in values]), values)
        or (email and not email_said and _email_doubted(view, email))
        or number_without_unit(extracted.fields.get("address", ""))
    ):
        extracted.warnings.append("low_confidence")
    if not any(extracted.fields.get(name) for name in CONTACTS):
        extracted.warnings.append("contact_missing")
    return CardResult(NAME, extracted.fields, extracted.checks, extracted.warnings)


# The fields whose characters the recogniser doubted flag the card (``low_confidence``),
# as an ID card's name and address do: a number or an address misread into another valid
# one passes every check (on the KIND150 sets: a mobile with a valid prefix, an address
# with a label's characters glued on; README, "Still missed"). The name too: a title
# printed small beside a letter-spaced name, in the name's box, was read as the name's
# fourth character (冯淑英主 for 冯淑英 主任: 主 at 0.78 with three rivals, the title's 任
# passed over), silently (blind seed 12's photo 64); and the company, whose rare
# characters come out as look-alikes (罳 as 崽, seed 8's photo 142). Replayed on seeds 8
# and 12 (photos 0-75), these two flagged 1 right card more (a rare 蒯 doubted in a name).
DOUBTED_FIELDS = ("name", "company", "mobile", "phone", "address", "website")


# A box's doubts count when it shares this many characters in a row with a value: clutter
# on the desk shares a digit pair with a number by chance ('V22 50' beside a card whose
# mobile holds 22: a right card flagged on businesscard150 seed 7's photo 43).
SHARED_RUN = 4


def _holding(view: CardView, values: list[str]) -> CardView:
    """The view with only the boxes that share SHARED_RUN characters in a row with one of
    ``values`` (spaces and hyphens aside, as numbers are grouped), or hold the whole of a
    shorter one (a name of two or three characters)."""
    compact = [re.sub(r"[\s-]", "", value) for value in values if value]

    def holds(text: str) -> bool:
        text = re.sub(r"[\s-]", "", text)
        runs = {text[i : i + SHARED_RUN] for i in range(len(text) - SHARED_RUN + 1)}
        return any(run in value for run in runs for value in compact) or any(
            len(value) < SHARED_RUN and value in text for value in compact
        )

    return CardView(view.page, view.frame, [p for p in view.placed if holds(p.text)], view.lines)


# The e-mail's doubted characters flag the card too: an 'l' read as 'i' at 0.49, its
# rival 'l', was answered without a word (blind seed 21's photo 096). Not an 'l' whose
# only rival is a capital I (or the reverse): ``read_email`` makes a capital I among small
# letters an l either way. On seeds 7 and 8 (300 photos) that doubt alone flagged two
# right cards (an 'l' at 0.62 and 0.79, rival 'I'); the e-mail's doubts now flag 1 right
# card more (an 'l' at 0.80, rival '1'). A repaired or invalid e-mail is said once, by
# its own warning (three right repaired ones of seed 7 would have said it twice).
_L_OR_I = frozenset("lI")


# An e-mail's dots, hyphens and underscores are characters of its address too, which
# ``doubted_in`` (letters and digits) does not count: a dot read at 0.72, no rival, where
# the print has none (``ndf.ja@`` for ``ndfja@``) parses and was answered without a word
# (blind seed 33's photo 008). One counts when read under UNSURE_BELOW and found in the
# e-mail with its neighbours (a mark ``read_email`` dropped does not).
EMAIL_MARKS = frozenset(".-_")

# An address that starts with a capital E before small letters or digits may hold the
# one-letter label ``E:`` whose colon was lost (blind seed 43's photo 059: 'Esales@boya.cn'
# for 'E:sales@boya.cn', every character at 0.99 or more, the colon not even passed over).
# Cards print addresses in small letters, and a one-letter label is too common a letter
# to cut off (``_label_stands_alone``): the address is kept as read, and doubted.
LABEL_E_RUN_ON = re.compile(r"E[a-z0-9]")


def _email_doubted(view: CardView, email: str) -> bool:
    """Whether the recogniser doubted a character of ``email`` (``doubted_in``), an 'l'
    or 'I' whose only rival is the other apart, or one of its EMAIL_MARKS; or the address
    may begin with its label (LABEL_E_RUN_ON)."""
    if LABEL_E_RUN_ON.match(email):
        return True
    holding = _holding(view, [email])
    return doubted_in(_without_l_or_i_doubts(holding), [(email, 0)]) or any(
        char in EMAIL_MARKS
        and box.certainties[at] < UNSURE_BELOW
        and box.text[max(0, at - 1) : at + 2] in email
        for box in (placed.box for placed in holding.placed)
        if len(box.certainties) == len(box.text)
        for at, char in enumerate(box.text)
    )


def _without_l_or_i_doubts(view: CardView) -> CardView:
    """The view with each 'l' or 'I' whose rivals are only 'l' or 'I' read as sure."""

    def surer(box: TextBox) -> TextBox:
        if len(box.certainties) != len(box.text):
            return box
        doubts = box.doubts if len(box.doubts) == len(box.text) else ("",) * len(box.text)
        certainties = tuple(
            1.0 if char in _L_OR_I and doubt and set(doubt) <= _L_OR_I else certainty
            for char, doubt, certainty in zip(box.text, doubts, box.certainties, strict=True)
        )
        return replace(box, certainties=certainties)

    placed = [replace(p, box=surer(p.box)) for p in view.placed]
    return CardView(view.page, view.frame, placed, view.lines)


def _doubt_counts(fields: dict[str, str]) -> list[tuple[str, int]]:
    """(value, where its doubts start to count) for ``doubted_in``: an address's region
    part that the region table knows vouches for itself, as on the ID card."""
    return [
        (value, len(region_named_prefix(value)) if name == "address" else 0)
        for name in DOUBTED_FIELDS
        for value in [fields.get(name, "")]
    ]


def fill_reply(result: CardResult, masked: dict[str, str]) -> None:
    """Several numbers of a kind shown as a list (13812345678、13912345678), not with the
    ';' that joins them in the field."""
    del result
    for name in MULTI:
        if name in masked:
            masked[name] = "、".join(split_numbers(masked[name]))


def _complete(result: CardResult) -> tuple[str, ...]:
    """A complete reading has a name, each field it found, and a way to reach the holder
    (a mobile when it found none of CONTACTS: seed 8's turned 064, a far-off card read
    from a cut of its name and company only, stopped there and answered no number)."""
    found = tuple(name for name in FIELDS if name != "name" and name in result.fields)
    contact = () if any(name in result.fields for name in CONTACTS) else ("mobile",)
    return ("name", *found, *contact)


def _required(result: CardResult) -> tuple[str, ...]:
    del result
    return ("name",)


KIND = DocumentKind(
    name=NAME,
    title="名片",
    thing="名片",
    moot_warnings=ORIGINAL_ONLY_WARNINGS,
    words=("名片", "businesscard", "名片识别"),
    labels=(
        ("name", "姓名"),
        ("title", "职务"),
        ("company", "公司"),
        ("mobile", "手机"),
        ("phone", "电话"),
        ("email", "邮箱"),
        ("address", "地址"),
        ("website", "网址"),
    ),
    mask_rules=dict.fromkeys(FIELDS, show),
    score=landmarks,
    read=read,
    order_agreement=order_agreement,
    complete_fields=_complete,
    required_fields=_required,
    warning_texts=WARNING_TEXTS,
    reply_fill=fill_reply,
)
