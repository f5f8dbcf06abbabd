"""Warnings decided from a result's fields alone, the same for every engine.

``expired`` and ``invalid_period`` (each kind's module says when), and
``field_missing:<name>`` for each field of the card's kind and side that came back
empty. Image-based warnings (photocopy, screen, blur...) are the engines' business.
Today comes from the caller so that tests can pin it; it defaults to the local date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from ocr.engine import CardResult
from ocr.kinds import get_kind

MISSING_PREFIX = "field_missing:"


def missing_fields(result: CardResult, answered: Collection[str] | None = None) -> list[str]:
    """Required fields of the result's kind and side that are empty, in card order.

    ``answered``: the fields the engine can return at all (WeChat's API has no
    issuing authority); a field it never answers is not missing.
    """
    required = get_kind(result.kind).required_fields(result)
    return [
        name
        for name in required
        if (answered is None or name in answered) and not result.fields.get(name, "").strip()
    ]


def add_field_warnings(
    result: CardResult,
    today: dt.date | None = None,
    answered: Collection[str] | None = None,
) -> CardResult:
    """``result`` with its field-decided warnings appended (each code once)."""
    day = today or dt.date.today()
    found = get_kind(result.kind).warnings(result.fields, day, result.warnings)
    found += [MISSING_PREFIX + name for name in missing_fields(result, answered)]
    result.warnings += [code for code in found if code not in result.warnings]
    return result
