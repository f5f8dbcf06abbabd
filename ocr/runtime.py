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

The numerical pieces that are not plain array work come from rapidocr itself: the
detector's resize and normalisation, its DB post-processing (box finding, unclipping),
and the perspective crop of a text line.

Everything here is stateless between calls, so one ``OcrRuntime`` may serve several
threads at once (ONNX Runtime sessions are thread-safe).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from rapidocr.ch_ppocr_det.utils import DBPostProcess, DetPreProcess
from rapidocr.utils.process_img import get_rotate_crop_image

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


def open_session(path: Path, intra_op_threads: int) -> ort.InferenceSession:
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
    # with it, 2 threads cut a lone photo's time and lost no throughput (README).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Decoder(Protocol):
    """Turns the recogniser's per-step character probabilities into (text, score)s."""

    character: list[str]

    def __call__(self, preds: npt.NDArray[np.float32]) -> list[Reading]: ...


class CTCLabelDecode:
    """Greedy CTC decoding, as PaddleOCR does it: best character per step, repeats and
    blanks dropped; the score is the mean probability of the characters kept."""

    def __init__(self, character: list[str]) -> None:
        # Index 0 is CTC's blank; PaddleOCR's dictionaries end with an implicit space.
        self.character = ["blank", *character, " "]

    def __call__(self, preds: npt.NDArray[np.float32]) -> list[Reading]:
        best = preds.argmax(axis=2)
        probs = preds.max(axis=2)
        readings: list[Reading] = []
        for steps, step_probs in zip(best, probs, strict=True):
            keep = np.ones(len(steps), dtype=bool)
            keep[1:] = steps[1:] != steps[:-1]
            keep &= steps != 0
            confidences = step_probs[keep].tolist() or [0]
            text = "".join(self.character[index] for index in steps[keep])
            readings.append((text, float(np.mean(confidences))))
        return readings


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


class DetPrepare(DetPreProcess):
    """rapidocr's detector input step, with the per-pixel normalisation looked up.

    rapidocr computes it in float64 over the whole photo, a tenth of a detection's
    time outside the model; every pixel value maps to one result, so a 256-entry table
    computed by the same code gives the same numbers to the last bit.
    """

    def __init__(self, limit_side_len: int) -> None:
        super().__init__(limit_side_len, "max", [0.5] * 3, [0.5] * 3)
        levels = np.repeat(np.arange(256, dtype=np.uint8)[:, np.newaxis], 3, axis=1)
        table = np.asarray(super().normalize(levels), dtype=np.float32)
        # The same mean and std for every channel, so one channel's column serves all.
        assert (table == table[:, :1]).all()
        self._table = table[:, 0].copy()

    def normalize(self, img: Image) -> npt.NDArray[np.float32]:
        return self._table[img]


@dataclass(frozen=True)
class Classified:
    """The crops with those the classifier is sure are upside down turned, and per crop
    (label, score)."""

    crops: list[Image]
    labels: list[Reading]


class OcrRuntime:
    """The three PP-OCR models and how to run them; thread-safe."""

    def __init__(self, det_side: int, intra_op_threads: int = 2) -> None:
        try:
            self._det = open_session(bundled_model(DET_MODEL), intra_op_threads)
            self._cls = open_session(bundled_model(CLS_MODEL), intra_op_threads)
            self._rec = open_session(bundled_model(REC_MODEL), intra_op_threads)
        except EngineError:
            raise
        except Exception as exc:  # onnxruntime raises its own types for a bad model file
            raise EngineError("the local OCR models could not be loaded") from exc
        # Images given to ``detect`` are at most det_side long: scaled only to a
        # multiple of 32.
        self._det_prepare = DetPrepare(det_side)
        self._det_boxes: Any = DBPostProcess(
            thresh=DB_THRESH,
            box_thresh=DB_BOX_THRESH,
            max_candidates=DB_MAX_CANDIDATES,
            unclip_ratio=DB_UNCLIP_RATIO,
            use_dilation=True,
            score_mode="fast",
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
        (heatmap,) = self._det.run(None, {self._det.get_inputs()[0].name: prepared})
        quads, _ = self._det_boxes(heatmap, image.shape[:2])
        return [np.asarray(quad, dtype=np.float32) for quad in quads]

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
        name = self._rec.get_inputs()[0].name
        readings: list[Reading] = []
        for crop in crops:
            ratio = max(REC_SHAPE[2] / REC_SHAPE[1], crop.shape[1] / float(crop.shape[0]))
            width = int(REC_SHAPE[1] * ratio)
            batch = _normalise(crop, REC_SHAPE, width)[np.newaxis]
            (preds,) = self._rec.run(None, {name: batch})
            readings.extend(self.decoder(preds))
        return readings
