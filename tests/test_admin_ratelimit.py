"""Failed /admin logins are limited per client address, over real HTTP on loopback.

Two client addresses are real ones: the whole of 127.0.0.0/8 is loopback on Linux, so a
client bound to 127.0.0.2 reaches the server as another address.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from bot.config import Config
from bot.operators.admin import COOKIE_NAME
from bot.store.db import SessionFactory
from tests.admin_server import TOKEN, serve_admin

pytestmark = pytest.mark.db

WRONG = "wrong-token-d41d8cd98f00b204"
MAX_FAILURES = 3


def client(address: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def login(http: httpx.Client, base: str, token: str) -> httpx.Response:
    return http.post(f"{base}/login", data={"token": token}, follow_redirects=False)


def bearer(http: httpx.Client, base: str, token: str) -> httpx.Response:
    return http.get(f"{base}/usage.json", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def admin(sessions: SessionFactory) -> Iterator[str]:
    with serve_admin(sessions, login_max_failures=MAX_FAILURES) as base:
        yield base


def test_repeated_failures_get_429_even_with_the_right_token(
    admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    with client() as http:
        for _ in range(MAX_FAILURES):
            refused = login(http, admin, WRONG)
            assert refused.status_code == 401
            assert "wrong token" in refused.text
        blocked = login(http, admin, TOKEN)
        assert blocked.status_code == 429
        assert COOKIE_NAME not in blocked.headers.get("set-cookie", "")
        assert "too many failed logins" in blocked.text and "登录失败次数过多" in blocked.text
        assert 0 < int(blocked.headers["Retry-After"]) <= 300
        # The token in a header is a login too: refused the same way, as JSON.
        api = bearer(http, admin, TOKEN)
        assert api.status_code == 429
        assert "too many failed logins" in api.json()["error"]
        # Without credentials it is just the login page.
        assert http.get(admin + "/").status_code == 401
    refusals = [r.getMessage() for r in caplog.records if "admin login refused" in r.getMessage()]
    assert len(refusals) == MAX_FAILURES
    assert "127.0.0.1" in refusals[-1] and f"{MAX_FAILURES} of {MAX_FAILURES}" in refusals[-1]
    assert WRONG not in caplog.text and TOKEN not in caplog.text


def test_another_address_and_an_open_session_are_not_blocked(admin: str) -> None:
    with client("127.0.0.1") as http, client("127.0.0.2") as other:
        session = login(http, admin, TOKEN)
        assert session.status_code == 303
        assert http.cookies[COOKIE_NAME]
        for _ in range(MAX_FAILURES):
            assert bearer(http, admin, WRONG).status_code == 401
        assert login(http, admin, TOKEN).status_code == 429
        # Logged in before: the session still works from the blocked address.
        assert http.get(admin + "/").status_code == 200
        # Someone else is not punished for it.
        assert login(other, admin, TOKEN).status_code == 303
        assert bearer(other, admin, TOKEN).status_code == 200


def test_a_success_clears_the_count_and_failures_expire(sessions: SessionFactory) -> None:
    with serve_admin(sessions, login_max_failures=2, login_window_s=1.0) as base, client() as http:
        assert login(http, base, WRONG).status_code == 401
        assert login(http, base, TOKEN).status_code == 303
        # The failure before the success no longer counts.
        assert login(http, base, WRONG).status_code == 401
        assert login(http, base, TOKEN).status_code == 303
        assert login(http, base, WRONG).status_code == 401
        assert login(http, base, WRONG).status_code == 401
        assert login(http, base, TOKEN).status_code == 429
        # Once the failures are older than the window, the address may try again.
        deadline = time.monotonic() + 120
        while login(http, base, TOKEN).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert login(http, base, TOKEN).status_code == 303


def test_limits_are_configured_and_checked() -> None:
    defaults = Config().admin
    assert (defaults.login_max_failures, defaults.login_window_s) == (5, 300.0)
    for bad in ({"login_max_failures": 0}, {"login_window_s": 0}):
        with pytest.raises(ValidationError):
            Config(admin=bad)
