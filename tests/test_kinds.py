"""The registry of document kinds drives every place that handles a kind (issue 14).

Each place that once listed ID card and bank card by hand must list exactly the
registry's kinds, so that a kind added to ``ocr.kinds.KINDS`` shows up everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.chat import replies
from bot.chat.commands import COMMAND_WORDS, parse_command
from bot.cli import app as cli_app
from bot.cli.common import KIND_CHOICES
from bot.config import Config
from bot.operators.admin import KIND_COLORS
from bot.operators.usage import KIND_LABELS, UsageQueryError, build_filters
from bot.sandbox.emulator import SandboxApp
from bot.wxapi.ocr_engine import ANSWERED_FIELDS
from ocr.engine import AUTO, CardResult
from ocr.evaluate import load_samples
from ocr.kinds import KINDS, check_kind, get_kind, kind_names, mask_result, wechat_json

REGISTERED = tuple(kind.name for kind in KINDS)


def test_registry_lists_each_kind_once_in_a_stable_order() -> None:
    assert kind_names() == REGISTERED
    assert len(set(REGISTERED)) == len(REGISTERED)
    assert AUTO not in REGISTERED
    for kind in KINDS:
        assert get_kind(kind.name) is kind
    with pytest.raises(ValueError, match="unknown document kind 'nonsense'; known: idcard"):
        get_kind("nonsense")
    assert check_kind(AUTO) == AUTO
    with pytest.raises(ValueError):
        check_kind("")


def test_no_two_kinds_share_a_chat_word() -> None:
    words = [word for kind in KINDS for word in kind.words]
    assert len(words) == len(set(words))


@pytest.mark.parametrize("name", REGISTERED)
def test_each_kinds_words_choose_it_in_chat(name: str) -> None:
    document = get_kind(name)
    assert COMMAND_WORDS[document.name] == document.words
    for word in document.words:
        command = parse_command(word)
        assert command is not None and command.kind == document.name


def test_chat_replies_name_every_kind() -> None:
    help_text = replies.help_text()
    for kind in KINDS:
        assert f"{kind.title} — 只识别{kind.title}" in help_text
        assert kind.title in replies.kind_chosen(kind.name)
        assert kind.title in replies.no_card(kind.name)
        assert kind.title in replies.welcome()


def test_scan_kind_choices_are_the_registry_and_auto() -> None:
    assert (*REGISTERED, AUTO) == KIND_CHOICES
    # Wide enough that the error box does not wrap the list of choices.
    refused = CliRunner().invoke(
        cli_app, ["scan", "photo.jpg", "--kind", "nonsense"], env={"COLUMNS": "200"}
    )
    assert refused.exit_code == 2
    assert f"is not one of {', '.join(KIND_CHOICES)}" in refused.output


def test_usage_and_admin_know_every_kind() -> None:
    assert set(KIND_LABELS) == {*REGISTERED, AUTO}
    assert set(KIND_COLORS) == {*REGISTERED, AUTO}
    for name in (*REGISTERED, AUTO):
        assert build_filters(ZoneInfo("UTC"), kind=name).kind == name
    with pytest.raises(UsageQueryError, match="unknown kind"):
        build_filters(ZoneInfo("UTC"), kind="nonsense")


def test_sandbox_serves_the_wechat_path_of_every_kind_wechat_reads() -> None:
    app = SandboxApp(Config().sandbox, engine_factory=None)
    ocr_routes = {r.rule for r in app.web.routes if r.rule.startswith("/cv/ocr/")}
    assert ocr_routes == {kind.wechat_path for kind in KINDS if kind.wechat_path}
    assert all(r.method == "POST" for r in app.web.routes if r.rule in ocr_routes)


def test_wechat_engine_reads_every_field_wechat_answers() -> None:
    for kind in KINDS:
        assert set(kind.wechat_answers) <= set(ANSWERED_FIELDS)
        if kind.wechat_path is not None:
            assert kind.from_wechat is not None and kind.wechat_fields is not None


@pytest.mark.parametrize("kind", REGISTERED)
def test_eval_labels_take_every_kind_and_no_other(kind: str, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "a.json").write_text(json.dumps({"kind": kind, "expected": {}}))
    assert [s.kind for s in load_samples(tmp_path)] == [kind]
    (tmp_path / "a.json").write_text(json.dumps({"kind": "nonsense", "expected": {}}))
    with pytest.raises(ValueError, match=r"bad label file a\.json"):
        load_samples(tmp_path)


def test_every_field_a_kind_shows_has_a_masking_rule() -> None:
    """A field without a rule would be hidden entirely: each labelled field declares one."""
    for kind in KINDS:
        assert {name for name, _ in kind.labels} <= set(kind.mask_rules), kind.name


def test_masking_and_wechat_json_follow_the_results_kind() -> None:
    result = CardResult("bankcard", {"number": "6222021234567890128", "bank": "工商银行"})
    assert mask_result(result) == {"number": "6222 **** **** 0128", "bank": "工商银行"}
    assert wechat_json(result) == {"errcode": 0, "errmsg": "ok", "number": "6222021234567890128"}
    front = CardResult("idcard", {"type": "Front", "name": "张三", "birth": "19900101"})
    assert mask_result(front) == {"type": "Front", "name": "张*", "birth": "1990****"}
    assert wechat_json(front) == {"errcode": 0, "errmsg": "ok", "type": "Front", "name": "张三"}
    with pytest.raises(ValueError, match="unknown document kind"):
        mask_result(CardResult("nonsense", {"number": "1"}))


def test_field_warnings_come_from_the_kind() -> None:
    today = dt.date(2026, 1, 1)
    assert get_kind("bankcard").warnings({"valid_thru": "12/25"}, today, ()) == ["expired"]
    assert get_kind("idcard").warnings({"valid_date": "20050101-20150101"}, today, []) == [
        "expired"
    ]


def test_only_printed_matter_meant_to_be_shared_ignores_copy_and_screen_warnings() -> None:
    """A page, a table and a business card are read for their text: a copy or a screen
    shows the same text. An identity document's copy or screen shot is what its
    ``photocopy`` and ``screen`` warnings are for."""
    printed = {"text", "table", "businesscard"}
    for kind in KINDS:
        expected = {"photocopy", "screen"} if kind.name in printed else set()
        assert kind.moot_warnings == expected, kind.name
    assert {kind.name for kind in KINDS} >= printed
