"""The scheduler job's lease renewal must not hold up a result stored meanwhile.

Found by tests/test_db_outage.py, where photos claimed right after the database came
back finished within milliseconds: ``Pipeline.resume`` took the list of runs in flight,
a run stored its result, and the renewal that followed put a fresh lease on the stored
result, which reads as "a customer-service send is under way": the result then waited
a whole ``pipeline.lease_s`` (30 s) for its delivery.
"""

from __future__ import annotations

import threading

import httpx
from sqlalchemy import update

from bot.sandbox.emulator import SandboxServer
from bot.store.db import SessionFactory, write_transaction
from bot.store.models import Message, MessageState
from bot.wxapi.client import WechatClient
from tests.bot_on_loopback import LoopbackBot, wait_until

RESULT = "识别结果：银行卡"  # what the run stored; the test writes it as the run would


def test_a_result_stored_while_the_scheduler_renews_claims_is_sent_at_once(
    sandbox: SandboxServer,
    database_url: str,
    sessions: SessionFactory,
    wechat_client: WechatClient,
    http: httpx.Client,
) -> None:
    bot = LoopbackBot(sandbox, database_url, sessions, wechat_client, http, passive_budget_s=0.5)
    openid = "o-renewal-race"
    sandbox.app.hold("/cv/ocr/", timeout_s=30)  # the run stays in flight in this process
    pusher = threading.Thread(target=bot.push, args=(bot.photo_fields(openid),))
    try:
        pusher.start()
        assert wait_until(lambda: sandbox.app.held == 1)
        # WeChat has had its answer ("success"): the passive window is over. Stored while
        # the push still waited (0.5 s), the result went out as the passive reply and no
        # customer-service message ever came (CI, on an idle machine).
        assert wait_until(lambda: not pusher.is_alive(), 30)
        # The result is stored just after the job saw the run in flight (its run, held
        # above, is the one the job renews the claim of).
        with write_transaction(sessions) as session:
            session.execute(
                update(Message)
                .where(Message.openid == openid)
                .values(
                    state=MessageState.DONE.value,
                    reply_text=RESULT,
                    lease_until=None,
                    next_attempt_at=None,
                )
            )
        bot.pipeline.resume()
        assert wait_until(lambda: bot.sent(openid), 10) == [RESULT]
    finally:
        sandbox.app.release()
        pusher.join(30)
        bot.close()
    # The held run finds its claim answered and drops its own result: one message only.
    assert wait_until(lambda: bot.messages(openid)[0].delivered_at is not None)
    assert bot.sent(openid) == [RESULT]
