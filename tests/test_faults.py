"""Faults of the WeChat API and of our own parts, injected while a real server runs.

``wxocr serve`` runs as a subprocess with ``ocr.engine = "wechat"``: every photo goes
through media/get, WeChat's cv/ocr and (when late) message/custom/send of a sandbox in
this process, where the faults are injected through ``/_control/faults``. The sandbox's
OCR answers a fixed bank card (WeChat's part is faked, ours is not), so no test waits
for the local OCR. For each fault: the user gets the answer or a defined apology, the
usage and message rows say what happened, nothing is run twice and nothing is lost.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.chat import replies
from bot.config import Config
from bot.sandbox.emulator import SandboxApp, SandboxServer
from bot.tools.simulate import Simulator, image_fields, new_msg_id
from ocr.engine import AUTO, CardResult, Kind, Mode
from ocr.errors import EngineError
from ocr.mask import mask_card_number
from tests.helpers_e2e import BotServer, SandboxControl, answer, card, smaller

pytestmark = pytest.mark.slow

CARD_NUMBER = "6222021234567890128"  # Luhn-valid, synthetic
ENGINE_APOLOGY = replies.engine_error()
DOWNLOAD_APOLOGY = replies.download_failed()
MEDIA_GET = "/cgi-bin/media/get"
OCR_BANKCARD = "/cv/ocr/bankcard"
CUSTOM_SEND = "/cgi-bin/message/custom/send"


class WechatOcrDouble:
    """What the sandbox's cv/ocr answers: always the same bank card, or ``failure``."""

    name = "wechat-double"

    def __init__(self) -> None:
        self.failure: Exception | None = None

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        if self.failure is not None:
            raise self.failure
        return CardResult(kind="bankcard", fields={"number": CARD_NUMBER}, engine="wechat")


class Faults:
    """The sandbox (in this process) and the bot server using it."""

    def __init__(self, sandbox: SandboxServer, ocr: WechatOcrDouble, bot: BotServer) -> None:
        self.sandbox = sandbox
        self.ocr = ocr
        self.bot = bot
        self.control = SandboxControl(sandbox.api_base)
        self.photo = smaller(card("*_bank_scan*")[0], 320)

    def user(self, openid: str) -> Simulator:
        user = self.bot.user(openid)
        assert "银行卡" in (user.say("银行卡").reply or "")
        return user

    def rows(self, openid: str) -> list[tuple[Any, ...]]:
        """(outcome, error_code, errcode) of each photo's usage row."""
        return self._query(
            "SELECT outcome, error_code, errcode FROM usage"
            " WHERE openid = ? AND outcome != 'command' ORDER BY id",
            openid,
        )

    def messages(self, openid: str) -> list[tuple[Any, ...]]:
        """(state, delivery, last_errcode) of each photo's message row."""
        return self._query(
            "SELECT state, delivery, last_errcode FROM message"
            " WHERE openid = ? AND outcome IS NOT 'command' ORDER BY id",
            openid,
        )

    def wait_messages(
        self, openid: str, expected: list[tuple[Any, ...]], timeout_s: float = 20.0
    ) -> list[tuple[Any, ...]]:
        """The message rows once they equal ``expected`` (or as they are at the timeout).

        WeChat has a customer-service message a moment before the sender records its
        delivery, so a test that saw the message waits for the record too.
        """
        deadline = time.monotonic() + timeout_s
        while (rows := self.messages(openid)) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        return rows

    def _query(self, sql: str, openid: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.bot.db_path) as db:
            return [tuple(row) for row in db.execute(sql, (openid,)).fetchall()]

    def calls(self, path: str) -> int:
        return self.control.requests(path)


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    ocr = WechatOcrDouble()
    sandbox = SandboxServer(SandboxApp(Config().sandbox, engine=ocr)).start()
    bot = BotServer(
        tmp_path_factory.mktemp("faults"),
        {
            "wechat": {"api_base": sandbox.api_base, "timeout_s": 2.0, "max_retries": 2},
            "ocr": {"engine": "wechat"},
            # Short, so that a slow call makes the result late: a customer-service message.
            "pipeline": {"passive_budget_s": 1.0},
            "log": {"level": "INFO"},
        },
    ).start()
    yield Faults(sandbox, ocr, bot)
    bot.stop()
    sandbox.stop()


@pytest.fixture
def env(faults: Faults) -> Iterator[Faults]:
    yield faults
    faults.control.clear_faults()
    faults.ocr.failure = None
    httpx.post(f"{faults.sandbox.api_base}/_control/quota", json={"used_today": 0})


def photo_answer(env: Faults, user: Simulator, *, pic_url: bool = True) -> str:
    """Send the photo once (with WeChat's retries) and return what the user saw."""
    before = len(user.custom_messages())
    media_id, url = user.upload(env.photo)
    fields = image_fields(user.openid, media_id, url if pic_url else "", new_msg_id())
    return answer(user, user.pusher.push_with_retries(fields), before)


def assert_answered_once(env: Faults, user: Simulator, seen: str) -> None:
    """Nothing more arrives later: one answer per photo."""
    time.sleep(0.5)
    custom = user.custom_messages()
    assert custom.count(seen) <= 1
    assert len([row for row in env.messages(user.openid) if row[0] == "done"]) <= 1


CARD_REPLY = mask_card_number(CARD_NUMBER)


# ---------------------------------------------------------------- transient faults


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param({"latency_ms": 2500, "remaining": 1}, id="timeout"),
        pytest.param({"http_status": 502, "remaining": 2}, id="5xx"),
        pytest.param({"errcode": -1, "remaining": 2}, id="errcode-1-burst"),
        pytest.param({"drop": True, "remaining": 1}, id="connection-drop"),
    ],
)
@pytest.mark.parametrize("path", [MEDIA_GET, OCR_BANKCARD])
def test_transient_wechat_failures_are_retried_and_the_photo_read_once(
    env: Faults, rule: dict[str, Any], path: str
) -> None:
    user = env.user(f"o-fault-{path.rsplit('/', 1)[-1]}-{rule}"[:60])
    calls = env.calls(path)
    env.control.fault(path_prefix=path, **rule)
    seen = photo_answer(env, user, pic_url=False)
    assert CARD_REPLY in seen
    failures = int(rule.get("remaining", 1))
    assert env.calls(path) == calls + failures + 1  # the failures, then one success
    assert env.rows(user.openid) == [("ok", None, None)]
    assert_answered_once(env, user, seen)


def test_token_revoked_mid_flight_is_refreshed_once(env: Faults) -> None:
    user = env.user("o-fault-40001")
    media_id, url = user.upload(env.photo)
    tokens = env.sandbox.app.token_requests
    httpx.post(f"{env.sandbox.api_base}/_control/tokens/revoke").raise_for_status()
    outcome = user.pusher.push_with_retries(image_fields(user.openid, media_id, url, new_msg_id()))
    seen = answer(user, outcome, 0)
    assert CARD_REPLY in seen
    assert env.sandbox.app.token_requests == tokens + 1
    assert env.rows(user.openid) == [("ok", None, None)]
    assert_answered_once(env, user, seen)


# ---------------------------------------------------------------- lasting faults


def test_download_failing_every_time_gets_an_apology(env: Faults) -> None:
    user = env.user("o-fault-download")
    ocr_calls = env.calls(OCR_BANKCARD)
    env.control.fault(path_prefix=MEDIA_GET, drop=True)
    assert photo_answer(env, user, pic_url=False) == DOWNLOAD_APOLOGY
    assert env.rows(user.openid) == [("error", "download_failed", -2)]
    assert env.calls(OCR_BANKCARD) == ocr_calls
    assert_answered_once(env, user, DOWNLOAD_APOLOGY)


def test_media_get_down_falls_back_to_the_picurl(env: Faults) -> None:
    user = env.user("o-fault-picurl")
    env.control.fault(path_prefix=MEDIA_GET, http_status=503)
    seen = photo_answer(env, user)
    assert CARD_REPLY in seen
    assert env.rows(user.openid) == [("ok", None, None)]


def test_ocr_quota_reached_gets_an_apology(env: Faults) -> None:
    user = env.user("o-fault-45009")
    quota = env.sandbox.app.ocr_daily_quota
    httpx.post(
        f"{env.sandbox.api_base}/_control/quota", json={"used_today": quota}
    ).raise_for_status()
    calls = env.calls(OCR_BANKCARD)
    assert photo_answer(env, user) == ENGINE_APOLOGY
    assert env.rows(user.openid) == [("error", "quota", 45009)]
    assert env.calls(OCR_BANKCARD) == calls + 1  # a quota error is not retried


@pytest.mark.parametrize(
    ("failure", "errcode"),
    [(RuntimeError("engine crashed"), -2), (EngineError("engine failed"), -1)],
    ids=["crash-http-500", "errcode-1"],
)
def test_ocr_engine_exception_gets_an_apology(
    env: Faults, failure: Exception, errcode: int
) -> None:
    user = env.user(f"o-fault-engine-{errcode}")
    env.ocr.failure = failure
    calls = env.calls(OCR_BANKCARD)
    assert photo_answer(env, user) == ENGINE_APOLOGY
    assert env.rows(user.openid) == [("error", "engine_unavailable", errcode)]
    assert env.calls(OCR_BANKCARD) == calls + 3  # WeChat's transient errors: 2 retries
    assert_answered_once(env, user, ENGINE_APOLOGY)
    assert "Traceback" not in env.bot.log()


def late_photo(env: Faults, user: Simulator) -> None:
    """A photo whose result misses the passive answer (media/get is slow)."""
    env.control.fault(path_prefix=MEDIA_GET, latency_ms=1500, remaining=1)
    media_id, url = user.upload(env.photo)
    outcome = user.pusher.push_with_retries(image_fields(user.openid, media_id, url, new_msg_id()))
    assert (outcome.status, outcome.reply) == (200, None)


def test_reply_window_closed_is_not_retried_and_recorded(env: Faults) -> None:
    user = env.user("o-fault-45015")
    sends = env.calls(CUSTOM_SEND)
    env.control.fault(path_prefix=CUSTOM_SEND, errcode=45015)
    late_photo(env, user)
    # WeChat will not take the message: given up after one try, and said so.
    expected = [("failed", None, 45015)]
    assert env.wait_messages(user.openid, expected) == expected
    assert env.calls(CUSTOM_SEND) == sends + 1
    assert env.rows(user.openid) == [("ok", None, None)]
    assert user.custom_messages() == []
    assert "errcode=45015" in env.bot.log()


def test_customer_service_send_failing_for_a_while_is_retried(env: Faults) -> None:
    user = env.user("o-fault-send-5xx")
    env.control.fault(path_prefix=CUSTOM_SEND, http_status=500, remaining=3)
    late_photo(env, user)
    env.control.fault(path_prefix=CUSTOM_SEND, errcode=-1, remaining=2)
    later = user.wait_for_custom_messages(0)
    assert len(later) == 1
    assert CARD_REPLY in later[0]
    # Sent by the second attempt; the first one's failure (no answer) stays on record.
    expected = [("done", "custom", -2)]
    assert env.wait_messages(user.openid, expected) == expected
    assert env.rows(user.openid) == [("ok", None, None)]
    assert_answered_once(env, user, later[0])


# ---------------------------------------------------------------- the database


def test_database_write_lock_held_by_another_process_delays_but_loses_nothing(
    env: Faults,
) -> None:
    user = env.user("o-fault-db-locked")
    held = threading.Event()
    release = threading.Event()

    def hold_write_lock() -> None:
        db = sqlite3.connect(env.bot.db_path, timeout=10)
        try:
            db.execute("BEGIN IMMEDIATE")
            held.set()
            release.wait(10)
            db.rollback()
        finally:
            db.close()

    holder = threading.Thread(target=hold_write_lock)
    holder.start()
    assert held.wait(10)
    timer = threading.Timer(2.0, release.set)
    timer.start()
    said: list[str | None] = []
    command = threading.Thread(target=lambda: said.append(user.say("帮助").reply))
    try:
        # A command writes a usage row; a photo claims its message: both wait for the lock.
        command.start()
        seen = photo_answer(env, user)
        command.join(10)
    finally:
        release.set()
        holder.join(10)
    assert CARD_REPLY in seen
    assert "当前：银行卡" in (said[0] or "")
    assert env.rows(user.openid) == [("ok", None, None)]
    assert_answered_once(env, user, seen)


# ---------------------------------------------------------------- a crash


def test_killed_while_delivering_then_restarted_delivers_exactly_once(tmp_path: Path) -> None:
    ocr = WechatOcrDouble()
    sandbox = SandboxServer(SandboxApp(Config().sandbox, engine=ocr)).start()
    bot = BotServer(
        tmp_path / "crash",
        {
            "wechat": {"api_base": sandbox.api_base, "timeout_s": 5.0},
            "ocr": {"engine": "wechat"},
            "pipeline": {"lease_s": 1.0, "passive_budget_s": 1.0},
        },
    )
    try:
        bot.start()
        env = Faults(sandbox, ocr, bot)
        user = env.user("o-fault-crash")
        # The result misses the passive answer, then its send hangs: the process dies
        # after "claimed" and "done", before "delivered".
        env.control.fault(path_prefix=MEDIA_GET, latency_ms=1500, remaining=1)
        # Dropped, not answered late: WeChat never got the message the dead process sent.
        env.control.fault(path_prefix=CUSTOM_SEND, latency_ms=3000, drop=True, remaining=1)
        media_id, url = user.upload(env.photo)
        outcome = user.pusher.push_with_retries(
            image_fields(user.openid, media_id, url, new_msg_id())
        )
        assert (outcome.status, outcome.reply) == (200, None)
        deadline = time.monotonic() + 300
        while env.calls(CUSTOM_SEND) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert env.messages(user.openid) == [("done", None, None)]
        bot.kill()
        ocr_calls = env.calls(OCR_BANKCARD)
        bot.start()
        later = user.wait_for_custom_messages(0)
        assert len(later) == 1
        assert CARD_REPLY in later[0]
        time.sleep(1.5)
        assert len(user.custom_messages()) == 1
        assert env.calls(OCR_BANKCARD) == ocr_calls  # the stored result, not a second run
        assert env.rows(user.openid) == [("ok", None, None)]
        expected = [("done", "custom", None)]
        assert env.wait_messages(user.openid, expected) == expected
    finally:
        bot.stop()
        sandbox.stop()
