"""Privacy audit: the whole fixture set through the bot, then look for card data everywhere.

``wxocr serve`` runs in sandbox mode at log level DEBUG with the real local OCR; every
committed card photo is sent as WeChat would. Then the database (every byte of the
SQLite files, WAL included; on PostgreSQL every text value of every table), the whole
log and every answer a user got (passive or customer-service) are searched for each
name, ID number, address and full card number from the labels: none may appear. The
secrets (app secret, webhook token, AES key, access tokens) must not appear in the log
or in what the ``wxocr`` commands print.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from bot.store.db import create_db_engine
from ocr.mask import mask_address, mask_card_number, mask_id_number
from tests.helpers_e2e import CARDS, WXOCR, BotServer, SandboxControl

pytestmark = pytest.mark.slow

# Two photos at a time: the server's two OCR threads stay busy, nobody waits past 5 s.
SENDERS = 2


# On PostgreSQL two photos of each label group (its kind and the fields it names: ID
# front, ID back, bank card with and without a date, card-less photos): 11 of the 42. What
# the database keeps of a request depends on its kind and outcome, not on which photo of
# that kind it was, and the answers, the log and the CLI are the same code on either
# database, audited with every photo on SQLite. The OCR of the other 31 photos was about
# 100 s of CPU of the PostgreSQL leg.
PER_GROUP_ON_POSTGRESQL = 2


def fixtures() -> list[tuple[Path, dict[str, Any]]]:
    images = sorted(p for p in CARDS.iterdir() if p.suffix in (".jpg", ".png"))
    return [(p, json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))) for p in images]


def per_group(
    photos: list[tuple[Path, dict[str, Any]]], count: int
) -> list[tuple[Path, dict[str, Any]]]:
    """The first ``count`` photos of each label group (kind and the fields named)."""
    taken: dict[tuple[str, tuple[str, ...]], int] = {}
    chosen = []
    for path, label in photos:
        group = (str(label.get("kind")), tuple(sorted(label.get("expected") or {})))
        taken[group] = taken.get(group, 0) + 1
        if taken[group] <= count:
            chosen.append((path, label))
    return chosen


def sensitive_values(labels: Iterable[dict[str, Any]]) -> dict[str, str]:
    """value -> what it is, for every value that must never be seen unmasked."""
    found: dict[str, str] = {}
    for label in labels:
        expected = label.get("expected", {})
        for field in ("name", "id", "addr", "number"):
            value = str(expected.get(field) or "")
            if value:
                found[value] = field
        addr = str(expected.get("addr") or "")
        hidden = addr[len(mask_address(addr).removesuffix("****")) :]
        if len(hidden) >= 4:  # what the mask hides of an address
            found[hidden] = "addr (hidden part)"
    return found


def hits(text: str, values: dict[str, str]) -> list[str]:
    """Which sensitive values occur in ``text`` (also card numbers printed in groups)."""
    squeezed = "".join(text.split())
    return [
        f"{kind}: {value}"
        for value, kind in values.items()
        if value in text or (kind in ("id", "number") and value in squeezed)
    ]


def random_secret(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(string.ascii_letters) for _ in range(length))


def text_values(database_url: str) -> Iterable[str]:
    """Every non-null value of every column of every table, as text."""
    engine = create_db_engine(database_url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)):
                    yield from (str(value) for value in row if value is not None)
    finally:
        engine.dispose()


def sqlite_files(database_url: str) -> list[Path]:
    if not database_url.startswith("sqlite:///"):
        return []
    main = Path(database_url.removeprefix("sqlite:///"))
    return [p for p in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if p.exists()]


def test_no_card_data_at_rest_in_logs_or_answers_and_no_secrets_in_logs(
    tmp_path: Path, database_url: str
) -> None:
    token = random_secret("privacy-token-")
    app_secret = random_secret("privacy-secret-")
    aes_key = random_secret("", 43)
    bot = BotServer(
        tmp_path / "server",
        {
            "database": {"url": database_url},
            "wechat": {"token": token, "encoding_aes_key": aes_key},
            "sandbox": {"app_secret": app_secret},
            "log": {"level": "DEBUG"},
            "ocr": {"threads": 2},
        },
    ).start()
    try:
        everything = fixtures()
        assert len(everything) >= 30
        on_postgresql = database_url.startswith("postgresql")
        photos = per_group(everything, PER_GROUP_ON_POSTGRESQL) if on_postgresql else everything
        assert len(photos) >= (10 if on_postgresql else 30)

        users = [bot.user(f"o-privacy-{n}") for n in range(SENDERS)]

        def send(job: tuple[int, Path]) -> str | None:
            index, path = job
            return users[index % SENDERS].send_photo(path.read_bytes()).reply

        with ThreadPoolExecutor(SENDERS) as pool:
            passive = list(pool.map(send, enumerate(p for p, _ in photos)))
        custom = [
            message
            for n, user in enumerate(users)
            for message in user.wait_for_custom_messages(0, count=passive[n::SENDERS].count(None))
        ]
        answers = [reply for reply in passive if reply is not None] + custom
        assert len(answers) == len(photos)  # every photo answered, once

        env = {k: v for k, v in os.environ.items() if not k.startswith("WXOCR_")}
        cli_output = ""
        for command in (
            ["token", "show"],
            ["token", "refresh"],
            ["db", "current"],
            ["usage"],
            ["usage", "quota"],
            ["scan", str(photos[0][0])],
            ["simulate", str(photos[0][0]), "--openid", "o-privacy-cli"],
        ):
            run = subprocess.run(
                [str(WXOCR), *command, "--config", str(bot.config_file)],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
            )
            assert run.returncode == 0, (command, run.stdout, run.stderr)
            cli_output += run.stdout + run.stderr
        SandboxControl(bot.config.api_base).requests("/cgi-bin/token")  # the sandbox still up
    finally:
        bot.stop()

    labels = [label for _, label in photos]
    values = sensitive_values(label for _, label in everything)  # every fixture's values
    assert len(values) > 60
    # The audit has teeth only if the cards were read: most masked numbers are there.
    shown = [
        mask_id_number(label["expected"]["id"])
        if "id" in label["expected"]
        else mask_card_number(label["expected"]["number"])
        for label in labels
        if "id" in label["expected"] or "number" in label["expected"]
    ]
    answered_text = "\n".join(answers)
    assert sum(masked in answered_text for masked in shown) >= len(shown) // 2

    for answer in answers:
        assert hits(answer, values) == [], answer
    log = bot.log()
    assert "DEBUG" in log
    assert hits(log, values) == []
    assert hits(cli_output, values) == []
    for value in text_values(database_url):
        assert hits(value, values) == [], value
    for file in sqlite_files(database_url):
        raw = file.read_bytes()
        leaked = [f"{kind} in {file.name}" for v, kind in values.items() if v.encode() in raw]
        assert leaked == []

    tokens = [
        value for value in text_values(database_url) if value.startswith("SBX_") and len(value) > 40
    ]
    assert tokens  # the access token the server and `wxocr token refresh` stored
    for secret in (token, app_secret, aes_key, *tokens):
        assert secret not in log
        assert secret not in cli_output
