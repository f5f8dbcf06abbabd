"""End to end for the driving licence (issue 15): ``wxocr serve`` with the ``wechat``
engine, whose cv/ocr/drivinglicense calls the sandbox answers over HTTP in WeChat's JSON
from the real local engine, on a committed generated photo; the chat reply, the usage
row's kind and ``wxocr usage`` grouped by kind."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ocr.mask import mask_address, mask_id_number, mask_name
from tests.helpers_e2e import WXOCR, BotServer, SandboxControl, send_photo

pytestmark = pytest.mark.slow

LICENCE = Path(__file__).parent / "fixtures" / "drivinglicense" / "004_licence_scan.jpg"


def test_licence_through_the_wechat_engine_and_the_sandboxs_drivinglicense_route(
    tmp_path: Path,
) -> None:
    # A generous timeout: the sandbox answers from the local engine on a busy machine.
    settings: dict[str, dict[str, Any]] = {
        "ocr": {"engine": "wechat"},
        "wechat": {"timeout_s": 120.0},
    }
    server = BotServer(tmp_path / "licence", settings).start()
    try:
        control = SandboxControl(server.config.api_base)
        user = server.user("o-e2e-licence")
        assert "之后按驾驶证识别" in (user.say("驾照").reply or "")
        expected = json.loads(LICENCE.with_suffix(".json").read_text(encoding="utf-8"))["expected"]
        reply = send_photo(user, LICENCE.read_bytes())
        assert reply.startswith("识别结果：驾驶证")
        assert f"证号：{mask_id_number(expected['id_num'])}" in reply
        assert f"姓名：{mask_name(expected['name'])}" in reply
        assert f"住址：{mask_address(expected['address'])}" in reply
        assert f"准驾车型：{expected['car_class']}" in reply
        assert f"有效期至：{expected['valid_to']}" in reply
        assert "号码校验通过" in reply
        for secret in (expected["id_num"], expected["name"], expected["address"]):
            assert secret not in reply
        assert control.requests("/cv/ocr/drivinglicense") == 1
        with sqlite3.connect(server.db_path) as db:
            rows = db.execute(
                "SELECT kind_asked, kind_detected, engine, outcome FROM usage"
                " WHERE openid = ? AND outcome != 'command'",
                (user.openid,),
            ).fetchall()
        assert rows == [("drivinglicense", "drivinglicense", "wechat", "ok")]
        report = subprocess.run(
            [WXOCR, "usage", "--since", "", "--kind", "drivinglicense", "-g", "kind", "--json"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "WXOCR_CONFIG": str(server.config_file)},
        )
        groups = json.loads(report.stdout)
        assert [(g["kind"], g["count"], g["ok"]) for g in groups] == [("drivinglicense", 1, 1)]
    finally:
        server.stop()
