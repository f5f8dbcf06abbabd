"""The passport's data page (ICAO 9303 TD3), Chinese or foreign.

Fields (eval labels, ``scan --json``): number, name_cn (when printed), surname,
given_names, nationality, sex (M/F), birth and expiry (YYYYMMDD), issuing_country
(the MRZ's codes: CHN, D for Germany). Read from the machine-readable zone, checked by
every check digit, and compared with the printed zone (extract.py). WeChat's OCR has
no passport route: the ``wechat`` engine answers EngineUnavailable, so ``chain`` reads
a passport locally.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ocr.engine import CardResult
from ocr.errors import NoCardFound
from ocr.kinds.base import DocumentKind
from ocr.kinds.passport.extract import extract_passport, landmarks, order_agreement
from ocr.layout import CardView, LineReader
from ocr.mask import mask_birth, mask_name, mask_passport_number, show

NAME = "passport"

REQUIRED = ("number", "surname", "nationality", "sex", "birth", "expiry", "issuing_country")
# Some people have no given names (the MRZ then has none after '<<'); a Chinese name is
# printed on Chinese passports only.
COMPLETE = (*REQUIRED, "given_names")
# Fewer fields than this from the printed zone alone (no MRZ) and there is no passport.
MIN_PRINTED = 3


def read(view: CardView, reader: LineReader | None = None) -> CardResult:
    extracted = extract_passport(view, reader)
    if extracted.td3 is None and len(extracted.fields) < MIN_PRINTED:
        raise NoCardFound("no readable passport")
    return CardResult(NAME, extracted.fields, extracted.checks, extracted.warnings)


def field_warnings(fields: dict[str, str], today: dt.date, warnings: Sequence[str]) -> list[str]:
    del warnings
    expiry = fields.get("expiry", "")
    if len(expiry) == 8 and expiry.isdigit() and expiry < f"{today:%Y%m%d}":
        return ["expired"]
    return []


def fill_reply(result: CardResult, masked: dict[str, str]) -> None:
    """The sex in Chinese and the expiry as the ID card's validity is shown (2030.10.05)."""
    del result
    if sex := masked.get("sex", ""):
        masked["sex"] = {"M": "男", "F": "女"}.get(sex, sex)
    end = masked.get("expiry", "")
    if len(end) == 8 and end.isdigit():
        masked["expiry"] = f"{end[:4]}.{end[4:6]}.{end[6:]}"


def expired_line(masked: Mapping[str, str]) -> str:
    end = masked.get("expiry", "")
    return f"证件已过期（有效期至 {end}）" if end else "证件已过期"


def _complete(result: CardResult) -> tuple[str, ...]:
    del result
    return COMPLETE


def _required(result: CardResult) -> tuple[str, ...]:
    del result
    return REQUIRED


KIND = DocumentKind(
    name=NAME,
    title="护照",
    thing="证件",
    words=("护照", "passport", "护照识别"),
    labels=(
        ("name_cn", "姓名"),
        ("surname", "姓"),
        ("given_names", "名"),
        ("sex", "性别"),
        ("nationality", "国籍"),
        ("birth", "出生"),
        ("number", "护照号码"),
        ("issuing_country", "签发国"),
        ("expiry", "有效期至"),
    ),
    mask_rules={
        "number": mask_passport_number,
        "name_cn": mask_name,
        "surname": mask_name,
        "given_names": mask_name,
        "birth": mask_birth,
        "sex": show,
        "nationality": show,
        "issuing_country": show,
        "expiry": show,
    },
    score=landmarks,
    read=read,
    complete_fields=_complete,
    required_fields=_required,
    warnings=field_warnings,
    order_agreement=order_agreement,
    expired_line=expired_line,
    reply_fill=fill_reply,
    warning_texts={
        "issuing_country_unknown": "签发国代码不在国际民航组织的代码表中，可能识别有误，请核对原件",
        "mrz_names_unsure": "机读码的姓名一栏未能可靠识别，请核对原件",
        "name_separator_unsure": "姓名中的空格与连字符在机读码中同写作“<”，请核对原件",
    },
)
