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
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.types import StartResponse
from wsgiref.types import WSGIApplication as WSGIApp
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.db import SessionFactory
from bot.usage import (
    DEFAULT_GROUP_BY,
    DEFAULT_SINCE,
    KIND_LABELS,
    OUTCOME_LABELS,
    ErrorRow,
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
KIND_COLORS = {"idcard": "#1565c0", "bankcard": "#6a1b9a", "auto": "#00838f"}
FALLBACK_COLORS = ("#8d6e63", "#455a64", "#ad1457", "#558b2f", "#4e342e")

_SECURITY_HEADERS = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
]


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
    return _send(start_response, "404 Not Found", b"not found", "text/plain; charset=utf-8")


def _send(
    start_response: StartResponse,
    status: str,
    body: bytes,
    content_type: str,
    extra: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start_response(status, headers + _SECURITY_HEADERS + list(extra))
    return [body]


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    base: str  # where the app is mounted, e.g. "/admin"
    query: dict[str, list[str]]
    environ: dict[str, Any]

    def first(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0].strip() if values else default

    @property
    def address(self) -> str:
        """The client's address (behind a trusted proxy, the one it forwarded)."""
        return str(self.environ.get("REMOTE_ADDR") or "-")

    @property
    def bearer(self) -> str | None:
        """The token of an ``Authorization: Bearer`` header, None without one."""
        header = str(self.environ.get("HTTP_AUTHORIZATION", ""))
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        return None

    @property
    def logs_in(self) -> bool:
        """Whether the request presents the token (and so is a login attempt)."""
        return self.bearer is not None or (self.path == "/login" and self.method == "POST")


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

    def _check_token(self, request: _Request, candidate: str) -> bool:
        """Whether a submitted token is right; a wrong one counts against the address."""
        if candidate and self.token_matches(candidate):
            self._limiter.succeeded(request.address)
            return True
        failures = self._limiter.failed(request.address)
        # The address and the count only: never what was submitted.
        log.warning(
            "admin login refused from %s (%d of %d failures allowed in %.0f s)",
            request.address,
            failures,
            self._limiter.max_failures,
            self._limiter.window_s,
        )
        return False

    def _authorized(self, request: _Request) -> bool:
        if request.bearer is not None:
            return self._check_token(request, request.bearer)
        for part in request.environ.get("HTTP_COOKIE", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME and self._cookie_valid(value):
                return True
        return False

    def _cookie_header(self, request: _Request, value: str, max_age: int) -> tuple[str, str]:
        secure = "; Secure" if request.environ.get("wsgi.url_scheme") == "https" else ""
        path = request.base or "/"
        return (
            "Set-Cookie",
            f"{COOKIE_NAME}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict"
            f"{secure}",
        )

    # ------------------------------------------------------------ dispatch

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = _Request(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=environ.get("PATH_INFO", "") or "/",
            base=environ.get("SCRIPT_NAME", "").rstrip("/"),
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            environ=environ,
        )
        try:
            return self._route(request, start_response)
        except Exception:
            log.exception("admin request failed: path=%s", request.path)
            return _send(
                start_response, "500 Internal Server Error", b"internal error", "text/plain"
            )

    def _route(self, request: _Request, start_response: StartResponse) -> Iterable[bytes]:
        if request.logs_in:
            wait = self._limiter.retry_after(request.address)
            if wait > 0:
                return self._too_many_failures(request, start_response, wait)
        if request.path == "/login" and request.method == "POST":
            return self._login(request, start_response)
        if request.path == "/logout":
            return _send(
                start_response,
                "303 See Other",
                b"",
                "text/plain",
                [("Location", f"{request.base}/"), self._cookie_header(request, "", 0)],
            )
        if request.path == "/usage.json":
            if not self._authorized(request):
                return _send(
                    start_response,
                    "401 Unauthorized",
                    b'{"error": "unauthorized"}',
                    "application/json",
                    [("WWW-Authenticate", 'Bearer realm="wxocr admin"')],
                )
            return self._usage_json(request, start_response)
        if request.path in ("/", "/login"):
            if not self._authorized(request):
                return self._login_page(request, start_response, "401 Unauthorized", "")
            return self._dashboard(request, start_response)
        return _not_found(request.environ, start_response)

    # ------------------------------------------------------------ pages

    def _login(self, request: _Request, start_response: StartResponse) -> Iterable[bytes]:
        length_text = request.environ.get("CONTENT_LENGTH") or "0"
        length = int(length_text) if length_text.isdigit() else 0
        if length > MAX_FORM_BYTES:
            return _send(start_response, "413 Payload Too Large", b"too large", "text/plain")
        body = request.environ["wsgi.input"].read(length) if length else b""
        form = parse_qs(body.decode("utf-8", "replace"))
        candidate = (form.get("token") or [""])[0]
        if not self._check_token(request, candidate):
            return self._login_page(
                request, start_response, "401 Unauthorized", "令牌错误 / wrong token"
            )
        expires = int(time.time()) + SESSION_SECONDS
        return _send(
            start_response,
            "303 See Other",
            b"",
            "text/plain",
            [
                ("Location", f"{request.base}/"),
                self._cookie_header(request, self._cookie_value(expires), SESSION_SECONDS),
            ],
        )

    def _too_many_failures(
        self, request: _Request, start_response: StartResponse, wait_s: float
    ) -> Iterable[bytes]:
        seconds = max(1, math.ceil(wait_s))
        log.info(
            "admin login from %s not tried: too many failures, %d s left", request.address, seconds
        )
        message = (
            f"登录失败次数过多，请 {seconds} 秒后再试 / "
            f"too many failed logins, try again in {seconds} s"
        )
        retry_after = [("Retry-After", str(seconds))]
        if request.path == "/usage.json":
            body = json.dumps({"error": message}, ensure_ascii=False).encode()
            return _send(
                start_response, "429 Too Many Requests", body, "application/json", retry_after
            )
        return self._login_page(
            request, start_response, "429 Too Many Requests", message, retry_after
        )

    def _login_page(
        self,
        request: _Request,
        start_response: StartResponse,
        status: str,
        message: str,
        extra: Sequence[tuple[str, str]] = (),
    ) -> Iterable[bytes]:
        error = f'<p class="error" id="login-error">{escape(message)}</p>' if message else ""
        body = f"""<h1>wxocr 用量 · 登录</h1>{error}
<form method="post" action="{escape(request.base)}/login" id="login-form">
<label>管理令牌 admin token <input type="password" name="token" id="token" autofocus
 autocomplete="current-password"></label> <button type="submit">登录</button></form>"""
        return _send(
            start_response,
            status,
            _page("wxocr admin login", body),
            "text/html; charset=utf-8",
            [("WWW-Authenticate", 'Bearer realm="wxocr admin"'), *extra],
        )

    def _filters(self, request: _Request) -> tuple[UsageFilters, tuple[GroupBy, ...]]:
        values = {name: request.first(name) for name in FILTER_NAMES}
        since = request.first("since", DEFAULT_SINCE) if "since" in request.query else DEFAULT_SINCE
        filters = build_filters(
            self._tz,
            since=since or None,
            until=values["until"] or None,
            user=values["user"],
            kind=values["kind"],
            outcome=values["outcome"],
            engine=values["engine"],
        )
        group_by = parse_group_by(request.query.get("group_by", [])) or DEFAULT_GROUP_BY
        return filters, group_by

    def _usage_json(self, request: _Request, start_response: StartResponse) -> Iterable[bytes]:
        try:
            filters, group_by = self._filters(request)
        except UsageQueryError as exc:
            body = json.dumps({"error": str(exc)}, ensure_ascii=False).encode()
            return _send(start_response, "400 Bad Request", body, "application/json")
        start_response(
            "200 OK", [("Content-Type", "application/json; charset=utf-8"), *_SECURITY_HEADERS]
        )
        return self._stream_json(filters, group_by)

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

    def _dashboard(self, request: _Request, start_response: StartResponse) -> Iterable[bytes]:
        error = ""
        try:
            filters, group_by = self._filters(request)
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
        sections = [
            f'<h1>wxocr 用量</h1><p class="muted">时间为 {escape(self._tz.key)} · '
            f'<a href="{escape(request.base)}/logout">退出</a></p>',
            _filter_form(request, group_by),
        ]
        if error:
            sections.append(f'<p class="error" id="filter-error">{escape(error)}</p>')
        query = urlencode([(k, v) for k, vs in request.query.items() for v in vs])
        json_link = f"{escape(request.base)}/usage.json" + (f"?{escape(query)}" if query else "")
        sections += [
            "<h2>每日请求</h2>",
            _daily_chart(daily, "kind", "按类型 by kind", KIND_COLORS, KIND_LABELS),
            _daily_chart(daily, "outcome", "按结果 by outcome", OUTCOME_COLORS, OUTCOME_LABELS),
            f'<h2>分组统计</h2><p class="muted"><a href="{json_link}" id="json-link">JSON</a></p>',
            _groups_table(groups, group_by),
            "<h2>最近错误</h2>",
            _errors_table(errors, self._tz),
        ]
        status = "400 Bad Request" if error else "200 OK"
        return _send(
            start_response,
            status,
            _page("wxocr admin", "\n".join(sections)),
            "text/html; charset=utf-8",
        )


# ---------------------------------------------------------------- HTML pieces

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


def _page(title: str, body: str) -> bytes:
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    ).encode()


def _filter_form(request: _Request, group_by: tuple[GroupBy, ...]) -> str:
    def text_input(name: str, label: str, default: str = "") -> str:
        value = request.first(name, default) if name in request.query else default
        return (
            f'<label>{label}<input name="{name}" id="f-{name}" value="{escape(value)}" '
            f'size="12"></label>'
        )

    def choice(name: str, label: str, options: dict[str, str]) -> str:
        current = request.first(name)
        items = ['<option value="">全部 all</option>'] + [
            f'<option value="{escape(key)}"{" selected" if key == current else ""}>'
            f"{escape(text)} {escape(key)}</option>"
            for key, text in options.items()
        ]
        return (
            f'<label>{label}<select name="{name}" id="f-{name}">{"".join(items)}</select></label>'
        )

    boxes = "".join(
        f'<label><span><input type="checkbox" name="group_by" value="{g.value}" '
        f'id="g-{g.value}"{" checked" if g in group_by else ""}> {g.value}</span></label>'
        for g in GroupBy
    )
    return (
        f'<form class="filters" method="get" action="{escape(request.base)}/" id="filters">'
        + text_input("since", "自 since", DEFAULT_SINCE)
        + text_input("until", "至 until")
        + text_input("user", "用户 openid")
        + choice("kind", "类型 kind", KIND_LABELS)
        + choice("outcome", "结果 outcome", OUTCOME_LABELS)
        + text_input("engine", "引擎 engine")
        + f'<fieldset><legend class="muted">分组 group by</legend>{boxes}</fieldset>'
        + '<button type="submit" id="apply">查询</button></form>'
    )


def _format_ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _groups_table(groups: list[UsageGroup], group_by: tuple[GroupBy, ...]) -> str:
    head = "".join(f'<th class="key">{g.value}</th>' for g in group_by)
    rows = "".join(
        "<tr>"
        + "".join(f'<td class="key">{escape(group.keys[g.value])}</td>' for g in group_by)
        + f"<td>{group.count}</td><td>{group.ok}</td><td>{group.success_rate:.1%}</td>"
        + f"<td>{_format_ms(group.p50_ms)}</td><td>{_format_ms(group.p95_ms)}</td></tr>"
        for group in groups
    )
    if not groups:
        rows = f'<tr><td colspan="{len(group_by) + 5}">无记录 no rows</td></tr>'
    return (
        f'<table id="groups"><thead><tr>{head}<th>count</th><th>ok</th><th>success</th>'
        f"<th>p50 ms</th><th>p95 ms</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _errors_table(errors: list[ErrorRow], tz: ZoneInfo) -> str:
    rows = "".join(
        f"<tr><td>{row.created_at.astimezone(tz):%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{escape(row.openid)}</td><td>{escape(row.kind)}</td><td>{escape(row.engine)}</td>"
        f"<td>{escape(row.outcome)}</td><td>{escape(row.error_code)}</td>"
        f"<td>{'' if row.errcode is None else row.errcode}</td>"
        f"<td>{_format_ms(row.latency_ms)}</td></tr>"
        for row in errors
    )
    if not errors:
        rows = '<tr><td colspan="8">无错误 no errors</td></tr>'
    return (
        '<table id="errors"><thead><tr><th>time</th><th>openid</th><th>kind</th><th>engine</th>'
        "<th>outcome</th><th>error</th><th>errcode</th><th>ms</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _daily_chart(
    daily: list[UsageGroup],
    series_key: str,
    title: str,
    colors: dict[str, str],
    labels: dict[str, str],
) -> str:
    """A stacked bar per day, one colour per value of ``series_key``, as inline SVG."""
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
    chart_id = f"chart-{series_key}"
    grand_total = sum(totals.values())
    if not days:
        return f'<p class="muted" id="{chart_id}-empty">{escape(title)}：无数据 no data</p>'
    width, height, left, bottom, top = 900, 260, 48, 40, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    day_max = max(sum(totals.get((day, s), 0) for s in series) for day in days)
    slot = plot_w / len(days)
    bar_w = max(1.0, slot * 0.8)
    parts = [
        f'<svg class="chart" id="{chart_id}" data-total="{grand_total}" role="img" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14">{escape(title)}（最高 {day_max}/天）</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{day_max}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    label_every = max(1, len(days) // 12)
    for index, day in enumerate(days):
        x = left + index * slot + (slot - bar_w) / 2
        y = float(top + plot_h)
        for name in series:
            count = totals.get((day, name), 0)
            if not count:
                continue
            bar_h = plot_h * count / day_max
            y -= bar_h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                f'fill="{palette[name]}" data-day="{escape(day)}" data-series="{escape(name)}" '
                f'data-count="{count}"><title>{escape(day)} {escape(name)}: {count}</title></rect>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                f"{escape(day[5:])}</text>"
            )
    legend_x = left
    for name in series:
        text = f"{labels.get(name, name or '—')} {name}".strip()
        parts.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" '
            f'fill="{palette[name]}"/><text x="{legend_x + 14}" y="{height - 5}">'
            f"{escape(text)}</text>"
        )
        legend_x += 14 + 8 * len(text) + 16
    parts.append("</svg>")
    return "".join(parts)
