"""The OCR runtime (ocr/runtime.py): models from the installed wheel, nothing downloaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ocr.image import ImageLimits, decode_image, downscale
from ocr.kinds.text.extract import SPACE_BLANK
from ocr.local import blanks_before, clean_passed_after, clean_reading
from ocr.runtime import (
    CLS_MODEL,
    DET_MODEL,
    REC_MODEL,
    CTCLabelDecode,
    OcrRuntime,
    bundled_model,
    crop_line,
    open_session,
)
from tests.cardgen.fonts import find_fonts, fonts_available

CARD = Path(__file__).parent / "fixtures" / "cards" / "002_bank_photo.jpg"
needs_fonts = pytest.mark.skipif(not fonts_available(), reason="no CJK font (run `make fonts`)")

# Run in a fresh interpreter: every socket connection and name lookup fails (and counts),
# and the proxy variables point at a closed port, so a download could not succeed even
# through a library that reads them before the socket is opened.
OFFLINE_READ = """
import json, socket, sys

attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args)[:80])
    raise OSError("network access is not allowed in this test")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse

from ocr.engine import AUTO
from ocr.engines import create_engine

engine = create_engine("local")
result = engine.recognize(open(sys.argv[1], "rb").read(), AUTO)
print(json.dumps({"kind": result.kind, "fields": result.fields, "attempts": attempts}))
"""


def test_models_are_the_installed_wheels_files() -> None:
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    for name in (DET_MODEL, CLS_MODEL, REC_MODEL):
        path = bundled_model(name).resolve()
        assert path.is_relative_to(site_packages / "rapidocr"), path
        assert path.stat().st_size > 100_000, path


@pytest.mark.slow
def test_engine_reads_a_card_with_no_network() -> None:
    expected = json.loads(CARD.with_suffix(".json").read_text(encoding="utf-8"))["expected"]
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead}
    env.pop("NO_PROXY", None)
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE_READ, str(CARD)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert read["attempts"] == []
    assert read["kind"] == "bankcard"
    assert read["fields"]["number"] == expected["number"]


def steps(*rows: dict[int, float]) -> np.ndarray:
    """CTC output for one line: per step, probabilities by class (0 is the blank)."""
    preds = np.zeros((1, len(rows), 6), dtype=np.float32)
    for at, row in enumerate(rows):
        for index, prob in row.items():
            preds[0, at, index] = prob
    return preds


def test_a_character_read_unsure_carries_the_recognisers_runner_up_as_its_doubt() -> None:
    # Classes: blank, then "4", "7", "1", "2", and the implicit space.
    decoder = CTCLabelDecode(["4", "7", "1", "2"])
    preds = steps(
        {1: 0.99, 0: 0.01},  # "4", sure
        {0: 1.0},
        {2: 0.45, 1: 0.35, 3: 0.2},  # "7", unsure: "4" then "1" nearly as likely
        {2: 0.5, 1: 0.02, 0: 0.48},  # the same "7" again: its rivals are taken at their peak
        {0: 1.0},
        {4: 0.95, 3: 0.05},  # "2", sure enough
    )
    ((text, score), doubts) = decoder.detailed(preds)[0]
    assert text == "472"
    assert decoder(preds)[0] == (text, score)  # the plain reading is unchanged
    assert doubts == ("", "41", "")


def test_a_character_the_blank_nearly_won_has_no_doubt_but_little_certainty() -> None:
    # As real90b's photo 12 read 20幢 as 204幢: the 4 at 0.76 with the blank ("no
    # character here") at 0.20 second, no rival character listed. Its certainty, the
    # best of its steps, says what its doubts cannot.
    decoder = CTCLabelDecode(["4", "7", "1", "2"])
    preds = steps(
        {4: 1.0},  # "2", sure
        {0: 1.0},
        {1: 0.76, 0: 0.2, 3: 0.02, 2: 0.02},  # "4" where none is printed
        {0: 1.0},
        {2: 0.6, 0: 0.4},  # "7" over two steps, surer at its second
        {2: 0.97, 0: 0.03},
    )
    (((text, _), doubts, _, certainties, _, _),) = decoder.positioned(preds)
    assert text == "247"
    assert doubts == ("", "", "")
    assert certainties == pytest.approx((1.0, 0.76, 0.97))


def test_a_mark_the_blank_nearly_won_is_what_the_decoder_passed_over() -> None:
    # As seed 7's dropped 、: between two characters the blank won every step, the mark
    # second at one of them. The neighbours' own fading steps are not what was passed.
    decoder = CTCLabelDecode(["中", "国", "、", "人"])
    preds = steps(
        {1: 0.99, 0: 0.01},  # "中"
        {0: 0.6, 1: 0.4},  # "中" fading: its own, not passed over
        {0: 0.7, 3: 0.25, 1: 0.05},  # "、" under the blank
        {0: 0.9, 2: 0.1},  # "国" rising: its own
        {2: 0.98, 0: 0.02},  # "国"
        {4: 0.97, 0: 0.03},  # "人", no blank step before it
    )
    ((text, _), _, _, certainties, passed, _) = decoder.positioned(preds)[0]
    assert text == "中国人"
    assert passed[1][0] == "、"
    assert passed[1][1] == pytest.approx(0.25)
    assert passed[0] == ("", 0.0)  # nothing before the first step
    assert passed[2] == ("", 0.0)  # no step between "国" and "人"
    assert certainties == pytest.approx((0.99, 0.98, 0.97))


def test_a_mark_the_blank_nearly_won_after_the_last_character_is_passed_over_after() -> None:
    # As a line's closing 。 in small print: after the last character the blank won every
    # step, the mark second at one. The last character's own fading step is not it.
    decoder = CTCLabelDecode(["中", "国", "。", "人"])
    preds = steps(
        {1: 0.99, 0: 0.01},  # "中"
        {0: 0.9, 2: 0.1},  # "国" rising: its own
        {2: 0.98, 0: 0.02},  # "国"
        {0: 0.6, 2: 0.4},  # "国" fading: its own, not passed over
        {0: 0.7, 3: 0.27, 2: 0.03},  # "。" under the blank
        {0: 1.0},
    )
    ((text, _), _, _, _, passed, after) = decoder.positioned(preds)[0]
    assert text == "中国"
    assert passed == (("", 0.0), ("", 0.0))
    assert after[0] == "。"
    assert after[1] == pytest.approx(0.27)
    # Nothing after the last character: nothing passed over.
    (*_, nothing) = decoder.positioned(steps({1: 0.99, 0: 0.01}, {0: 1.0}))[0]
    assert nothing == ("", 0.0)
    # A trailing space cleaned off: what came after it is not after the text.
    assert clean_passed_after("中国", ("。", 0.3)) == ("。", 0.3)
    assert clean_passed_after("中国 ", ("。", 0.3)) == ("", 0.0)


def test_cleaning_a_reading_keeps_each_doubt_beside_its_character() -> None:
    assert clean_reading(" ６２:", ("a", "", "7", "8")) == ("62:", ("", "7", "8"), ())
    # A character NFKC turns into several ('㎏' -> 'kg') loses the alignment: no doubts.
    assert clean_reading("5㎏", ("", "x")) == ("5kg", (), ())
    # The blanks measured before each character follow it the same way.
    assert clean_reading(" A１B", ("", "", "", ""), (0.0, 0.0, 0.1, 0.4)) == (
        "A1B",
        ("", "", ""),
        (0.0, 0.1, 0.4),
    )


def printed_line(text: str, size: int = 40) -> np.ndarray:
    """A clean line of ``text`` in the generator's first CJK font, as a line crop (BGR)."""
    font = find_fonts().cjk[0].at(size)
    image = Image.new("RGB", (round(size * 0.9 * len(text)) + 40, round(size * 1.5)), "white")
    ImageDraw.Draw(image).text((20, size // 4), text, font=font, fill=(20, 20, 20))
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


@pytest.fixture(scope="module")
def runtime() -> OcrRuntime:
    return OcrRuntime(736, intra_op_threads=1)


@needs_fonts
def test_each_characters_place_increases_along_the_line_and_lies_inside_its_crop(
    runtime: OcrRuntime,
) -> None:
    crop = printed_line("处理器5874 CPU的性能提升")
    (line,) = runtime.recognise_positioned([crop])
    assert line.reading[0] == "处理器5874 CPU的性能提升"
    assert runtime.recognise([crop]) == [line.reading]  # the plain reading is unchanged
    assert len(line.spans) == len(line.reading[0])
    centres = [(left + right) / 2 for left, right in line.spans]
    assert all(0 <= left < right <= crop.shape[1] for left, right in line.spans)
    assert centres == sorted(centres)
    # Each character's place lies on its own glyph: the first CJK character within the
    # first character's width of the text's start (20 px), the last before its end.
    ink = np.flatnonzero(crop.min(axis=(0, 2)) < 128)
    assert ink[0] <= centres[0] <= ink[0] + 40
    assert ink[-1] - 40 <= centres[-1] <= ink[-1]


@needs_fonts
def test_every_character_of_clear_print_is_read_with_certainty(runtime: OcrRuntime) -> None:
    crop = printed_line("安徽省宿州市工农北路434号20幢")
    (line,) = runtime.recognise_positioned([crop])
    assert len(line.certainties) == len(line.reading[0])
    assert min(line.certainties) >= 0.9, line


@needs_fonts
def test_a_printed_space_shows_as_a_blank_between_the_places_of_its_neighbours(
    runtime: OcrRuntime,
) -> None:
    # The recogniser reads this clean line's spaces; taken out of its reading (as it drops
    # them in photos), the blanks measured between the places of the characters around
    # them are the spaces, and no other pair of Latin neighbours shows one as wide.
    crop = printed_line("版本2026 Beta发布，CPU 5874核")
    (line,) = runtime.recognise_positioned([crop])
    text, spans = line.reading[0], line.spans
    assert text == "版本2026 Beta发布，CPU 5874核"
    kept = [i for i, char in enumerate(text) if char != " "]
    squeezed = "".join(text[i] for i in kept)
    blanks = blanks_before(crop, squeezed, [spans[i] for i in kept])
    after_space = {kept.index(i + 1) for i, char in enumerate(text) if char == " "}
    assert {i for i, blank in enumerate(blanks) if blank >= SPACE_BLANK} == after_space
    # Measured only between two Latin letters or digits.
    assert all(blanks[i] == 0.0 for i, char in enumerate(squeezed) if not char.isascii())


def test_the_recogniser_on_one_thread_reads_every_line_as_on_two() -> None:
    # ocr/local.py runs the recogniser on one intra-op thread when it splits a photo's
    # lines over two threads of its own (OcrSettings.split_recognition): the CPU it saves
    # must not change a reading, a score, a doubt, a place or a certainty.
    photo = decode_image(CARD.read_bytes(), ImageLimits())
    one = OcrRuntime(736, intra_op_threads=2, rec_threads=1)
    two = OcrRuntime(736, intra_op_threads=2)
    assert one._rec.get_session_options().intra_op_num_threads == 1
    assert two._rec.get_session_options().intra_op_num_threads == 2
    small = downscale(photo, 736)
    quads = two.detect(small)
    crops = [crop_line(small, quad) for quad in quads]
    assert len(crops) >= 5
    lines = two.recognise_positioned(crops)
    assert sum(bool(line.reading[0]) for line in lines) >= 5
    assert one.recognise_positioned(crops) == lines


# Run in a fresh interpreter: ONNX Runtime sets a thread's denormal mode once per process,
# when the first session opens. Prints what a float32 denormal times two gives on the
# opening thread after the models opened, inside the detector's mode and after it.
DENORMALS = """
import json
import numpy as np
from ocr.runtime import FLOAT_ENVIRONMENT, OcrRuntime

tiny = np.float32(1e-39)
OcrRuntime(736, intra_op_threads=1)
after_open = float(tiny * np.float32(2))
with FLOAT_ENVIRONMENT.denormals_flushed():
    inside = float(tiny * np.float32(2))
after = float(tiny * np.float32(2))
print(json.dumps([FLOAT_ENVIRONMENT.available, after_open, inside, after]))
"""


@pytest.mark.skipif(
    sys.platform != "linux" or os.uname().machine != "x86_64", reason="x86-64 Linux only"
)
def test_denormals_read_as_zero_only_inside_the_detectors_run() -> None:
    # On Intel CPUs the detector's denormal activations made it three times slower; only
    # its run flushes them, and opening the models leaves the thread's arithmetic as it was.
    done = subprocess.run(
        [sys.executable, "-c", DENORMALS], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    available, after_open, inside, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert available
    assert after_open == after == pytest.approx(2e-39)
    assert inside == 0.0


def test_the_detector_flushing_denormals_finds_every_box_as_before(runtime: OcrRuntime) -> None:
    # The flush changed the detector's heat map by nothing on every photo of the sets it
    # was measured on (first detections, bit for bit): here every box of a photo, against
    # a session opened as before (no flush) and run outside the flushed mode.
    assert (
        runtime._det.get_session_options().get_session_config_entry("session.set_denormal_as_zero")
        == "1"
    )
    plain = open_session(bundled_model(DET_MODEL), 1)
    small = downscale(decode_image(CARD.read_bytes(), ImageLimits()), 736)
    prepared = runtime._det_prepare(small)
    assert prepared is not None
    (heatmap,) = plain.run(None, {plain.get_inputs()[0].name: prepared})
    before = runtime._det_boxes(heatmap, (small.shape[0], small.shape[1]))
    quads = runtime.detect(small)
    assert len(quads) >= 5
    assert len(quads) == len(before)
    assert all(np.array_equal(a, b) for a, b in zip(quads, before, strict=True))
