"""The ``wechat`` OCR engine: WeChat's cv/ocr/idcard and cv/ocr/bankcard through the client.

Importing this module registers the engine with ``ocr.engine`` (``bot.serving.engines``
does, for ``ocr.engine = "wechat"`` or a chain).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
from ocr.bankcard import lookup_bin, refusal
from ocr.checks import id_checksum_ok, luhn_ok
from ocr.engine import CardResult, Engine, Kind, Mode, register_engine
from ocr.errors import (
    CorruptImage,
    EngineUnavailable,
    NoCardFound,
    OcrError,
    QuotaExceeded,
)
from ocr.field_warnings import add_field_warnings

# WeChat refuses cv/ocr images of 2 MB or more.
OCR_MAX_IMAGE_BYTES = 2 * 1024 * 1024 - 1

IDCARD_ANSWER_FIELDS = ("type", "name", "id", "addr", "gender", "nationality", "valid_date")
# Every field WeChat answers: the others (authority, birth) are never missing from its answer.
ANSWERED_FIELDS = (*IDCARD_ANSWER_FIELDS, "number")


def _card_from_idcard_answer(body: Mapping[str, Any]) -> CardResult:
    fields = {
        name: str(body[name]).strip()
        for name in IDCARD_ANSWER_FIELDS
        if isinstance(body.get(name), str | int) and str(body[name]).strip()
    }
    if "type" not in fields or len(fields) < 2:
        raise NoCardFound("WeChat found no readable ID card fields")
    result = CardResult(kind="idcard", fields=fields, engine="wechat")
    if "id" in fields:
        passed = id_checksum_ok(fields["id"])
        result.checks["id_checksum"] = passed
        if not passed:
            result.warnings.append("id_checksum_failed")
    return result


def _card_from_bankcard_answer(body: Mapping[str, Any]) -> CardResult:
    # The documentation names the field "number" but its example answers "id".
    raw = body.get("number") or body.get("id") or ""
    number = re.sub(r"\D", "", str(raw))
    if not number:
        raise NoCardFound("WeChat found no card number")
    info = lookup_bin(number)
    if refusal(number, info) is not None:
        # The same rule as the local reader's: digits that cannot be a card number are
        # no answer, whoever read them.
        raise NoCardFound("WeChat's digits cannot be a card number")
    passed = luhn_ok(number)
    fields = {"number": number}
    # WeChat answers the number only: the bank comes from the same BIN table as the
    # local reader's, so the reply names it the same way whichever engine read the card.
    if info is not None and info.bank:
        fields |= {"bank": info.bank, "card_type": info.card_type}
    warnings = [] if passed else ["luhn_failed"]
    if info is None or not info.bank:
        warnings.append("unknown_bin")
    if info is not None and len(number) not in info.lengths:
        warnings.append("length_unusual")
    return CardResult(
        kind="bankcard",
        fields=fields,
        checks={"luhn": passed, "bin": bool(info and info.bank)},
        warnings=warnings,
        engine="wechat",
    )


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
    """``ocr.engine.Engine`` over cv/ocr/idcard and cv/ocr/bankcard.

    AUTO asks for an ID card first and for a bank card when WeChat finds no ID card.
    Errors: 101001 -> NoCardFound, 101000/101002 -> CorruptImage, 45009/101003 ->
    QuotaExceeded, anything else (network, busy, credentials) -> EngineUnavailable,
    so a chain falls back to the local engine. The WechatError is kept as ``__cause__``.
    """

    name = "wechat"

    def __init__(self, client: WechatClient, *, max_side: int = 1600) -> None:
        self.client = client
        self.max_side = max_side

    def recognize(self, image: bytes, kind: Kind = Kind.AUTO, mode: Mode = "photo") -> CardResult:
        image = _fit_for_wechat(image, self.max_side)
        return add_field_warnings(self._ask(image, kind, mode), answered=ANSWERED_FIELDS)

    def _ask(self, image: bytes, kind: Kind, mode: Mode) -> CardResult:
        try:
            if kind == Kind.BANKCARD:
                return _card_from_bankcard_answer(self.client.ocr_bankcard(image, mode=mode))
            try:
                return _card_from_idcard_answer(self.client.ocr_idcard(image, mode=mode))
            except (WechatOcrNoCard, NoCardFound):
                if kind == Kind.IDCARD:
                    raise
            return _card_from_bankcard_answer(self.client.ocr_bankcard(image, mode=mode))
        except WechatError as exc:
            raise _engine_error(exc) from exc


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
