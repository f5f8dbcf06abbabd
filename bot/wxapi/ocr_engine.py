"""The ``wechat`` OCR engine: WeChat's cv/ocr API of each document kind, through the client.

Importing this module registers the engine with ``ocr.engines`` (``bot.serving.engines``
does, for ``ocr.engine = "wechat"`` or a chain).
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.config import Config
from bot.wxapi.client import (
    WechatClient,
    WechatError,
    WechatOcrBadImage,
    WechatOcrBadImageUrl,
    WechatOcrNoCard,
    WechatQuotaError,
)
from bot.wxapi.tokens import build_client, build_token_store
from ocr.engine import AUTO, CardResult, Engine, Kind, Mode
from ocr.engines import register_engine
from ocr.errors import (
    CorruptImage,
    EngineUnavailable,
    NoCardFound,
    NoCardOfItsKinds,
    OcrError,
    QuotaExceeded,
)
from ocr.field_warnings import add_field_warnings
from ocr.kinds import KINDS, DocumentKind, get_kind

# WeChat refuses cv/ocr images of 2 MB or more.
OCR_MAX_IMAGE_BYTES = 2 * 1024 * 1024 - 1

# Every field WeChat answers: the others (authority, birth) are never missing from its answer.
ANSWERED_FIELDS = tuple(name for kind in KINDS for name in kind.wechat_answers)


def _fit_for_wechat(image: bytes, max_side: int) -> bytes:
    """WeChat refuses images of 2 MB or more: send those downscaled and re-encoded."""
    if len(image) <= OCR_MAX_IMAGE_BYTES:
        return image
    import cv2

    from ocr.image import ImageLimits, decode_image, downscale

    pixels = downscale(decode_image(image, ImageLimits()), max_side)
    for quality in (90, 75, 60):
        ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(encoded) <= OCR_MAX_IMAGE_BYTES:
            return bytes(encoded.tobytes())
    raise EngineUnavailable("photo does not fit WeChat's 2 MB limit")


class WechatEngine:
    """``ocr.engine.Engine`` over WeChat's cv/ocr API of each kind (its ``wechat_path``).

    AUTO asks for each kind WeChat reads, in registry order (an ID card, then a bank
    card), until WeChat finds one; a fallback kind's answer (printed text) only when its
    checks pass.
    Errors: 101001 -> NoCardFound, 101000/101002 -> CorruptImage, 45009/101003 ->
    QuotaExceeded, anything else (network, busy, credentials) -> EngineUnavailable,
    so a chain falls back to the local engine. The WechatError is kept as ``__cause__``.
    """

    name = "wechat"

    def __init__(self, client: WechatClient, *, max_side: int = 1600) -> None:
        self.client = client
        self.max_side = max_side

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        image = _fit_for_wechat(image, self.max_side)
        return add_field_warnings(self._ask(image, kind, mode), answered=ANSWERED_FIELDS)

    def _ask(self, image: bytes, kind: Kind, mode: Mode) -> CardResult:
        asked = [k for k in KINDS if k.wechat_path] if kind == AUTO else [get_kind(kind)]
        try:
            for i, document in enumerate(asked):
                try:
                    result = _ask_kind(self.client, document, image, mode)
                    if kind == AUTO and document.fallback and not all(result.checks.values()):
                        # Auto detection's last resort (printed text) answers any text:
                        # it counts only when its checks say it is what it claims (a page).
                        raise NoCardFound(f"WeChat's {document.name} answer is no document")
                    result.last_resort = kind == AUTO and document.fallback
                    return result
                except (WechatOcrNoCard, NoCardFound):
                    if i == len(asked) - 1:
                        raise
            raise NoCardFound("WeChat reads none of the registered kinds")
        except (WechatOcrNoCard, NoCardFound) as exc:
            if kind == AUTO and len(asked) < len(KINDS):
                # The photo may be of a kind WeChat does not read (a business card, a
                # passport): a chain asks the local engine, which reads every kind.
                raise NoCardOfItsKinds("no card of the kinds WeChat reads") from exc
            if isinstance(exc, WechatError):
                raise _engine_error(exc) from exc
            raise
        except WechatError as exc:
            raise _engine_error(exc) from exc


def _ask_kind(client: WechatClient, kind: DocumentKind, image: bytes, mode: Mode) -> CardResult:
    if kind.wechat_path is None or kind.from_wechat is None:
        # Not a bad photo: WeChat has no API for this kind, so a chain asks the local engine.
        raise EngineUnavailable(f"WeChat has no OCR for {kind.name}")
    return kind.from_wechat(client.ocr(kind.wechat_path, image, mode=mode))


def _engine_error(exc: WechatError) -> OcrError:
    if isinstance(exc, WechatOcrNoCard):
        return NoCardFound(f"WeChat found no card ({exc.errcode})")
    if isinstance(exc, WechatOcrBadImage | WechatOcrBadImageUrl):
        return CorruptImage(f"WeChat could not use the image ({exc.errcode})")
    if isinstance(exc, WechatQuotaError):
        return QuotaExceeded(f"WeChat OCR quota reached ({exc.errcode})")
    return EngineUnavailable(f"WeChat OCR failed ({exc.errcode})")


def _wechat_engine_factory(
    config: Config,
    client: WechatClient | None = None,
    **_options: Any,
) -> Engine:
    """``create_engine("wechat", config=..., client=...)``; builds a client if none is given."""
    if client is None:
        http = httpx.Client(timeout=config.wechat.timeout_s)
        client = build_client(config, http, build_token_store(config, http))
    return WechatEngine(client, max_side=config.ocr.max_side)


register_engine("wechat", _wechat_engine_factory)
