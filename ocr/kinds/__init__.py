"""The registry of document kinds: every place that handles "a kind" iterates ``KINDS``.

One module per kind (ocr/kinds/idcard, ocr/kinds/bankcard) declares a ``DocumentKind``
(ocr/kinds/base.py); adding a kind is adding its module to ``KINDS``. The order is
stable: help texts, ``--kind`` choices and auto detection's tie-breaking follow it.
"""

from __future__ import annotations

from typing import Any

from ocr.engine import AUTO, CardResult, Kind
from ocr.kinds import bankcard, businesscard, drivinglicense, idcard, passport, table, text
from ocr.kinds.base import DocumentKind
from ocr.mask import hide, mask_fields

KINDS: tuple[DocumentKind, ...] = (
    idcard.KIND,
    bankcard.KIND,
    drivinglicense.KIND,
    passport.KIND,
    businesscard.KIND,
    text.KIND,
    table.KIND,
)
_BY_NAME = {kind.name: kind for kind in KINDS}


def kind_names() -> tuple[str, ...]:
    """The registered kinds' names, in registry order."""
    return tuple(_BY_NAME)


def get_kind(name: str) -> DocumentKind:
    """The kind of that name; ValueError naming the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown document kind {name!r}; known: {', '.join(_BY_NAME)}") from None


def check_kind(name: str) -> Kind:
    """``name`` when it is a registered kind or ``auto``; ValueError otherwise."""
    if name != AUTO:
        get_kind(name)
    return name


def mask_result(result: CardResult) -> dict[str, str]:
    """Masked copies of every field of a result, by its kind's rules."""
    return mask_fields(result.fields, get_kind(result.kind).mask_rules)


def mask_field(name: str, value: str) -> str:
    """Mask one field by its name alone, by the first kind with a rule for it; else hidden."""
    for kind in KINDS:
        if name in kind.mask_rules:
            return kind.mask_rules[name](value)
    return hide(value)


def wechat_json(result: CardResult) -> dict[str, Any]:
    """The body WeChat's cv/ocr API would answer for ``result`` (used by the sandbox)."""
    kind = get_kind(result.kind)
    if kind.wechat_body is not None:
        return kind.wechat_body(result)
    names = kind.wechat_fields(result) if kind.wechat_fields is not None else ()
    body: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
    body.update({name: result.fields[name] for name in names if name in result.fields})
    return body


__all__ = [
    "KINDS",
    "DocumentKind",
    "check_kind",
    "get_kind",
    "kind_names",
    "mask_field",
    "mask_result",
    "wechat_json",
]
