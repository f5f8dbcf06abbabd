"""The one interface every OCR engine implements, and the result type.

Engines: ``local`` (RapidOCR, ocr/local.py), ``wechat`` (WeChat's cv/ocr API, registered
by bot/wxapi/ocr_engine.py so that ocr/ never imports bot/), and ``chain`` (try engines
in order, falling back on transient failures and spent quotas). They are built by name
in ocr/engines.py; what a document kind is lives in ocr/kinds/.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, runtime_checkable

from ocr.errors import EngineUnavailable, NoCardOfItsKinds, OcrError, QuotaExceeded

log = logging.getLogger(__name__)

Mode = Literal["photo", "scan"]
# What a caller asks for: a registered document kind's name (ocr/kinds/), or AUTO to let
# the engine tell the kinds apart. ``ocr.kinds.check_kind`` validates one at the edges.
Kind = str
AUTO: Final = "auto"


@dataclass(frozen=True)
class TextBox:
    """One piece of text found by the detector: 4 corner points (clockwise from top-left)."""

    points: tuple[tuple[float, float], ...]
    text: str
    score: float
    # Per character of ``text``, the other characters the recogniser found nearly as
    # likely there ("" where it was sure); empty when the engine does not say.
    doubts: tuple[str, ...] = ()
    # Per character of ``text``, the widest blank in the print between it and the
    # character before, in box heights (``ocr.local.blanks_before``); 0.0 where not
    # measured, empty when the engine does not say.
    blanks: tuple[float, ...] = ()
    # Per character of ``text``, the probability the recogniser gave it
    # (``ocr.runtime.Certainties``); empty when the engine does not say.
    certainties: tuple[float, ...] = ()
    # Per character of ``text``, the likeliest mark or character the recogniser passed
    # over just before it, with its probability (``ocr.runtime.Passed``); empty when the
    # engine does not say.
    passed: tuple[tuple[str, float], ...] = ()
    # The likeliest mark or character the recogniser passed over after the last
    # character, with its probability (``ocr.runtime.PassedAfter``); ("", 0.0) when
    # nothing was, or the engine does not say.
    passed_after: tuple[str, float] = ("", 0.0)


def latin_alnum(char: str) -> bool:
    """A Latin letter or digit: where Chinese text sets a space between two words, and
    where ``TextBox.blanks`` are measured."""
    return char.isascii() and char.isalnum()


@dataclass
class CardResult:
    """What an engine read from one photo.

    ``fields`` holds unmasked values: it must never be stored or logged; replies go
    through ocr/mask.py. ``checks`` names each consistency check and whether it passed
    (e.g. ``id_checksum``, ``birth_date``, ``gender``, ``region``, ``luhn``, ``bin``);
    ``warnings`` holds stable codes (e.g. ``id_checksum_failed``, ``low_confidence``).
    """

    kind: str  # the name of a kind in ocr/kinds/
    fields: dict[str, str]
    checks: dict[str, bool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    engine: str = "local"
    # 0-100 image quality (ocr/quality.py), when the engine judges the photo itself.
    quality: int | None = None
    # A table's rows of cell strings (unmasked, like ``fields``), every row as long as the
    # others; None for documents whose fields are all strings. Kept out of ``fields`` so
    # that every other kind's ``dict[str, str]`` stays as it is.
    cells: list[list[str]] | None = None
    # Auto detection took this kind only because no firmer one showed (printed text: any
    # photo with words passes for a page): a chain asks its next engine for a firmer one.
    last_resort: bool = False

    @property
    def side(self) -> str:
        """The side of a two-sided document (``Front``/``Back`` for ID cards), else empty."""
        return self.fields.get("type", "")


@runtime_checkable
class Engine(Protocol):
    name: str

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        """Read one card. Raises ImageError, NoCardFound or EngineError subclasses."""
        ...


# Errors after which the next engine of a chain is tried: the photo may be fine, the
# engine just could not answer now, or it reads only some of the kinds the photo may be.
FALLBACK_ERRORS: tuple[type[OcrError], ...] = (EngineUnavailable, QuotaExceeded, NoCardOfItsKinds)


class ChainEngine:
    """Try engines in order; fall back on transient failures, never on a bad photo.

    An answer taken only as auto detection's last resort (``last_resort``: printed text)
    is kept while the next engines are asked for a firmer kind; it stands if none finds one.
    """

    def __init__(self, engines: Sequence[Engine]) -> None:
        if not engines:
            raise ValueError("a chain needs at least one engine")
        self.engines = list(engines)
        self.name = "chain"

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        last: OcrError | None = None
        kept: CardResult | None = None
        for engine in self.engines:
            try:
                result = engine.recognize(image, kind, mode)
            except FALLBACK_ERRORS as exc:
                log.warning("engine %s failed (%s), trying the next one", engine.name, exc.code)
                last = exc
                continue
            except OcrError:
                if kept is None:
                    raise
                continue  # the next engine found nothing firmer: the page stands
            if not result.last_resort:
                return result
            # WeChat answers any words as printed text; the photo may be a document only
            # the next engine reads (a business card, a table). Its firmer kind wins.
            kept = kept or result
        if kept is not None:
            return kept
        assert last is not None
        raise last
