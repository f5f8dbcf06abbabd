"""What a document kind declares: the one interface everything outside ocr/kinds/ uses.

A kind is a frozen value, not a class to subclass: its module fills in a
``DocumentKind`` and ocr/kinds/__init__.py lists it. Chat commands, replies, masking,
auto detection, the sandbox's cv/ocr routes, the WeChat engine, ``wxocr scan --kind``,
eval labels and usage kinds all iterate the registry, so none of them names a kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ocr.engine import CardResult
from ocr.layout import CardView, LineReader
from ocr.mask import Masker

# Fields of one result: which of them a reading of this side holds, WeChat answers, etc.
FieldsOf = Callable[[CardResult], tuple[str, ...]]


@dataclass
class Extracted:
    """What a kind's extraction found on one view: fields, checks, warnings, and how much
    of the kind's printed structure was found (picks the frame and, for auto, the kind).
    Kinds that keep more for their second looks extend it."""

    fields: dict[str, str]
    checks: dict[str, bool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    evidence: int = 0


# Image warnings that matter only where the original itself counts (an identity
# document): not for printed matter meant to be read or shared (a page, a table, a
# business card). See ``DocumentKind.moot_warnings``.
ORIGINAL_ONLY_WARNINGS = frozenset({"photocopy", "screen"})


def no_order(view: CardView) -> int:
    """For kinds without printed labels whose order tells which way up a photo is."""
    del view
    return 0


def no_warnings(fields: dict[str, str], today: dt.date, warnings: Sequence[str]) -> list[str]:
    del fields, today, warnings
    return []


@dataclass(frozen=True)
class DocumentKind:
    """Everything about one kind of document. Field names are WeChat's where it has them."""

    # The stable name: eval labels, usage rows, ``CardResult.kind``, ``scan --kind``.
    name: str
    # What a chat reply calls it (身份证), and what the retake hint asks to lay flat (证件).
    title: str
    thing: str
    # Chat command words choosing this kind, as they are matched (NFKC, case-folded, no spaces).
    words: tuple[str, ...]
    # Reply lines: (field, label) in reading order; a field without a line is not shown.
    labels: tuple[tuple[str, str], ...]
    # The masking rule (a function of ocr/mask.py) of each field; a field without one is hidden.
    mask_rules: Mapping[str, Masker]
    # Auto detection: how many of this kind's printed landmarks the text shows (the
    # highest score wins; below MIN_EVIDENCE the photo is no document of any kind).
    score: Callable[[CardView], int]
    # Extraction and checks of a photo turned upright; raises NoCardFound.
    read: Callable[[CardView, LineReader | None], CardResult]
    # Fields a complete reading holds (the local engine keeps the most complete frame).
    complete_fields: FieldsOf
    # Fields every such document prints: ``field_missing:<name>`` when one came back empty.
    required_fields: FieldsOf
    # Warnings the fields alone decide (``expired``...), given today and the engine's warnings.
    warnings: Callable[[dict[str, str], dt.date, Sequence[str]], list[str]] = no_warnings
    # Pairs of landmarks seen top-to-bottom as printed minus pairs seen reversed: which
    # way up the photo is.
    order_agreement: Callable[[CardView], int] = no_order
    # The reply's title for one result (e.g. the ID card's side); ``title`` when None.
    reply_title: Callable[[CardResult], str] | None = None
    # The reply's line for ``expired``, from the masked fields.
    expired_line: Callable[[Mapping[str, str]], str] | None = None
    # Fills in reply lines the masked fields lack (e.g. 发卡行：未知).
    reply_fill: Callable[[CardResult, dict[str, str]], None] | None = None
    # WeChat's cv/ocr API for this kind (path under the API base), None where WeChat has none.
    wechat_path: str | None = None
    # The fields of WeChat's JSON answer for one result (what the sandbox serves).
    wechat_fields: FieldsOf | None = None
    # WeChat's JSON answer -> a result (raises NoCardFound); and the fields it can hold,
    # so that one it never answers is not called missing.
    from_wechat: Callable[[Mapping[str, Any]], CardResult] | None = None
    wechat_answers: tuple[str, ...] = ()
    # Reply texts of warnings that say something else for this kind (a licence's
    # ``invalid_period`` is about 6 or 10 years, an ID card's about 5, 10 or 20).
    warning_texts: Mapping[str, str] = field(default_factory=dict)
    # Image warnings (``ocr/quality.py``) that say nothing of this kind, neither given nor
    # counted in the quality score: a printed page or a business card is black on white
    # by nature, so it always looks like a ``photocopy``, and one read off a ``screen``
    # holds the same text; asking for "the original" would only puzzle the user.
    moot_warnings: frozenset[str] = frozenset()
    # The reply when no such document was read, for kinds whose retake hint is not the
    # card's (lay it flat, light it): a page whose text nothing was found in was too far
    # or too blurred to read. None: the cards' reply.
    no_card_text: str | None = None
    # Auto detection's last resort (printed text): chosen only when no other kind shows
    # any landmark, and then only if its own score reaches MIN_EVIDENCE.
    fallback: bool = False
    # Its score counts aligned rows of boxes, not printed words (a table): a card's own
    # label and value columns make such rows too, so a ``verified`` card outweighs it.
    structural: bool = False
    # Whether the text holds this kind's self-checking content in its own layout (an ID
    # front's number passing its checksum, its birth date printed above): in auto
    # detection that outweighs a ``structural`` kind's score. None: never.
    verified: Callable[[CardView], bool] | None = None
    # WeChat's whole JSON answer for one result, for kinds whose answer is not flat
    # fields (cv/ocr/comm's ``items``); None: ``wechat_fields`` of the result.
    wechat_body: Callable[[CardResult], dict[str, Any]] | None = None
    # Eval's counts for kinds whose label is not scored field by field (a page's text by
    # its lines): (expected, read fields) -> {count name: (correct, total)}.
    eval_counts: (
        Callable[[Mapping[str, str], Mapping[str, str]], dict[str, tuple[int, int]]] | None
    ) = None
    # The field whose character error rate over the set eval reports as ``cer``.
    cer_field: str | None = None
    # Warnings for a complete reading that holds much less than a reading of the same photo
    # tried before it (a page's title read alone, legibly, after its body read garbled):
    # (the reading, the earlier ones) -> codes. None: a complete reading stands alone.
    read_short: Callable[[CardResult, Sequence[CardResult]], list[str]] | None = None

    def title_of(self, result: CardResult) -> str:
        return self.reply_title(result) if self.reply_title is not None else self.title
