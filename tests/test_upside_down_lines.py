"""A line the reader reads again turned half round keeps what the recogniser doubted
(issue 12): its characters' certainties and doubts, as every other line's, so that a
character misread there flags the answer (``low_confidence``) instead of being silent."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ocr.engine import AUTO
from ocr.evaluate import compare, load_samples, silent_errors
from ocr.image import decode_image
from ocr.local import (
    CLS_THRESHOLD,
    DEFAULT_DET_SIDE,
    RETRY_SCORE,
    LocalEngine,
    OcrSettings,
    RapidReader,
)
from ocr.runtime import OcrRuntime, crop_line

UPSIDE_DOWN_LINES = Path(__file__).parent / "fixtures" / "upside-down-lines"


def test_a_line_read_again_turned_half_round_keeps_its_certainties_and_doubts() -> None:
    # A generated 250 px front in a small photo (real90's photo 24, `make dataset-real`):
    # the angle classifier turns its address's last line the wrong way, the reading
    # scores under RETRY_SCORE, and the line is read again turned half round.
    (sample,) = load_samples(UPSIDE_DOWN_LINES)
    photo = decode_image(sample.image.read_bytes())
    line_end = sample.expected["addr"][-4:]
    page = RapidReader(OcrSettings()).read(photo)
    (turned,) = [box for box in page.boxes if box.text.endswith(line_end)]
    # The path taken: the classifier turned the line's cut upside down, surely, and what
    # it read so was under RETRY_SCORE.
    runtime = OcrRuntime(DEFAULT_DET_SIDE, intra_op_threads=1)
    cut = crop_line(photo, np.array(turned.points, dtype=np.float32))
    classified = runtime.classify([cut], CLS_THRESHOLD)
    assert classified.labels[0][0] == "180"
    assert classified.labels[0][1] > CLS_THRESHOLD
    assert runtime.recognise(classified.crops)[0][1] < RETRY_SCORE
    assert len(turned.certainties) == len(turned.text)
    assert len(turned.doubts) == len(turned.text)
    assert all(0.0 < c <= 1.0 for c in turned.certainties)


def test_a_front_with_a_line_read_upside_down_is_read_right_or_flagged() -> None:
    (sample,) = load_samples(UPSIDE_DOWN_LINES)
    engine = LocalEngine(threads=1, intra_op_threads=1)
    result = engine.recognize(sample.image.read_bytes(), AUTO)
    wrong = compare(sample, result, None)
    assert silent_errors(wrong, result) == frozenset(), wrong
