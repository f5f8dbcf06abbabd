"""The photo pipeline against the real sandbox, database and OCR.

Nothing of ours is faked: the pipeline runs the ``wechat`` engine, which calls the
sandbox's cv/ocr over HTTP, and the sandbox answers with the real local engine reading a
real ID card photo. The WeChat API (the sandbox on loopback) is the one stand-in; a test
keeps a run in flight with the sandbox's hold, and makes WeChat fail with its faults.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from sqlalchemy import select

from bot.chat.pipeline import PhotoRequest, Pipeline, WechatMedia
from bot.config import Config
from bot.sandbox.emulator import FaultRule, SandboxServer
from bot.serving.engines import build_engine
from bot.store.db import SessionFactory
from bot.store.models import Message, MessageState, Usage, claim_message, get_message, utcnow
from bot.wxapi.client import WechatClient
from ocr.engine import AUTO, Engine
from ocr.engines import create_engine
from ocr.mask import mask_id_number
from tests.bot_on_loopback import wait_until
from tests.helpers_e2e import card

pytestmark = pytest.mark.db

PHOTO, PHOTO_LABEL = card("021_idfront_photo*")  # a small photo the local engine reads fast
ID_NUMBER: str = PHOTO_LABEL["expected"]["id"]
MASKED_ID = mask_id_number(ID_NUMBER)
USER = "o-pipeline-user"
CUSTOM_SEND = "/cgi-bin/message/custom/send"
OCR_PATHS = "/cv/ocr/"
# The passive deadline of a result that is meant to be in time: generous, because what is
# tested is which way the result goes, not how fast the real OCR is on a busy machine (20 s
# was too short at a load average of 30: the real OCR of the sandbox took longer).
IN_TIME_S = 60.0


@pytest.fixture(scope="module")
def wechat_ocr() -> Engine:
    """What the sandbox's cv/ocr answers with: the local engine, loaded (and warmed) once."""
    engine = create_engine("local", threads=2)
    engine.recognize(PHOTO, "idcard")
    return engine


def make_config(
    sandbox: SandboxServer, database_url: str, threads: int = 8, **pipeline: float
) -> Config:
    return Config(
        server={"threads": threads},
        # WeChat's OCR here is the local engine inside the sandbox: a generous timeout, or
        # a loaded machine turns a slow read into an engine error.
        wechat={"api_base": sandbox.api_base, "timeout_s": 120.0, "max_retries": 0},
        database={"url": database_url},
        sandbox=sandbox.app.settings,
        pipeline={"passive_budget_s": 4.0, "daily_limit": 0, "lease_s": 30.0, **pipeline},
        ocr={"engine": "wechat", "threads": 2},
    )


class Harness:
    def __init__(
        self,
        config: Config,
        sessions: SessionFactory,
        sandbox: SandboxServer,
        client: WechatClient,
        http: httpx.Client,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.sandbox = sandbox
        self.media = WechatMedia.from_config(config, client, http)
        self.client = client
        self.pipelines: list[Pipeline] = []
        self.pipeline = self.new_pipeline()
        self._msg_ids = iter(range(1, 10_000))

    def new_pipeline(self) -> Pipeline:
        """Another worker (or this one after a restart) on the same database."""

        def factory() -> Engine:
            return build_engine(self.config, client=self.client)

        pipeline = Pipeline(self.config, self.sessions, self.media, self.client, factory)
        self.pipelines.append(pipeline)
        return pipeline

    def request(self, data: bytes = PHOTO, *, openid: str = USER, key: str = "") -> PhotoRequest:
        media_id = self.sandbox.app.upload(data)
        return PhotoRequest(
            key=key or f"msg:{next(self._msg_ids)}",
            openid=openid,
            media_id=media_id,
            pic_url=f"{self.sandbox.api_base}/mmbiz/{media_id}",
            kind=AUTO,
        )

    def hold_ocr(self) -> None:
        """WeChat's OCR keeps every call waiting (the run stays in flight) until released."""
        self.sandbox.app.hold(OCR_PATHS)

    def release_ocr(self) -> None:
        self.sandbox.app.release()

    def wait_ocr_in_flight(self, count: int) -> None:
        """Wait until ``count`` runs are in WeChat's OCR, held there."""
        assert wait_until(lambda: self.sandbox.app.held == count, 300), self.sandbox.app.held

    def ocr_calls(self) -> dict[str, int]:
        """cv/ocr calls WeChat got, by path."""
        requests = self.sandbox.app.requests
        return {path: n for path, n in requests.items() if path.startswith(OCR_PATHS)}

    def ocr_call_count(self) -> int:
        return sum(self.ocr_calls().values())

    def sent(self, openid: str = USER) -> list[str]:
        return [m.content for m in self.sandbox.app.messages_for(openid)]

    def wait_sent(self, count: int, openid: str = USER, timeout: float = 300.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while len(self.sent(openid)) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.sent(openid)

    def message(self, key: str) -> Message:
        with self.sessions() as session:
            message = get_message(session, key)
        assert message is not None
        return message

    def wait_message(
        self, key: str, done: Callable[[Message], bool], timeout: float = 300.0
    ) -> Message:
        """The message once ``done`` holds for it (or as it is when ``timeout`` runs out).

        A hang guard, as ``wait_sent``'s, not a speed check: every caller waits for what
        must happen and returns as soon as it has. 10 s ran out at a load of 20-35 on the
        PostgreSQL leg (a closed reply window's message still 'running')."""
        deadline = soon(timeout)
        message = self.message(key)
        while not done(message) and time.monotonic() < deadline:
            time.sleep(0.05)
            message = self.message(key)
        return message

    def running_photo(self) -> PhotoRequest:
        """A photo whose run is held (until ``release_ocr``) past its passive answer."""
        self.hold_ocr()
        request = self.request()
        assert self.pipeline.handle_photo(request, soon(0.2)) is None
        self.wait_ocr_in_flight(1)
        return request

    def late_photo(self) -> PhotoRequest:
        """A photo whose run outlasts its passive answer: the result is due later."""
        request = self.running_photo()
        self.release_ocr()
        return request

    def late_photo_whose_first_delivery_failed(self) -> PhotoRequest:
        """A late photo; its first customer-service send got errcode -1 (so do the next two)."""
        self.sandbox.app.add_fault(FaultRule(path_prefix=CUSTOM_SEND, errcode=-1, remaining=3))
        request = self.late_photo()
        # The attempt is counted when the send starts, its failure recorded after: wait for
        # the record (a read between the two saw no errcode yet).
        self.wait_message(request.key, lambda message: message.last_errcode is not None)
        return request

    def wait_backoff(self, key: str) -> None:
        """Wait until the message's next delivery attempt is due (its backoff has passed)."""
        due = self.message(key).next_attempt_at
        assert due is not None
        assert wait_until(lambda: utcnow() >= due, 30)

    def usage(self) -> list[Usage]:
        with self.sessions() as session:
            return list(session.scalars(select(Usage).order_by(Usage.id)))

    def close(self) -> None:
        self.release_ocr()
        for pipeline in self.pipelines:
            pipeline.close()


MakeHarness = Callable[..., Harness]


@pytest.fixture
def make_harness(
    sandbox: SandboxServer,
    database_url: str,
    sessions: SessionFactory,
    wechat_client: WechatClient,
    http: httpx.Client,
    wechat_ocr: Engine,
) -> Iterator[MakeHarness]:
    sandbox.app.engine = wechat_ocr
    made: list[Harness] = []

    def make(threads: int = 8, **pipeline: float) -> Harness:
        config = make_config(sandbox, database_url, threads, **pipeline)
        made.append(Harness(config, sessions, sandbox, wechat_client, http))
        return made[-1]

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def harness(make_harness: MakeHarness) -> Harness:
    return make_harness()


def soon(seconds: float) -> float:
    return time.monotonic() + seconds


# ---------------------------------------------------------------- the passive path


def test_fast_result_is_the_passive_reply(harness: Harness) -> None:
    request = harness.request()
    reply = harness.pipeline.handle_photo(request, soon(IN_TIME_S))
    assert reply is not None
    assert MASKED_ID in reply
    assert "号码校验通过" in reply
    assert ID_NUMBER not in reply
    # Asked for any card (AUTO): WeChat's ID card OCR found one, so no bank card call.
    assert harness.ocr_calls() == {"/cv/ocr/idcard": 1}
    message = harness.message(request.key)
    assert (message.state, message.delivery) == (MessageState.DONE, "passive")
    assert ID_NUMBER not in (message.reply_text or "")
    (usage,) = harness.usage()
    assert (usage.outcome, usage.kind_detected, usage.engine) == ("ok", "idcard", "wechat")
    assert usage.image_bytes == len(PHOTO)
    assert usage.latency_ms is not None
    assert harness.sent() == []


def test_retry_after_a_passive_answer_gets_the_same_answer(harness: Harness) -> None:
    request = harness.request()
    first = harness.pipeline.handle_photo(request, soon(IN_TIME_S))
    # WeChat retries only when our answer did not reach it: answer again, run nothing.
    again = harness.pipeline.handle_photo(request, soon(IN_TIME_S))
    assert first is not None
    assert again == first
    assert harness.ocr_call_count() == 1


def test_simultaneous_copies_of_one_message_run_once(harness: Harness) -> None:
    request = harness.request()
    harness.hold_ocr()
    replies: list[str | None] = []

    def post() -> None:
        replies.append(harness.pipeline.handle_photo(request, soon(IN_TIME_S)))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    harness.wait_ocr_in_flight(1)
    harness.release_ocr()
    for thread in threads:
        thread.join(IN_TIME_S + 10)
    assert harness.ocr_call_count() == 1
    assert len(replies) == 6
    assert all(reply is not None and MASKED_ID in reply for reply in replies)
    assert len(harness.usage()) == 1
    assert harness.sent() == []


# ---------------------------------------------------------------- the later path


def test_slow_result_goes_out_as_a_customer_service_message(harness: Harness) -> None:
    request = harness.late_photo()
    (sent,) = harness.wait_sent(1)
    assert MASKED_ID in sent
    # WeChat has the message before the pipeline records that it went out: wait for the
    # record (a busy machine once showed the row still undelivered here).
    message = harness.wait_message(request.key, lambda message: message.delivery is not None)
    assert (message.delivery, message.reply_text) == ("custom", None)
    assert message.delivered_at is not None


def test_retry_while_running_waits_and_never_runs_twice(harness: Harness) -> None:
    request = harness.running_photo()
    threading.Timer(0.3, harness.release_ocr).start()
    retry = harness.pipeline.handle_photo(request, soon(IN_TIME_S))
    assert retry is not None
    assert MASKED_ID in retry
    assert harness.ocr_call_count() == 1
    time.sleep(0.3)
    assert harness.sent() == []  # answered passively: no second copy


def test_retry_in_another_worker_waits_for_the_first(harness: Harness) -> None:
    request = harness.running_photo()
    other = harness.new_pipeline()
    threading.Timer(0.3, harness.release_ocr).start()
    retry = other.handle_photo(request, soon(IN_TIME_S))
    assert retry is not None
    assert harness.ocr_call_count() == 1
    time.sleep(0.3)
    assert harness.sent() == []


def test_failed_delivery_is_retried_with_backoff(harness: Harness) -> None:
    request = harness.late_photo_whose_first_delivery_failed()
    failed = harness.message(request.key)
    assert (failed.delivered_at, failed.last_errcode) == (None, -1)
    assert failed.reply_text is not None  # kept (masked) until delivered
    assert failed.next_attempt_at is not None
    resumed_at = utcnow()
    harness.pipeline.resume()  # too early: the backoff has not passed
    time.sleep(0.3)
    if resumed_at < failed.next_attempt_at:  # a stalled machine may have let it pass
        assert harness.sent() == []
    harness.wait_backoff(request.key)
    harness.pipeline.resume()
    (sent,) = harness.wait_sent(1)
    assert MASKED_ID in sent
    delivered = harness.wait_message(request.key, lambda message: message.delivered_at is not None)
    assert delivered.delivery_attempts == 2


def test_closed_reply_window_gives_up_and_forgets_the_reply(harness: Harness) -> None:
    harness.sandbox.app.add_fault(FaultRule(path_prefix=CUSTOM_SEND, errcode=45015))
    request = harness.late_photo()
    failed = harness.wait_message(request.key, lambda message: message.state == MessageState.FAILED)
    assert (failed.state, failed.reply_text, failed.last_errcode) == ("failed", None, 45015)


def test_pending_result_survives_a_restart(harness: Harness) -> None:
    request = harness.late_photo_whose_first_delivery_failed()
    harness.pipeline.close()  # the process stops; the result waits in the database
    assert harness.sent() == []
    harness.wait_backoff(request.key)
    restarted = harness.new_pipeline()
    restarted.resume()
    (sent,) = harness.wait_sent(1)
    assert MASKED_ID in sent
    assert harness.ocr_call_count() == 1


def test_photo_of_a_dead_worker_is_run_again(make_harness: MakeHarness) -> None:
    harness = make_harness(lease_s=1.0)
    request = harness.request()
    with harness.sessions.begin() as session:
        # A worker claimed the photo, then died: its lease runs out unrenewed.
        claim = claim_message(
            session, request.key, USER, media_id=request.media_id, worker="dead", lease_s=0.5
        )
        assert claim.claimed
    time.sleep(0.6)
    harness.pipeline.resume()
    (sent,) = harness.wait_sent(1)
    assert MASKED_ID in sent
    assert harness.ocr_call_count() == 1
    assert harness.message(request.key).worker == harness.pipeline.worker_id


def test_a_long_run_keeps_its_claim(make_harness: MakeHarness) -> None:
    # A 3 s lease renewed every 1 s: 2 s of slack for a loaded machine (a 1 s lease
    # renewed every 0.3 s lapsed once at load 20 and the other worker took the photo).
    harness = make_harness(lease_s=3.0)
    harness.hold_ocr()
    request = harness.request()
    assert harness.pipeline.handle_photo(request, soon(0.1)) is None
    other = harness.new_pipeline()
    for _ in range(6):  # 6 s: longer than the lease, renewed by the owner's job
        harness.pipeline.resume()
        other.resume()
        time.sleep(1.0)
    assert harness.sandbox.app.held == 1  # still running, for longer than the lease
    harness.release_ocr()
    assert len(harness.wait_sent(1)) == 1
    assert harness.ocr_call_count() == 1


def test_waiting_requests_leave_server_threads_free(make_harness: MakeHarness) -> None:
    harness = make_harness(threads=3)  # one thread may wait, two stay free
    harness.hold_ocr()
    first: list[str | None] = []
    request = harness.request()
    waiting = threading.Thread(
        target=lambda: first.append(harness.pipeline.handle_photo(request, soon(IN_TIME_S)))
    )
    waiting.start()
    # The first request holds the one waiting slot once its run is in OCR (a fixed sleep
    # here was too short on a loaded machine).
    harness.wait_ocr_in_flight(1)
    # No thread left to wait with: answer "success" now, deliver later.
    assert harness.pipeline.handle_photo(harness.request(), soon(IN_TIME_S)) is None
    assert waiting.is_alive()
    harness.wait_ocr_in_flight(2)
    harness.release_ocr()
    waiting.join(300)
    assert first[0] is not None
    assert MASKED_ID in first[0]
    assert len(harness.wait_sent(1)) == 1
    assert harness.ocr_call_count() == 2


# ---------------------------------------------------------------- failures and limits


# Its usage row is written as the bad photos' below (PhotoResult, _store_result), on both
# legs; the cost is the sandbox's two real readings: run on SQLite only.
@pytest.mark.db_agnostic
def test_photo_without_a_card(harness: Harness) -> None:
    # WeChat finds none of the kinds it reads (AUTO asks for each); the sandbox's own
    # reader refuses the ID card photo as a driving licence, and its printed text (cv/ocr/comm
    # reads any words) is no page.
    harness.sandbox.app.add_fault(FaultRule(path_prefix=OCR_PATHS, errcode=101001, remaining=2))
    reply = harness.pipeline.handle_photo(harness.request(), soon(IN_TIME_S))
    if reply is None:  # four reads outlasted the wait (a loaded machine): sent later
        (reply,) = harness.wait_sent(1)
    assert reply == "未识别到证件，请将证件平放、光线充足后重拍"
    (usage,) = harness.usage()
    assert (usage.outcome, usage.error_code) == ("no_card", "no_card")
    assert harness.ocr_calls() == {
        "/cv/ocr/idcard": 1,
        "/cv/ocr/bankcard": 1,
        "/cv/ocr/drivinglicense": 1,
        "/cv/ocr/comm": 1,
    }


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"GIF89a" + b"\0" * 64, "not_image"), (PHOTO[: len(PHOTO) // 2], "corrupt_image")],
)
def test_bad_photos_never_reach_the_engine(harness: Harness, data: bytes, code: str) -> None:
    reply = harness.pipeline.handle_photo(harness.request(data), soon(IN_TIME_S))
    assert reply is not None
    assert "照片" in reply or "图片" in reply
    assert harness.ocr_call_count() == 0
    (usage,) = harness.usage()
    assert (usage.outcome, usage.error_code, usage.image_bytes) == ("bad_image", code, len(data))


def test_daily_limit(make_harness: MakeHarness) -> None:
    harness = make_harness(daily_limit=2)
    for _ in range(2):
        assert harness.pipeline.handle_photo(harness.request(), soon(IN_TIME_S)) is not None
    limited = harness.pipeline.handle_photo(harness.request(), soon(IN_TIME_S))
    assert limited == "今天的识别次数已用完（每天 2 次），请明天再来"
    assert harness.ocr_call_count() == 2
    other_user = harness.pipeline.handle_photo(harness.request(openid="o-other"), soon(IN_TIME_S))
    assert other_user is not None
    assert MASKED_ID in other_user
    assert [u.outcome for u in harness.usage()] == ["ok", "ok", "limited", "ok"]


def test_media_get_failure_falls_back_to_the_picurl(harness: Harness) -> None:
    request = harness.request()
    harness.sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/media/get", errcode=40007))
    reply = harness.pipeline.handle_photo(request, soon(IN_TIME_S))
    assert reply is not None
    assert MASKED_ID in reply
    assert harness.sandbox.app.requests["/cgi-bin/media/get"] >= 1


def test_picurl_from_another_host_is_never_fetched(harness: Harness) -> None:
    fetched: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        """Another server on loopback that records any request made to it."""

        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(PHOTO)

        def log_message(self, format: str, *args: object) -> None:
            pass

    trap = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=trap.serve_forever, args=(0.05,), daemon=True).start()
    try:
        request = harness.request()
        evil = PhotoRequest(
            key="msg:evil",
            openid=USER,
            media_id="no-such-media",
            pic_url=f"http://127.0.0.1:{trap.server_port}/internal",
            kind=AUTO,
        )
        reply = harness.pipeline.handle_photo(evil, soon(IN_TIME_S))
        assert reply == "抱歉，没能取到这张照片，请重新发送"
        assert fetched == []
        assert harness.ocr_call_count() == 0
        assert request.media_id  # the sandbox itself was reachable
    finally:
        trap.shutdown()
        trap.server_close()


def test_allowed_picurl_hosts(harness: Harness) -> None:
    media = WechatMedia(
        harness.client, httpx.Client(), picurl_hosts=["mmbiz.qpic.cn"], max_bytes=1000
    )
    assert media.allowed("https://mmbiz.qpic.cn/mmbiz_jpg/abc/0")
    assert media.allowed("http://mmbiz.qpic.cn/x")
    assert not media.allowed("https://mmbiz.qpic.cn.evil.com/x")
    assert not media.allowed("https://user@mmbiz.qpic.cn/x")
    assert not media.allowed("file:///etc/passwd")
    assert not media.allowed("ftp://mmbiz.qpic.cn/x")
    assert not media.allowed("")
