"""CJK and digit fonts from the Debian font packages (`make fonts` installs them).

Only generating new cards needs these; the committed fixtures do not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

# (file name, face name wanted inside a .ttc, style): faces a Chinese card printer might use.
CJK_FACES = (
    ("wqy-zenhei.ttc", "WenQuanYi Zen Hei", "hei"),
    ("wqy-microhei.ttc", "WenQuanYi Micro Hei", "hei"),
    ("NotoSansCJK-Regular.ttc", "Noto Sans CJK SC", "hei"),
    ("NotoSansCJK-Bold.ttc", "Noto Sans CJK SC", "hei"),
    ("uming.ttc", "AR PL UMing CN", "song"),
    ("ukai.ttc", "AR PL UKai CN", "kai"),
    ("NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC", "song"),
    ("NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC", "song"),
)
DIGIT_FACES = (
    ("DejaVuSansMono.ttf", "DejaVu Sans Mono", "mono"),
    ("DejaVuSansMono-Bold.ttf", "DejaVu Sans Mono", "mono"),
    ("NotoSansCJK-Regular.ttc", "Noto Sans Mono CJK SC", "mono"),
    ("NotoSansCJK-Bold.ttc", "Noto Sans Mono CJK SC", "mono"),
)
LATIN_FACES = (
    ("DejaVuSans-Bold.ttf", "DejaVu Sans", "sans"),
    ("DejaVuSans.ttf", "DejaVu Sans", "sans"),
)


# The MRZ typeface (ICAO 9303), from Debian's fonts-ocr-b.
OCR_B_FACE = ("OCRB.otf", "OCRB", "ocr-b")


@dataclass(frozen=True)
class Face:
    path: Path
    index: int
    style: str

    @property
    def label(self) -> str:
        return f"{self.path.name}#{self.index}"

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        return _load(str(self.path), self.index, max(6, size))


@dataclass(frozen=True)
class FontSet:
    cjk: tuple[Face, ...]
    digits: tuple[Face, ...]
    latin: tuple[Face, ...]


# Each loaded face holds megabytes and sizes vary continuously, so keep only a few.
@functools.lru_cache(maxsize=24)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=index)


def _find_file(name: str) -> Path | None:
    for root in FONT_DIRS:
        if root.is_dir():
            for path in sorted(root.rglob(name)):
                return path
    return None


def _face_index(path: Path, family: str) -> int | None:
    """Which face of a collection is ``family`` (the SC face of Noto CJK is not index 0)."""
    for index in range(16):
        try:
            font = ImageFont.truetype(str(path), size=12, index=index)
        except OSError:
            return None
        if font.getname()[0] == family:
            return index
    return None


def _faces(wanted: tuple[tuple[str, str, str], ...]) -> tuple[Face, ...]:
    faces = []
    for file_name, family, style in wanted:
        path = _find_file(file_name)
        if path is None:
            continue
        index = _face_index(path, family)
        if index is not None:
            faces.append(Face(path, index, style))
    return tuple(faces)


@functools.lru_cache(maxsize=1)
def find_fonts() -> FontSet:
    cjk = _faces(CJK_FACES)
    digits = _faces(DIGIT_FACES)
    return FontSet(cjk=cjk, digits=digits or cjk, latin=_faces(LATIN_FACES) or digits or cjk)


@functools.lru_cache(maxsize=1)
def find_ocr_b() -> Face | None:
    """OCR-B for passport MRZs, or None when fonts-ocr-b is not installed."""
    path = _find_file(OCR_B_FACE[0])
    return Face(path, 0, OCR_B_FACE[2]) if path is not None else None


def fonts_available() -> bool:
    return bool(find_fonts().cjk)


def has_glyphs(face: Face, text: str) -> bool:
    """True when ``face`` draws every character of ``text`` (no tofu boxes)."""
    return all(char.isspace() or _has_glyph(face, char) for char in text)


@functools.lru_cache(maxsize=65536)
def _has_glyph(face: Face, char: str) -> bool:
    font = face.at(24)
    # A private-use code point always renders as the .notdef box.
    return _mask_bytes(font, char) != _mask_bytes(font, "\ue000")


def _mask_bytes(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    mask = font.getmask(text)
    return bytes(mask) + bytes(str(mask.size), "ascii")
