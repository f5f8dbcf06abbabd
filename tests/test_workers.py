"""``wxocr serve --workers 2``: gunicorn processes sharing one database (SQLite or PostgreSQL).

Each test runs the real command as a subprocess on loopback, with the WeChat API played
by the sandbox in this process and the database of the ``database_url`` fixture, so the
PostgreSQL leg of ``make test`` runs them again on PostgreSQL. gunicorn's access log
(configured through GUNICORN_CMD_ARGS) tells which worker process answered which push.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, select

from bot.sandbox.emulator import FaultRule, SandboxServer
from bot.store.db import create_db_engine, session_factory
from bot.store.models import AccessToken, Message, Usage, utcnow
from bot.tools.serving_process import (
    WXOCR,
    ServingProcess,
    child_environment,
    serving_process,
    write_config,
)
from bot.tools.simulate import WechatPusher, image_fields, new_msg_id
from ocr.mask import mask_id_number
from tests.helpers_e2e import NOT_AN_IMAGE, card, smaller

pytestmark = pytest.mark.slow

BAD_IMAGE_REPLY = "不是一张可识别的图片"
ACCESS_LINE = re.compile(r"^<(\d+)> (\S+) (\S+) (.*)$")


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """The test database as the workers see it (they migrate it at start)."""
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def two_workers(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, **pipeline: float
) -> ServingProcess:
    access_log = tmp_path / "access.log"
    gunicorn_args = [
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(m)s %(U)s %(q)s",
    ]
    return serving_process(
        tmp_path,
        workers=2,
        api_base=sandbox.api_base,
        database_url=database_url,
        settings={"pipeline": dict(pipeline)} if pipeline else None,
        env={"GUNICORN_CMD_ARGS": shlex.join(gunicorn_args)},
    )


def push_all(
    server: ServingProcess, messages: Sequence[dict[str, str | int]]
) -> list[httpx.Response]:
    """Every message pushed at once, each on a connection of its own (as WeChat's fleet does)."""

    def push(fields: dict[str, str | int]) -> httpx.Response:
        # WeChat hangs up after 5 s; here the test waits for every answer instead. On a
        # loaded machine a copy can wait in the accept queue past 5 s (an httpx timeout
        # failed this test under load 20). The bot's deadline comes from the push's
        # timestamp, not from the connection, so a late copy still answers "success".
        pusher = WechatPusher(
            url=server.webhook_url,
            token=server.config.wechat.token,
            client=httpx.Client(timeout=120),
        )
        try:
            return pusher.push(fields)
        finally:
            pusher.client.close()

    with ThreadPoolExecutor(len(messages)) as pool:
        return list(pool.map(push, messages))


def reply_text(server: ServingProcess, response: httpx.Response) -> str | None:
    pusher = WechatPusher(url=server.webhook_url, token=server.config.wechat.token)
    return pusher.reply_content(response)


def workers_by_openid(server: ServingProcess) -> dict[str, set[int]]:
    """openid -> the worker pids that answered its webhook pushes (from the access log)."""
    served: dict[str, set[int]] = defaultdict(set)
    for line in (server.log_file.parent / "access.log").read_text().splitlines():
        match = ACCESS_LINE.match(line)
        if match and match[2] == "POST" and match[3] == server.config.server.path:
            openid = dict(p.split("=", 1) for p in match[4].split("&") if "=" in p).get("openid")
            if openid:
                served[openid].add(int(match[1]))
    return served


def metric(server: ServingProcess, name: str, **labels: str) -> float:
    """One sample of /metrics (all workers added up); 0 when it was never counted."""
    text = httpx.get(server.base_url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def usage_outcomes(db: Engine, openid: str) -> list[str]:
    with session_factory(db)() as session:
        return list(
            session.scalars(select(Usage.outcome).where(Usage.openid == openid).order_by(Usage.id))
        )


def wait_for_messages(sandbox: SandboxServer, openid: str, count: int, wait_s: float) -> list[str]:
    deadline = time.monotonic() + wait_s
    while True:
        sent = [m.content for m in sandbox.app.messages_for(openid)]
        if len(sent) >= count or time.monotonic() > deadline:
            return sent
        time.sleep(0.2)


def answers(sandbox: SandboxServer, openid: str, replies: Sequence[str | None]) -> list[str]:
    """What the user saw for one message pushed (maybe several times) with ``replies``.

    The same passive reply to every copy that got one, or, when none did (each copy gave
    up waiting within WeChat's 5 s, as on a busy machine), customer-service messages.
    """
    passive = sorted({reply for reply in replies if reply is not None})
    later = [] if passive else wait_for_messages(sandbox, openid, 1, 600)
    assert [m.content for m in sandbox.app.messages_for(openid)] == later, "never both"
    return passive + later


# ---------------------------------------------------------------- tests


def test_copies_of_a_message_sent_to_both_workers_are_processed_once(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, db: Engine
) -> None:
    server = two_workers(tmp_path, sandbox, database_url)
    messages_per_burst, copies_per_message = 8, 3
    try:
        server.start()
        media_id = sandbox.app.upload(NOT_AN_IMAGE)
        # A slow download keeps each first run going while its copies arrive.
        sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/media/get", latency_ms=600))
        # The kernel, not the test, picks the worker of each connection: burst again in
        # the unlikely case that no message had copies on both workers.
        for burst in range(1, 4):
            openids = [f"o-workers-burst-{burst}-{n}" for n in range(messages_per_burst)]
            messages = [image_fields(openid, media_id, "", new_msg_id()) for openid in openids]
            copies = [fields for fields in messages for _ in range(copies_per_message)]
            responses = push_all(server, copies)
            assert [r.status_code for r in responses] == [200] * len(copies)
            for openid in openids:
                replies = [
                    reply_text(server, response)
                    for fields, response in zip(copies, responses, strict=True)
                    if fields["FromUserName"] == openid
                ]
                (answer,) = answers(sandbox, openid, replies)  # one answer per message
                assert BAD_IMAGE_REPLY in answer
                assert usage_outcomes(db, openid) == ["bad_image"]
            assert sandbox.app.requests["/cgi-bin/media/get"] == burst * messages_per_burst
            served = workers_by_openid(server)
            if any(len(served[openid]) == 2 for openid in openids):
                break
        else:
            pytest.fail(f"no message's copies reached both workers: {dict(served)}")
        # Each worker counts its own requests; /metrics, from any worker, adds them up.
        pushes = burst * messages_per_burst * copies_per_message
        webhook_ok = metric(server, "wxocr_http_requests_total", route="webhook", status="200")
        assert webhook_ok == pushes
        bad_images = metric(server, "wxocr_photo_outcomes_total", outcome="bad_image")
        assert bad_images == burst * messages_per_burst
    finally:
        server.stop()


def test_an_expired_token_is_refreshed_once_by_two_workers(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, db: Engine
) -> None:
    server = two_workers(tmp_path, sandbox, database_url)  # migrates the database
    long_ago = utcnow() - timedelta(hours=3)
    with session_factory(db).begin() as session:
        session.add(
            AccessToken(
                app_id=server.config.app_id,
                token="expired-token",
                expires_at=long_ago + timedelta(hours=2),
                refreshed_at=long_ago,
                failures=0,
            )
        )
    media_id = sandbox.app.upload(NOT_AN_IMAGE)

    def photos_from_everyone(round_: int) -> None:
        openids = [f"o-workers-token-{round_}-{n}" for n in range(12)]
        messages = [image_fields(openid, media_id, "", new_msg_id()) for openid in openids]
        for openid, response in zip(openids, push_all(server, messages), strict=True):
            (answer,) = answers(sandbox, openid, [reply_text(server, response)])
            assert BAD_IMAGE_REPLY in answer

    try:
        server.start()  # both workers start their refresh job at once
        photos_from_everyone(1)
        assert sandbox.app.token_requests == 1
        # WeChat stops accepting the token: each worker's next call gets 40001.
        sandbox.app.revoke_tokens()
        photos_from_everyone(2)
        assert sandbox.app.token_requests == 2
        assert metric(server, "wxocr_token_refreshes_total", result="ok") == 2
    finally:
        server.stop()
    with session_factory(db)() as session:
        stored = session.get(AccessToken, server.config.app_id)
        assert stored is not None and stored.token not in ("", "expired-token")


def test_a_worker_killed_mid_photo_loses_no_result(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, db: Engine
) -> None:
    server = two_workers(tmp_path, sandbox, database_url, lease_s=2.0)
    photo, label = card("*_idfront_scan*")
    openid = "o-workers-kill"
    try:
        server.start()
        media_id = sandbox.app.upload(smaller(photo, 960))
        sandbox.app.add_fault(
            FaultRule(path_prefix="/cgi-bin/media/get", latency_ms=6000, remaining=1)
        )
        (response,) = push_all(server, [image_fields(openid, media_id, "", new_msg_id())])
        answered = (response.status_code, reply_text(server, response))
        assert answered == (200, None), server.log()  # "success": the result comes later
        with session_factory(db)() as session:
            (worker,) = session.scalars(select(Message.worker).where(Message.openid == openid))
        assert worker is not None
        os.kill(int(worker.split(":")[1]), signal.SIGKILL)  # mid-download
        later = wait_for_messages(sandbox, openid, 1, 600)
        assert len(later) == 1, server.log()
        assert mask_id_number(label["expected"]["id"]) in later[0]
        time.sleep(1.0)  # a second delivery would come within a resume interval
        assert len(sandbox.app.messages_for(openid)) == 1
        assert usage_outcomes(db, openid) == ["ok"]
        assert httpx.get(server.base_url + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def test_several_workers_need_an_outside_sandbox(tmp_path: Path) -> None:
    # In sandbox mode without wechat.api_base every worker would get its own emulator.
    config = write_config(
        tmp_path / "config.toml", {"database": {"url": f"sqlite:///{tmp_path / 'x.db'}"}}
    )
    finished = subprocess.run(
        [str(WXOCR), "serve", "--workers", "2", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(),
    )
    assert finished.returncode == 2
    message = " ".join(finished.stderr.split())
    assert "wxocr sandbox" in message and "wechat.api_base" in message
