"""Turn untrusted photo bytes into a BGR array fit for OCR, or a typed ImageError.

Order matters: size and pixel-count limits are checked from the header, before any
pixel is decoded, so a 30000x30000 PNG costs nothing.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from ocr.errors import CorruptImage, DecompressionBomb, EmptyImage, ImageTooLarge, NotAnImage

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "BMP", "WEBP", "MPO"})
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 1600

BGRImage = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_side: int = DEFAULT_MAX_SIDE


def sniff_format(data: bytes) -> str | None:
    """The image format named by the magic bytes, or None (cheap, no decoding)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def decode_image(data: bytes, limits: ImageLimits | None = None) -> BGRImage:
    """Validate, decode, apply EXIF orientation and downscale to ``max_side``."""
    limits = limits or ImageLimits()
    if not data:
        raise EmptyImage("the image is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"the image has {len(data)} bytes, the limit is {limits.max_bytes}")
    fmt = sniff_format(data)
    if fmt is None or fmt == "GIF":
        what = "a GIF" if fmt == "GIF" else "not a JPEG, PNG, BMP or WebP image"
        raise NotAnImage(f"the file is {what}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            # Image.open reads only the header: check the pixel count before decoding.
            width, height = img.size
            if width <= 0 or height <= 0:
                raise CorruptImage("the image has no pixels")
            if width * height > limits.max_pixels:
                raise DecompressionBomb(
                    f"the image is {width}x{height} pixels, the limit is {limits.max_pixels}"
                )
            if img.format not in ACCEPTED_FORMATS:
                raise NotAnImage(f"unsupported image format {img.format}")
            img.load()
    except (DecompressionBomb, NotAnImage, CorruptImage):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecompressionBomb("the image has too many pixels") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImage("the file is not a readable image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # PIL raises OSError("image file is truncated"), SyntaxError for broken headers.
        raise CorruptImage("the image is truncated or corrupt") from exc

    # In place, and converted only when not RGB already: each step otherwise copies the
    # whole photo (exif_transpose copies an upright photo, convert an RGB one), the same
    # pixels at a few milliseconds per copy of a phone photo.
    ImageOps.exif_transpose(img, in_place=True)
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    array = cast(BGRImage, cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR))
    return downscale(array, limits.max_side)


def downscale(image: BGRImage, max_side: int) -> BGRImage:
    """Shrink so the longest side is at most ``max_side``; never enlarge."""
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cast(BGRImage, cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def channel_extremes(
    values: npt.NDArray[Any], axis: int
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """The largest and smallest of the three colour channels along ``axis``, as
    ``values.max(axis)`` and ``values.min(axis)`` give them, channel by channel: numpy
    reduces a 3-long axis element by element, several times slower."""
    planes = np.moveaxis(values, axis, 0)  # views, not copies
    high = np.maximum(np.maximum(planes[0], planes[1]), planes[2])
    low = np.minimum(np.minimum(planes[0], planes[1]), planes[2])
    return high, low
