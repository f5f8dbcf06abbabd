"""Photo validation: every kind of bad bytes gets its own typed error, good ones decode."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from ocr.errors import (
    CorruptImage,
    DecompressionBomb,
    EmptyImage,
    ImageError,
    ImageTooLarge,
    NotAnImage,
)
from ocr.image import ImageLimits, decode_image, downscale


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def sample_image(width: int = 120, height: int = 80) -> Image.Image:
    """Left half red, right half blue: lets tests see orientation."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[:, : width // 2] = (255, 0, 0)
    arr[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(arr)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size but carries almost no data (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "WEBP"])
def test_accepted_formats_decode_to_bgr(fmt: str) -> None:
    array = decode_image(encode(sample_image(), fmt))
    assert array.shape == (80, 120, 3)
    left, right = array[40, 10], array[40, 110]
    assert left[2] > 200 and left[0] < 60  # red in BGR
    assert right[0] > 200 and right[2] < 60  # blue in BGR


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyImage),
        (b"<html><body>not a photo</body></html>", NotAnImage),
        (b"%PDF-1.7 ...", NotAnImage),
        (encode(sample_image(), "GIF"), NotAnImage),
    ],
)
def test_non_images_are_rejected(data: bytes, error: type[ImageError]) -> None:
    with pytest.raises(error):
        decode_image(data)


def test_truncated_jpeg_is_corrupt() -> None:
    data = encode(sample_image(400, 300), "JPEG", quality=90)
    with pytest.raises(CorruptImage):
        decode_image(data[: len(data) // 2])


def test_garbage_after_a_jpeg_signature_is_corrupt_or_not_an_image() -> None:
    with pytest.raises((CorruptImage, NotAnImage)):
        decode_image(b"\xff\xd8\xff" + b"\x00" * 100)


def test_byte_limit_is_checked_first() -> None:
    data = encode(sample_image(), "PNG")
    with pytest.raises(ImageTooLarge):
        decode_image(data, ImageLimits(max_bytes=len(data) - 1))


def test_pixel_bomb_is_refused_before_decoding() -> None:
    bomb = png_header_only(30000, 30000)
    assert len(bomb) < 200
    with pytest.raises(DecompressionBomb):
        decode_image(bomb)


def test_pixel_limit_is_configurable() -> None:
    data = encode(sample_image(200, 100), "PNG")
    with pytest.raises(DecompressionBomb):
        decode_image(data, ImageLimits(max_pixels=200 * 100 - 1))


def test_exif_orientation_is_applied() -> None:
    img = sample_image(120, 80)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    array = decode_image(encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert array.shape == (120, 80, 3)
    top, bottom = array[5, 40], array[115, 40]
    assert top[2] > 200  # the red (left) half is now on top
    assert bottom[0] > 200


def test_large_photos_are_downscaled_keeping_aspect() -> None:
    array = decode_image(encode(sample_image(3200, 1600), "PNG"), ImageLimits(max_side=1600))
    assert array.shape == (800, 1600, 3)


def test_downscale_never_enlarges() -> None:
    small = np.zeros((10, 20, 3), np.uint8)
    assert downscale(small, 1600) is small
