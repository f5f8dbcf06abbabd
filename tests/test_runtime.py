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

from ocr.local import clean_reading
from ocr.runtime import CLS_MODEL, DET_MODEL, REC_MODEL, CTCLabelDecode, bundled_model

CARD = Path(__file__).parent / "fixtures" / "cards" / "002_bank_photo.jpg"

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


def test_cleaning_a_reading_keeps_each_doubt_beside_its_character() -> None:
    assert clean_reading(" ６２:", ("a", "", "7", "8")) == ("62:", ("", "7", "8"))
    # A character NFKC turns into several ('㎏' -> 'kg') loses the alignment: no doubts.
    assert clean_reading("5㎏", ("", "x")) == ("5kg", ())
