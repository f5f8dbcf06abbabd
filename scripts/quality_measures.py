"""Print the image-quality measures (ocr/quality.py) of every photo of a labelled set.

``.venv/bin/python scripts/quality_measures.py [--boxes] DIR [DIR...]``: one JSON line
per photo with its labelled warnings and the measures, to choose the thresholds on.
Nothing read from the card is printed, so it can run on real photos. ``--boxes`` (for
generated sets only) adds the corners of the text boxes, so that ``--again FILE`` can
measure the photos again with changed code without running the OCR.

A table goes to stderr at the end: per image warning, how many photos labelled with it
got it (detected/total) and how many not labelled with it got it anyway, on clean
photos and on photos of the other conditions (false alarms). A set without warning
labels counts every warning as a false alarm on a clean photo.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ocr.engine import AUTO, TextBox
from ocr.errors import OcrError
from ocr.evaluate import compare, load_samples
from ocr.field_warnings import missing_fields
from ocr.image import ImageLimits, decode_image
from ocr.local import LocalEngine
from ocr.quality import IMAGE_WARNINGS, Measures, decide, measure, read_with_doubt


def summary(records: list[dict[str, Any]]) -> str:
    """Per decided image warning: detected/total on the photos labelled with it, false
    alarms on clean photos (labelled with no warning, or unlabelled) and on photos of
    the other conditions."""
    counts = {code: [0] * 6 for code in IMAGE_WARNINGS}
    unread = 0
    for record in records:
        if set(record.get("measures") or ()) != set(Measures.__dataclass_fields__):
            unread += 1
            continue
        missing = ["?"] * int(record.get("missing", 0))
        # Whether a box near the sheens the clip test left out (all boxes when none)
        # was read with doubt (``read_with_doubt``); unknown: doubted.
        doubted = bool(record.get("doubted", True))
        warned = decide(Measures(**record["measures"]), missing, doubted).warnings
        labelled = record.get("labelled") or []
        for code, row in counts.items():
            if code in labelled:
                row[0] += code in warned
                row[1] += 1
            elif not labelled:
                row[2] += code in warned
                row[3] += 1
            else:
                row[4] += code in warned
                row[5] += 1
    lines = [f"{len(records)} photos, {unread} not measured (no card found)"]
    lines += [f"{'warning':18} {'detected':>10} {'false: clean':>13} {'false: others':>14}"]
    for code, (hit, total, false, clean, other, others) in counts.items():
        lines.append(f"{code:18} {hit:>4}/{total:<5} {false:>6}/{clean:<6} {other:>7}/{others:<6}")
    return "\n".join(lines)


def kept_boxes(record: dict[str, Any]) -> list[TextBox]:
    """The boxes a ``--boxes`` run kept: corners, and the text read with its certainties
    when kept (generated photos only)."""
    texts = record.get("texts") or [("", ())] * len(record["boxes"])
    return [
        TextBox(tuple(map(tuple, q)), text, 1.0, certainties=tuple(sure))
        for q, (text, sure) in zip(record["boxes"], texts, strict=True)
    ]


def again(path: Path) -> int:
    """Measure again from the boxes a ``--boxes`` run saved (in the photo's coordinates)."""
    records = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("boxes") is not None:
            image = decode_image(Path(record["image"]).read_bytes(), ImageLimits())
            boxes = kept_boxes(record)
            measures = measure(image, boxes)
            record["measures"] = measures.as_json() if measures else None
            if record.get("texts") is not None:
                record["doubted"] = read_with_doubt(boxes, measures)
        print(json.dumps(record), flush=True)
        records.append(record)
    print(summary(records), file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--again"]:
        return again(Path(argv[1]))
    with_boxes = argv[:1] == ["--boxes"]
    engine = LocalEngine(threads=1)
    records = []
    for directory in argv[with_boxes:]:
        for index, sample in enumerate(load_samples(Path(directory))):
            array = decode_image(sample.image.read_bytes(), engine.limits)
            record: dict[str, Any] = {
                "set": Path(directory).name,
                "sample": index,
                "labelled": list(sample.warnings) if sample.warnings is not None else None,
            }
            try:
                with engine._pool.lease() as reader:
                    result, page = engine._read_card(reader, array, AUTO)
            except OcrError as exc:
                record["error"] = exc.code
            else:
                # As LocalEngine.recognize does: on the photo as sent, whatever reading
                # (an enlarged crop, a turn) the card came from, so every photo's boxes
                # are kept, in the photo's coordinates.
                boxes = page.photo_boxes()
                measures = measure(array, boxes)
                record["missing"] = len(missing_fields(result))
                record["doubted"] = read_with_doubt(boxes, measures)
                record["measures"] = measures.as_json() if measures else None
                if with_boxes:
                    record["image"] = str(sample.image)
                    record["boxes"] = [b.points for b in boxes]
                    # Generated photos only: what was read, and which fields came out
                    # wrong, to weigh the reading as evidence and count lost fields.
                    record["texts"] = [(b.text, list(b.certainties)) for b in boxes]
                    record["wrong"] = sorted(compare(sample, result, None))
            print(json.dumps(record), flush=True)
            records.append(record)
    print(summary(records), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
