"""Typed errors of card reading. Each has a stable ``code`` used in usage rows and replies.

Messages never contain card data (no OCR text, no field values).
"""

from __future__ import annotations


class OcrError(Exception):
    """Base class: something the user or operator can be told about."""

    code = "error"


class ImageError(OcrError):
    """The bytes are not a usable photo (the user should send another)."""

    code = "bad_image"


class EmptyImage(ImageError):
    code = "empty_image"


class NotAnImage(ImageError):
    code = "not_image"


class CorruptImage(ImageError):
    code = "corrupt_image"


class ImageTooLarge(ImageError):
    """More bytes than the configured limit."""

    code = "image_too_large"


class DecompressionBomb(ImageError):
    """More pixels than the configured limit (checked before decoding)."""

    code = "image_too_many_pixels"


class NoCardFound(OcrError):
    """The photo decoded but holds no readable card of the asked kind."""

    code = "no_card"


class NoCardOfItsKinds(NoCardFound):
    """No card of the kinds this engine reads, while kinds it cannot read exist (WeChat's
    OCR asked to detect the kind of a business card or passport photo). Alone, the engine
    answers that no card was found; in a chain, the next engine is asked."""


class EngineError(OcrError):
    """The engine itself failed (crash, bad model, remote API error)."""

    code = "engine_error"


class EngineUnavailable(EngineError):
    """Transient: network down, remote 5xx, system busy. A fallback engine may help."""

    code = "engine_unavailable"


class QuotaExceeded(EngineError):
    """The remote engine's daily quota is spent (WeChat 45009 / 101003)."""

    code = "quota"
