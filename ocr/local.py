"""The offline engine: RapidOCR with PP-OCRv6 ONNX models shipped in a wheel + field extraction.

Models: PP-OCRv6 small detection and recognition from the ``rapidocr`` 3.x wheel, run
on ONNX Runtime by ``ocr/runtime.py``. The v6
recogniser reads rare surnames (亓, 蒯, 訾) and place names (睢) that the v4 model
in the 1.4.4 wheel turned into common look-alikes; it also knows traditional
characters, which ``SimplifiedDecoder`` keeps out (mainland cards print simplified ones).

RapidOCR's whole-pipeline call is not used, for three reasons:

- speed: detection runs on a small copy of the photo (``det_side``), while the text
  lines are cut from the full-size photo, so recognition keeps its sharpness;
- direction: the angle classifier says which boxes it turned upside down, which with
  the box corners gives each box's reading direction, so a card photographed at 90,
  180 or 270 degrees is read in the right order;
- a second look: extractors may ask to re-read a region (an ID number that fails its
  checksum) from an enlarged or re-binarised crop.

Each process keeps a small pool of readers (one per concurrently reading thread, built
lazily) that share one set of ONNX sessions, and every ``LocalEngine`` uses that pool.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import math
import os
import queue
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, cast

import cv2
import numpy as np

from ocr.detect import read_card, shows_kind
from ocr.engine import AUTO, CardResult, Kind, Mode, TextBox, latin_alnum
from ocr.errors import EngineError, NoCardFound, OcrError
from ocr.field_warnings import add_field_warnings, missing_fields
from ocr.groups import group_roots
from ocr.image import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIDE,
    BGRImage,
    ImageLimits,
    decode_image,
    downscale,
)
from ocr.kinds import get_kind
from ocr.layout import LineReading, Matrix, OcrPage, estimate_axis
from ocr.outline import CARD_ASPECT, find_card_quad
from ocr.quality import Measures, decide, measure, read_with_doubt
from ocr.runtime import REC_MODEL as REC_MODEL
from ocr.runtime import (
    Certainties,
    Decoded,
    Doubts,
    OcrRuntime,
    Passed,
    PassedAfter,
    Reading,
    crop_line,
    recognition_cost,
)
from ocr.runtime import bundled_model as bundled_model

# Detection runs on a copy of the photo at most this many pixels long: on the
# generated photo set 736 found the same fields as 960 at half the detector's time
# and memory. (RapidOCR's default scales the *shortest* side up to 736, which costs
# 2-3 times as much on a phone photo.)
DEFAULT_DET_SIDE = 736
# Below this RapidOCR's recogniser is too unsure for a character to be worth keeping.
MIN_TEXT_SCORE = 0.5
# A zoomed-in second detection is worth it only if it enlarges the text this much.
MIN_ZOOM = 1.3
# A card whose text spans fewer pixels than this (about 400 px of card width) is read
# from an enlarged copy, WORK_SIDE pixels long, at most MAX_ENLARGE times its size.
SMALL_CARD = 560
WORK_SIDE = 960
MAX_ENLARGE = 4.0
# A small card's outline is used to straighten it only when its width over height is
# within this share of ID-1's (perspective in the photos moves it a few percent).
CARD_SHAPE_TOLERANCE = 0.15
# The last resort (``RapidReader.tiled_pages``): the photo in TILES x TILES tiles, each
# TILE_SHARE of its width and height (overlapping by a fifth, so that a line cut by one
# tile's edge is whole in the next). Of the 28 screen photos no other reading found a card
# on (seeds 20261129, 4242, 5151, 6262, 7373: 200 photos), 9 are read with it and the tie
# rule of ocr/detect.read_card; 24 generated card-less photos and the 4 card-less fixtures
# still get no card.
TILES = 2
TILE_SHARE = 0.6
# The very last reading (``descreened``): the photo in grey, smoothed by a Gaussian of
# this many pixels. A screen's subpixels are red, green and blue stripes a pixel or so
# wide, and its pixel grid repeats every 1.6-3 camera pixels on the screen photos of
# issue 16's generator (real phones re-shooting a monitor: 2-4): grey sums the stripes
# to a near-flat level and 1.2 px takes a 3 px period down to 4% of its contrast, while
# a 24 px line's strokes (2-3 px) keep theirs. Chosen on the screen photos of seeds
# 20261129 and 6262 that no other reading found a card on (4 of 6 read, none wrong).
DESCREEN_SIGMA = 1.2
# A reading of the photo with fewer boxes than this found next to no text, and a far-off
# page is looked for (``text_found``). On seeds 7, 8, 13 and 14 (380 generated pages) and
# seed 1414's turned ones, the readings that did not read as a page held 7 boxes (a short
# page, seed 8's 083: read well, and 3.4 s of CPU spent on the search when it was
# asked) and 1 (seed 1414's far-off turned page, a lone ``°``).
FOUND_BOXES = 5
# Readings less sure than this are tried again turned half round.
RETRY_SCORE = 0.7
# Cls labels a crop upside down only when this sure (RapidOCR's own default).
CLS_THRESHOLD = 0.9


@cache
def _to_simplified() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def traditional_only(char: str) -> bool:
    """A traditional form whose simplified one is a different character: 漢, 頭, 靜.

    Characters that are simplified ones too stay allowed (乾 and 於 are surnames, not
    only the traditional 干 and 于), and so do rare ones without a simplified form (喆).
    """
    if len(char) != 1 or ord(char) < 0x2E80 or _in_gb2312(char):
        return False
    mapped = _to_simplified().convert(char)
    return mapped != char and len(mapped) == 1 and _in_gb2312(mapped)


class SimplifiedDecoder:
    """RapidOCR's CTC decoder, restricted to characters printed on mainland cards.

    The v6 recogniser knows traditional characters as well, and on some fonts it
    prefers them (漢 for 汉, 頭 over 买 in a Kai 买买提). Mapping its answer afterwards
    would keep the wrong character (頭 -> 头); dropping the traditional-only characters
    from each step's distribution lets the simplified reading it also saw win. rapidocr
    has no option for a restricted vocabulary, so the decoder is wrapped here.
    """

    def __init__(self, decode: Any) -> None:
        self._decode = decode
        self.character: list[str] = decode.character
        keep = [not traditional_only(char) for char in self.character]
        self._keep = np.asarray(keep, dtype=np.float32)

    def __call__(self, preds: Any) -> list[Reading]:
        return [reading for reading, _ in self.detailed(preds)]

    def detailed(self, preds: Any) -> list[tuple[Reading, Doubts]]:
        return [(reading, doubts) for reading, doubts, *_ in self.positioned(preds)]

    def positioned(self, preds: Any) -> list[Decoded]:
        # In place: with 18,710 characters a batch of long lines is tens of megabytes.
        preds *= self._keep
        # Renormalised: a step's probabilities are taken among the allowed characters.
        preds /= np.maximum(preds.sum(axis=-1, keepdims=True), 1e-6)
        return cast(list[Decoded], self._decode.positioned(preds))


def clean_reading(
    text: str, doubts: Doubts, blanks: tuple[float, ...] = ()
) -> tuple[str, Doubts, tuple[float, ...]]:
    """``clean_text`` of a reading, its doubts and blanks kept beside the characters they
    are of.

    Both are dropped (``()``) when cleaning does not map characters one to one.
    """
    cleaned, kept = _kept_characters(text)
    if kept is None:
        return cleaned, (), ()
    if len(doubts) != len(text):
        doubts = ()
    return (
        cleaned,
        tuple(unicodedata.normalize("NFKC", doubt) for doubt in doubts[kept]),
        tuple(blanks[kept]) if len(blanks) == len(text) else (),
    )


def clean_certainties(text: str, certainties: Certainties) -> Certainties:
    """The certainties of the characters ``clean_reading`` keeps of ``text``; () when
    cleaning does not map characters one to one."""
    kept = _kept_characters(text)[1]
    return tuple(certainties[kept]) if kept is not None and len(certainties) == len(text) else ()


def clean_passed(text: str, passed: Passed) -> Passed:
    """What the recogniser passed over before each character ``clean_reading`` keeps of
    ``text``, normalised as the text is (NFKC); () when cleaning does not map characters
    one to one."""
    kept = _kept_characters(text)[1]
    if kept is None or len(passed) != len(text):
        return ()
    return tuple((unicodedata.normalize("NFKC", char), p) for char, p in passed[kept])


def clean_passed_after(text: str, after: PassedAfter) -> PassedAfter:
    """What the recogniser passed over after ``text``'s last character, normalised
    (NFKC), when ``clean_reading`` keeps that character as the cleaned text's last;
    ("", 0.0) otherwise (a trailing space read: what follows it is not after the text)."""
    cleaned, kept = _kept_characters(text)
    if kept is None or not cleaned or kept.stop != len(text) or not after[0]:
        return ("", 0.0)
    return (unicodedata.normalize("NFKC", after[0]), after[1])


@lru_cache(maxsize=256)
def _kept_characters(text: str) -> tuple[str, slice | None]:
    """``clean_text`` of ``text`` and the characters of ``text`` it keeps, None when it
    does not keep them one to one (a character NFKC turns into two).

    Cached: ``RapidReader._recognise`` asks it twice of every line it keeps, through
    ``clean_reading`` and ``clean_certainties``; a small cache holds a page's lines."""
    cleaned = clean_text(text)
    chars = [unicodedata.normalize("NFKC", char) for char in text]
    joined = "".join(chars)
    if any(len(char) != 1 for char in chars) or joined != unicodedata.normalize("NFKC", text):
        return cleaned, None
    start = len(joined) - len(joined.lstrip())
    return cleaned, slice(start, start + len(cleaned))


# The rows of a line crop that hold its text: those with at least this share of the inkiest
# row's ink. The detector's box is about a line pitch tall, and its top and bottom may
# hold the next lines' descenders and accents, with far less ink than the text's rows.
TEXT_ROWS = 0.2


def blanks_before(
    crop: BGRImage, text: str, spans: Sequence[tuple[float, float]]
) -> tuple[float, ...]:
    """Per character of a reading, the widest run of ink-free columns between it and the
    character before, in text heights, measured only between two Latin letters or
    digits (0.0 elsewhere); () when there is no such pair. The height is the text's: the
    rows holding its ink (``TEXT_ROWS``), as the detector's box overhangs it unevenly.

    The recogniser drops the space between two Latin words or numbers in a photo
    (``5874CPU``), but it places each character (``Spans``): the blank between two
    characters' places is the print's, wherever along the line (no drift).
    """
    pairs = [i for i in range(1, len(text)) if latin_alnum(text[i - 1]) and latin_alnum(text[i])]
    if not pairs or len(spans) != len(text):
        return ()
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    per_row = ink.sum(axis=1)
    rows = np.flatnonzero(per_row >= max(1, per_row.max()) * TEXT_ROWS)
    if not len(rows):
        return ()
    inked = ink[rows[0] : rows[-1] + 1].sum(axis=0) > 0
    height, width = float(rows[-1] + 1 - rows[0]), crop.shape[1]
    blanks = [0.0] * len(text)
    for i in pairs:
        left = int((spans[i - 1][0] + spans[i - 1][1]) / 2)
        right = math.ceil((spans[i][0] + spans[i][1]) / 2)
        run = longest = 0
        for column in inked[max(0, left) : min(width, right)].tolist():
            run = 0 if column else run + 1
            longest = max(longest, run)
        blanks[i] = longest / height
    return tuple(blanks)


def clean_text(text: str) -> str:
    """Recogniser output as the extractors expect it.

    Scans often come out with full-width digits ('１９'): NFKC makes them ASCII.
    """
    return unicodedata.normalize("NFKC", text).strip()


@dataclass(frozen=True)
class OcrSettings:
    det_side: int = DEFAULT_DET_SIDE
    # Two inference threads per session, which sleep when idle (ocr/runtime.py): a lone
    # photo is read on both cores, and two photos at once lose nothing to spinning
    # (docs/accuracy.md, "On a quiet machine"). With spinning threads 1 was better.
    intra_op_threads: int = 2
    # A photo's lines are recognised on two threads at once, every other line on a
    # helper thread (``RapidReader.recognised``): one line is too small an input for
    # ONNX Runtime to keep both cores busy. Each line's reading is the same either way.
    # The recogniser then runs one intra-op thread per line (the detector and the angle
    # classifier keep ``intra_op_threads``): two threads per line on top of the split
    # put four on two cores, and handing a small line's work between them cost CPU (the
    # recogniser alone over 47 fixture lines: 8% more process CPU on two threads than on
    # one, same outputs to the last bit). Whole photos, default settings, 2026-11-30 at
    # load 60-80: CPU per photo -4% on the card fixtures and real90's first 30, +4% on
    # real-dev, within that load's spread; every reading identical on all 124.
    split_recognition: bool = True


class RapidReader:
    """The OCR runtime and the pipeline around it. One per thread (see ``ReaderPool``)."""

    def __init__(self, settings: OcrSettings) -> None:
        self.settings = settings
        # With the lines split over two threads, each line is read on one: see OcrSettings.
        rec_threads = 1 if settings.split_recognition else settings.intra_op_threads
        self._runtime = OcrRuntime(settings.det_side, settings.intra_op_threads, rec_threads)
        self._runtime.decoder = SimplifiedDecoder(self._runtime.decoder)
        self._helper: ThreadPoolExecutor | None = None

    def sibling(self) -> RapidReader:
        """A reader for another thread that shares this one's ONNX sessions.

        The runtime keeps nothing per call and ONNX Runtime sessions may run from
        several threads at once: one set of models in memory however many threads read.
        """
        twin = copy.copy(self)
        twin._helper = None
        return twin

    def recognised(
        self, recognise: Callable[[list[BGRImage]], list[Any]], crops: Sequence[BGRImage]
    ) -> list[Any]:
        """``recognise(crops)``, shared with this reader's helper thread when
        ``split_recognition`` is set: ONNX sessions run from several threads at once, and
        a crop's reading does not depend on the others (one crop per inference call).

        The two threads take the crops one at a time from one queue, the costliest first
        (``recognition_cost``), instead of every other crop each: the halves of a page
        differ (a 30-character address against a 1-character 汉) and the thread done first
        sat idle while the other read on. Real-dev (52 photos, one reader): the two
        halves' CPU differed by 98 ms per photo out of 948 ms of recognition with every
        other crop each.
        """
        crops = list(crops)
        if not self.settings.split_recognition or len(crops) < 2:
            return recognise(crops)
        if self._helper is None:
            self._helper = ThreadPoolExecutor(1, thread_name_prefix="wxocr-recognise")
        merged: list[Any] = [None] * len(crops)
        order = iter(sorted(range(len(crops)), key=lambda i: -recognition_cost(crops[i])))
        taking = threading.Lock()

        def work() -> None:
            while True:
                with taking:
                    i = next(order, None)
                if i is None:
                    return
                (merged[i],) = recognise([crops[i]])

        helper = self._helper.submit(work)
        try:
            work()
        finally:
            helper.result()
        return merged

    def read(self, image: BGRImage) -> OcrPage:
        """Every text box of the photo, with its reading direction."""
        return self._recognise(image, self._detect(image))

    def detect(self, image: BGRImage) -> list[Any]:
        """The photo's text quads (``pages``' first detection, which it may be given)."""
        return self._detect(image)

    def pages(self, image: BGRImage, quads: list[Any] | None = None) -> Iterator[OcrPage]:
        """Readings of the photo to try in turn, the likeliest to hold the card first.

        A small card (a low-resolution photo, or a card far off in a large one) is
        first cut out by its text and read enlarged: at its own size the detector
        merges the faint blue labels into their values or drops them, and the
        recogniser misreads them, so whole fields were lost though their values read
        well; if that reading is incomplete, the card straightened along its outline
        (``_straightened``). Then the photo as it is (the cut may have been clutter's
        text, not the card's), then zoomed in on its text (``read_zoomed``).
        ``quads``: the photo's detection (``detect``) when already made.
        """
        if quads is None:
            quads = self._detect(image)
        region = small_card_region(image, quads)
        if region is not None:
            enlarged = enlarge(image, region)
            enlarged_quads = self._detect(enlarged)
            if enlarged_quads:
                yield self._recognise(enlarged, enlarged_quads, crop_to_photo(region, enlarged))
            yield from self._straightened(image, quads)
        yield self._recognise(image, quads)
        zoomed = self.read_zoomed(image, quads)
        if zoomed is not None:
            yield zoomed

    def _straightened(self, image: BGRImage, quads: list[Any]) -> Iterator[OcrPage]:
        """The small card cut along its outline and read straightened (``rectified_card``),
        when its four sides are found.

        Tried after the enlarged text region, so only when that reading missed a field or
        a check: a reading that was complete never changes. (When the image warnings
        were measured on the page read, the card cut out alone lacked the desk's
        colours: 2 false photocopy warnings in 24 small generated photos when this page
        came first; they are now measured on the photo as sent, see ``OcrPage.to_photo``.)
        """
        matrix = rectifying_matrix(image, quads)
        if matrix is not None:
            card = straighten(image, matrix)
            card_quads = self._detect(card)
            if card_quads:
                yield self._recognise(card, card_quads, cast(Matrix, np.linalg.inv(matrix)))

    def read_zoomed(self, image: BGRImage, quads: list[Any] | None = None) -> OcrPage | None:
        """``read`` with detection on just the part of the photo with text, enlarged.

        A card far from the camera has lines too thin for the detector at the whole
        photo's scale. None when there is no text or zooming would not enlarge it.
        ``quads``: the whole photo's detection when already made (detection is most of
        a reading's time).
        """
        if quads is None:
            quads = self._detect(image)
        if not quads:
            return None
        region = uncut_region(image, _text_region(image, largest_cluster(quads)), quads)
        if self._zoom(region) < MIN_ZOOM * self._det_scale(image):
            return None
        quads = self._detect_in(image, region)
        return self._recognise(image, quads) if quads else None

    def _recognise(
        self, image: BGRImage, quads: list[Any], to_photo: Matrix | None = None
    ) -> OcrPage:
        """Read ``image``'s boxes; ``to_photo`` takes ``image`` coordinates to the photo
        as sent (None: it is the photo), and goes into the page with any turn added."""
        if not quads:
            return OcrPage(image, [], [], to_photo)
        height = image.shape[0]
        image, turned_quads = turn_sideways_text_level(image, quads)
        if turned_quads is not quads:
            to_photo = after_quarter_turn(to_photo, height)
        quads = turned_quads
        classified = self._runtime.classify([crop_line(image, q) for q in quads], CLS_THRESHOLD)
        crops = classified.crops
        positioned = self.recognised(self._runtime.recognise_positioned, crops)
        rec_res = [line.reading for line in positioned]
        doubts = [line.doubts for line in positioned]
        certainties = [line.certainties for line in positioned]
        passed = [line.passed for line in positioned]
        after = [line.passed_after for line in positioned]
        blanks = [
            blanks_before(crop, line.reading[0], line.spans)
            for crop, line in zip(crops, positioned, strict=True)
        ]
        flips = [label == "180" and score > CLS_THRESHOLD for label, score in classified.labels]
        # The classifier sometimes turns a box with a wide gap ('民族   满') upside
        # down, and then nothing reads: unsure readings get a try the other way up.
        unsure = [i for i, (_, score) in enumerate(rec_res) if score < RETRY_SCORE]
        # The second reading keeps what the recogniser doubted (its doubts, each
        # character's certainty, the blanks between Latin characters), as the first does:
        # a line read upside down and righted here is a name's or an address's as often
        # as any other (real90: 东路353号 on a small front), and a character doubted in it
        # must flag the value as any other does.
        if unsure:
            turned = [cast(BGRImage, cv2.rotate(crops[i], cv2.ROTATE_180)) for i in unsure]
            again = self.recognised(self._runtime.recognise_positioned, turned)
            for i, crop, line in zip(unsure, turned, again, strict=True):
                if line.reading[1] > rec_res[i][1]:
                    rec_res[i] = line.reading
                    doubts[i] = line.doubts
                    blanks[i] = blanks_before(crop, line.reading[0], line.spans)
                    certainties[i] = line.certainties
                    passed[i] = line.passed
                    after[i] = line.passed_after
                    flips[i] = not flips[i]
        boxes: list[TextBox] = []
        directions: list[tuple[float, float]] = []
        for quad, flipped, (raw, score), doubt, blank, certainty, passing, past in zip(
            quads, flips, rec_res, doubts, blanks, certainties, passed, after, strict=True
        ):
            text, doubt, blank = clean_reading(raw, doubt, blank)
            if not text or score < MIN_TEXT_SCORE:
                continue
            certainty = clean_certainties(raw, certainty)
            passing = clean_passed(raw, passing)
            past = clean_passed_after(raw, past)
            boxes.append(
                TextBox(quad_points(quad), text, score, doubt, blank, certainty, passing, past)
            )
            directions.append(reading_direction(quad, flipped))
        return OcrPage(image, boxes, directions, to_photo)

    def tiled_pages(self, image: BGRImage) -> Iterator[OcrPage]:
        """``pages`` of the text found tile by tile: the last readings tried, when no other
        found a card.

        A card shown small, or on a screen (its lines faint and crossed by the pixel
        grid), has text too thin for the detector on the whole photo brought down to
        det_side: on the screen photos of seeds 20261129, 4242, 5151, 6262 and 7373 it
        found no box at all on some, only the big title or number on others (28 of 200
        answered "no card"). Each of TILES x TILES overlapping tiles (TILE_SHARE of the
        photo's side) is detected enlarged (``_detect_in``, up to twice); a box whose
        centre falls in a box already kept (the tiles' overlaps) is dropped. The boxes
        then go through ``pages`` as the first detection's would: a small card among
        them is cut out and read enlarged.
        """
        kept = self._tiled_quads(image)
        if kept:
            yield from self.pages(image, kept)

    def _tiled_quads(self, image: BGRImage) -> list[Any]:
        """The text quads found tile by tile (``tiled_pages``), in photo coordinates."""
        height, width = image.shape[:2]
        kept: list[Any] = []
        step = (1.0 - TILE_SHARE) / (TILES - 1)
        for row in range(TILES):
            for column in range(TILES):
                x0, y0 = round(column * step * width), round(row * step * height)
                tile = (x0, y0, round(x0 + TILE_SHARE * width), round(y0 + TILE_SHARE * height))
                for quad in self._detect_in(image, tile):
                    if not any(_holds(box, quad.mean(axis=0)) for box in kept):
                        kept.append(quad)
        return kept

    def far_pages(self, image: BGRImage) -> Iterator[OcrPage]:
        """Readings of a page far off in the photo, perhaps turned a quarter: the last
        readings tried for printed text, when the photo's own gave no page.

        A page a fifth of a landscape photo's width, its print 6-8 px tall, is beneath
        the detector at det_side: on seed 14's photo 4 and seed 1414's it saw the whole
        photo as one box (a textured desk and faint lines), so nothing, or a mark (``°``),
        was read. Found tile by tile (``_tiled_quads``: about the photo's own scale), the
        page is the largest cluster of boxes; cut out and enlarged (``enlarge``), it is
        detected again. Lines running up or down came out as fragments across them (the
        detector knows level text), so the page is read the way its boxes lie first
        (``lies_sideways``) and then turned the other quarter; the classifier rights a
        page upside down. The caller stops at the first reading that reads as a page.
        """
        quads = self._tiled_quads(image)
        if not quads:
            return
        region = _text_region(image, largest_cluster(quads, reach_heights=8.0))
        page = enlarge(image, region)
        to_photo = crop_to_photo(region, page)
        turned = cast(BGRImage, cv2.rotate(page, cv2.ROTATE_90_CLOCKWISE))
        upright = self._detect(page)
        views: list[tuple[BGRImage, Matrix, list[Any] | None]] = [
            (page, to_photo, upright),
            (turned, after_quarter_turn(to_photo, page.shape[0]), None),
        ]
        if not upright or lies_sideways(upright):
            views.reverse()
        for view, matrix, found in views:
            found = self._detect(view) if found is None else found
            if found:
                yield self._recognise(view, found, matrix)

    def _det_scale(self, image: BGRImage) -> float:
        return min(1.0, self.settings.det_side / float(max(image.shape[:2])))

    def _zoom(self, region: tuple[int, int, int, int]) -> float:
        x0, y0, x1, y1 = region
        return min(2.0, self.settings.det_side / float(max(x1 - x0, y1 - y0, 1)))

    def _detect(self, image: BGRImage) -> list[Any]:
        """Text quads in ``image`` coordinates, found on a copy at most det_side long."""
        small = downscale(image, self.settings.det_side)
        found = self._runtime.detect(small)
        scale = image.shape[1] / small.shape[1]
        return [np.asarray(q, dtype=np.float32) * scale for q in found]

    def _detect_in(self, image: BGRImage, region: tuple[int, int, int, int]) -> list[Any]:
        """Detection on one region, enlarged up to det_side (at most twice)."""
        x0, y0, x1, y1 = region
        part = image[y0:y1, x0:x1]
        zoom = self._zoom(region)
        size = (max(1, round(part.shape[1] * zoom)), max(1, round(part.shape[0] * zoom)))
        enlarged = cast(BGRImage, cv2.resize(part, size, interpolation=cv2.INTER_CUBIC))
        found = self._runtime.detect(enlarged)
        offset = np.array([x0, y0], dtype=np.float32)
        return [(np.asarray(q, dtype=np.float32) / zoom + offset).astype(np.float32) for q in found]

    def read_lines(self, crops: Sequence[BGRImage]) -> list[tuple[str, float]]:
        """Recognise already cut, upright text lines (the second look): each a
        ``LineReading``, cleaned as the page's boxes are, with each character's doubts
        and certainty (a crop read again when the first reading failed a check is the
        likeliest to be misread; what the recogniser doubted there must reach the answer)."""
        readings: list[tuple[str, float]] = []
        for line in self.recognised(self._runtime.recognise_positioned, crops):
            raw, score = line.reading
            text, doubts, _ = clean_reading(raw, line.doubts)
            readings.append(
                LineReading(text, score, doubts, clean_certainties(raw, line.certainties))
            )
        return readings


def after_quarter_turn(to_photo: Matrix | None, height: int) -> Matrix:
    """``to_photo`` for an image turned a quarter clockwise (``cv2.ROTATE_90_CLOCKWISE``)
    from one ``height`` pixels tall: the turn undone, (x, y) -> (y, height - 1 - x), then
    ``to_photo`` (None: that image was the photo)."""
    unturn = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, height - 1.0], [0.0, 0.0, 1.0]])
    return unturn if to_photo is None else cast(Matrix, to_photo @ unturn)


def _holds(quad: Any, point: Any) -> bool:
    """Whether ``point`` lies in ``quad``'s upright bounding box."""
    return bool(
        quad[:, 0].min() <= point[0] <= quad[:, 0].max()
        and quad[:, 1].min() <= point[1] <= quad[:, 1].max()
    )


def text_found(page: OcrPage, kind: Kind) -> bool:
    """Whether a reading of the photo found text enough that no far-off page is looked
    for (``RapidReader.far_pages``): it reads as ``kind`` (``shows_kind``), or it holds
    FOUND_BOXES boxes or more, as a short page does."""
    return len(page.boxes) >= FOUND_BOXES or shows_kind(page, kind)


def completeness(result: CardResult) -> tuple[bool, int]:
    """(every field read and every check passed, how many fields and checks are good)."""
    names = expected_fields(result)
    filled = sum(bool(result.fields.get(name)) for name in names)
    passed = sum(result.checks.values())
    return filled == len(names) and passed == len(result.checks), filled + passed


def expected_fields(result: CardResult) -> tuple[str, ...]:
    return get_kind(result.kind).complete_fields(result)


def _median_height(quads: list[Any]) -> float:
    heights = sorted(
        min(float(np.linalg.norm(q[1] - q[0])), float(np.linalg.norm(q[3] - q[0]))) for q in quads
    )
    return float(heights[len(heights) // 2])


def largest_cluster(quads: list[Any], reach_heights: float = 5.0) -> list[Any]:
    """The quads of the biggest group of nearby text: the card, not the clutter around it.

    Boxes join a group when their centres are within ``reach_heights`` text heights of a member
    (single linkage), so the card's lines chain together and a receipt beside it
    stays apart.
    """
    reach = reach_heights * _median_height(quads)
    centres = [q.mean(axis=0) for q in quads]
    links = (
        (i, j)
        for i in range(len(quads))
        for j in range(i + 1, len(quads))
        if float(np.linalg.norm(centres[i] - centres[j])) <= reach
    )
    roots = group_roots(len(quads), links)
    biggest = max(set(roots), key=roots.count)
    return [q for q, r in zip(quads, roots, strict=True) if r == biggest]


def _text_region(image: BGRImage, quads: list[Any]) -> tuple[int, int, int, int]:
    """The box around every quad, with a margin of a few text heights."""
    points = np.concatenate(quads)
    margin = 3 * _median_height(quads)
    height, width = image.shape[:2]
    x0, y0 = (max(0, int(v - margin)) for v in points.min(axis=0))
    x1 = min(width, int(points[:, 0].max() + margin))
    y1 = min(height, int(points[:, 1].max() + margin))
    return x0, y0, x1, y1


def uncut_region(
    image: BGRImage, region: tuple[int, int, int, int], quads: list[Any]
) -> tuple[int, int, int, int]:
    """``region`` grown until it cuts no detected box: every quad reaching into it is taken
    in whole, with ``_text_region``'s margin.

    The largest cluster is chained by box centres, so on a page of two columns of long
    lines it can be one column: the zoomed reading then cut the other's lines off at the
    region's edge and, its text far from the photo's edge, passed for a whole page (seed
    7's turned page 136: its right column read as the first four characters of each line).
    """
    x0, y0, x1, y1 = region
    while True:
        touching = [
            q
            for q in quads
            if q[:, 0].max() > x0 and q[:, 0].min() < x1
            if q[:, 1].max() > y0 and q[:, 1].min() < y1
        ]
        grown = _text_region(image, touching) if touching else region
        merged = (min(x0, grown[0]), min(y0, grown[1]), max(x1, grown[2]), max(y1, grown[3]))
        if merged == (x0, y0, x1, y1):
            return merged
        x0, y0, x1, y1 = merged


def small_card_region(image: BGRImage, quads: list[Any]) -> tuple[int, int, int, int] | None:
    """Where the card is, when it is too small to read well as it is; else None.

    The card is the largest cluster of text boxes (see ``largest_cluster``), with a
    margin; it is small when that region's longer side is under SMALL_CARD pixels.
    """
    if not quads:
        return None
    height, width = image.shape[:2]
    if max(height, width) < SMALL_CARD:
        # A small photo is all card, or near enough; text clusters on it are too few
        # to tell the card's edges (a gap in the number's row split one off).
        return 0, 0, width, height
    region = _text_region(image, largest_cluster(quads, reach_heights=8.0))
    x0, y0, x1, y1 = region
    return region if max(x1 - x0, y1 - y0) < SMALL_CARD else None


def descreened(image: BGRImage) -> BGRImage:
    """The photo with a screen's pixel grid smoothed away (DESCREEN_SIGMA), in grey.

    On a photo of a screen the grid's coloured stripes cross every stroke of the card's
    faint text: the detector found no line, or the recogniser read none (issue 16's
    screen photos answered "no card" though their number was legible by eye).
    """
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    soft = cv2.GaussianBlur(grey, (0, 0), DESCREEN_SIGMA)
    return cast(BGRImage, cv2.cvtColor(soft, cv2.COLOR_GRAY2BGR))


def enlarge(image: BGRImage, region: tuple[int, int, int, int]) -> BGRImage:
    """The region cut out and scaled up (cubic) so its longer side is WORK_SIDE pixels."""
    x0, y0, x1, y1 = region
    part = image[y0:y1, x0:x1]
    zoom = min(MAX_ENLARGE, WORK_SIDE / float(max(part.shape[:2])))
    size = (max(1, round(part.shape[1] * zoom)), max(1, round(part.shape[0] * zoom)))
    return cast(BGRImage, cv2.resize(part, size, interpolation=cv2.INTER_CUBIC))


def crop_to_photo(region: tuple[int, int, int, int], crop: BGRImage) -> Matrix:
    """The matrix taking ``crop`` coordinates (``region`` cut out and resized to
    ``crop``'s size, as ``enlarge`` does) back to the photo's."""
    x0, y0, x1, y1 = region
    scale_x = (x1 - x0) / float(crop.shape[1])
    scale_y = (y1 - y0) / float(crop.shape[0])
    return np.array([[scale_x, 0.0, x0], [0.0, scale_y, y0], [0.0, 0.0, 1.0]])


def rectified_card(image: BGRImage, quads: list[Any]) -> BGRImage | None:
    """The card cut along its outline and straightened to WORK_SIDE x (WORK_SIDE / ID-1
    aspect) pixels; None when its four sides are not all found (see ``find_card_quad``).

    Cut along its edges, a small or tilted card is read as if scanned: the text's own
    bounding box (``enlarge``) keeps the tilt and the clutter around the card.
    """
    matrix = rectifying_matrix(image, quads)
    return None if matrix is None else straighten(image, matrix)


def rectifying_matrix(image: BGRImage, quads: list[Any]) -> Matrix | None:
    """The perspective matrix taking the photo's card (its outline) to ``straighten``'s
    flat card; None when its four sides are not all found or not card-shaped."""
    text = np.concatenate(largest_cluster(quads, reach_heights=8.0)).astype(np.float32)
    corners = find_card_quad(image, text)
    if corners is None or not card_shaped(corners):
        return None
    width, height = WORK_SIDE, round(WORK_SIDE / CARD_ASPECT)
    square = np.array([(0, 0), (width, 0), (width, height), (0, height)], np.float32)
    return cast(Matrix, cv2.getPerspectiveTransform(corners.astype(np.float32), square))


def straighten(image: BGRImage, matrix: Matrix) -> BGRImage:
    """The photo warped by ``rectifying_matrix``: the card alone, flat."""
    width, height = WORK_SIDE, round(WORK_SIDE / CARD_ASPECT)
    flat = cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return cast(BGRImage, flat)


def card_shaped(corners: Any) -> bool:
    """Whether four corners have about an ID-1 card's width over height.

    A side taken from something else (a table's edge, the card's own picture) gives
    another shape.
    """
    width = (np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2
    height = (np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2
    return bool(height > 0 and abs(width / height / CARD_ASPECT - 1) <= CARD_SHAPE_TOLERANCE)


def turn_sideways_text_level(image: BGRImage, quads: list[Any]) -> tuple[BGRImage, list[Any]]:
    """Turn a photo of a card lying on its side a quarter clockwise, with its boxes.

    RapidOCR turns only tall cuts (three characters or more) before recognising, so
    on a sideways card the short ones ('女', '汉', '00号') were read on their side.
    Turning the photo makes every cut level; upside-down ones are then righted by the
    angle classifier.
    """
    if not lies_sideways(quads):
        return image, quads
    height = image.shape[0]
    turned = cast(BGRImage, cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE))
    moved = []
    for quad in quads:
        # (x, y) -> (height - 1 - y, x); the old bottom-left corner is the new top-left.
        points = np.stack([height - 1 - quad[:, 1], quad[:, 0]], axis=1)
        moved.append(np.roll(points, 1, axis=0).astype(np.float32))
    return turned, moved


def lies_sideways(quads: list[Any]) -> bool:
    """Whether the text runs nearer up-down than across (``turn_sideways_text_level``)."""
    axis = estimate_axis(photo_text_boxes(quads))
    return abs(math.sin(axis)) >= math.sin(math.pi / 4)


def reading_direction(quad: Any, flipped: bool) -> tuple[float, float]:
    """Unit vector along which a box's text reads, in image coordinates.

    RapidOCR cuts a box along corner 0 -> 1, turns tall cuts a quarter anticlockwise
    (so they read along 0 -> 3) and turns a cut half round when its classifier says
    so: undoing those steps gives the direction of the text.
    """
    p = np.asarray(quad, dtype=np.float64)
    along = p[1] - p[0]
    across = p[3] - p[0]
    width = max(np.linalg.norm(along), np.linalg.norm(p[2] - p[3]))
    height = max(np.linalg.norm(across), np.linalg.norm(p[2] - p[1]))
    vector = across if width > 0 and height / width >= 1.5 else along
    if flipped:
        vector = -vector
    norm = float(np.linalg.norm(vector))
    if norm == 0:
        return (1.0, 0.0)
    return (float(vector[0]) / norm, float(vector[1]) / norm)


# Image measures started early run on this many threads of their own.
MEASURE_THREADS = 2
_measurer: ThreadPoolExecutor | None = None
_measurer_lock = threading.Lock()


def _measure_pool() -> ThreadPoolExecutor:
    global _measurer
    with _measurer_lock:
        if _measurer is None:
            _measurer = ThreadPoolExecutor(MEASURE_THREADS, thread_name_prefix="wxocr-measure")
        return _measurer


def photo_text_boxes(quads: list[Any]) -> list[TextBox]:
    """Boxes at the detector's ``quads``, placed as ``RapidReader._recognise`` places a
    box it keeps on a photo it did not turn (their text is not known yet)."""
    return [TextBox(quad_points(q), "", 1.0) for q in quads]


def quad_points(quad: Any) -> tuple[tuple[float, float], ...]:
    """A detector quad's corners as a ``TextBox`` holds them."""
    return tuple((float(x), float(y)) for x, y in quad.tolist())


@dataclass
class EarlyMeasures:
    """The image measures (``quality.measure``) of the photo with every box its first
    detection found, started on another thread while the boxes are read.

    The measures depend on the photo and the boxes' corners alone, never on their text
    (``tests/test_early_measures.py`` holds ``measure`` to that), and on most photos the
    reading the card comes from is that very detection with every box kept: 37 of 38
    committed card fixtures, 38 of 52 real-dev photos. Then the measures are the ones
    ``measure`` would give after the reading, computed while the recogniser ran on the
    other core; else they are computed again (``measures`` answers None).
    """

    corners: list[tuple[tuple[float, float], ...]]
    future: Future[Measures | None]

    def measures(self, boxes: Sequence[TextBox]) -> Measures | None:
        """The early measures if ``boxes`` (the reading's, on the photo as sent) are the
        early ones, corner for corner and in order; else None."""
        if [box.points for box in boxes] != self.corners:
            return None
        return self.future.result()


class PageMeasures:
    """The image measures of each reading a photo's card may come from, started on another
    thread as soon as that reading's boxes are known, before the card is read from them.

    The early measures (``EarlyMeasures``) cover the photo's first detection with every
    box kept; a card read from another reading (a small card read enlarged first, a
    sideways photo turned, a box dropped as unreadable: 14 of 52 real-dev photos) had
    its measures computed only after the card was read, about 170 ms of CPU on the
    critical path. Started here, they run while the card is read from that reading (its
    fields and second looks) on the other core. A reading the card does not come from
    was measured for nothing: its measures are dropped, or never started when still
    queued. The measures depend on the photo and the boxes' corners alone (see
    ``EarlyMeasures``), so they are those ``measure`` gives after the reading.
    """

    def __init__(self, array: BGRImage, early: EarlyMeasures | None) -> None:
        self._array = array
        self._early = early
        self._started: dict[tuple[tuple[tuple[float, float], ...], ...], Future[Measures | None]]
        self._started = {}

    @staticmethod
    def _key(boxes: Sequence[TextBox]) -> tuple[tuple[tuple[float, float], ...], ...]:
        return tuple(box.points for box in boxes)

    def start(self, page: OcrPage) -> None:
        """The measures of ``page``'s boxes on the photo as sent, started unless the early
        measures or an earlier reading's are of the same boxes."""
        boxes = page.photo_boxes()
        key = self._key(boxes)
        if not boxes or key in self._started:
            return
        if self._early is not None and [box.points for box in boxes] == self._early.corners:
            return
        self._started[key] = _measure_pool().submit(measure, self._array, boxes)

    def cancel(self, but: tuple[tuple[tuple[float, float], ...], ...] = ()) -> None:
        """The measures started here and still queued are not run (but those of ``but``)."""
        for key, future in self._started.items():
            if key != but:
                future.cancel()

    def measures(self, boxes: Sequence[TextBox]) -> Measures | None:
        """The measures of ``boxes`` (a reading's, on the photo as sent) if started, early
        or here; else None. Those of other readings are cancelled if still queued."""
        found = self._early.measures(boxes) if self._early is not None else None
        key = self._key(boxes)
        self.cancel(but=key)
        if found is None and key in self._started:
            found = self._started[key].result()
        return found


def early_measures(array: BGRImage, quads: list[Any]) -> EarlyMeasures | None:
    """The measures of ``array`` with the boxes at ``quads`` started in the background,
    when the first reading will be of those boxes on the photo itself: not a small card
    (read first enlarged, ``small_card_region``) nor a photo turned a quarter to be read
    (``turn_sideways_text_level``). None otherwise."""
    if not quads or small_card_region(array, quads) is not None or lies_sideways(quads):
        return None
    boxes = photo_text_boxes(quads)
    future = _measure_pool().submit(measure, array, boxes)
    return EarlyMeasures([box.points for box in boxes], future)


class ReaderPool:
    """At most ``size`` readers, built on first need; a caller waits for a free one."""

    def __init__(self, factory: Callable[[], RapidReader], size: int) -> None:
        self._factory = factory
        self._size = max(1, size)
        self._free: queue.LifoQueue[RapidReader] = queue.LifoQueue()
        self._built = 0
        self._first: RapidReader | None = None
        self._lock = threading.Lock()

    @contextmanager
    def lease(self) -> Iterator[RapidReader]:
        reader = self._take()
        try:
            yield reader
        finally:
            self._free.put(reader)

    def _take(self) -> RapidReader:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._built < self._size:
                # Later readers share the first one's models (see RapidReader.sibling);
                # building under the lock makes a second caller wait for that load.
                if self._first is None:
                    self._first = reader = self._factory()
                else:
                    reader = self._first.sibling()
                self._built += 1
                return reader
        return self._free.get()


_pools: dict[tuple[OcrSettings, int], ReaderPool] = {}
_pools_lock = threading.Lock()


def reader_pool(settings: OcrSettings, size: int) -> ReaderPool:
    """The process-wide pool for these settings (models load once per process)."""
    with _pools_lock:
        pool = _pools.get((settings, size))
        if pool is None:
            if not _pools:
                tune_malloc()
            pool = _pools[(settings, size)] = ReaderPool(lambda: RapidReader(settings), size)
        return pool


# mallopt(3) parameter numbers in glibc.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MALLOC_ARENAS = 2
# Allocations at least this big get their own mmap, returned to the system when freed.
MMAP_THRESHOLD_BYTES = 8 * 1024 * 1024


def tune_malloc() -> None:
    """Tune glibc's malloc before OCR threads start allocating, so memory stays bounded.

    glibc gives each thread that meets contention an arena of its own and keeps
    freed image buffers in it: with two OCR threads the peak resident memory
    measured 610-660 MB, with two arenas 470-540 MB at the same speed. And glibc
    raises its mmap threshold each time a large buffer is freed, after which photo-
    sized buffers come from the heap and fragment it: under `make bench-load` the
    server grew from 727 to 847 MB in 90 s. A fixed 8 MiB threshold kept it at
    485-510 MB with about the same photos/s (a 1 MiB threshold halved them). A
    no-op off glibc; MALLOC_ARENA_MAX / MALLOC_MMAP_THRESHOLD_ in the environment win.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not os.environ.get("MALLOC_ARENA_MAX"):
            libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS)
        if not os.environ.get("MALLOC_MMAP_THRESHOLD_"):
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):
        pass


class LocalEngine:
    """``Engine`` backed by RapidOCR; safe to call from several threads at once."""

    name = "local"

    def __init__(
        self,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        max_side: int = DEFAULT_MAX_SIDE,
        threads: int = 2,
        det_side: int = DEFAULT_DET_SIDE,
        intra_op_threads: int = 2,
    ) -> None:
        self.limits = ImageLimits(max_bytes=max_bytes, max_pixels=max_pixels, max_side=max_side)
        self._pool = reader_pool(OcrSettings(det_side, intra_op_threads), threads)

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        array = decode_image(image, self.limits)
        with self._pool.lease() as reader:
            try:
                quads = reader.detect(array)
                measuring = PageMeasures(array, early_measures(array, quads))
                result, page = self._read_card(reader, array, kind, quads, measuring.start)
            except OcrError:
                measuring.cancel()
                raise
            except Exception as exc:
                measuring.cancel()
                # An inference failure or an extractor tripping over odd text is a bug,
                # but the user gets an answer, not a traceback.
                raise EngineError("the photo could not be read") from exc
        # Measured on the photo as sent, whatever reading the card came from: on an
        # enlarged crop of part of the card (a thumb splitting its text) the card looked
        # cut and the thumb lay outside (seed 4242: two thumbs missed).
        boxes = page.photo_boxes()
        measures = measuring.measures(boxes)
        if measures is None:
            measures = measure(array, boxes)
        quality = (
            None
            if measures is None
            else decide(
                measures,
                missing_fields(result),
                read_with_doubt(boxes, measures),
                get_kind(result.kind).moot_warnings,
            )
        )
        if quality is not None:
            result.warnings += [c for c in quality.warnings if c not in result.warnings]
            result.quality = quality.score
        result.engine = self.name
        return add_field_warnings(result)

    def _read_card(
        self,
        reader: RapidReader,
        array: BGRImage,
        kind: Kind,
        quads: list[Any] | None = None,
        on_page: Callable[[OcrPage], None] | None = None,
    ) -> tuple[CardResult, OcrPage]:
        """Read the card from the first reading that has every field and passes every
        check (see ``RapidReader.pages``, given the photo's ``quads`` when detected); else
        the most complete of them. The reading comes along: its boxes say where the card
        is, for the image warnings. ``on_page`` is given each reading before the card is
        read from it (``PageMeasures.start``)."""
        candidates: list[tuple[CardResult, OcrPage]] = []
        # The tiled readings only when no other gave a card: their detection costs four.
        # They look for a card shown small, so they give no page of text: on a page too far
        # off to read (seed 8's text page 148) the tiles find scraps read at CER 0.95, and
        # "no text found, come closer" is the honest answer.
        # The same for the photo with a screen's pixel grid smoothed away (``descreened``),
        # tried after the tiles: one more detection when no card is found.
        # Printed text asked for gets its own last look instead (``far_pages``: the page
        # found tile by tile, enlarged, turned a quarter when its lines run up or down),
        # only when the photo's readings found next to no text (``text_found``), and taken
        # only when it reads as a page (``shows_kind``): a page read as scraps is still
        # refused, or answered as before.
        tiles = kind == AUTO or not get_kind(kind).fallback
        stages = ("photo", "tiles", "descreened") if tiles else ("photo", "far_page")
        for stage in stages:
            if stage == "photo":
                pages = reader.pages(array, quads)
            elif stage == "tiles":
                pages = reader.tiled_pages(array)
            elif stage == "descreened":
                pages = reader.pages(descreened(array))
            else:
                pages = reader.far_pages(array)
            for page in pages:
                # Not for the last resorts: they read photos with no card found so far.
                if on_page is not None and stage == "photo":
                    on_page(page)
                try:
                    result = read_card(page, kind, reader.read_lines)
                except NoCardFound:
                    continue
                if stage != "photo" and result.last_resort:
                    continue
                if stage == "far_page":
                    if shows_kind(page, kind):
                        return result, page
                    continue
                if completeness(result)[0]:
                    short = get_kind(result.kind).read_short
                    if short is not None:
                        earlier = [c for c, _ in candidates if c.kind == result.kind]
                        said = short(result, earlier)
                        result.warnings += [w for w in said if w not in result.warnings]
                    return result, page
                candidates.append((result, page))
            if candidates and (tiles or any(text_found(page, kind) for _, page in candidates)):
                return max(candidates, key=lambda pair: completeness(pair[0]))
        if candidates:
            return max(candidates, key=lambda pair: completeness(pair[0]))
        raise NoCardFound("no readable card")

    def read_boxes(self, image: bytes) -> OcrPage:
        """The raw text boxes of a photo (for tools that study the engine)."""
        array = decode_image(image, self.limits)
        with self._pool.lease() as reader:
            return reader.read(array)
