"""The one interface every OCR engine implements, the result type, and the engine registry.

Engines: ``local`` (RapidOCR, ocr/local.py), ``wechat`` (WeChat's cv/ocr API, registered
by bot/wechat.py so that ocr/ never imports bot/), and ``chain`` (try engines in order,
falling back on transient failures and spent quotas).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from ocr.errors import EngineError, EngineUnavailable, QuotaExceeded

log = logging.getLogger(__name__)

Mode = Literal["photo", "scan"]
CardKind = Literal["idcard", "bankcard"]


class Kind(StrEnum):
    """What the caller asks for. AUTO lets the engine tell ID cards and bank cards apart."""

    IDCARD = "idcard"
    BANKCARD = "bankcard"
    AUTO = "auto"


# Field names follow WeChat's cv/ocr responses; the extras are ours.
IDCARD_FRONT_FIELDS = ("type", "name", "gender", "nationality", "birth", "addr", "id")
IDCARD_BACK_FIELDS = ("type", "authority", "valid_date")
BANKCARD_FIELDS = ("number", "bank", "card_type", "valid_thru")


@dataclass(frozen=True)
class TextBox:
    """One piece of text found by the detector: 4 corner points (clockwise from top-left)."""

    points: tuple[tuple[float, float], ...]
    text: str
    score: float


@dataclass
class CardResult:
    """What an engine read from one photo.

    ``fields`` holds unmasked values: it must never be stored or logged; replies go
    through ocr/mask.py. ``checks`` names each consistency check and whether it passed
    (e.g. ``id_checksum``, ``birth_date``, ``gender``, ``region``, ``luhn``, ``bin``);
    ``warnings`` holds stable codes (e.g. ``id_checksum_failed``, ``low_confidence``).
    """

    kind: CardKind
    fields: dict[str, str]
    checks: dict[str, bool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    engine: str = "local"
    # 0-100 image quality (ocr/quality.py), when the engine judges the photo itself.
    quality: int | None = None

    @property
    def side(self) -> str:
        """``Front``/``Back`` for ID cards, empty for bank cards."""
        return self.fields.get("type", "")

    def wechat_json(self) -> dict[str, Any]:
        """The body WeChat's cv/ocr API would answer (used by the sandbox)."""
        names = (
            BANKCARD_FIELDS[:1]
            if self.kind == "bankcard"
            else (IDCARD_BACK_FIELDS if self.side == "Back" else IDCARD_FRONT_FIELDS)
        )
        body: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        body.update({name: self.fields[name] for name in names if name in self.fields})
        if self.kind == "idcard" and "birth" in body:
            del body["birth"]  # not part of WeChat's answer
        return body


@runtime_checkable
class Engine(Protocol):
    name: str

    def recognize(self, image: bytes, kind: Kind = Kind.AUTO, mode: Mode = "photo") -> CardResult:
        """Read one card. Raises ImageError, NoCardFound or EngineError subclasses."""
        ...


EngineFactory = Callable[..., Engine]
_factories: dict[str, EngineFactory] = {}
_factories_lock = threading.Lock()


def register_engine(name: str, factory: EngineFactory) -> None:
    with _factories_lock:
        _factories[name] = factory


def create_engine(name: str, **options: Any) -> Engine:
    """Build a registered engine; ``options`` go to its factory (config, http client...)."""
    if name == "local" and name not in _factories:
        import ocr.local  # noqa: F401  (registers itself)
    try:
        factory = _factories[name]
    except KeyError:
        raise ValueError(f"unknown OCR engine {name!r}; known: {sorted(_factories)}") from None
    return factory(**options)


# Errors after which the next engine of a chain is tried: the photo may be fine,
# the engine just could not answer now.
FALLBACK_ERRORS: tuple[type[EngineError], ...] = (EngineUnavailable, QuotaExceeded)


class ChainEngine:
    """Try engines in order; fall back on transient failures, never on a bad photo."""

    def __init__(self, engines: Sequence[Engine]) -> None:
        if not engines:
            raise ValueError("a chain needs at least one engine")
        self.engines = list(engines)
        self.name = "chain"

    def recognize(self, image: bytes, kind: Kind = Kind.AUTO, mode: Mode = "photo") -> CardResult:
        last: EngineError | None = None
        for engine in self.engines:
            try:
                return engine.recognize(image, kind, mode)
            except FALLBACK_ERRORS as exc:
                log.warning("engine %s failed (%s), trying the next one", engine.name, exc.code)
                last = exc
        assert last is not None
        raise last
