"""The shared access token: stored in the database, refreshed once across threads and
processes, ahead of expiry by the scheduler job; ``wxocr token show/refresh``."""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.config import Config
from bot.sandbox.emulator import FaultRule, SandboxServer
from bot.store.db import SessionFactory
from bot.store.models import AccessToken
from bot.tools.serving_process import WXOCR, child_environment, write_config
from bot.wxapi.client import FetchedToken, WechatCredentialError
from bot.wxapi.tokens import TokenRefresher, TokenStore, build_token_store, start_token_refresher
from tests.conftest import token_api_for

pytestmark = pytest.mark.db


def store_token(sessions: SessionFactory, app_id: str, token: str, expires_at: datetime) -> None:
    with sessions.begin() as session:
        session.merge(
            AccessToken(
                app_id=app_id,
                token=token,
                expires_at=expires_at,
                refreshed_at=expires_at,
                failures=0,
            )
        )


def store_lease(sessions: SessionFactory, app_id: str, holder: str, until: datetime) -> None:
    """A row without a token, leased by ``holder``: as while another process fetches one."""
    with sessions.begin() as session:
        session.add(
            AccessToken(app_id=app_id, token="", failures=0, lease_holder=holder, lease_until=until)
        )


def stored_row(sessions: SessionFactory, app_id: str) -> AccessToken:
    with sessions() as session:
        return session.scalars(select(AccessToken).where(AccessToken.app_id == app_id)).one()


def test_first_use_fetches_and_stores_then_everyone_reuses_it(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    first = build_token_store(wechat_config, http, sessions)
    token = first.get_token()
    assert sandbox.app.token_requests == 1
    assert stored_row(sessions, wechat_config.app_id).token == token
    # Another process starting later uses the stored, still-valid token.
    second = build_token_store(wechat_config, http, sessions)
    assert second.get_token() == token
    assert first.get_token() == token
    assert sandbox.app.token_requests == 1


def test_stored_expired_token_is_replaced(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    store_token(sessions, wechat_config.app_id, "EXPIRED-TOKEN-0000000000", past)
    token = build_token_store(wechat_config, http, sessions).get_token()
    assert token != "EXPIRED-TOKEN-0000000000"
    assert sandbox.app.token_requests == 1


def test_refresh_ahead_of_expiry_with_a_controlled_clock(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    config = wechat_config.model_copy(
        update={"wechat": wechat_config.wechat.model_copy(update={"token_mode": "classic"})}
    )
    with time_machine.travel(datetime(2026, 11, 25, 8, 0, tzinfo=UTC), tick=False) as clock:
        store = build_token_store(config, http, sessions)
        refresher = TokenRefresher(store)
        assert refresher.run_once()  # nothing stored yet
        first = store.get_token()
        clock.shift(7200 - 601)  # 601 s left: not yet
        assert not refresher.run_once()
        assert store.get_token() == first
        clock.shift(2)  # 599 s left: less than the 10-minute margin
        assert refresher.run_once()
        second = store.get_token()
        assert second != first
        assert sandbox.app.token_requests == 2
        row = stored_row(sessions, config.app_id)
        assert row.expires_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC) + timedelta(
            seconds=7200 - 599 + 7200
        )
        # The old token keeps working through WeChat's grace, so in-flight calls survive.
        clock.shift(60)
        assert not refresher.run_once()
        assert sandbox.app.token_requests == 2


def test_stable_token_refresh_gets_a_new_token_once_wechat_renews(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    """stable_token answers the same token until its last 5 minutes: keep asking, no error."""
    with time_machine.travel(datetime(2026, 11, 25, 8, 0, tzinfo=UTC), tick=False) as clock:
        store = build_token_store(wechat_config, http, sessions)
        first = store.get_token()
        clock.shift(7200 - 500)
        assert store.refresh_if_due()
        assert store.get_token() == first  # WeChat has not renewed it yet
        clock.shift(250)  # 250 s left
        store.refresh_if_due()
        assert store.get_token() != first
        assert sandbox.app.token_requests == 3


def test_threads_on_an_expired_token_make_one_request(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    store_token(sessions, wechat_config.app_id, "OLD", datetime.now(UTC) - timedelta(seconds=1))
    sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/stable_token", latency_ms=300))
    stores = [build_token_store(wechat_config, http, sessions) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    tokens: list[str] = []

    def get(store: TokenStore) -> None:
        barrier.wait()
        tokens.append(store.get_token())

    threads = [threading.Thread(target=get, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sandbox.app.token_requests == 1
    assert len(tokens) == 6 and len(set(tokens)) == 1 and tokens[0] != "OLD"


def _write_config(tmp_path: Path, config: Config) -> Path:
    return write_config(
        tmp_path / "wxocr.toml",
        {"wechat": {"api_base": config.api_base}, "database": {"url": config.database.url}},
    )


def test_four_processes_on_an_expired_token_make_one_request(
    wechat_config: Config, sessions: SessionFactory, sandbox: SandboxServer, tmp_path: Path
) -> None:
    store_token(sessions, wechat_config.app_id, "OLD", datetime.now(UTC) - timedelta(seconds=1))
    # A slow token endpoint keeps the race window open while the others arrive.
    sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/stable_token", latency_ms=2000))
    config_file = _write_config(tmp_path, wechat_config)
    env = child_environment()
    command = [str(WXOCR), "token", "show", "--config", str(config_file)]
    processes = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
    assert sandbox.app.token_requests == 1
    stored = stored_row(sessions, wechat_config.app_id)
    shown = {line for out, _ in outputs for line in out.splitlines() if line.startswith("token:")}
    assert len(shown) == 1 and stored.token[:6] in shown.pop()
    for out, err in outputs:
        assert stored.token not in out + err
        assert wechat_config.app_secret not in out + err


def test_cli_token_show_and_refresh(
    wechat_config: Config, sessions: SessionFactory, sandbox: SandboxServer, tmp_path: Path
) -> None:
    config_file = _write_config(tmp_path, wechat_config)
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["token", "show", "--config", str(config_file)])
    assert shown.exit_code == 0, shown.output
    first = stored_row(sessions, wechat_config.app_id).token
    assert "expires_in: 7" in shown.output and first not in shown.output
    again = runner.invoke(cli_app, ["token", "show", "--config", str(config_file)])
    assert again.exit_code == 0 and sandbox.app.token_requests == 1
    refreshed = runner.invoke(cli_app, ["token", "refresh", "--config", str(config_file)])
    assert refreshed.exit_code == 0, refreshed.output
    second = stored_row(sessions, wechat_config.app_id).token
    assert second != first and sandbox.app.token_requests == 2
    for output in (shown.output, again.output, refreshed.output):
        assert wechat_config.app_secret not in output and second not in output


def test_cli_token_show_on_an_unmigrated_database(sandbox: SandboxServer, tmp_path: Path) -> None:
    config_file = write_config(
        tmp_path / "c.toml",
        {
            "wechat": {"api_base": sandbox.api_base},
            "database": {"url": f"sqlite:///{tmp_path / 'empty.db'}"},
        },
    )
    result = CliRunner().invoke(cli_app, ["token", "show", "--config", str(config_file)])
    assert result.exit_code == 2
    assert "wxocr db upgrade" in " ".join(result.output.split())  # rich wraps long lines
    assert "Traceback" not in result.output


def test_failed_refresh_releases_the_lease_and_records_the_errcode(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    wrong = token_api_for(wechat_config, http, app_secret="wrong")
    store = TokenStore(sessions, wrong, wechat_config.app_id)
    with pytest.raises(WechatCredentialError):
        store.get_token()
    row = stored_row(sessions, wechat_config.app_id)
    assert row.lease_holder is None and row.failures == 1 and row.last_errcode == 40125
    # The next caller with the right secret is not blocked by a leftover lease.
    assert build_token_store(wechat_config, http, sessions).get_token()
    assert stored_row(sessions, wechat_config.app_id).failures == 0


def test_waiter_reads_the_lease_holders_token(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    now = datetime.now(UTC)
    store_lease(sessions, wechat_config.app_id, "another-host:1:1", now + timedelta(seconds=30))

    def other_host_finishes() -> None:
        time.sleep(0.3)
        with sessions.begin() as session:
            row = session.get(AccessToken, wechat_config.app_id)
            assert row is not None
            row.token, row.expires_at = "FROM-THE-OTHER-HOST-12345", now + timedelta(hours=2)
            row.lease_holder = row.lease_until = None

    finisher = threading.Thread(target=other_host_finishes)
    finisher.start()
    token = build_token_store(wechat_config, http, sessions).get_token()
    finisher.join()
    assert token == "FROM-THE-OTHER-HOST-12345"
    assert sandbox.app.token_requests == 0


def test_a_dead_holders_lease_lapses(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    store_lease(
        sessions, wechat_config.app_id, "crashed:1:1", datetime.now(UTC) - timedelta(seconds=1)
    )
    assert build_token_store(wechat_config, http, sessions).get_token()
    assert sandbox.app.token_requests == 1


def test_refresher_backs_off_after_failures(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    ticks = [1000.0]
    store = build_token_store(wechat_config, http, sessions)
    refresher = TokenRefresher(store, interval_s=30, monotonic=lambda: ticks[0])
    sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/stable_token", errcode=40164))
    assert not refresher.run_once()
    assert refresher.failures == 1 and sandbox.app.token_requests == 1
    ticks[0] += 29
    assert not refresher.run_once()  # still backing off: WeChat not asked
    assert sandbox.app.token_requests == 1
    ticks[0] += 2
    assert not refresher.run_once()
    assert refresher.failures == 2 and sandbox.app.token_requests == 2
    ticks[0] += 59  # the second wait is twice as long
    refresher.run_once()
    assert sandbox.app.token_requests == 2
    sandbox.app.clear_faults()
    ticks[0] += 2
    assert refresher.run_once()
    assert refresher.failures == 0 and sandbox.app.token_requests == 3


def test_background_scheduler_refreshes_a_token_near_its_end(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    store_token(
        sessions,
        wechat_config.app_id,
        "NEAR-ITS-END-0000000000",
        datetime.now(UTC) + timedelta(minutes=5),
    )
    store = build_token_store(wechat_config, http, sessions)
    assert store.get_token() == "NEAR-ITS-END-0000000000"  # still usable meanwhile
    scheduler = start_token_refresher(store, interval_s=60)
    try:
        deadline = time.monotonic() + 20
        while sandbox.app.token_requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert sandbox.app.token_requests == 1
    assert stored_row(sessions, wechat_config.app_id).token != "NEAR-ITS-END-0000000000"


def test_slow_fetch_keeps_a_token_stored_meanwhile_by_someone_else(
    wechat_config: Config, http: httpx.Client, sessions: SessionFactory, sandbox: SandboxServer
) -> None:
    """Our lease lapsed during a slow fetch and another host stored a later token: keep it."""
    api = token_api_for(wechat_config, http, mode="classic")

    class OvertakenFetcher:
        def fetch(self, *, force: bool = False) -> FetchedToken:
            ours = api.fetch(force=force)
            theirs = api.fetch(force=force)  # issued later, stored by "another host"
            with sessions.begin() as session:
                row = session.get(AccessToken, wechat_config.app_id)
                assert row is not None
                row.token, row.refreshed_at = theirs.token, datetime.now(UTC)
                row.expires_at = datetime.now(UTC) + timedelta(seconds=theirs.expires_in)
                row.lease_holder = "another-host:2:2"
            self.theirs = theirs.token
            return ours

    fetcher = OvertakenFetcher()
    store = TokenStore(sessions, fetcher, wechat_config.app_id)
    assert store.get_token() == fetcher.theirs
    assert stored_row(sessions, wechat_config.app_id).token == fetcher.theirs
