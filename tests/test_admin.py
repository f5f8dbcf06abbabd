"""The /admin dashboard over real HTTP: off by default, token checks, filters, chart, JSON."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Config, ConfigError, load_config
from bot.operators.admin import COOKIE_NAME, make_admin_app
from bot.operators.usage import build_filters, parse_group_by, query_usage, zone
from bot.store.db import SessionFactory
from tests.admin_server import TOKEN, add_sample_usage, serve_admin

pytestmark = pytest.mark.db


@pytest.fixture
def admin(sessions: SessionFactory) -> Iterator[str]:
    with serve_admin(sessions) as base:
        yield base


def login(client: httpx.Client, base: str, token: str = TOKEN) -> httpx.Response:
    return client.post(f"{base}/login", data={"token": token}, follow_redirects=False)


def test_off_unless_a_token_is_configured(sessions: SessionFactory) -> None:
    with serve_admin(sessions, token="") as base:
        for path in ("/", "/usage.json", "/login"):
            assert httpx.get(base + path).status_code == 404
        assert (
            httpx.get(base + "/usage.json", headers={"Authorization": "Bearer x"}).status_code
            == 404
        )


def test_everything_needs_the_token(admin: str) -> None:
    page = httpx.get(admin + "/")
    assert page.status_code == 401
    assert 'name="token"' in page.text and "<svg" not in page.text
    assert httpx.get(admin + "/usage.json").status_code == 401
    for header in ("Bearer wrong", f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer"):
        answer = httpx.get(admin + "/usage.json", headers={"Authorization": header})
        assert answer.status_code == 401, header
    # A forged or expired session cookie does not let anyone in either.
    for cookie in ("1", "99999999999.abc", f"1.{'0' * 64}"):
        answer = httpx.get(admin + "/", cookies={COOKIE_NAME: cookie})
        assert answer.status_code == 401, cookie


def test_bearer_json_has_the_cli_shape_and_filters(admin: str, sessions: SessionFactory) -> None:
    add_sample_usage(sessions)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answer = httpx.get(admin + "/usage.json", headers=auth, params={"group_by": "kind,outcome"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    with sessions() as session:
        expected = [
            g.as_json()
            for g in query_usage(
                session, build_filters(zone("Asia/Shanghai")), parse_group_by(["kind,outcome"])
            )
        ]
    assert answer.json() == expected
    assert {row["kind"] for row in expected} == {"idcard", "bankcard"}

    only_ok_ids = httpx.get(
        admin + "/usage.json",
        headers=auth,
        params={"kind": "idcard", "outcome": "ok", "group_by": "user", "since": ""},
    ).json()
    assert only_ok_ids == [
        {"user": "o-ann", "count": 3, "ok": 3, "p50_ms": 500.0, "p95_ms": 1000.0}
    ]
    bad = httpx.get(admin + "/usage.json", headers=auth, params={"since": "someday"})
    assert bad.status_code == 400 and "cannot read time" in bad.json()["error"]


def test_login_form_then_dashboard(admin: str, sessions: SessionFactory) -> None:
    counts = add_sample_usage(sessions)
    with httpx.Client() as client:
        refused = login(client, admin, "not-the-token")
        assert refused.status_code == 401 and "wrong token" in refused.text
        assert COOKIE_NAME not in client.cookies

        accepted = login(client, admin)
        assert accepted.status_code == 303
        assert accepted.headers["location"] == "/admin/"
        set_cookie = accepted.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        assert TOKEN not in set_cookie  # the cookie is derived from the token, not the token

        page = client.get(admin + "/")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        totals = {
            m.group(1): int(m.group(2))
            for m in re.finditer(r'id="chart-(\w+)" data-total="(\d+)"', page.text)
        }
        assert totals == {"kind": sum(counts.values()), "outcome": sum(counts.values())}
        assert 'data-series="bankcard"' in page.text and 'data-series="no_card"' in page.text
        # The latest errors: codes only.
        errors = page.text.split('id="errors"', 1)[1]
        assert (
            "engine_error" in errors and "image_too_small" in errors and "no_card_found" in errors
        )

        filtered = client.get(admin + "/", params={"kind": "bankcard", "group_by": "kind"})
        groups = filtered.text.split('id="groups"', 1)[1].split("</table>", 1)[0]
        assert "bankcard" in groups and "idcard" not in groups
        chart = re.search(r'id="chart-kind" data-total="(\d+)"', filtered.text)
        assert chart is not None and int(chart.group(1)) == counts["bankcard"]

        bad = client.get(admin + "/", params={"since": "when"})
        assert bad.status_code == 400 and "cannot read time" in bad.text

        logout = client.get(admin + "/logout", follow_redirects=False)
        assert logout.status_code == 303
        assert client.get(admin + "/").status_code == 401


def test_values_are_escaped(admin: str, sessions: SessionFactory) -> None:
    from bot.store.models import record_usage

    with sessions() as session, session.begin():
        record_usage(
            session, openid="<script>alert(1)</script>", outcome="error", kind_asked="idcard"
        )
    page = httpx.get(admin + "/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_html_in_any_value_is_escaped_on_the_dashboard(
    admin: str, sessions: SessionFactory
) -> None:
    """Issue 19: every value on the page goes through the template's escaping, none by hand."""
    from bot.store.models import record_usage

    hostile = "<script>alert(1)</script>"
    kind = "<b>k</b>"  # the kind column holds 16 characters
    with sessions() as session, session.begin():
        record_usage(
            session,
            openid=f"o{hostile}",
            kind_asked=kind,
            engine=f"e{hostile}",
            outcome="error",
            error_code=f"c{hostile}",
        )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    grouped = httpx.get(
        admin + "/", headers=auth, params={"group_by": "user,kind,engine", "since": "30d"}
    )
    echoed = httpx.get(
        admin + "/",
        headers=auth,
        params={"since": hostile, "user": hostile, "engine": f'">{hostile}'},
    )
    assert (grouped.status_code, echoed.status_code) == (200, 400)
    for page in (grouped, echoed):
        assert "<script" not in page.text and "<b>" not in page.text
    for text in (f"o{hostile}", kind, f"e{hostile}", f"c{hostile}"):
        assert text.replace("<", "&lt;").replace(">", "&gt;") in grouped.text
    assert 'data-series="&lt;b&gt;k&lt;/b&gt;"' in grouped.text  # the chart's SVG too
    assert 'id="filter-error">cannot read time' in echoed.text  # the error text, escaped
    assert 'value="&quot;&gt;&lt;script&gt;' in echoed.text  # a filter echoed in its input


def test_json_answers_say_charset_utf_8(admin: str, sessions: SessionFactory) -> None:
    """Issue 19: every JSON answer of the dashboard names its charset."""
    add_sample_usage(sessions)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answers = {
        200: httpx.get(admin + "/usage.json", headers=auth),
        400: httpx.get(admin + "/usage.json", headers=auth, params={"since": "someday"}),
        401: httpx.get(admin + "/usage.json"),
    }
    for status, answer in answers.items():
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/json; charset=utf-8", status
        assert answer.json() is not None


def test_make_admin_app_answers_404_without_token(sessions: SessionFactory) -> None:
    seen: list[str] = []

    def start_response(
        status: str, _headers: list[tuple[str, str]], _exc_info: object = None
    ) -> Callable[[bytes], object]:
        seen.append(status)
        return lambda _data: None

    body = make_admin_app(Config(), sessions)({"PATH_INFO": "/"}, start_response)
    assert seen == ["404 Not Found"] and b"".join(body) == b"not found"


def test_a_short_token_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[admin]\ntoken = "admin"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"admin\.token: .*16 characters"):
        load_config(path)
