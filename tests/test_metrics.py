"""/metrics, /readyz and the client address behind a proxy.

The counters are process-wide, so in-process tests compare values before and after.
The end-to-end test runs ``wxocr serve`` (one waitress process) with the real OCR.
"""

from __future__ import annotations

import json
import re
import struct
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from bot.config import Config
from bot.metrics import WrittenFilesCollector, count_requests, exposition, route_of
from bot.sandbox.emulator import SandboxServer
from bot.serving.readiness import Readiness
from bot.store.db import create_db_engine, upgrade_database
from bot.tools.serving_process import serving_process
from bot.tools.simulate import Simulator
from ocr.errors import EngineUnavailable
from ocr.mask import mask_card_number
from tests.helpers_e2e import card, smaller

StartResponse = Any


def call(app: Any, path: str, method: str = "GET") -> tuple[str, bytes]:
    """One WSGI call: (status, body)."""
    seen: list[str] = []

    def start_response(status: str, _headers: list[tuple[str, str]], *_: Any) -> None:
        seen.append(status)

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": ""}
    body = b"".join(app(environ, start_response))
    return seen[0], body


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): float(s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def http_requests(route: str, status: str) -> float:
    labels = {"route": route, "status": status}
    return REGISTRY.get_sample_value("wxocr_http_requests_total", labels) or 0.0


# ---------------------------------------------------------------- in process


def test_routes_are_a_fixed_set_of_labels() -> None:
    assert route_of("/wechat", "/wechat") == "webhook"
    assert route_of("/wechat/", "/wechat") == "webhook"
    assert route_of("/metrics", "/wechat") == "metrics"
    assert route_of("/admin/usage.json", "/wechat") == "admin"
    assert route_of("/sandbox/cgi-bin/token", "/wechat") == "sandbox"
    # Whatever a scanner asks for, the label set does not grow.
    assert route_of("/wp-login.php", "/wechat") == "other"
    assert route_of("/administrator", "/wechat") == "other"


def test_requests_are_counted_by_route_and_status() -> None:
    def tiny(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        found = environ["PATH_INFO"] == "/healthz"
        start_response("200 OK" if found else "404 Not Found", [])
        return [b""]

    app = count_requests(tiny, "/wechat")
    ok_before, missing_before = http_requests("healthz", "200"), http_requests("other", "404")
    for path in ("/healthz", "/healthz", "/nothing-here"):
        call(app, path)
    assert http_requests("healthz", "200") == ok_before + 2
    assert http_requests("other", "404") == missing_before + 1


def test_pending_deliveries_are_read_at_scrape_time() -> None:
    pending = [3]
    first = samples(exposition(lambda: pending[0]).decode())
    pending[0] = 0
    second = samples(exposition(lambda: pending[0]).decode())
    assert first[("wxocr_pending_deliveries", ())] == 3
    assert second[("wxocr_pending_deliveries", ())] == 0


def test_a_scrape_answers_when_the_database_does_not() -> None:
    def broken() -> int:
        raise ConnectionError("database down")

    text = exposition(broken).decode()
    assert "wxocr_pending_deliveries" not in text
    assert "wxocr_http_requests" in text  # the rest is still there


# ---------------------------------------------------------------- readiness


@pytest.fixture
def bare_db(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def readiness_of(readiness: Readiness) -> tuple[str, dict[str, str]]:
    readiness.start()
    for _ in range(100):  # the model loads in the background
        if readiness.checks()["ocr"] != "loading":
            break
        time.sleep(0.05)
    status, body = call(readiness, "/readyz")
    return status, json.loads(body)["checks"]


def test_not_ready_until_the_database_is_migrated(bare_db: Engine) -> None:
    readiness = Readiness(Config(), bare_db, load_model=lambda: None)
    status, checks = readiness_of(readiness)
    assert status.startswith("503")
    assert "wxocr db upgrade" in checks["migrations"]
    assert checks["database"] == "ok"
    upgrade_database(bare_db)
    status, checks = readiness_of(readiness)
    assert status == "200 OK", checks


def test_not_ready_when_the_ocr_model_cannot_load(bare_db: Engine) -> None:
    upgrade_database(bare_db)

    def unloadable() -> None:
        raise EngineUnavailable("model files missing")

    status, checks = readiness_of(Readiness(Config(), bare_db, load_model=unloadable))
    assert status.startswith("503")
    assert checks["ocr"] == "failed (EngineUnavailable)"


def test_not_ready_when_the_database_is_unreachable() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:9/none")
    try:
        status, checks = readiness_of(Readiness(Config(), engine, load_model=lambda: None))
    finally:
        engine.dispose()
    assert status.startswith("503")
    assert checks["database"].startswith("unreachable")


# ---------------------------------------------------------------- a real server


def test_metrics_move_and_the_proxy_address_is_logged(
    tmp_path: Path, sandbox: SandboxServer, database_url: str
) -> None:
    server = serving_process(
        tmp_path,
        api_base=sandbox.api_base,
        database_url=database_url,
        settings={"server": {"trusted_proxy": "127.0.0.1"}},
    )

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return samples(httpx.get(server.base_url + "/metrics", timeout=10).text)

    webhook_ok = ("wxocr_http_requests_total", (("route", "webhook"), ("status", "200")))
    photos_ok = ("wxocr_photo_outcomes_total", (("outcome", "ok"),))
    ocr_runs = ("wxocr_ocr_seconds_count", ())
    tokens_ok = ("wxocr_token_refreshes_total", (("result", "ok"),))
    try:
        server.start()  # /readyz: the OCR model is loaded
        before = scrape()
        user = Simulator(server.config, url=server.webhook_url, openid="o-metrics", wait_s=600)
        said = user.say("帮助")
        assert "身份证" in (said.reply or "")
        data, label = card("*_bank_scan*")
        sent = user.send_photo(smaller(data, 960))
        answer = sent.reply or user.wait_for_custom_messages(0)[0]
        assert mask_card_number(label["expected"]["number"]) in answer
        after = scrape()
        # Each try counts (a busy machine may make WeChat's 5 s run out and retry).
        tries = said.tries + sent.tries
        assert after[webhook_ok] - before.get(webhook_ok, 0) == tries
        assert after.get(photos_ok, 0) - before.get(photos_ok, 0) == 1
        assert after[ocr_runs] - before[ocr_runs] == 1
        assert after[tokens_ok] >= 1
        assert after[("wxocr_pending_deliveries", ())] == 0
        # Behind the proxy: its X-Forwarded-For names the client; only its own (last)
        # entry is believed, not what the client wrote in front of it.
        forwarded = "198.51.100.1, 203.0.113.7"
        response = httpx.post(
            server.webhook_url + "?signature=forged&timestamp=1&nonce=2",
            content=b"<xml/>",
            headers={"X-Forwarded-For": forwarded},
        )
        assert response.status_code == 403
    finally:
        server.stop()
    assert re.search(r"rejected: bad_signature from 203\.0\.113\.7\b", server.log())
    assert "198.51.100.1" not in server.log()


def test_a_workers_metrics_file_not_yet_written_does_not_fail_the_scrape(tmp_path: Path) -> None:
    """A worker creates its metrics file empty and sizes it a moment later: a scrape in
    between must answer (prometheus-client's own collector fails on the empty file)."""
    (tmp_path / "counter_4242.db").write_bytes(b"")
    plain = CollectorRegistry()
    MultiProcessCollector(plain, path=str(tmp_path))  # type: ignore[no-untyped-call]
    with pytest.raises(struct.error):
        generate_latest(plain)
    registry = CollectorRegistry()
    WrittenFilesCollector(registry, path=str(tmp_path))
    assert generate_latest(registry) == b""
