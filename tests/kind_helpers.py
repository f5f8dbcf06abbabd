"""What the tests of the document kinds share: a kind's committed fixtures, and a WeChat
that must never be asked (for the kinds only the local engine reads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from bot.wxapi.client import RetryPolicy, WechatClient

FIXTURES = Path(__file__).parent / "fixtures"


def committed_samples(kind: str, count: int = 5) -> list[tuple[Path, dict[str, Any]]]:
    """(photo, its label's ``expected``) for each committed fixture of ``kind``."""
    samples = [
        (path.with_suffix(".jpg"), json.loads(path.read_text("utf-8"))["expected"])
        for path in sorted((FIXTURES / kind).glob("*.json"))
    ]
    assert len(samples) == count, f"the committed {kind} fixtures are missing"
    return samples


class NoToken:
    """WeChat is never reached, so no token is ever asked for."""

    def get_token(self) -> str:
        raise AssertionError("a token was asked for")

    def refresh_token(self, stale: str) -> str:
        raise AssertionError("a token refresh was asked for")


def wechat_never_asked() -> tuple[WechatClient, list[str]]:
    """A WeChat client whose every request is recorded (and fails): (client, paths asked)."""
    asked: list[str] = []

    def wechat(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(500)

    client = WechatClient(
        httpx.Client(transport=httpx.MockTransport(wechat)),
        NoToken(),
        api_base="https://wechat.test",
        retry=RetryPolicy(max_retries=0, backoff_s=0.001),
    )
    return client, asked
