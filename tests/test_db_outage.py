"""A database outage while photos are in flight (issue 18), on the throw-away PostgreSQL.

``wxocr serve --workers 2`` runs as a subprocess on loopback, its WeChat the sandbox in
this process (whose cv/ocr answers one fixed bank card, so no test waits for the local
OCR), its database the cluster scripts/with-postgres.sh started. That script also names a
wrapper of pg_ctl for it (``WXOCR_TEST_PG_CTL``): the tests restart, stop and start the
real server. Without it (the SQLite leg, or a database of one's own) they are skipped.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select

from bot.chat import replies
from bot.sandbox.emulator import SandboxServer
from bot.store.db import create_db_engine, session_factory
from bot.store.models import Message, MessageState, Usage
from bot.tools.serving_process import ServingProcess, serving_process
from bot.tools.simulate import PushOutcome, WechatPusher, image_fields, new_msg_id
from bot.wxapi.tokens import TokenStore
from tests.bot_on_loopback import CARD_REPLY, PHOTO, WechatBankCardOcr, wait_until
from tests.test_workers import metric

PG_CTL = os.environ.get("WXOCR_TEST_PG_CTL", "")

pytestmark = pytest.mark.skipif(
    not PG_CTL, reason="needs the cluster of scripts/with-postgres.sh (WXOCR_TEST_PG_CTL)"
)


def pg_ctl(*args: str) -> None:
    subprocess.run([PG_CTL, *args], check=True, capture_output=True, timeout=60)


def cluster_running() -> bool:
    return subprocess.run([PG_CTL, "status"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """The test database as the workers see it; the cluster is running again afterwards."""
    engine = create_db_engine(database_url)
    yield engine
    if not cluster_running():  # a test that failed while it was stopped
        pg_ctl("start")
    engine.dispose()


def bot_with_two_workers(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> ServingProcess:
    sandbox.app.engine = WechatBankCardOcr()
    return serving_process(
        tmp_path,
        workers=2,
        api_base=sandbox.api_base,
        database_url=database_url,
        settings={
            "ocr": {"engine": "wechat", "threads": 2},
            "pipeline": {"daily_limit": 0},
            "log": {"level": "INFO"},
        },
    )


def worker_pids(server: ServingProcess) -> set[int]:
    """The gunicorn workers of ``server`` (children of its master process)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == server.pid:
            children.add(int(stat.parent.name))
    return children


def send_photo(server: ServingProcess, sandbox: SandboxServer, openid: str) -> PushOutcome:
    """One user's photo, pushed as WeChat does: 5 s per try, up to 3 tries."""
    media_id = sandbox.app.upload(PHOTO)
    pusher = WechatPusher(url=server.webhook_url, token=server.config.wechat.token)
    try:
        return pusher.push_with_retries(image_fields(openid, media_id, "", new_msg_id()))
    finally:
        pusher.client.close()


def what_each_user_saw(
    sandbox: SandboxServer, server: ServingProcess, pushes: dict[str, PushOutcome]
) -> dict[str, list[str]]:
    """openid -> every answer: the passive reply (if any) and the customer-service messages."""
    seen: dict[str, list[str]] = {}
    for openid, outcome in pushes.items():
        assert outcome.status == 200, (openid, outcome, server.log())
        passive = [outcome.reply] if outcome.reply is not None else []
        seen[openid] = passive + [m.content for m in sandbox.app.messages_for(openid)]
    return seen


def undelivered(db: Engine, openids: list[str]) -> list[str]:
    """The users whose photo's result is not yet delivered (or whose photo is not claimed)."""
    with session_factory(db)() as session:
        rows = session.execute(
            select(Message.openid, Message.state, Message.delivered_at).where(
                Message.openid.in_(openids)
            )
        ).all()
    delivered = {
        openid for openid, state, at in rows if state == MessageState.DONE and at is not None
    }
    return [openid for openid in openids if openid not in delivered]


def usage_rows(db: Engine, openids: list[str]) -> list[tuple[str, str, str | None, str | None]]:
    with session_factory(db)() as session:
        return [
            tuple(row)  # type: ignore[misc]
            for row in session.execute(
                select(Usage.openid, Usage.outcome, Usage.error_code, Usage.delivery)
                .where(Usage.openid.in_(openids))
                .order_by(Usage.openid)
            )
        ]


def readyz(server: ServingProcess) -> httpx.Response:
    return httpx.get(server.base_url + "/readyz", timeout=10)


def test_a_database_restart_during_a_burst_of_photos_loses_none(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, db: Engine
) -> None:
    server = bot_with_two_workers(tmp_path, sandbox, database_url)
    users = [f"o-db-restart-{n}" for n in range(8)]
    try:
        server.start()
        workers = worker_pids(server)
        assert len(workers) == 2
        sandbox.app.hold("/cv/ocr/", timeout_s=40)
        with ThreadPoolExecutor(len(users)) as pool:
            pushes: dict[str, Future[PushOutcome]] = {}
            for openid in users[:4]:
                pushes[openid] = pool.submit(send_photo, server, sandbox, openid)
            # The first four are claimed and waiting for WeChat's OCR when the server
            # restarts under them: their pooled connections die.
            assert wait_until(lambda: sandbox.app.held >= 4, 30), server.log()
            pg_ctl("restart", "-m", "fast")
            # The next four arrive while it is down: their claims fail until it is back.
            pg_ctl("stop", "-m", "fast")
            errors_before = metric(server, "wxocr_db_errors_total", step="claim")
            for openid in users[4:]:
                pushes[openid] = pool.submit(send_photo, server, sandbox, openid)
            assert wait_until(
                lambda: metric(server, "wxocr_db_errors_total", step="claim") >= errors_before + 4,
                30,
                step=0.5,
            )
            down = readyz(server)
            assert down.status_code == 503
            assert down.json()["checks"]["database"].startswith("unreachable")
            pg_ctl("start")
            sandbox.app.release()
            outcomes = {openid: future.result() for openid, future in pushes.items()}
        assert wait_until(lambda: not undelivered(db, users), 40), undelivered(db, users)

        # Every user got the card's result exactly once, passively or later.
        seen = what_each_user_saw(sandbox, server, outcomes)
        for openid in users:
            assert len(seen[openid]) == 1, (openid, seen[openid], server.log())
            assert CARD_REPLY in seen[openid][0]
        assert [(openid, outcome) for openid, outcome, _, _ in usage_rows(db, users)] == [
            (openid, "ok") for openid in sorted(users)
        ]
        assert worker_pids(server) == workers  # no worker died or was replaced
        assert wait_until(lambda: readyz(server).status_code == 200, 300)
    finally:
        server.stop()


def test_a_database_down_for_20_s_tells_each_user_once_and_the_bot_recovers(
    tmp_path: Path, sandbox: SandboxServer, database_url: str, db: Engine
) -> None:
    server = bot_with_two_workers(tmp_path, sandbox, database_url)
    users = [f"o-db-down-{n}" for n in range(4)]
    try:
        server.start()
        workers = worker_pids(server)
        pg_ctl("stop", "-m", "fast")
        stopped_at = time.monotonic()
        with ThreadPoolExecutor(len(users)) as pool:
            pushes = {openid: pool.submit(send_photo, server, sandbox, openid) for openid in users}
            outcomes = {openid: future.result() for openid, future in pushes.items()}
        # WeChat heard "success"; once its retry window is over, each user is told that the
        # service is busy.
        assert wait_until(lambda: all(sandbox.app.messages_for(openid) for openid in users), 30), (
            server.log()
        )
        down = readyz(server)
        assert down.status_code == 503
        reason = down.json()["checks"]["database"]
        assert reason.startswith("unreachable (OperationalError") and "failing" in reason, reason
        assert metric(server, "wxocr_db_errors_total", step="claim") >= len(users)

        time.sleep(max(0.0, 20.0 - (time.monotonic() - stopped_at)))  # the outage's length
        pg_ctl("start")
        assert wait_until(lambda: readyz(server).status_code == 200, 300), readyz(server).text
        # Back by itself: a new photo is answered with its result (passively on an idle
        # machine, else as a customer-service message).
        back = send_photo(server, sandbox, "o-db-back")
        assert back.status == 200
        assert back.reply is not None or wait_until(lambda: sandbox.app.messages_for("o-db-back"))
        answer = what_each_user_saw(sandbox, server, {"o-db-back": back})["o-db-back"]
        assert len(answer) == 1 and CARD_REPLY in answer[0], (answer, server.log())
        # The photos given up were recorded once the database was back, and told once.
        assert wait_until(lambda: len(usage_rows(db, users)) == len(users), 300)
        assert usage_rows(db, users) == [
            (openid, "error", "db_unavailable", "custom") for openid in sorted(users)
        ]
        seen = what_each_user_saw(sandbox, server, outcomes)
        assert seen == {openid: [replies.service_busy()] for openid in users}
        assert worker_pids(server) == workers
    finally:
        server.stop()


def test_a_worker_without_a_token_gets_one_while_the_database_is_down(
    token_store: TokenStore, sandbox: SandboxServer, db: Engine
) -> None:
    before = REGISTRY.get_sample_value("wxocr_db_errors_total", {"step": "token"}) or 0.0
    pg_ctl("stop", "-m", "fast")
    try:
        # stable_token hands out the current token: safe to ask without the row's lease.
        token = token_store.get_token()
    finally:
        pg_ctl("start")
    assert token and sandbox.app.token_requests == 1
    assert (REGISTRY.get_sample_value("wxocr_db_errors_total", {"step": "token"}) or 0) > before
    assert token_store.get_token() == token  # kept in memory: no second request
    assert sandbox.app.token_requests == 1
