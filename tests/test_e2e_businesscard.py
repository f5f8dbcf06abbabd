"""End to end for the business card (issue 15): ``wxocr serve`` with the ``chain`` engine
against the sandbox, on a committed generated photo. WeChat has no business card API, so
with 名片 chosen the chain reads it locally without asking WeChat; with 自动 it asks
WeChat's APIs first and, when they find none of their kinds, the local engine. The chat
reply shows every field unmasked; the usage rows and ``wxocr usage`` group by kind."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ocr.kinds import KINDS
from tests.helpers_e2e import WXOCR, BotServer, SandboxControl, send_photo

pytestmark = pytest.mark.slow

CARD = Path(__file__).parent / "fixtures" / "businesscard" / "002_bizcard_photo.jpg"
WECHAT_PATHS = [kind.wechat_path for kind in KINDS if kind.wechat_path]


def test_business_card_through_the_chain_engine_read_locally(tmp_path: Path) -> None:
    # A generous timeout and lease: the sandbox answers from the local engine, and on a
    # busy machine five reads can outlast the 30 s lease, after which WeChat's retry of
    # the push runs the photo again (each cv/ocr route asked twice: seen under load 20).
    settings: dict[str, dict[str, Any]] = {
        "ocr": {"engine": "chain"},
        "wechat": {"timeout_s": 120.0},
        "pipeline": {"lease_s": 600.0},
    }
    server = BotServer(tmp_path / "card", settings).start()
    try:
        control = SandboxControl(server.config.api_base)
        user = server.user("o-e2e-businesscard")
        expected = json.loads(CARD.with_suffix(".json").read_text(encoding="utf-8"))["expected"]
        labels = {"name": "姓名", "title": "职务", "company": "公司", "phone": "电话"}
        labels |= {"email": "邮箱", "address": "地址"}

        assert "之后按名片识别" in (user.say("名片").reply or "")
        reply = send_photo(user, CARD.read_bytes())
        assert reply.startswith("识别结果：名片")
        for name, label in labels.items():
            assert f"{label}：{expected[name]}" in reply
        assert "隐去" not in reply
        assert sum(control.requests(path) for path in WECHAT_PATHS) == 0

        assert "自动判断" in (user.say("自动").reply or "")
        reply = send_photo(user, CARD.read_bytes())
        assert reply.startswith("识别结果：名片")
        assert f"姓名：{expected['name']}" in reply
        assert [control.requests(path) for path in WECHAT_PATHS] == [1] * len(WECHAT_PATHS)

        with sqlite3.connect(server.db_path) as db:
            rows = db.execute(
                "SELECT kind_asked, kind_detected, engine, outcome FROM usage"
                " WHERE openid = ? AND outcome != 'command' ORDER BY id",
                (user.openid,),
            ).fetchall()
        # The chain names the engine that answered.
        assert rows == [
            ("businesscard", "businesscard", "local", "ok"),
            ("auto", "businesscard", "local", "ok"),
        ]
        report = subprocess.run(
            [WXOCR, "usage", "--since", "", "-g", "kind", "--json"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "WXOCR_CONFIG": str(server.config_file)},
        )
        groups = {g["kind"]: (g["count"], g["ok"]) for g in json.loads(report.stdout)}
        assert groups["businesscard"] == (2, 2)
    finally:
        server.stop()
