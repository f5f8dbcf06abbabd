"""The resident ID card (居民身份证): both sides, read next to their printed labels.

Front: type "Front", name, gender, nationality, birth (YYYYMMDD), addr, id.
Back: type "Back", authority, valid_date ("YYYYMMDD-YYYYMMDD" or "YYYYMMDD-长期").
Extraction and its corrections are in extract.py; this module says what the rest of the
bot needs to know about the card.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ocr.checks import id_checksum_ok
from ocr.engine import CardResult
from ocr.errors import NoCardFound
from ocr.kinds.base import DocumentKind, Extracted
from ocr.kinds.idcard.extract import (
    AUTHORITY_UNVERIFIED,
    BACK_LABELS,
    BACK_TITLES,
    FRONT_LABELS,
    back_layout_found,
    extract_back,
    extract_front,
    field_warnings,
    find_anchor,
    front_layout_found,
    id_runs,
    normalise,
)
from ocr.layout import CardView, LineReader
from ocr.mask import mask_address, mask_birth, mask_id_number, mask_name, show

NAME = "idcard"

# Field names follow WeChat's cv/ocr/idcard answer; birth is ours (WeChat derives none).
FRONT_FIELDS = ("type", "name", "gender", "nationality", "birth", "addr", "id")
BACK_FIELDS = ("type", "authority", "valid_date")
# What WeChat's answer can hold: it has no issuing authority.
WECHAT_ANSWERS = ("type", "name", "id", "addr", "gender", "nationality", "valid_date")

FRONT_ORDER = tuple(FRONT_LABELS.values())
BACK_ORDER = (*BACK_TITLES, *BACK_LABELS.values())
# Fewer landmarks than this on the chosen side and there is no readable card.
MIN_EVIDENCE = 2

SIDE_TITLES = {"Front": "身份证人像面", "Back": "身份证国徽面"}


def side_scores(view: CardView) -> tuple[int, int]:
    """Landmarks of the front and of the back found in the text."""
    texts = [normalise(b.text) for b in view.placed]
    front = sum(find_anchor(view, label) is not None for label in FRONT_ORDER)
    front += 2 * any(id_checksum_ok(run[-18:]) for t in texts for run in id_runs(t))
    # The number's birth date in a row above it: as telling as the labels it stands for
    # when a far-off card's faint labels are all lost (a receipt beside it then scored
    # as a table: real90's sample 3).
    front += 2 * front_layout_found(view)
    back = sum(find_anchor(view, label) is not None for label in BACK_LABELS.values())
    back += sum(any(title in t for t in texts) for title in BACK_TITLES)
    back += any(len(re.findall(r"\d", t)) >= 12 and ("-" in t or "长期" in t) for t in texts)
    # The title standing alone over one of the back's rows: with the rows' labels and
    # values half hidden (a thumb) the only other landmark may be the title.
    back += back_layout_found(view)
    return front, back


def score(view: CardView) -> int:
    return max(side_scores(view))


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    front, back = side_scores(view)
    side = "back" if back > front else "front"
    extracted = (extract_back if side == "back" else extract_front)(view, reader)
    firm = extracted.evidence >= MIN_EVIDENCE and has_values(extracted)
    # The back's own layout (its title over its rows) with every value hidden: a thumb
    # across the rows (seed 4242's thumbed backs, no card found before) is answered as a
    # back with its fields missing, and the image warnings say why.
    if not firm and not (side == "back" and back_layout_found(view)):
        raise NoCardFound("no readable ID card")
    fields = extracted.fields
    if not firm and not extracted.checks["valid_date"]:
        # The part of a period the thumb left ('10729203-10729') is not shown;
        # valid_date_failed and field_missing say it.
        fields = {**fields, "valid_date": ""}
    return CardResult(NAME, fields, extracted.checks, extracted.warnings)


def has_values(extracted: Extracted) -> bool:
    fields = extracted.fields
    if fields.get("type") == "Back":
        return bool(fields.get("valid_date") or fields.get("authority"))
    return bool(fields.get("id") or fields.get("name"))


def order_agreement(view: CardView) -> int:
    """Pairs of landmarks seen top-to-bottom as printed, minus pairs seen reversed."""
    total = 0
    for order in (FRONT_ORDER, BACK_ORDER):
        found = [a.label.cv for label in order if (a := find_anchor(view, label)) is not None]
        for i, upper in enumerate(found):
            for lower in found[i + 1 :]:
                total += 1 if upper < lower else -1
    return total


def complete_fields(result: CardResult) -> tuple[str, ...]:
    return BACK_FIELDS if result.side == "Back" else FRONT_FIELDS


def required_fields(result: CardResult) -> tuple[str, ...]:
    """Printed on every card of the side; the front's birth date is derived from the number."""
    if result.side == "Front":
        return tuple(n for n in FRONT_FIELDS if n not in ("type", "birth"))
    if result.side == "Back":
        return tuple(n for n in BACK_FIELDS if n != "type")
    return ()


def wechat_fields(result: CardResult) -> tuple[str, ...]:
    if result.side == "Back":
        return BACK_FIELDS
    return tuple(n for n in FRONT_FIELDS if n != "birth")  # not part of WeChat's answer


def from_wechat(body: Mapping[str, Any]) -> CardResult:
    fields = {
        name: str(body[name]).strip()
        for name in WECHAT_ANSWERS
        if isinstance(body.get(name), str | int) and str(body[name]).strip()
    }
    if "type" not in fields or len(fields) < 2:
        raise NoCardFound("WeChat found no readable ID card fields")
    result = CardResult(kind=NAME, fields=fields, engine="wechat")
    if "id" in fields:
        passed = id_checksum_ok(fields["id"])
        result.checks["id_checksum"] = passed
        if not passed:
            result.warnings.append("id_checksum_failed")
    return result


def expired_line(masked: Mapping[str, str]) -> str:
    end = masked.get("valid_date", "").rpartition("-")[2]
    return f"证件已过期（有效期至 {end}）" if end else "证件已过期"


KIND = DocumentKind(
    name=NAME,
    title="身份证",
    thing="证件",
    words=("身份证", "idcard", "id", "sfz", "身份证识别"),
    # Reading order, with the label printed on the card.
    labels=(
        ("name", "姓名"),
        ("gender", "性别"),
        ("nationality", "民族"),
        ("birth", "出生"),
        ("addr", "住址"),
        ("id", "公民身份号码"),
        ("authority", "签发机关"),
        ("valid_date", "有效期限"),
    ),
    mask_rules={
        "name": mask_name,
        "id": mask_id_number,
        "addr": mask_address,
        "birth": mask_birth,
        "type": show,
        "gender": show,
        "nationality": show,
        "authority": show,
        "valid_date": show,
    },
    score=score,
    read=read,
    complete_fields=complete_fields,
    required_fields=required_fields,
    warnings=field_warnings,
    order_agreement=order_agreement,
    verified=front_layout_found,
    reply_title=lambda result: SIDE_TITLES.get(result.side, "身份证"),
    expired_line=expired_line,
    warning_texts={
        AUTHORITY_UNVERIFIED: "签发机关与已知的公安机关名称不符，可能识别有误，请核对原件",
    },
    wechat_path="/cv/ocr/idcard",
    wechat_fields=wechat_fields,
    from_wechat=from_wechat,
    wechat_answers=WECHAT_ANSWERS,
)
