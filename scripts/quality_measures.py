"""Print the image-quality measures (ocr/quality.py) of every photo of a labelled set.

``.venv/bin/python scripts/quality_measures.py [--boxes] DIR [DIR...]``: one JSON line
per photo with its labelled warnings and the measures, to choose the thresholds on.
Nothing read from the card is printed, so it can run on real photos. ``--boxes`` (for
generated sets only) adds the corners of the text boxes, so that ``--again FILE`` can
measure the photos again with changed code without running the OCR.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ocr.engine import Kind, TextBox
from ocr.errors import OcrError
from ocr.evaluate import load_samples
from ocr.field_warnings import missing_fields
from ocr.image import ImageLimits, decode_image
from ocr.local import LocalEngine
from ocr.quality import measure


def again(path: Path) -> int:
    """Measure again from the boxes a ``--boxes`` run saved (photos read as they are)."""
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("boxes") is not None:
            image = decode_image(Path(record["image"]).read_bytes(), ImageLimits())
            boxes = [TextBox(tuple(map(tuple, q)), "", 1.0) for q in record["boxes"]]
            measures = measure(image, boxes)
            record["measures"] = measures.as_json() if measures else None
        print(json.dumps(record), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--again"]:
        return again(Path(argv[1]))
    with_boxes = argv[:1] == ["--boxes"]
    engine = LocalEngine(threads=1)
    for directory in argv[with_boxes:]:
        for index, sample in enumerate(load_samples(Path(directory))):
            array = decode_image(sample.image.read_bytes(), engine.limits)
            record: dict[str, object] = {
                "set": Path(directory).name,
                "sample": index,
                "labelled": list(sample.warnings) if sample.warnings is not None else None,
            }
            try:
                with engine._pool.lease() as reader:
                    result, page = engine._read_card(reader, array, Kind.AUTO)
            except OcrError as exc:
                record["error"] = exc.code
            else:
                measures = measure(page.image, page.boxes)
                record["missing"] = len(missing_fields(result))
                record["measures"] = measures.as_json() if measures else None
                if with_boxes:
                    record["image"] = str(sample.image)
                    same = page.image.shape == array.shape
                    record["boxes"] = [b.points for b in page.boxes] if same else None
            print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
