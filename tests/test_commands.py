"""Command words: Chinese and English, full-width and half-width, any case and spacing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.chat.commands import (
    COMMAND_WORDS,
    MAX_USAGE_DAYS,
    Command,
    CommandName,
    is_operator,
    parse_command,
)
from ocr.engine import AUTO
from ocr.kinds import kind_names


def to_full_width(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (U+FF01..U+FF5E)."""
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证", "idcard"),
        ("idcard", "idcard"),
        ("ID Card", "idcard"),
        ("ＩＤＣＡＲＤ", "idcard"),
        ("  身 份 证  ", "idcard"),
        ("银行卡", "bankcard"),
        ("BankCard", "bankcard"),
        ("bank card!", "bankcard"),
        ("银行卡。", "bankcard"),
        ("自动", CommandName.AUTO),
        ("AUTO", CommandName.AUTO),
        ("帮助", CommandName.HELP),
        ("Help", CommandName.HELP),
        ("?", CommandName.HELP),
        ("？", CommandName.HELP),
        ("用量", CommandName.USAGE),
        ("usage", CommandName.USAGE),
    ],
)
def test_command_words(text: str, expected: str) -> None:
    command = parse_command(text)
    assert command is not None
    assert command.name == expected


@pytest.mark.parametrize(
    ("text", "days"),
    [("用量", 1), ("用量 7d", 7), ("usage 7", 7), ("用量７天", 7), ("USAGE 30 days", 30)],
)
def test_usage_takes_a_number_of_days(text: str, days: int) -> None:
    assert parse_command(text) == Command(CommandName.USAGE, days=days)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "你好", "身份证号是多少", "usage 0", f"usage {MAX_USAGE_DAYS + 1}", "x" * 500],
)
def test_other_text_is_not_a_command(text: str) -> None:
    assert parse_command(text) is None


def test_kind_commands_name_their_kind() -> None:
    kinds = {name: Command(name).kind for name in (*kind_names(), *CommandName)}
    assert kinds == {
        **{name: name for name in kind_names()},
        CommandName.AUTO: AUTO,
        CommandName.HELP: None,
        CommandName.USAGE: None,
    }


def test_operators_are_whitelisted_by_openid() -> None:
    assert is_operator("oOPS", ["oOPS"])
    assert not is_operator("oUSER", ["oOPS"])
    assert not is_operator("", [""])


@given(st.text(max_size=300))
def test_any_text_gives_a_command_or_none(text: str) -> None:
    command = parse_command(text)
    assert command is None or isinstance(command, Command)
    if command is not None:
        assert 1 <= command.days <= MAX_USAGE_DAYS


command_words = st.sampled_from(
    [(name, word) for name, words in COMMAND_WORDS.items() for word in words]
)


@given(
    command_words,
    st.booleans(),
    st.lists(st.booleans(), min_size=40, max_size=40),
    st.text(alphabet=" \t\u3000", max_size=3),
)
def test_width_case_and_spacing_do_not_matter(
    entry: tuple[str, str], full_width: bool, upper: list[bool], padding: str
) -> None:
    name, word = entry
    varied = "".join(ch.upper() if up else ch for ch, up in zip(word, upper, strict=False))
    if full_width:
        varied = to_full_width(varied)
    command = parse_command(padding + varied + padding)
    assert command is not None
    assert command.name == name
