"""The OCR runtime: PP-OCR detection, angle and recognition models run on ONNX Runtime.

The three models ship inside the ``rapidocr`` 3.x wheel and are loaded from there, by
path, so nothing is ever downloaded. The sessions are run here, in a thin runner, and
not through rapidocr's ``RapidOCR`` or its ``TextDetector``/``TextRecognizer`` classes:

- the reader (ocr/local.py) calls detection, the angle classifier and recognition one
  by one (detection on a small copy, crops cut from the full photo, crops re-read), so
  rapidocr's whole-pipeline call is of no use to it;
- rapidocr 3.x's step classes differ from the 1.4.4 ones the reader was built and
  measured on: its detector sorts the boxes, its decoder rounds every score to five
  digits, and its session wrapper downloads a model or a character list when a path or
  a key is missing. Running the sessions here keeps every reading identical and gives
  this module the session options (threads, memory arena) the reader is tuned with.

The pieces that are not plain array work are rapidocr 3.10's own, copied (the
detector's resize and normalisation, its DB post-processing, the perspective crop of a
text line): importing them loads rapidocr's config machinery (OmegaConf, the model
catalogue, requests), 1-2 s at a fresh server's first photo.

Everything here is stateless between calls, so one ``OcrRuntime`` may serve several
threads at once (ONNX Runtime sessions are thread-safe).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import math
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pyclipper
from shapely.geometry import Polygon

from ocr.errors import EngineError

# The models, as named inside the ``rapidocr`` wheel.
DET_MODEL = "PP-OCRv6_det_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
# PaddleOCR's DB detector settings, as RapidOCR ships them.
DB_THRESH = 0.3
DB_BOX_THRESH = 0.5
DB_MAX_CANDIDATES = 1000
DB_UNCLIP_RATIO = 1.6
# Input shapes (channels, height, width) the classifier and recogniser were trained on.
CLS_SHAPE = (3, 48, 192)
REC_SHAPE = (3, 48, 320)
CLS_LABELS = ("0", "180")
# Crops classified per inference call: the classifier pads each to 192 px, so a batch
# wastes nothing.
CLS_BATCH = 6

Image = npt.NDArray[np.uint8]
Quad = npt.NDArray[np.float32]
Reading = tuple[str, float]
# Per character of a reading's text, the other characters the recogniser found nearly
# as likely at that place, likeliest first ("" where it was sure).
Doubts = tuple[str, ...]
# A character read with less probability than this has doubts: the characters that got
# at least DOUBT_FLOOR at the same steps. The recogniser is almost always sure (0.98+)
# of a clear digit; a digit under an ink mark or a background pattern came out at
# 0.4-0.6 with the printed one second.
DOUBT_BELOW = 0.9
DOUBT_FLOOR = 0.03
# Per character of a reading's text, the recogniser's steps that emitted it: (first,
# last + 1), steps of the model's output, which the runtime turns into crop pixels.
Steps = tuple[tuple[int, int], ...]
# Per character of a reading's text, the probability the recogniser gave it: the highest
# over the steps that emitted it. Clear print reads at 0.98 or more; a character it may
# have seen where there is none (a digit put in between two printed ones) has the blank,
# "no character here", as its rival, which ``Doubts`` do not list.
Certainties = tuple[float, ...]
# Per character of a reading's text, the likeliest character the decoder passed over in
# the blank steps just before it (between it and the character before), other than those
# two characters, with the best probability it got there; ("", 0.0) where there are no
# such steps or none got DOUBT_FLOOR there. A small mark (、) printed between two
# characters may lose every step to the blank, "no character here", while still getting
# a fair share of them.
Passed = tuple[tuple[str, float], ...]
# The likeliest character the decoder passed over in the blank steps after a reading's
# last character (other than that character), with its probability, as ``Passed`` is
# for the steps before each character: a full stop closing a line may lose every step
# to the blank as a 、 between two characters does. ("", 0.0) when nothing got
# DOUBT_FLOOR there.
PassedAfter = tuple[str, float]
# What the decoder gives per crop.
Decoded = tuple[Reading, Doubts, Steps, Certainties, Passed, PassedAfter]
# Per character of a reading's text, where the recogniser placed it along the line crop:
# (left, right) in crop pixels, the x range of the output steps that emitted it. CTC
# emits a character at one or two steps inside its glyph, not over the glyph's width:
# the ranges increase along the text and mark each character's place, not its extent.
Spans = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Recognised:
    """One line crop read: (text, score), each character's doubts, its place and its
    certainty."""

    reading: Reading
    doubts: Doubts
    spans: Spans
    certainties: Certainties = ()
    passed: Passed = ()
    passed_after: PassedAfter = ("", 0.0)


def bundled_model(name: str) -> Path:
    """An ONNX model file shipped inside the ``rapidocr`` 3.x wheel.

    Located without importing the package: its config machinery never runs, and a
    missing file is an error here, never a download.
    """
    spec = importlib.util.find_spec("rapidocr")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "models" / name
        if path.is_file():
            return path
    raise EngineError(f"the OCR model {name} is not installed")


# x86-64's SSE control register (MXCSR) bits that make a thread's float arithmetic treat a
# denormal input as zero (DAZ, 0x40) and flush a denormal result to zero (FTZ, 0x8000).
DAZ_FTZ = 0x8040
# glibc's fenv_t on x86-64: 32 bytes, the x87 control word first, MXCSR at byte 28.
FENV_SIZE = 32
FENV_MXCSR = 28
X87_CONTROL_DEFAULT = 0x037F


class FloatEnvironment:
    """The calling thread's floating-point environment (glibc's ``fegetenv`` and
    ``fesetenv`` through ctypes), on x86-64 Linux only.

    Why: the PP-OCRv6 detector's activations reach denormal floats; on Intel CPUs every
    multiply with a denormal operand takes a microcode assist, and its two 768 -> 384
    1 x 1 convolutions at 1/32 scale took 62% of a detection. ONNX Runtime's
    ``session.set_denormal_as_zero`` treats them as zero on the session's own pool threads
    only: the thread that calls ``run`` also computes, and ONNX Runtime sets the mode on a
    calling thread only once per process, on the thread that opens the process's first
    session, with that session's setting. So ``detect`` sets it on its calling thread for
    the run and puts the previous environment back.
    """

    def __init__(self) -> None:
        self._get: Any = None
        self._set: Any = None
        if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
            return
        try:
            libc = ctypes.CDLL(None)
            get, put = libc.fegetenv, libc.fesetenv
        except (OSError, AttributeError):
            return
        probe = (ctypes.c_ubyte * FENV_SIZE)()
        if get(probe) != 0:
            return
        mxcsr = int.from_bytes(bytes(probe[FENV_MXCSR : FENV_MXCSR + 4]), "little")
        control = int.from_bytes(bytes(probe[0:2]), "little")
        # Only where the layout is the one above: MXCSR's reserved upper half is zero and
        # its exception masks are set, the x87 control word is the default one.
        if mxcsr >> 16 or mxcsr & 0x1F80 != 0x1F80 or control != X87_CONTROL_DEFAULT:
            return
        self._get, self._set = get, put

    @property
    def available(self) -> bool:
        return self._get is not None

    @contextlib.contextmanager
    def kept(self) -> Iterator[None]:
        """Whatever the body does to this thread's floating-point environment is undone."""
        if not self.available:
            yield
            return
        saved = (ctypes.c_ubyte * FENV_SIZE)()
        self._get(saved)
        try:
            yield
        finally:
            self._set(saved)

    @contextlib.contextmanager
    def denormals_flushed(self) -> Iterator[None]:
        """The body runs with denormal floats read and written as zero on this thread."""
        with self.kept():
            if self.available:
                env = (ctypes.c_ubyte * FENV_SIZE)()
                self._get(env)
                mxcsr = int.from_bytes(bytes(env[FENV_MXCSR : FENV_MXCSR + 4]), "little")
                env[FENV_MXCSR : FENV_MXCSR + 4] = list((mxcsr | DAZ_FTZ).to_bytes(4, "little"))
                self._set(env)
            yield


FLOAT_ENVIRONMENT = FloatEnvironment()


def open_session(
    path: Path, intra_op_threads: int, flush_denormals: bool = False
) -> ort.InferenceSession:
    """``flush_denormals``: the session's pool threads treat denormal floats as zero (see
    ``FloatEnvironment``; the caller's thread is the caller's business)."""
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Without the arena, buffers of one photo's sizes go back to malloc (tuned in
    # ocr/local.py: tune_malloc) instead of staying reserved at the largest photo's size:
    # with it, 2% less CPU per photo for 64 MB more peak memory.
    options.enable_cpu_mem_arena = False
    options.intra_op_num_threads = intra_op_threads
    # Idle inference threads sleep instead of spinning: two photos read at once (two
    # readers, two threads each, on 2 cores) would otherwise burn each other's time;
    # with it, 2 threads cut a lone photo's time and lost no throughput (docs/accuracy.md,
    # "On a quiet machine").
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if flush_denormals:
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
    options.inter_op_num_threads = 1
    # The process's first session sets its denormal mode on the opening thread for good
    # (see FloatEnvironment): that thread's other arithmetic keeps its own.
    with FLOAT_ENVIRONMENT.kept():
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Decoder(Protocol):
    """Turns the recogniser's per-step character probabilities into (text, score)s."""

    character: list[str]

    def __call__(self, preds: npt.NDArray[np.float32]) -> list[Reading]: ...

    def detailed(self, preds: npt.NDArray[np.float32]) -> list[tuple[Reading, Doubts]]: ...

    def positioned(self, preds: npt.NDArray[np.float32]) -> list[Decoded]: ...


class CTCLabelDecode:
    """Greedy CTC decoding, as PaddleOCR does it: best character per step, repeats and
    blanks dropped; the score is the mean probability of the characters kept."""

    def __init__(self, character: list[str]) -> None:
        # Index 0 is CTC's blank; PaddleOCR's dictionaries end with an implicit space.
        self.character = ["blank", *character, " "]

    def __call__(self, preds: npt.NDArray[np.float32]) -> list[Reading]:
        return [reading for reading, _ in self.detailed(preds)]

    def detailed(self, preds: npt.NDArray[np.float32]) -> list[tuple[Reading, Doubts]]:
        """Each reading with its doubts (see ``Doubts``)."""
        return [(reading, doubts) for reading, doubts, *_ in self.positioned(preds)]

    def positioned(self, preds: npt.NDArray[np.float32]) -> list[Decoded]:
        """Each reading with its doubts, the steps that emitted each character, each
        character's certainty and what the blank steps before it passed over."""
        best = preds.argmax(axis=2)
        probs = preds.max(axis=2)
        readings: list[Decoded] = []
        for steps, step_probs, rows in zip(best, probs, preds, strict=True):
            keep = np.ones(len(steps), dtype=bool)
            keep[1:] = steps[1:] != steps[:-1]
            keep &= steps != 0
            confidences = step_probs[keep].tolist() or [0]
            text = "".join(self.character[index] for index in steps[keep])
            starts = np.flatnonzero(keep)
            doubts = self._doubts(steps, step_probs, rows, starts)
            reading = (text, float(np.mean(confidences)))
            runs = _runs(steps, starts)
            certainties = tuple(float(step_probs[a:b].max()) for a, b in runs)
            passed = self._passed(steps, step_probs, rows, runs)
            after = self._passed_after(steps, step_probs, rows, runs)
            readings.append((reading, doubts, runs, certainties, passed, after))
        return readings

    def _passed_after(self, steps: Any, step_probs: Any, rows: Any, runs: Steps) -> PassedAfter:
        """The best other character of the blank steps after the last kept one."""
        if not runs:
            return ("", 0.0)
        start, end = runs[-1][1], len(steps)
        if start >= end or step_probs[start:end].min() > 1 - DOUBT_FLOOR:
            return ("", 0.0)
        peak = rows[start:end].max(axis=0)
        peak[0] = 0.0  # the blank
        peak[steps[runs[-1][0]]] = 0.0
        best = int(peak.argmax())
        known = 0 < best < len(self.character)
        return (self.character[best], float(peak[best])) if known else ("", 0.0)

    def _passed(self, steps: Any, step_probs: Any, rows: Any, runs: Steps) -> Passed:
        """Per kept character, the best other character of the blank steps before it."""
        passed: list[tuple[str, float]] = []
        end = 0
        for i, (start, stop) in enumerate(runs):
            # Where the blank got all but DOUBT_FLOOR at every step, nothing else got
            # DOUBT_FLOOR: most gaps, and a look at each class of each step is spared.
            if start <= end or step_probs[end:start].min() > 1 - DOUBT_FLOOR:
                passed.append(("", 0.0))
                end = stop
                continue
            peak = rows[end:start].max(axis=0)
            peak[0] = 0.0  # the blank
            peak[steps[start]] = 0.0
            if i:
                peak[steps[runs[i - 1][0]]] = 0.0
            best = int(peak.argmax())
            known = 0 < best < len(self.character)
            passed.append((self.character[best], float(peak[best])) if known else ("", 0.0))
            end = stop
        return tuple(passed)

    def _doubts(self, steps: Any, step_probs: Any, rows: Any, starts: Any) -> Doubts:
        """Rivals of each kept character, over the steps that repeat it."""
        doubts: list[str] = []
        for start in starts.tolist():
            if step_probs[start] >= DOUBT_BELOW:
                doubts.append("")
                continue
            end = start + 1
            while end < len(steps) and steps[end] == steps[start]:
                end += 1
            peak = rows[start:end].max(axis=0)
            rivals = [
                int(i)
                for i in np.flatnonzero(peak >= DOUBT_FLOOR)
                if i != steps[start] and i != 0 and i < len(self.character)
            ]
            rivals.sort(key=lambda i: -float(peak[i]))
            doubts.append("".join(self.character[i] for i in rivals))
        return tuple(doubts)


def _runs(steps: Any, starts: Any) -> Steps:
    """(first, last + 1) of the run of equal steps opening at each of ``starts``."""
    runs: list[tuple[int, int]] = []
    for start in starts.tolist():
        end = start + 1
        while end < len(steps) and steps[end] == steps[start]:
            end += 1
        runs.append((start, end))
    return tuple(runs)


def crop_line(image: Image, quad: Quad) -> Image:
    """The text line inside ``quad``, cut straight (tall cuts turned a quarter)."""
    return cast(Image, get_rotate_crop_image(image, quad.copy()))


def _normalise(crop: Image, shape: tuple[int, int, int], width: int) -> npt.NDArray[np.float32]:
    """A crop scaled to the model's height (at most ``width`` wide), in [-1, 1], padded."""
    channels, height, _ = shape
    ratio = crop.shape[1] / float(crop.shape[0])
    resized_width = min(width, math.ceil(height * ratio))
    resized = cv2.resize(crop, (resized_width, height)).astype(np.float32)
    scaled = resized.transpose((2, 0, 1)) / 255
    padded = np.zeros((channels, height, width), dtype=np.float32)
    padded[:, :, :resized_width] = (scaled - 0.5) / 0.5
    return padded


class DetPrepare:
    """rapidocr 3.10's detector input step (``DetPreProcess``, limit type "max"), with
    the per-pixel normalisation looked up.

    rapidocr computes ``(x / 255 - 0.5) / 0.5`` in float64 over the whole photo, a tenth
    of a detection's time outside the model; every pixel value maps to one result, so a
    256-entry table computed the same way gives the same numbers to the last bit.
    """

    def __init__(self, limit_side_len: int) -> None:
        self.limit_side_len = limit_side_len
        levels = np.arange(256, dtype=np.uint8)
        mean = std = np.array([0.5])
        self._table = ((levels.astype("float32") * (1 / 255.0) - mean) / std).astype(np.float32)

    def __call__(self, img: Image) -> npt.NDArray[np.float32] | None:
        h, w = img.shape[:2]
        ratio = 1.0
        if max(h, w) > self.limit_side_len:
            ratio = float(self.limit_side_len) / (h if h > w else w)
        resize_h = int(round(int(h * ratio) / 32) * 32)
        resize_w = int(round(int(w * ratio) / 32) * 32)
        if resize_w <= 0 or resize_h <= 0:
            return None
        resized = cv2.resize(img, (resize_w, resize_h))
        planes = self._table[resized].transpose((2, 0, 1))[np.newaxis]
        return np.ascontiguousarray(planes, dtype=np.float32)


class DBPostProcess:
    """rapidocr 3.10's post-processing of the DB detector (``DBPostProcess``, fast score
    mode), copied: importing it from rapidocr loads its whole config machinery, which
    took 1-2 s at the first photo of a fresh server and made WeChat retry pushes."""

    def __init__(self, thresh: float, box_thresh: float, max_candidates: int, unclip_ratio: float):
        self.thresh = thresh
        self.box_thresh = box_thresh
        self.max_candidates = max_candidates
        self.unclip_ratio = unclip_ratio
        self.min_size = 3
        self.dilation_kernel = np.array([[1, 1], [1, 1]])

    def __call__(self, pred: Any, ori_shape: tuple[int, int]) -> list[Quad]:
        src_h, src_w = ori_shape
        pred = pred[:, 0, :, :]
        segmentation = pred > self.thresh
        mask = cv2.dilate(np.array(segmentation[0]).astype(np.uint8), self.dilation_kernel)
        boxes = self._boxes_from_bitmap(pred[0], mask, src_w, src_h)
        kept: list[Quad] = []
        for box in boxes:
            quad = _order_points_clockwise(box)
            quad[:, 0] = np.minimum(np.maximum(quad[:, 0], 0), src_w - 1).astype(int)
            quad[:, 1] = np.minimum(np.maximum(quad[:, 1], 0), src_h - 1).astype(int)
            if int(np.linalg.norm(quad[0] - quad[1])) <= 3:
                continue
            if int(np.linalg.norm(quad[0] - quad[3])) <= 3:
                continue
            kept.append(quad)
        return kept

    def _boxes_from_bitmap(self, pred: Any, bitmap: Any, dest_width: int, dest_height: int) -> Any:
        height, width = bitmap.shape
        outs = cv2.findContours(
            (bitmap * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE
        )
        contours = outs[1] if len(outs) == 3 else outs[0]
        boxes = []
        for contour in contours[: self.max_candidates]:
            points, sside = _mini_box(contour)
            if sside < self.min_size:
                continue
            score = _box_score_fast(pred, points.reshape(-1, 2))
            if self.box_thresh > score:
                continue
            box, sside = _mini_box(self._unclip(points))
            if sside < self.min_size + 2:
                continue
            box[:, 0] = np.clip(np.round(box[:, 0] / width * dest_width), 0, dest_width)
            box[:, 1] = np.clip(np.round(box[:, 1] / height * dest_height), 0, dest_height)
            boxes.append(box.astype(np.int32))
        return np.array(boxes, dtype=np.int32)

    def _unclip(self, box: Any) -> Any:
        poly = Polygon(box)
        distance = poly.area * self.unclip_ratio / poly.length
        offset = pyclipper.PyclipperOffset()
        offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        return np.array(offset.Execute(distance)).reshape((-1, 1, 2))


def _mini_box(contour: Any) -> tuple[Any, float]:
    bounding_box = cv2.minAreaRect(contour)
    points = sorted(cv2.boxPoints(bounding_box), key=lambda x: x[0])
    index_1, index_4 = (0, 1) if points[1][1] > points[0][1] else (1, 0)
    index_2, index_3 = (2, 3) if points[3][1] > points[2][1] else (3, 2)
    box = np.array([points[index_1], points[index_2], points[index_3], points[index_4]])
    return box, min(bounding_box[1])


def _box_score_fast(bitmap: Any, box: Any) -> float:
    h, w = bitmap.shape[:2]
    box = box.copy()
    xmin = np.clip(np.floor(box[:, 0].min()).astype(np.int32), 0, w - 1)
    xmax = np.clip(np.ceil(box[:, 0].max()).astype(np.int32), 0, w - 1)
    ymin = np.clip(np.floor(box[:, 1].min()).astype(np.int32), 0, h - 1)
    ymax = np.clip(np.ceil(box[:, 1].max()).astype(np.int32), 0, h - 1)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    box[:, 0] = box[:, 0] - xmin
    box[:, 1] = box[:, 1] - ymin
    cv2.fillPoly(mask, box.reshape(1, -1, 2).astype(np.int32), 1)
    return float(cv2.mean(bitmap[ymin : ymax + 1, xmin : xmax + 1], mask)[0])


def _order_points_clockwise(pts: Any) -> Quad:
    x_sorted = pts[np.argsort(pts[:, 0]), :]
    left, right = x_sorted[:2, :], x_sorted[2:, :]
    tl, bl = left[np.argsort(left[:, 1]), :]
    tr, br = right[np.argsort(right[:, 1]), :]
    return np.array([tl, tr, br, bl], dtype="float32")


def get_rotate_crop_image(img: Any, points: Any) -> Any:
    """rapidocr's crop of one text line (perspective-corrected, tall cuts turned)."""
    crop_w = int(max(np.linalg.norm(points[0] - points[1]), np.linalg.norm(points[2] - points[3])))
    crop_h = int(max(np.linalg.norm(points[0] - points[3]), np.linalg.norm(points[1] - points[2])))
    pts_std = np.array([[0, 0], [crop_w, 0], [crop_w, crop_h], [0, crop_h]]).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(points, pts_std)
    dst = cv2.warpPerspective(
        img, matrix, (crop_w, crop_h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if dst.shape[0] * 1.0 / dst.shape[1] >= 1.5:
        dst = np.rot90(dst)
    return dst


def recognition_cost(crop: Image) -> int:
    """The recogniser's input width for ``crop`` (its height scaled to the model's, at
    least REC_SHAPE's 320 px): the model's work grows with it, so it ranks crops by cost."""
    ratio = max(REC_SHAPE[2] / REC_SHAPE[1], crop.shape[1] / float(crop.shape[0]))
    return int(REC_SHAPE[1] * ratio)


@dataclass(frozen=True)
class Classified:
    """The crops with those the classifier is sure are upside down turned, and per crop
    (label, score)."""

    crops: list[Image]
    labels: list[Reading]


class OcrRuntime:
    """The three PP-OCR models and how to run them; thread-safe."""

    def __init__(
        self, det_side: int, intra_op_threads: int = 2, rec_threads: int | None = None
    ) -> None:
        """``rec_threads``: the recogniser's intra-op threads (``intra_op_threads`` when
        None). A caller that runs lines on threads of its own (``RapidReader.recognised``)
        gives 1: a line is too small an input for two threads to share without their
        hand-overs costing more CPU than they save (see ``OcrSettings``)."""
        try:
            # Only the detector meets denormals: the recogniser's and the classifier's CPU
            # per call and outputs were the same with them flushed (fixture crops).
            self._det = open_session(
                bundled_model(DET_MODEL), intra_op_threads, flush_denormals=True
            )
            self._cls = open_session(bundled_model(CLS_MODEL), intra_op_threads)
            self._rec = open_session(
                bundled_model(REC_MODEL), intra_op_threads if rec_threads is None else rec_threads
            )
        except EngineError:
            raise
        except Exception as exc:  # onnxruntime raises its own types for a bad model file
            raise EngineError("the local OCR models could not be loaded") from exc
        # Images given to ``detect`` are at most det_side long: scaled only to a
        # multiple of 32.
        self._det_prepare = DetPrepare(det_side)
        self._det_boxes = DBPostProcess(
            DB_THRESH, DB_BOX_THRESH, DB_MAX_CANDIDATES, DB_UNCLIP_RATIO
        )
        metadata = self._rec.get_modelmeta().custom_metadata_map
        if "character" not in metadata:
            raise EngineError(f"the OCR model {REC_MODEL} carries no character list")
        self.decoder: Decoder = CTCLabelDecode(metadata["character"].splitlines())

    def detect(self, image: Image) -> list[Quad]:
        """Text quads (clockwise from top-left), in ``image`` coordinates."""
        prepared = self._det_prepare(image)
        if prepared is None:
            return []
        # Denormals read as zero (FloatEnvironment): a detection at 736 px took 297 ms of
        # CPU instead of 831 on the card fixtures (Intel Xeon, one thread), and gave the
        # same heat map to the last bit on every photo of the sets measured.
        with FLOAT_ENVIRONMENT.denormals_flushed():
            (heatmap,) = self._det.run(None, {self._det.get_inputs()[0].name: prepared})
        return self._det_boxes(heatmap, (image.shape[0], image.shape[1]))

    def classify(self, crops: list[Image], threshold: float) -> Classified:
        """Upside-down crops turned, when the classifier is more than ``threshold`` sure."""
        turned = list(crops)
        labels: list[Reading] = [("", 0.0)] * len(crops)
        name = self._cls.get_inputs()[0].name
        # Batched in order of width, as RapidOCR does, so that every crop meets the
        # same batch (and the same arithmetic) as in the measurements.
        order = [int(i) for i in np.argsort(np.array([c.shape[1] / c.shape[0] for c in crops]))]
        for start in range(0, len(order), CLS_BATCH):
            chosen = order[start : start + CLS_BATCH]
            batch = np.stack([_normalise(crops[i], CLS_SHAPE, CLS_SHAPE[2]) for i in chosen])
            (probs,) = self._cls.run(None, {name: batch})
            for i, row in zip(chosen, probs, strict=True):
                best = int(row.argmax())
                labels[i] = (CLS_LABELS[best], float(row[best]))
                if best == CLS_LABELS.index("180") and labels[i][1] > threshold:
                    turned[i] = cast(Image, cv2.rotate(crops[i], cv2.ROTATE_180))
        return Classified(turned, labels)

    def recognise(self, crops: list[Image]) -> list[Reading]:
        """(text, score) per crop, one crop per inference call.

        One at a time, because a batch is padded to its widest line: on CPU the padding
        is wasted work and, with v6's 18,710-way output, memory (one line per call gave
        p50 456 ms / p95 611 ms / 415 MB against 507 ms / 805 ms / 546 MB with
        RapidOCR's batches of 6, `wxocr bench --section engine`).
        """
        return [line.reading for line in self.recognise_positioned(crops)]

    def recognise_detailed(self, crops: list[Image]) -> list[tuple[Reading, Doubts]]:
        """``recognise`` with each reading's doubts."""
        return [(line.reading, line.doubts) for line in self.recognise_positioned(crops)]

    def recognise_positioned(self, crops: list[Image]) -> list[Recognised]:
        """``recognise`` with each reading's doubts, each character's place in its crop
        (``Spans``) and its certainty (``Certainties``)."""
        name = self._rec.get_inputs()[0].name
        readings: list[Recognised] = []
        for crop in crops:
            width = recognition_cost(crop)
            batch = _normalise(crop, REC_SHAPE, width)[np.newaxis]
            (preds,) = self._rec.run(None, {name: batch})
            # The crop fills the input's first resized_width pixels (as _normalise
            # scales it); the model's steps divide the whole input width evenly.
            resized_width = min(width, math.ceil(REC_SHAPE[1] * crop.shape[1] / crop.shape[0]))
            to_crop = width / preds.shape[1] * crop.shape[1] / max(1, resized_width)
            for reading, doubts, runs, certainties, passed, after in self.decoder.positioned(preds):
                spans = tuple(
                    (min(a * to_crop, crop.shape[1]), min(b * to_crop, crop.shape[1]))
                    for a, b in runs
                )
                readings.append(Recognised(reading, doubts, spans, certainties, passed, after))
        return readings
