"""Text messages as commands: the words a user can send, in Chinese and English.

Users type on phone keyboards that mix full-width and half-width forms, capitals and
stray spaces or punctuation, so text is normalised (NFKC, case-folded, spaces and
edge punctuation dropped) before it is matched against the command words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from ocr.engine import AUTO, Kind
from ocr.kinds import KINDS, kind_names


class CommandName(StrEnum):
    """The commands that are not a document kind; each kind's name is a command too."""

    AUTO = AUTO
    HELP = "help"
    USAGE = "usage"


@dataclass(frozen=True)
class Command:
    # A CommandName, or the name of a document kind (ocr/kinds/) that the user chooses.
    name: str
    # Only for USAGE: how many days back, counting today (1 = today only).
    days: int = 1

    @property
    def kind(self) -> Kind | None:
        """The document kind this command chooses (or AUTO), or None if it chooses none."""
        return self.name if self.name in _CHOOSABLE else None


_CHOOSABLE = frozenset((*kind_names(), AUTO))

# Written as they are matched: NFKC-normalised, case-folded, without spaces. Each kind
# brings its own words; these are the rest.
COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    **{kind.name: kind.words for kind in KINDS},
    CommandName.AUTO: ("自动", "auto", "自动识别"),
    CommandName.HELP: ("帮助", "help", "?", "菜单", "menu", "h"),
    CommandName.USAGE: ("用量", "usage", "统计", "stats"),
}
_WORD_TO_COMMAND = {word: name for name, words in COMMAND_WORDS.items() for word in words}

MAX_USAGE_DAYS = 366
# Longer texts are chat, not commands; the cap also keeps matching cheap on 2 KB texts.
MAX_COMMAND_CHARS = 32

# "用量 7d", "usage 7", "用量7天", "usage7days".
_USAGE_WITH_DAYS = re.compile(
    r"^(?P<word>" + "|".join(map(re.escape, COMMAND_WORDS[CommandName.USAGE])) + r")"
    r"(?P<days>\d{1,4})(?:d|day|days|天|日)?$"
)
_EDGE_PUNCTUATION = "!?.,;:'\"()[]{}<>~`、。，！？；：“”‘’（）【】《》…-_=+*#@/\\|"


def normalize(text: str) -> str:
    """The form commands are matched in: NFKC, case-folded, no whitespace at all."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and unicodedata.category(ch) != "Cf")


def parse_command(text: str) -> Command | None:
    """The command a text message asks for, or None when it is not a command."""
    word = normalize(text)
    if not word or len(word) > MAX_COMMAND_CHARS:
        return None
    if word in _WORD_TO_COMMAND:
        return Command(_WORD_TO_COMMAND[word])
    # "?" alone is a command word, so only strip punctuation when more than that is left.
    stripped = word.strip(_EDGE_PUNCTUATION)
    if stripped in _WORD_TO_COMMAND:
        return Command(_WORD_TO_COMMAND[stripped])
    match = _USAGE_WITH_DAYS.match(stripped)
    if match:
        days = int(match["days"])
        if 1 <= days <= MAX_USAGE_DAYS:
            return Command(CommandName.USAGE, days=days)
    return None


def is_operator(openid: str, operator_openids: list[str] | tuple[str, ...]) -> bool:
    """Whether a user may ask operator commands (用量/usage)."""
    return bool(openid) and openid in operator_openids
