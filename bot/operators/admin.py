"""The read-only operator dashboard, mounted at ``/admin`` by the bot's WSGI app.

Off unless ``admin.token`` is set. A request is let in by ``Authorization: Bearer
<token>`` or by the cookie the login form sets; the cookie holds an expiry and an HMAC
of it keyed by the token (never the token itself), so changing the token logs everyone
out. Every comparison is constant-time. The page shows usage figures only (openids,
kinds, outcomes, error codes, latencies): the usage table holds no card data.

Failed logins (a wrong token in the form or in a bearer header) are counted per client
address (``REMOTE_ADDR``: the client's own address behind ``server.trusted_proxy``);
after ``admin.login_max_failures`` within ``admin.login_window_s`` that address gets
HTTP 429 until the oldest failure leaves the window. The count lives in the memory of
each server process: with ``--workers N`` an address may fail up to N times as often,
and a restart forgets it. A session cookie already issued keeps working.

Paths are relative to where the app is mounted (``SCRIPT_NAME``): ``/`` the dashboard,
``/login``, ``/logout``, ``/usage.json`` (the ``wxocr usage --json`` list, same filters).
A bottle app: routing, forms and cookies are bottle's, the pages are SimpleTemplates in
``bot/operators/templates/`` (they escape every value unless told not to with ``{{!...}}``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse
from wsgiref.types import WSGIApplication as WSGIApp
from zoneinfo import ZoneInfo

import bottle
from bottle import FormsDict, HTTPResponse, SimpleTemplate

from bot.config import Config
from bot.operators.usage import (
    DEFAULT_GROUP_BY,
    DEFAULT_SINCE,
    KIND_LABELS,
    OUTCOME_LABELS,
    GroupBy,
    UsageFilters,
    UsageGroup,
    UsageQueryError,
    build_filters,
    latest_errors,
    parse_group_by,
    query_usage,
    zone,
)
from bot.store.db import SessionFactory
from ocr.engine import AUTO
from ocr.kinds import kind_names

log = logging.getLogger(__name__)


COOKIE_NAME = "wxocr_admin"
SESSION_SECONDS = 12 * 3600
MAX_FORM_BYTES = 4096
FILTER_NAMES = ("since", "until", "user", "kind", "outcome", "engine")
OUTCOME_COLORS = {
    "ok": "#2e7d32",
    "no_card": "#f9a825",
    "bad_image": "#ef6c00",
    "error": "#c62828",
    "limited": "#757575",
}
# Colours in registry order (ocr/kinds/); kinds beyond them take FALLBACK_COLORS.
# One colour per registered kind (issue 15 adds five), in registry order.
KIND_PALETTE = ("#1565c0", "#6a1b9a", "#c62828", "#2e7d32", "#ef6c00", "#5d4037", "#37474f")
KIND_COLORS = {**dict(zip(kind_names(), KIND_PALETTE, strict=False)), AUTO: "#00838f"}
FALLBACK_COLORS = ("#8d6e63", "#455a64", "#ad1457", "#558b2f", "#4e342e")

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def make_admin_app(config: Config, session_factory: SessionFactory) -> WSGIApp:
    """The ``/admin`` WSGI app; every path answers 404 while ``admin.token`` is empty."""
    if not config.admin.token:
        return _not_found
    limiter = LoginLimiter(config.admin.login_max_failures, config.admin.login_window_s)
    return AdminApp(config.admin.token, zone(config.log.timezone), session_factory, limiter)


class LoginLimiter:
    """Failed logins per client address within a sliding window, in this process only."""

    # Addresses remembered at most: a flood from many addresses must not grow memory
    # without bound (the oldest entries go first; per-address limits cannot stop such a
    # flood anyway).
    MAX_ADDRESSES = 10_000

    def __init__(
        self,
        max_failures: int,
        window_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try to log in again; 0 when it may now."""
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            if len(failures) < self.max_failures:
                return 0.0
            return max(0.0, failures[-self.max_failures] + self.window_s - now)

    def failed(self, address: str) -> int:
        """Count a failed login of ``address``; its failures within the window, this one too."""
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            if not failures:
                self._failures.pop(address, None)
                if len(self._failures) >= self.MAX_ADDRESSES:
                    self._failures.pop(next(iter(self._failures)))
                self._failures[address] = failures
            failures.append(now)
            if len(failures) > self.max_failures:
                failures.popleft()  # only the latest max_failures decide when to let it in
            return len(failures)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.get(address, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures


def _not_found(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    body = b"not found"
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start_response("404 Not Found", headers + list(_SECURITY_HEADERS.items()))
    return [body]


def _send(
    status: int,
    body: str | bytes | Iterable[bytes],
    content_type: str,
    extra: Sequence[tuple[str, str]] = (),
) -> HTTPResponse:
    response = HTTPResponse(body, status, {"Content-Type": content_type, **_SECURITY_HEADERS})
    for name, value in extra:
        response.add_header(name, value)
    return response


def _json(status: int, data: Any, extra: Sequence[tuple[str, str]] = ()) -> HTTPResponse:
    body = json.dumps(data, ensure_ascii=False)
    return _send(status, body, "application/json; charset=utf-8", extra)


def _query() -> FormsDict:
    query = FormsDict()
    for key, value in bottle.request.query.allitems():
        # bottle hands out WSGI's latin-1 text (PEP 3333); bad UTF-8 must not fail the page.
        query.append(key, value.encode("latin-1").decode("utf-8", "replace"))
    return query


def _address() -> str:
    """The client's address (behind a trusted proxy, the one it forwarded).

    Not bottle's ``remote_addr``: that believes any client's X-Forwarded-For."""
    return str(bottle.request.environ.get("REMOTE_ADDR") or "-")


def _bearer() -> str | None:
    """The token of an ``Authorization: Bearer`` header, None without one."""
    scheme, _, credentials = str(bottle.request.get_header("Authorization", "")).partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def _base() -> str:
    """Where the app is mounted, e.g. "/admin"."""
    return str(bottle.request.environ.get("SCRIPT_NAME", "")).rstrip("/")


class AdminApp:
    def __init__(
        self,
        token: str,
        tz: ZoneInfo,
        session_factory: SessionFactory,
        limiter: LoginLimiter,
    ) -> None:
        self._token = token.encode()
        self._tz = tz
        self._sessions = session_factory
        self._limiter = limiter
        self.web = bottle.Bottle()
        self.web.install(_logged)
        self.web.add_hook("before_request", self._refuse_blocked_logins)
        self.web.route("/login", "POST", self._login)
        self.web.route("/logout", "ANY", self._logout)
        self.web.route("/usage.json", "ANY", self._usage_json)
        self.web.route("/", "ANY", self._dashboard)
        self.web.route("/login", "ANY", self._dashboard)
        self.web.error(404)(lambda _error: _send(404, "not found", "text/plain; charset=utf-8"))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body: Iterable[bytes] = self.web(environ, start_response)
        return body

    # ------------------------------------------------------------ auth

    def _cookie_value(self, expires: int) -> str:
        mac = hmac.new(self._token, f"wxocr-admin:{expires}".encode(), hashlib.sha256)
        return f"{expires}.{mac.hexdigest()}"

    def _cookie_valid(self, value: str) -> bool:
        expires_text, _, _mac = value.partition(".")
        if not expires_text.isdigit() or int(expires_text) < time.time():
            return False
        return hmac.compare_digest(self._cookie_value(int(expires_text)).encode(), value.encode())

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(self._token, candidate.encode())

    def _check_token(self, candidate: str) -> bool:
        """Whether a submitted token is right; a wrong one counts against the address."""
        address = _address()
        if candidate and self.token_matches(candidate):
            self._limiter.succeeded(address)
            return True
        failures = self._limiter.failed(address)
        # The address and the count only: never what was submitted.
        log.warning(
            "admin login refused from %s (%d of %d failures allowed in %.0f s)",
            address,
            failures,
            self._limiter.max_failures,
            self._limiter.window_s,
        )
        return False

    def _authorized(self) -> bool:
        bearer = _bearer()
        if bearer is not None:
            return self._check_token(bearer)
        cookie = bottle.request.get_cookie(COOKIE_NAME)
        return isinstance(cookie, str) and self._cookie_valid(cookie)

    def _session_cookie(self, value: str, max_age: int) -> tuple[str, str]:
        # Written by hand: bottle's set_cookie lower-cases SameSite's value.
        secure = "; Secure" if bottle.request.urlparts.scheme == "https" else ""
        return (
            "Set-Cookie",
            f"{COOKIE_NAME}={value}; Path={_base() or '/'}; Max-Age={max_age}; HttpOnly; "
            f"SameSite=Strict{secure}",
        )

    def _refuse_blocked_logins(self) -> None:
        """An address with too many failed logins may not present the token (429)."""
        logs_in = _bearer() is not None or (
            bottle.request.path == "/login" and bottle.request.method == "POST"
        )
        wait_s = self._limiter.retry_after(_address()) if logs_in else 0.0
        if wait_s <= 0:
            return
        seconds = max(1, math.ceil(wait_s))
        log.info("admin login from %s not tried: too many failures, %d s left", _address(), seconds)
        message = (
            f"登录失败次数过多，请 {seconds} 秒后再试 / "
            f"too many failed logins, try again in {seconds} s"
        )
        retry_after = [("Retry-After", str(seconds))]
        if bottle.request.path == "/usage.json":
            raise _json(429, {"error": message}, retry_after)
        raise self._login_page(429, message, retry_after)

    # ------------------------------------------------------------ pages

    def _login(self) -> HTTPResponse:
        if bottle.request.content_length > MAX_FORM_BYTES:
            return _send(413, "too large", "text/plain; charset=utf-8")
        candidate = bottle.request.forms.getunicode("token", default="")
        if not self._check_token(candidate):
            return self._login_page(401, "令牌错误 / wrong token")
        expires = int(time.time()) + SESSION_SECONDS
        cookie = self._session_cookie(self._cookie_value(expires), SESSION_SECONDS)
        return _send(303, "", "text/plain", [("Location", f"{_base()}/"), cookie])

    def _logout(self) -> HTTPResponse:
        cookie = self._session_cookie("", 0)
        return _send(303, "", "text/plain", [("Location", f"{_base()}/"), cookie])

    def _login_page(
        self, status: int, message: str, extra: Sequence[tuple[str, str]] = ()
    ) -> HTTPResponse:
        page = _LOGIN.render(base=_base(), message=message, style=_STYLE)
        challenge = ("WWW-Authenticate", 'Bearer realm="wxocr admin"')
        return _send(status, page, "text/html; charset=utf-8", [challenge, *extra])

    def _filters(self, query: FormsDict) -> tuple[UsageFilters, tuple[GroupBy, ...]]:
        def first(name: str) -> str | None:
            values = query.getall(name)
            return values[0].strip() or None if values else None

        since = first("since") if "since" in query else DEFAULT_SINCE
        filters = build_filters(
            self._tz,
            since=since,
            until=first("until"),
            user=first("user") or "",
            kind=first("kind") or "",
            outcome=first("outcome") or "",
            engine=first("engine") or "",
        )
        group_by = parse_group_by(query.getall("group_by")) or DEFAULT_GROUP_BY
        return filters, group_by

    def _usage_json(self) -> HTTPResponse:
        if not self._authorized():
            challenge = ("WWW-Authenticate", 'Bearer realm="wxocr admin"')
            return _json(401, {"error": "unauthorized"}, [challenge])
        try:
            filters, group_by = self._filters(_query())
        except UsageQueryError as exc:
            return _json(400, {"error": str(exc)})
        return _send(200, self._stream_json(filters, group_by), "application/json; charset=utf-8")

    def _stream_json(self, filters: UsageFilters, group_by: tuple[GroupBy, ...]) -> Iterator[bytes]:
        # One group per chunk: a year of hourly groups never sits in memory at once.
        with self._sessions() as session:
            yield b"["
            for index, group in enumerate(
                query_usage(session, filters, group_by, timezone_name=self._tz.key)
            ):
                prefix = b"," if index else b""
                yield prefix + json.dumps(group.as_json(), ensure_ascii=False).encode()
            yield b"]"

    def _dashboard(self) -> HTTPResponse:
        if not self._authorized():
            return self._login_page(401, "")
        query = _query()
        error = ""
        try:
            filters, group_by = self._filters(query)
        except UsageQueryError as exc:
            error = str(exc)
            filters, group_by = build_filters(self._tz), DEFAULT_GROUP_BY
        with self._sessions() as session:
            groups = list(query_usage(session, filters, group_by, timezone_name=self._tz.key))
            daily = list(
                query_usage(
                    session,
                    filters,
                    (GroupBy.DAY, GroupBy.KIND, GroupBy.OUTCOME),
                    timezone_name=self._tz.key,
                    latency=False,
                )
            )
            errors = latest_errors(session, filters)
        query_string = bottle.request.query_string
        page = _DASHBOARD.render(
            base=_base(),
            style=_STYLE,
            tz=self._tz.key,
            error=error,
            fields=_filter_fields(query),
            group_by=group_by,
            all_group_by=list(GroupBy),
            charts=[
                _daily_chart(daily, "kind", "按类型 by kind", KIND_COLORS, KIND_LABELS),
                _daily_chart(daily, "outcome", "按结果 by outcome", OUTCOME_COLORS, OUTCOME_LABELS),
            ],
            json_link=f"{_base()}/usage.json" + (f"?{query_string}" if query_string else ""),
            groups=groups,
            errors=[
                (f"{row.created_at.astimezone(self._tz):%Y-%m-%d %H:%M:%S}", row) for row in errors
            ],
            format_ms=_format_ms,
        )
        return _send(400 if error else 200, page, "text/html; charset=utf-8")


def _logged(callback: Callable[..., HTTPResponse]) -> Callable[..., HTTPResponse]:
    """A bottle plugin: a failing page is logged (our log, not stderr) and answers 500."""

    def logged(*args: Any, **kwargs: Any) -> HTTPResponse:
        try:
            return callback(*args, **kwargs)
        except HTTPResponse:
            raise
        except Exception:
            log.exception("admin request failed: path=%s", bottle.request.path)
            return _send(500, "internal error", "text/plain; charset=utf-8")

    return logged


# ---------------------------------------------------------------- page pieces

_TEMPLATES = [str(Path(__file__).parent / "templates")]
_LOGIN = SimpleTemplate(name="admin_login.tpl", lookup=_TEMPLATES)
_DASHBOARD = SimpleTemplate(name="admin_dashboard.tpl", lookup=_TEMPLATES)
_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:1.5rem;color:#222;max-width:72rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:right}
td:first-child,th:first-child{text-align:left}
.muted{color:#666;font-size:.9em}.error{color:#c62828;font-weight:bold}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:.85em}
form.filters fieldset label{display:inline;margin-right:.6rem}
.key{text-align:left}
svg.chart{width:100%;max-width:60rem;height:auto;margin-bottom:1rem}
svg text{font-size:11px;fill:#444}
"""


@dataclass(frozen=True)
class _FilterField:
    name: str
    label: str
    value: str
    options: dict[str, str] | None = None  # a choice; None: a text input


def _filter_fields(query: FormsDict) -> list[_FilterField]:
    def value(name: str, default: str = "") -> str:
        values = query.getall(name)
        return values[0].strip() if values else default

    return [
        _FilterField("since", "自 since", value("since", DEFAULT_SINCE)),
        _FilterField("until", "至 until", value("until")),
        _FilterField("user", "用户 openid", value("user")),
        _FilterField("kind", "类型 kind", value("kind"), KIND_LABELS),
        _FilterField("outcome", "结果 outcome", value("outcome"), OUTCOME_LABELS),
        _FilterField("engine", "引擎 engine", value("engine")),
    ]


def _format_ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


@dataclass(frozen=True)
class _Bar:
    x: str
    y: str
    width: str
    height: str
    fill: str
    day: str
    series: str
    count: int


@dataclass
class _Chart:
    """A stacked bar per day, one colour per series, drawn by the template as inline SVG."""

    id: str
    title: str
    total: int = 0
    day_max: int = 0
    bars: list[_Bar] = field(default_factory=list)
    day_labels: list[tuple[str, str]] = field(default_factory=list)  # (x, MM-DD)
    legend: list[tuple[int, str, str]] = field(default_factory=list)  # (x, colour, text)
    width: int = 900
    height: int = 260
    left: int = 48
    top: int = 24
    plot_h: int = 260 - 40 - 24


def _daily_chart(
    daily: list[UsageGroup],
    series_key: str,
    title: str,
    colors: dict[str, str],
    labels: dict[str, str],
) -> _Chart:
    chart = _Chart(id=f"chart-{series_key}", title=title)
    days = sorted({g.keys["day"] for g in daily})
    totals: dict[tuple[str, str], int] = {}
    for g in daily:
        key = (g.keys["day"], g.keys[series_key])
        totals[key] = totals.get(key, 0) + g.count
    series = sorted({name for _, name in totals}, key=lambda n: (n not in colors, n))
    palette = {
        name: colors.get(name, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])
        for index, name in enumerate(series)
    }
    chart.total = sum(totals.values())
    if not days:
        return chart
    plot_w = chart.width - chart.left - 10
    chart.day_max = max(sum(totals.get((day, s), 0) for s in series) for day in days)
    slot = plot_w / len(days)
    bar_w = max(1.0, slot * 0.8)
    label_every = max(1, len(days) // 12)
    for index, day in enumerate(days):
        x = chart.left + index * slot + (slot - bar_w) / 2
        y = float(chart.top + chart.plot_h)
        for name in series:
            count = totals.get((day, name), 0)
            if not count:
                continue
            bar_h = chart.plot_h * count / chart.day_max
            y -= bar_h
            chart.bars.append(
                _Bar(
                    f"{x:.1f}",
                    f"{y:.1f}",
                    f"{bar_w:.1f}",
                    f"{bar_h:.1f}",
                    palette[name],
                    day,
                    name,
                    count,
                )
            )
        if index % label_every == 0:
            chart.day_labels.append((f"{x + bar_w / 2:.1f}", day[5:]))
    legend_x = chart.left
    for name in series:
        text = f"{labels.get(name, name or '—')} {name}".strip()
        chart.legend.append((legend_x, palette[name], text))
        legend_x += 14 + 8 * len(text) + 16
    return chart
