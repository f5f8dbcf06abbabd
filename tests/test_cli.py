"""The CLI's own promises: scan/eval output shapes on real photos, serve refusing a bad start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "cards"


def wxocr(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = wxocr(
        "serve",
        cwd=tmp_path,
        env={
            "WXOCR_DATABASE__URL": f"sqlite:///{tmp_path / 'fresh.db'}",
            "WXOCR_SERVER__PORT": "0",
        },
    )
    assert result.returncode == 2
    assert "wxocr db upgrade" in result.stderr


def test_a_database_error_names_its_cause(tmp_path: Path) -> None:
    """The driver's first line says why; the class name alone ("OperationalError") did not."""
    unopenable = tmp_path / "a-directory.db"
    unopenable.mkdir()
    result = wxocr(
        "db", "current", cwd=tmp_path, env={"WXOCR_DATABASE__URL": f"sqlite:///{unopenable}"}
    )
    assert result.returncode == 2
    assert "unable to open database file" in " ".join(result.stderr.split())


def test_scan_json_is_masked_unless_revealed(tmp_path: Path) -> None:
    image = FIXTURES / "006_idfront_scan.png"
    label = json.loads(image.with_suffix(".json").read_text("utf-8"))["expected"]
    masked = wxocr("scan", str(image), "--kind", "idcard", "--json", cwd=tmp_path)
    assert masked.returncode == 0, masked.stderr
    record = json.loads(masked.stdout)
    assert record["kind"] == "idcard"
    assert record["fields"]["id"] == label["id"][:3] + "*" * 11 + label["id"][-4:]
    assert label["name"] not in masked.stdout
    assert label["id"] not in masked.stdout
    revealed = wxocr("scan", str(image), "--kind", "idcard", "--json", "--reveal", cwd=tmp_path)
    assert json.loads(revealed.stdout)["fields"]["id"] == label["id"]


def test_scan_json_carries_the_field_warnings(tmp_path: Path) -> None:
    # The back's validity ended on 2025-03-11: expired on any day this test runs.
    result = wxocr("scan", str(FIXTURES / "022_idback_photo.jpg"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = json.loads(result.stdout)["warnings"]
    assert "expired" in warnings
    assert not [w for w in warnings if w.startswith("field_missing:")]


def test_scan_json_carries_the_image_warnings_and_a_quality_score(tmp_path: Path) -> None:
    blurred = Path(__file__).parent / "fixtures" / "image-conditions" / "141_idfront_blur.jpg"
    result = wxocr("scan", str(blurred), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert "blur" in record["warnings"]
    assert 0 <= record["quality"] < 32  # under BLUR_LIMIT's point of the scale


def test_scan_reports_a_bad_file_and_exits_non_zero(tmp_path: Path) -> None:
    bogus = tmp_path / "page.jpg"
    bogus.write_text("<html>not a photo</html>", "utf-8")
    result = wxocr("scan", str(bogus), "--json", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "not_image"


@pytest.mark.slow
def test_eval_json_follows_the_contract(tmp_path: Path) -> None:
    subset = tmp_path / "set"
    subset.mkdir()
    for name in ("002_bank_photo", "006_idfront_scan", "022_idback_photo", "038_nocard_blank"):
        for path in FIXTURES.glob(f"{name}.*"):
            (subset / path.name).write_bytes(path.read_bytes())
    # Warning labels on two of them: the back's validity ended on 2025-03-11.
    for name, codes in (("022_idback_photo", ["expired"]), ("002_bank_photo", [])):
        label_path = subset / f"{name}.json"
        label = json.loads(label_path.read_text("utf-8"))
        label_path.write_text(json.dumps({**label, "warnings": codes}), "utf-8")
    result = wxocr("eval", str(subset), "--json", "--auto-kind", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"samples", "fields", "silent", "latency_ms", "errors", "warnings"}
    expired = report["warnings"]["expired"]
    assert (expired["detected"], expired["total"], expired["clean"]) == (1, 1, 1)
    assert set(report["silent"]) == set(report["fields"])
    assert report["samples"] == 4
    assert report["fields"]["kind"]["total"] == 3
    assert report["fields"]["error"] == {"correct": 1, "total": 1}
    assert set(report["latency_ms"]) == {"p50", "p95"}
    correct = sum(f["correct"] for f in report["fields"].values())
    total = sum(f["total"] for f in report["fields"].values())
    assert correct / total >= 0.9
