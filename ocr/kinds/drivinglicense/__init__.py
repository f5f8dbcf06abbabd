"""The PRC motor vehicle driving licence (中华人民共和国机动车驾驶证), its main page.

Fields in WeChat's cv/ocr/drivinglicense names: id_num, name, sex, nationality, address,
birth_date, issue_date, car_class, valid_from, valid_to (dates ``YYYY-MM-DD``; valid_to
may be 长期). Extraction and its corrections are in extract.py; this module says what
the rest of the bot needs to know about the licence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ocr.checks import id_checks
from ocr.documents import car_class_ok, licence_period_ok
from ocr.engine import CardResult
from ocr.errors import NoCardFound
from ocr.kinds.base import DocumentKind
from ocr.kinds.drivinglicense.extract import (
    FIELDS,
    extract,
    field_warnings,
    landmarks,
    order_agreement,
)
from ocr.layout import CardView, LineReader
from ocr.mask import mask_address, mask_birth, mask_id_number, mask_name, show

NAME = "drivinglicense"
# Fewer landmarks than this and there is no readable licence.
MIN_EVIDENCE = 3


def score(view: CardView) -> int:
    """The licence's own landmarks (title, 证号, 国籍, 初次领证日期, 准驾车型, English
    labels) counted twice: an ID card front shows up to six landmarks of its own on a
    licence (姓名, 性别, 出生, 住址 and a valid ID number), and must not win there."""
    own = landmarks(view)
    return 2 * own if own >= 2 else own


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    # An ID card front holds a name, an address and a valid number too: without one
    # landmark of its own, the photo is no licence even when a licence was asked for.
    if landmarks(view) < 1:
        raise NoCardFound("no driving licence landmarks in the text")
    extracted = extract(view, reader)
    fields = extracted.fields
    if extracted.evidence < MIN_EVIDENCE or not (fields.get("id_num") or fields.get("name")):
        raise NoCardFound("no readable driving licence")
    return CardResult(NAME, extracted.fields, extracted.checks, extracted.warnings)


def all_fields(result: CardResult) -> tuple[str, ...]:
    del result
    return FIELDS


def from_wechat(body: Mapping[str, Any]) -> CardResult:
    fields = {
        name: str(body[name]).strip()
        for name in FIELDS
        if isinstance(body.get(name), str | int) and str(body[name]).strip()
    }
    if len(fields) < 2:
        raise NoCardFound("WeChat found no readable driving licence fields")
    result = CardResult(kind=NAME, fields=fields, engine="wechat")
    birth = fields.get("birth_date", "").replace("-", "")
    if "id_num" in fields:
        result.checks.update(id_checks(fields["id_num"], birth, fields.get("sex", "")))
    if "car_class" in fields:
        result.checks["car_class"] = car_class_ok(fields["car_class"])
    if "valid_from" in fields and "valid_to" in fields:
        result.checks["valid_period"] = licence_period_ok(fields["valid_from"], fields["valid_to"])
    result.warnings += [f"{name}_failed" for name, ok in result.checks.items() if not ok]
    return result


def expired_line(masked: Mapping[str, str]) -> str:
    end = masked.get("valid_to", "")
    return f"驾驶证已过期（有效期至 {end}）" if end else "驾驶证已过期"


KIND = DocumentKind(
    name=NAME,
    title="驾驶证",
    thing="驾驶证",
    words=("驾驶证", "驾照", "drivinglicense"),
    # Reading order, with the label printed on the licence.
    labels=(
        ("name", "姓名"),
        ("sex", "性别"),
        ("nationality", "国籍"),
        ("address", "住址"),
        ("birth_date", "出生日期"),
        ("id_num", "证号"),
        ("issue_date", "初次领证日期"),
        ("car_class", "准驾车型"),
        ("valid_from", "有效期起始"),
        ("valid_to", "有效期至"),
    ),
    mask_rules={
        "id_num": mask_id_number,
        "name": mask_name,
        "address": mask_address,
        # As on the ID card: the full date is part of the number, so only its year shows.
        "birth_date": mask_birth,
        "sex": show,
        "nationality": show,
        "issue_date": show,
        "car_class": show,
        "valid_from": show,
        "valid_to": show,
    },
    score=score,
    read=read,
    complete_fields=all_fields,
    required_fields=all_fields,
    warnings=field_warnings,
    order_agreement=order_agreement,
    expired_line=expired_line,
    wechat_path="/cv/ocr/drivinglicense",
    wechat_fields=all_fields,
    from_wechat=from_wechat,
    wechat_answers=FIELDS,
    warning_texts={"invalid_period": "有效期限不是 6 年、10 年或长期，可能识别有误，请核对原件"},
)
