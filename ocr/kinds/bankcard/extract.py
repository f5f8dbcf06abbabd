"""Bank card fields from OCR text boxes: number (Luhn + BIN checked), bank, card type, expiry.

OCR hands the card number over in pieces: digit groups in arbitrary order, a 19-digit
number as ``621661`` + ``9764617690367``, the expiry sitting between groups, letters
read for digits (O/D for 0, B for 8...) and stray digits from the background. So the
number is *assembled*: boxes are put into reading lines by geometry, runs of digit
pieces along a line become candidates, and Luhn, a known BIN and a plausible length
choose between them. When no reading is clean, single-character corrections (a
look-alike letter's other reading, a commonly confused digit, a digit read twice at the
seam of two boxes or invented in a gap) are tried, and taken only when one fix stands
out. An engine may also offer a second look (``reread``): the number's boxes re-read
from enlarged crops, pooled with the first reading and merged where they disagree.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ocr import layout
from ocr.checks import id_checksum_ok, luhn_ok
from ocr.engine import CardResult, TextBox
from ocr.errors import NoCardFound

CARD_TYPES = frozenset({"借记卡", "贷记卡", "准贷记卡", "预付费卡"})
NETWORKS = frozenset({"UnionPay", "Visa", "Mastercard", "JCB", "AmEx"})
MIN_LENGTH, MAX_LENGTH = 15, 19
MAX_PREFIX = 10
LOW_CONFIDENCE = 0.8
# A look-alike letter's second reading is a likelier fix than a digit the recogniser
# got wrong outright.
CORRECTION_COST = {
    "": 0.0,
    "letter": 10.0,
    # The recogniser's own second choice at a digit it was unsure of: it singles out
    # the place Luhn cannot (a digit under an ink mark or a pattern line).
    "doubt": 6.0,
    "seam": 8.0,
    "gap": 20.0,
    "digit": 30.0,
    "drop": 30.0,
    "merge": 5.0,
    "hint": 6.0,
    "hint_stray": 12.0,
    # The first group set from a BIN of the bank printed on the card (see _bank_hinted).
    "bank": 14.0,
    "bank_stray": 18.0,
}
AMBIGUITY_MARGIN = 8.0
# Corrections are tried on this many of the best raw readings (bounds the work).
CORRECTION_SEEDS = 6
# Readings that differ in more places than this are not the same digits.
MAX_MERGE_DIFFERENCES = 3
MAX_REREAD_LINES = 2


@dataclass(frozen=True)
class BinInfo:
    """What a number's prefix says about the card; ``bank`` is empty for network-only rows."""

    prefix: str
    bank: str
    card_type: str
    network: str
    lengths: tuple[int, ...]


# --- BIN table --------------------------------------------------------------------------


def _parse_bin_row(row: list[str], line: int) -> BinInfo:
    if len(row) != 5:
        raise ValueError(f"bins.csv line {line}: expected 5 columns, got {len(row)}")
    prefix, bank, card_type, network, lengths_text = (cell.strip() for cell in row)
    if not (prefix.isdigit() and 1 <= len(prefix) <= MAX_PREFIX):
        raise ValueError(f"bins.csv line {line}: prefix must be 1-{MAX_PREFIX} digits")
    if card_type and card_type not in CARD_TYPES:
        raise ValueError(f"bins.csv line {line}: unknown card type")
    if network not in NETWORKS:
        raise ValueError(f"bins.csv line {line}: unknown network")
    if bool(bank) != bool(card_type) and bank:
        raise ValueError(f"bins.csv line {line}: an issuer row needs a card type")
    try:
        lengths = tuple(int(part) for part in lengths_text.split(";"))
    except ValueError:
        raise ValueError(f"bins.csv line {line}: lengths must be numbers") from None
    if not all(12 <= n <= MAX_LENGTH for n in lengths):
        raise ValueError(f"bins.csv line {line}: implausible number length")
    return BinInfo(prefix, bank, card_type, network, lengths)


def parse_bin_table(text: str) -> dict[str, BinInfo]:
    """Rows of ``prefix,bank,card_type,network,lengths``; ``#`` lines are comments."""
    table: dict[str, BinInfo] = {}
    reader = csv.reader(io.StringIO(text))
    header_seen = False
    for line, row in enumerate(reader, start=1):
        if not row or row[0].lstrip().startswith("#"):
            continue
        if not header_seen:
            if [cell.strip() for cell in row] != [
                "prefix",
                "bank",
                "card_type",
                "network",
                "lengths",
            ]:
                raise ValueError("bins.csv: missing header row")
            header_seen = True
            continue
        info = _parse_bin_row(row, line)
        if info.prefix in table:
            raise ValueError(f"bins.csv line {line}: duplicate prefix")
        table[info.prefix] = info
    if not table:
        raise ValueError("bins.csv: no rows")
    return table


@functools.cache
def bin_table() -> dict[str, BinInfo]:
    """The shipped table, loaded and validated once per process."""
    text = (Path(__file__).parent / "data" / "bins.csv").read_text(encoding="utf-8")
    return parse_bin_table(text)


def lookup_bin(number: str) -> BinInfo | None:
    """Longest known prefix of ``number`` (digits; other characters are ignored)."""
    digits = "".join(ch for ch in number if ch.isdigit())
    table = bin_table()
    for size in range(min(len(digits), MAX_PREFIX), 0, -1):
        info = table.get(digits[:size])
        if info is not None:
            return info
    return None


# --- Bank names printed on the card ------------------------------------------------------

# Canonical name -> spellings seen on cards (Chinese short forms, English names).
BANK_NAMES: dict[str, tuple[str, ...]] = {
    "中国工商银行": ("工商银行", "INDUSTRIAL AND COMMERCIAL", "ICBC"),
    "中国建设银行": ("建设银行", "CONSTRUCTION BANK"),
    "中国农业银行": ("农业银行", "AGRICULTURAL BANK"),
    "中国银行": ("中国银行", "BANK OF CHINA"),
    "交通银行": ("交通银行", "BANK OF COMMUNICATIONS"),
    "招商银行": ("招商银行", "MERCHANTS BANK"),
    "中国邮政储蓄银行": ("邮政储蓄", "邮储银行", "POSTAL SAVINGS"),
    "中信银行": ("中信银行", "CITIC"),
    "中国光大银行": ("光大银行", "EVERBRIGHT"),
    "中国民生银行": ("民生银行", "MINSHENG"),
    "兴业银行": ("兴业银行", "INDUSTRIAL BANK"),
    "上海浦东发展银行": ("浦东发展银行", "浦发银行", "PUDONG"),
    "平安银行": ("平安银行", "PING AN BANK", "PINGAN BANK"),
    "华夏银行": ("华夏银行", "HUA XIA BANK", "HUAXIA BANK"),
    "广发银行": ("广发银行", "GUANGFA"),
    "北京银行": ("北京银行", "BANK OF BEIJING"),
    "上海银行": ("上海银行", "BANK OF SHANGHAI"),
    "农村信用社": ("农村信用", "农信", "农村商业银行", "农商银行"),
}


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def printed_bank(texts: Iterable[str]) -> str | None:
    """The bank whose name (or English name) appears on the card, if exactly one does."""
    joined = "|".join(_squeeze(text) for text in texts)
    found = set()
    for bank, spellings in BANK_NAMES.items():
        if any(_squeeze(spelling) in joined for spelling in spellings):
            found.add(bank)
    # "BANK OF CHINA" is inside the English names of ABC, PSBC... and "INDUSTRIAL BANK"
    # inside ICBC's: a more specific match wins over the one it contains.
    if len(found) > 1:
        found.discard("中国银行")
    if "中国工商银行" in found:
        found.discard("兴业银行")
    if not found:
        # City and rural banks beyond the table print their name the same way.
        found = {name for text in texts if (name := _own_bank_name(text)) is not None}
    return found.pop() if len(found) == 1 else None


# A whole box reading "<2-8 Chinese characters>银行" names an issuer (长沙银行, 温州银行).
BANK_NAME = re.compile(r"^[\u4e00-\u9fff]{2,8}银行$")


def _own_bank_name(text: str) -> str | None:
    squeezed = _squeeze(text)
    return squeezed if BANK_NAME.match(squeezed) else None


# --- Text normalisation ------------------------------------------------------------------

# Letters OCR returns for digits, first choice first (the second choice is a correction,
# tried when no reading is clean).
LOOKALIKES: dict[str, str] = {
    "O": "0",
    "o": "0",
    "D": "0",
    "Q": "0",
    "U": "0",
    "I": "17",
    "l": "17",
    "i": "1",
    "|": "1",
    "!": "1",
    "L": "1",
    "B": "83",
    "S": "58",
    "s": "5",
    "Z": "27",
    "z": "2",
    "G": "69",
    "b": "6",
    "g": "9",
    "q": "9",
    "T": "7",
    "A": "4",
}
# Digits the recogniser mistakes for one another (tried when no reading is clean).
DIGIT_CONFUSIONS: dict[str, str] = {
    "0": "896",
    "1": "74",
    "2": "7",
    "3": "85",
    "4": "1",
    "5": "63",
    "6": "580",
    "7": "12",
    "8": "3609",
    "9": "80",
}

EXPIRY = re.compile(r"(?<!\d)(0[1-9]|1[0-2])\s*[/／\\]\s*(20\d{2}|\d{2})(?!\d)")
# Year first, as some Chinese cards print it: "有效期限 2024/12", "2024-12", "2024年12月".
YEAR_FIRST_EXPIRY = re.compile(r"(?<!\d)(20\d{2})\s*[/／\-年]\s*(0[1-9]|1[0-2])(?![\d/-])")
# Two digits each side under a "年/月" (YEAR/MONTH) label: year first.
YEAR_MONTH_EXPIRY = re.compile(r"(?<!\d)(\d{2})\s*[/／\\]\s*(0[1-9]|1[0-2])(?!\d)")
YEAR_MONTH_LABELS = ("年/月", "YEAR/MONTH", "YY/MM")
# The same with a stray character glued in front ("105/31"), a last resort.
LOOSE_EXPIRY = re.compile(r"(0[1-9]|1[0-2])\s*[/／\\]\s*(20\d{2}|\d{2})(?!\d)")
# The slash read as a 1 or a 7 ("06127" for 06/27), another last resort.
SLASH_MISREAD_EXPIRY = re.compile(r"(?<![\dA-Za-z])(0[1-9]|1[0-2])[17Il|](\d{2})(?!\d)")
# Labels of the issue date printed beside the expiry on some cards (VALID FROM 06/17).
FROM_LABELS = ("FROM", "MEMBERSINCE", "起始", "生效")
# Expiry years further ahead than this are misreadings (cards run 3-10 years).
MAX_YEARS_AHEAD = 20
FIRST_CARD_YEAR = 2000
_DIGITISH = "0-9" + re.escape("".join(LOOKALIKES))
_DIGIT_RUN = re.compile(f"[{_DIGITISH}](?:[{_DIGITISH} ]*[{_DIGITISH}])?")


@dataclass(frozen=True)
class Piece:
    """A run of digits read from one box; ``letters`` marks positions read as a letter."""

    digits: str
    letters: tuple[int, ...]
    # Per position: other digits the character could be (a look-alike letter's other
    # readings, or the recogniser's runner-ups at a digit it was unsure of).
    alternatives: tuple[str, ...]
    score: float
    height: float
    box: int  # index of the box it was read from
    # Per digit, the recogniser's certainty of the character it was read from
    # (``TextBox.certainties``); () when the box does not say.
    certainties: tuple[float, ...] = ()

    def doubted(self) -> bool:
        """Whether the recogniser doubted a digit it read as a digit: a rival digit, or
        a certainty under LOW_CONFIDENCE (a digit read where none is printed has the
        blank as its rival, which doubts do not list)."""
        rival = any(alt for at, alt in enumerate(self.alternatives) if at not in self.letters)
        return rival or any(c < LOW_CONFIDENCE for c in self.certainties)


def _word_to_digits(
    word: str, doubts: Sequence[str], guessed: Sequence[bool]
) -> tuple[str, list[int], list[str]] | None:
    real = sum(ch.isdigit() and not guess for ch, guess in zip(word, guessed, strict=True))
    if real == 0 or real * 2 < len(word):
        return None
    digits, letters, alternatives = [], [], []
    for position, ch in enumerate(word):
        if guessed[position]:
            # A sign read where the recogniser's runner-up was a digit: like a look-alike
            # letter, the digit it stands for is a reading, not a certainty.
            digits.append(ch)
            alternatives.append("".join(d for d in doubts[position] if _ascii_digit(d) and d != ch))
            letters.append(position)
        elif ch.isdigit():
            digits.append(ch)
            # The recogniser's own runner-up digits where it was unsure of this one.
            doubt = doubts[position] if position < len(doubts) else ""
            alternatives.append("".join(d for d in doubt if _ascii_digit(d)))
        else:
            choices = LOOKALIKES[ch]
            digits.append(choices[0])
            alternatives.append(choices[1:])
            letters.append(position)
    return "".join(digits), letters, alternatives


def digit_pieces(
    text: str, doubts: Sequence[str] = ()
) -> list[tuple[str, tuple[int, ...], tuple[str, ...]]]:
    """Digit runs in one box's text, with look-alike letters read as digits.

    Spaces inside a run are the card's own group spacing and do not split it; a word
    that is mostly letters (VALID, CITIC) does. ``doubts`` (``TextBox.doubts``) give
    the alternatives of a digit the recogniser was unsure of.
    """
    return [
        (digits, letters, alternatives)
        for digits, letters, alternatives, _ in _digit_runs(text, doubts)
    ]


def _digit_runs(
    text: str, doubts: Sequence[str]
) -> list[tuple[str, tuple[int, ...], tuple[str, ...], tuple[int, ...]]]:
    """``digit_pieces`` with, per digit, the place in ``text`` of the character it was
    read from (each word's characters give one digit each); () when NFKC changed
    ``text``'s length and places no longer line up."""
    normalised = unicodedata.normalize("NFKC", text)
    aligned = len(normalised) == len(text)
    if len(normalised) != len(text) or len(doubts) != len(text):
        doubts = ("",) * len(normalised)
    # Dates are blanked character for character, so positions still match the doubts.
    text, guessed = _doubted_digits(
        EXPIRY.sub(_blank, YEAR_FIRST_EXPIRY.sub(_blank, normalised)), doubts
    )
    pieces: list[tuple[str, tuple[int, ...], tuple[str, ...], tuple[int, ...]]] = []
    for match in _DIGIT_RUN.finditer(text):
        digits = ""
        letters: list[int] = []
        alternatives: list[str] = []
        places: list[int] = []
        words = [(w.group(), match.start() + w.start()) for w in _WORD.finditer(match.group())]
        for word, at in [*words, ("", 0)]:  # "" flushes the last run
            end = at + len(word)
            converted = _word_to_digits(word, doubts[at:end], guessed[at:end])
            if converted is None:
                if digits:
                    pieces.append(
                        (digits, tuple(letters), tuple(alternatives), tuple(places) * aligned)
                    )
                digits, letters, alternatives, places = "", [], [], []
                continue
            word_digits, word_letters, word_alternatives = converted
            letters += [len(digits) + p for p in word_letters]
            alternatives += word_alternatives
            digits += word_digits
            places += range(at, end)
    return pieces


_WORD = re.compile(r"\S+")
# Signs that belong to dates and are never taken for a digit of the number.
DATE_SIGNS = frozenset("/／\\-")


def with_doubted_digits(text: str, doubts: Sequence[str]) -> str:
    """``text`` with each sign between digits whose runner-up was a digit read as it."""
    if len(doubts) != len(text):
        return text
    return _doubted_digits(text, doubts)[0]


def _ascii_digit(char: str) -> bool:
    return char.isascii() and char.isdigit()


def _doubted_digits(text: str, doubts: Sequence[str]) -> tuple[str, list[bool]]:
    """``text`` with a sign between digits read as the digit the recogniser had as its
    runner-up ('95:0' where a mark over an 8 made it a colon), and which were.

    Without this a readable number falls apart at the sign and the card is not found.
    """
    chars, guessed = list(text), [False] * len(text)
    for at, (char, doubt) in enumerate(zip(text, doubts, strict=True)):
        if char.isalnum() or char.isspace() or char in DATE_SIGNS or char in LOOKALIKES:
            continue
        digit = next((d for d in doubt if _ascii_digit(d)), None)
        beside = text[max(0, at - 1) : at] + text[at + 1 : at + 2]
        if digit is not None and any(_ascii_digit(d) for d in beside):
            chars[at], guessed[at] = digit, True
    return "".join(chars), guessed


def _blank(match: re.Match[str]) -> str:
    return "#" * len(match.group())


def _plausible_year(year: int) -> bool:
    return FIRST_CARD_YEAR <= year <= dt.date.today().year + MAX_YEARS_AHEAD


def _dates(texts: Sequence[str], loose: bool) -> list[tuple[str, str]]:
    """(YY, MM) of every date of a plausible year printed in ``texts``."""
    year_month = any(label in _squeeze(text) for text in texts for label in YEAR_MONTH_LABELS)
    return [
        (year, month)
        for text in texts
        for year, month, _ in _dates_in(text, loose=loose, year_month=year_month)
    ]


def _dates_in(text: str, *, loose: bool, year_month: bool) -> list[tuple[str, str, range]]:
    """(YY, MM, the places in ``text`` of its characters) of every date of a plausible
    year printed in ``text``; ``year_month``: the card labels its date 年/月 (year first)."""
    matches: list[tuple[str, str, range]] = []  # (year, month, places)
    if loose:
        for pattern in (LOOSE_EXPIRY, SLASH_MISREAD_EXPIRY):
            matches += [(m.group(2), m.group(1), range(*m.span())) for m in pattern.finditer(text)]
    else:
        matches += [
            (m.group(1), m.group(2), range(*m.span())) for m in YEAR_FIRST_EXPIRY.finditer(text)
        ]
        # Blanked character for character: the places of the other dates stay as read.
        rest = YEAR_FIRST_EXPIRY.sub(_blank, text)
        if year_month:
            matches += [
                (m.group(1), m.group(2), range(*m.span())) for m in YEAR_MONTH_EXPIRY.finditer(rest)
            ]
        else:
            matches += [(m.group(2), m.group(1), range(*m.span())) for m in EXPIRY.finditer(rest)]
    found = []
    for year, month, places in matches:
        full = int(year) if len(year) == 4 else 2000 + int(year)
        if _plausible_year(full):
            found.append((f"{full % 100:02d}", month, places))
    return found


@dataclass(frozen=True)
class Expiry:
    """The valid-thru date read, and whether it may be the issue date instead."""

    date: str | None  # MM/YY
    uncertain: bool = False
    # No date read, though the card shows one where cards print it (``_date_shown``).
    unread: bool = False


def read_expiry(texts: Sequence[str]) -> Expiry:
    """The latest plausible date printed: a card showing VALID FROM too shows it earlier.

    When the card prints an issue date and only one date was read, that date may be
    either one: then the last-resort readings (a slash read as 1) are pooled, since the
    expiry is the later of the two, and the answer is marked uncertain if still alone.
    """
    normalised = [unicodedata.normalize("NFKC", text) for text in texts]
    # A date read together with its FROM label (and no THRU) is the issue date; a FROM
    # label read alone leaves its date somewhere among the others.
    issued = [text for text in normalised if _issue_date_only(text)]
    issue_date = any(not _dates([text], loose=True) for text in issued)
    normalised = [text for text in normalised if text not in issued]
    strict = set(_dates(normalised, loose=False))
    if strict and not (issue_date and len(strict) < 2):
        year, month = max(strict)
        return Expiry(f"{month}/{year}")
    pooled = strict | set(_dates(normalised, loose=True))
    if not pooled:
        return Expiry(None)
    year, month = max(pooled)
    return Expiry(f"{month}/{year}", uncertain=issue_date and len(pooled) < 2)


# A digit of the valid-thru date read with less certainty than this, or with a rival
# digit, doubts the date (chosen on real90, real90b, real90f and bank97: see
# EXPIRY_SURE's figures in docs/decisions.md, "A doubted valid-thru date").
EXPIRY_SURE = 0.95


def date_doubted(boxes: Sequence[TextBox], date: str) -> bool:
    """Whether the recogniser doubted a digit of ``date`` (MM/YY) in every box that
    reads it: a rival digit there, or a certainty under EXPIRY_SURE.

    A far-off card's small date is read with a digit it did not see well ('05/25' for
    05/29, its month's 0 at 0.60): the date looks right and may make the card expired.
    A box whose certainties are not known (another engine) doubts nothing.
    """
    texts = [unicodedata.normalize("NFKC", box.text) for box in boxes]
    year_month = any(label in _squeeze(text) for text in texts for label in YEAR_MONTH_LABELS)
    doubts: list[bool] = []
    for box, text in zip(boxes, texts, strict=True):
        for loose in (False, True):
            places = [
                at
                for year, month, span in _dates_in(text, loose=loose, year_month=year_month)
                if f"{month}/{year}" == date
                for at in span
                if text[at].isdigit()
            ]
            if places:
                doubts.append(_digits_doubted(box, text, places))
                break
    return bool(doubts) and all(doubts)


def _digits_doubted(box: TextBox, text: str, places: Sequence[int]) -> bool:
    """A rival digit, or a certainty under EXPIRY_SURE, at one of ``places`` of ``box``."""
    if len(text) != len(box.text) or len(box.certainties) != len(text):
        return False
    rival = len(box.doubts) == len(text) and any(
        any(_ascii_digit(d) for d in box.doubts[at]) for at in places
    )
    return rival or min(box.certainties[at] for at in places) < EXPIRY_SURE


def _labels_issue_date(text: str) -> bool:
    squeezed = _squeeze(text)
    return any(label in squeezed for label in FROM_LABELS)


def _issue_date_only(text: str) -> bool:
    return _labels_issue_date(text) and "THRU" not in _squeeze(text)


def find_expiry(texts: Sequence[str]) -> str | None:
    """``MM/YY`` of the latest expiry-looking date printed (cards may also show VALID FROM)."""
    return read_expiry(texts).date


# --- Candidates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    number: str
    pieces: tuple[Piece, ...]
    whole_line: bool  # every digit piece of its line, not a part of them
    window: bool  # cut out of one over-long piece
    letter_reads: int
    correction: str = ""  # a key of CORRECTION_COST
    reading: int = 0  # 0 for the first pass, then one per second look


def _line_candidates(line: Sequence[Piece]) -> Iterator[Candidate]:
    """Runs of consecutive pieces in either order along the line, up to one digit too long.

    Runs one digit too long are seeds for a deletion; only plausible lengths are scored.
    """
    for ordered in (list(line), list(reversed(line))):
        for start in range(len(ordered)):
            for end in range(start + 1, len(ordered) + 1):
                run = tuple(ordered[start:end])
                number = "".join(p.digits for p in run)
                if len(number) > MAX_LENGTH + 1:
                    break
                if len(number) >= MIN_LENGTH:
                    whole = start == 0 and end == len(ordered)
                    letters = sum(len(p.letters) for p in run)
                    yield Candidate(number, run, whole, False, letters)
        # A box that caught extra digits (background, a neighbouring group) still holds
        # the number as a window.
        for piece in ordered:
            if len(piece.digits) > MAX_LENGTH + 1:
                for size in range(MAX_LENGTH, MIN_LENGTH - 1, -1):
                    for start in range(len(piece.digits) - size + 1):
                        window = piece.digits[start : start + size]
                        yield Candidate(window, (piece,), False, True, len(piece.letters))


def _plausible_length(candidate: Candidate) -> bool:
    return MIN_LENGTH <= len(candidate.number) <= MAX_LENGTH


# Lengths each card network issues (ISO/IEC 7812 as the networks apply it); a reading
# of another length is not that network's number, whatever the issuer table says.
NETWORK_LENGTHS: dict[str, tuple[int, ...]] = {
    "UnionPay": (16, 17, 18, 19),
    "Visa": (13, 16, 19),
    "Mastercard": (16,),
    "JCB": (16, 17, 18, 19),
    "AmEx": (15,),
}


def refusal(number: str, info: BinInfo | None) -> str | None:
    """Why ``number`` cannot be a card number (None when it can).

    Luhn passes one wrong reading in ten, so on its own it vouches for nothing; what
    the number's prefix says about its network must fit as well.
    """
    if number.startswith("0"):
        return "leading_zero"  # no network issues numbers starting with 0
    if info is None:
        return "unknown_network"
    if len(number) not in NETWORK_LENGTHS[info.network]:
        return "length_mismatch"
    if not info.bank and not luhn_ok(number):
        return "unverified"  # neither a known issuer nor the checksum vouches for it
    return None


def looks_like_id_number(number: str) -> bool:
    """An 18-digit resident ID number (checksum and birth date agree), e.g. an ID card
    sent as a bank card: one in ten of them passes Luhn, and 4x/5x/62 regions look like
    Visa, Mastercard or UnionPay prefixes."""
    if len(number) != 18 or not id_checksum_ok(number):
        return False
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return birth.year >= 1900


def _seams(candidate: Candidate) -> list[int]:
    """Offsets where one piece ends and the next begins."""
    offsets, offset = [], 0
    for piece in candidate.pieces[:-1]:
        offset += len(piece.digits)
        offsets.append(offset)
    return offsets


def _edits(candidate: Candidate) -> Iterator[tuple[str, str]]:
    """(edited number, kind of correction): single-character fixes, likeliest kinds first."""
    number = candidate.number
    # A hint-corrected candidate keeps the pieces it was read from, but its number no
    # longer lines up with them: their letters and seams say nothing about its digits.
    aligned = number == "".join(piece.digits for piece in candidate.pieces)
    if not candidate.window and aligned:
        offset = 0
        for piece in candidate.pieces:
            for position, choices in enumerate(piece.alternatives):
                at = offset + position
                kind = "letter" if position in piece.letters else "doubt"
                for digit in choices:
                    yield number[:at] + digit + number[at + 1 :], kind
            offset += len(piece.digits)
        # Neighbouring boxes overlap on a photo, so the digit at their seam is often
        # read twice ("62148313" + "38460").
        for seam in _seams(candidate):
            if number[seam - 1] == number[seam]:
                yield number[:seam] + number[seam + 1 :], "seam"
    for at, digit in enumerate(number):
        for other in DIGIT_CONFUSIONS[digit]:
            yield number[:at] + other + number[at + 1 :], "digit"
    for at in range(len(number)):
        # Card numbers are printed in groups of four; the gap between two groups is
        # where a recogniser that lost the spacing likes to invent a character.
        kind = "gap" if at % 4 == 0 and at else "drop"
        yield number[:at] + number[at + 1 :], kind


def correction_cost(correction: str) -> float:
    """The cost of a correction, or of a chain of them ("hint+gap")."""
    return sum(CORRECTION_COST[kind] for kind in correction.split("+")) if correction else 0.0


def _corrected(candidate: Candidate) -> Iterator[Candidate]:
    """Single-character edits that give a plausible length and pass Luhn."""
    for number, kind in _edits(candidate):
        if MIN_LENGTH <= len(number) <= MAX_LENGTH and luhn_ok(number):
            chain = f"{candidate.correction}+{kind}" if candidate.correction else kind
            yield replace(candidate, number=number, correction=chain)


# Embossed cards print the number's first four digits again, small, under it.
HINT_DIGITS = 4
HINT_HEIGHT = 0.8  # at most this share of the number's height


def _prefix_hints(lines: Sequence[Sequence[Piece]], tallest: float) -> set[str]:
    """Four digits alone on their line, printed smaller than the number."""
    return {
        line[0].digits
        for line in lines
        if len(line) == 1
        and len(line[0].digits) == HINT_DIGITS
        and line[0].height < HINT_HEIGHT * tallest
    }


def _hinted(candidate: Candidate, hints: Iterable[str]) -> Iterator[Candidate]:
    """The candidate with its first group replaced by a printed hint (and with a stray
    digit in front dropped, or a first digit lost restored): the big embossed digits
    are the ones misread."""
    number = candidate.number
    for hint in hints:
        if candidate.window or number.startswith(hint):
            continue
        options = [(hint + number[HINT_DIGITS:], "hint")]
        options.append((hint + number[HINT_DIGITS + 1 :], "hint_stray"))
        options += [
            (hint[:lost] + number, "hint")
            for lost in range(1, HINT_DIGITS)
            if number.startswith(hint[lost:])
        ]
        for hinted, kind in options:
            if MIN_LENGTH - 1 <= len(hinted) <= MAX_LENGTH + 1:
                yield replace(candidate, number=hinted, correction=kind)


BANK_CORRECTIONS = frozenset({"bank", "bank_stray"})
# The BIN of a UnionPay card: its first six digits (ISO/IEC 7812 issuer number).
BIN_DIGITS = 6
# A first group set from the printed bank's BINs must keep at least this many of the
# digits read in it: the group was misread, not missed (real-dev's busy-picture card:
# 2 of 4 digits read right; the generated busy_group cards: 2-3).
BANK_HINT_AGREEING = 2


@functools.cache
def bank_bins(bank: str) -> tuple[str, ...]:
    """The six-digit BINs the table gives ``bank``."""
    return tuple(
        prefix
        for prefix, info in bin_table().items()
        if info.bank == bank and len(prefix) == BIN_DIGITS
    )


def _bank_hinted(candidate: Candidate, bank: str | None) -> Iterator[Candidate]:
    """The candidate with its first group replaced by that of a BIN of the bank printed
    on the card: the first embossed group lies over the card's picture on many designs
    and is the one misread ('5224 8812' for '6225 8812'), read with a digit lost in the
    picture or a stroke of it read as a digit more.

    The first group as read may be 2 to 5 digits long; a BIN is tried when the digits
    read after that group start with the BIN's own digits past its first group, and the
    group as read keeps BANK_HINT_AGREEING of the BIN's group digits in order. Luhn, the
    issuer's lengths and _unambiguous_fix then decide: with two BINs of the bank
    fitting, no number is chosen.
    """
    if bank is None or candidate.window:
        return
    number = candidate.number
    for bin_ in bank_bins(bank):
        if number.startswith(bin_):
            continue
        group, tail = bin_[:HINT_DIGITS], bin_[HINT_DIGITS:]
        for read in range(HINT_DIGITS - 2, HINT_DIGITS + 2):
            rest = number[read:]
            if rest.startswith(tail) and _in_order(number[:read], group) >= BANK_HINT_AGREEING:
                kind = "bank" if read == HINT_DIGITS else "bank_stray"
                yield replace(candidate, number=group + rest, correction=kind)


def _in_order(read: str, printed: str) -> int:
    """How many digits of ``read`` appear in ``printed`` in the same order (the length
    of their longest common subsequence)."""
    row = [0] * (len(printed) + 1)
    for a in read:
        diagonal = 0
        for j, b in enumerate(printed, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if a == b else max(row[j], row[j - 1])
    return row[-1]


@dataclass(frozen=True)
class Scored:
    score: float
    candidate: Candidate
    info: BinInfo | None

    @property
    def issuer(self) -> bool:
        """The BIN table knows the issuing bank (not only the card network)."""
        return self.info is not None and bool(self.info.bank)

    @property
    def number_boxes(self) -> set[int]:
        """The indices of the boxes the number was read from."""
        return {p.box for p in self.candidate.pieces}

    @property
    def clean(self) -> bool:
        """Nothing to improve on: as read, Luhn, a known issuer with its usual length."""
        number, info = self.candidate.number, self.info
        return (
            luhn_ok(number)
            and info is not None
            and self.issuer
            and len(number) in info.lengths
            and self.candidate.whole_line
            and not self.candidate.correction
        )


def _score(candidate: Candidate, tallest: float) -> Scored:
    number = candidate.number
    info = lookup_bin(number)
    score = 0.0
    if luhn_ok(number):
        score += 100
    if info is not None:
        score += 40 if info.bank else 15
        score += 12 if len(number) in info.lengths else -15
    elif len(number) in (16, 19):
        score += 4
    if candidate.whole_line:
        score += 15
    if candidate.window:
        score -= 20
    score -= correction_cost(candidate.correction) + 2 * candidate.letter_reads
    pieces = candidate.pieces
    score += 10 * sum(p.score for p in pieces) / len(pieces)
    heights = [p.height for p in pieces]
    # The number is the tallest printing on a card; digits from clutter rarely match it.
    score += 15 * min(heights) / max(tallest, 1.0)
    score -= 20 * (1 - min(heights) / max(heights))
    return Scored(score, candidate, info)


def _pieces_by_line(boxes: Sequence[TextBox]) -> list[list[Piece]]:
    # Either reading direction clusters the same lines; candidates try both orders.
    frame = layout.candidate_frames(boxes)[0]
    index_of = {id(box): index for index, box in enumerate(boxes)}
    lines = []
    for line in layout.reading_lines(boxes, frame):
        pieces = [
            Piece(
                digits,
                letters,
                alternatives,
                placed.box.score,
                placed.height,
                index,
                _at(placed.box.certainties, places, len(placed.text)),
            )
            for placed in line.boxes
            for index in [index_of[id(placed.box)]]
            for digits, letters, alternatives, places in _digit_runs(placed.text, placed.box.doubts)
        ]
        if pieces:
            lines.append(pieces)
    return lines


def _at(certainties: Sequence[float], places: Sequence[int], length: int) -> tuple[float, ...]:
    """The certainties at ``places``, when they line up with the text (``length``)."""
    if len(certainties) != length or not places:
        return ()
    return tuple(certainties[at] for at in places)


def _acceptable(scored: Scored) -> bool:
    number = scored.candidate.number
    if refusal(number, scored.info) is not None:
        return False
    return scored.issuer or not looks_like_id_number(number)


def _unambiguous_fix(fixes: Sequence[Scored]) -> Scored | None:
    """The best correction, unless another number is about as good.

    Luhn says *that* a digit is wrong, not *which*: most positions have some confusable
    digit that passes. A fix is only worth taking when something else (a look-alike
    letter, a known BIN) singles it out; otherwise the reading stays as read, flagged.
    """
    ranked = sorted(fixes, key=lambda s: s.score, reverse=True)
    if not ranked:
        return None
    best = ranked[0]
    rival = next((s for s in ranked if s.candidate.number != best.candidate.number), None)
    if rival is not None and best.score - rival.score < AMBIGUITY_MARGIN:
        return None
    return best


def _merged(seeds: Sequence[Candidate]) -> Iterator[Candidate]:
    """Numbers mixing two readings of the same digits that disagree in a few places.

    A first pass and a second look at an enlarged crop tend to err in different
    places; where they disagree, one of them is usually right.
    """
    whole = {c.number: c for c in seeds if c.whole_line and not c.window}
    for first, second in itertools.combinations(list(whole), 2):
        if len(first) != len(second) or whole[first].reading == whole[second].reading:
            continue
        differ = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
        if not 0 < len(differ) <= MAX_MERGE_DIFFERENCES:
            continue
        for picks in itertools.product((0, 1), repeat=len(differ)):
            if 0 < sum(picks) < len(differ):
                digits = list(first)
                for at, pick in zip(differ, picks, strict=True):
                    if pick:
                        digits[at] = second[at]
                yield replace(whole[first], number="".join(digits), correction="merge")


def choose_number(readings: Sequence[Sequence[TextBox]]) -> Scored | None:
    """The best-supported card number among all arrangements of the digit pieces.

    ``readings`` are the photo's boxes as first read, then (optionally) the same boxes
    with texts from second looks; they are pooled.
    """
    seeds: list[Candidate] = []
    heights: list[float] = []
    first_lines: list[list[Piece]] = []
    for reading, boxes in enumerate(readings):
        lines = _pieces_by_line(boxes)
        first_lines = first_lines or lines
        seeds += [replace(c, reading=reading) for line in lines for c in _line_candidates(line)]
        heights += [p.height for line in lines for p in line if len(p.digits) >= 3]
    if not seeds:
        return None
    tallest = max(heights, default=1.0)
    scored = [s for c in seeds if _plausible_length(c) and _acceptable(s := _score(c, tallest))]
    best = max(scored, key=lambda s: s.score, default=None)
    # Digits as read that pass Luhn are never traded for digits the engine chose: a
    # correction passes Luhn too, and only one of the two can be the card's.
    as_read = best is not None and not best.candidate.correction and luhn_ok(best.candidate.number)
    if best is None or not (best.clean or as_read):
        ranked = sorted(seeds, key=lambda c: _score(c, tallest).score, reverse=True)
        top = ranked[:CORRECTION_SEEDS]
        hinted = [h for c in top for h in _hinted(c, _prefix_hints(first_lines, tallest))]
        fixed = [h for h in hinted if _plausible_length(h) and luhn_ok(h.number)]
        fixed += [f for c in top + hinted for f in _corrected(c)]
        fixed += [m for m in _merged(seeds) if luhn_ok(m.number)]
        fixes = [s for f in fixed if _acceptable(s := _score(f, tallest))]
        # Not chained with other corrections: the bank's BIN is the one digit source
        # besides the reading, and the number must then be one that bank issues.
        bank = printed_bank(box.text for box in readings[0])
        banked = [h for c in top for h in _bank_hinted(c, bank) if luhn_ok(h.number)]
        fixes += [s for h in banked if _acceptable(s := _score(h, tallest)) and _issued(s, bank)]
        fix = _unambiguous_fix(fixes)
        if fix is not None and (best is None or fix.score > best.score):
            best = fix
    return best


def _boxes_to_reread(boxes: Sequence[TextBox], best: Scored | None) -> list[int]:
    """The digit boxes of the line the number was found on (or of every long digit line)."""
    lines = _pieces_by_line(boxes)
    if best is not None:
        wanted = best.number_boxes
        lines = [line for line in lines if wanted & {p.box for p in line}]
    else:
        lines = [line for line in lines if sum(len(p.digits) for p in line) >= MIN_LENGTH - 4]
    return sorted({p.box for line in lines[:MAX_REREAD_LINES] for p in line})


# The number band reaches this many digit heights past the digits the detector found:
# about one embossed group (4 digits and a gap) either side.
BAND_REACH = 5.0
# How far from its number a card reaches, in number heights (ID-1, 85.6 x 54 mm, the
# number spanning nearly its width): CARD_REACH above or under the number's line and
# CARD_MARGIN past its ends. The card's boxes bound how far the band may reach sideways,
# and only they may hold its dates. real90's photo 35: the notes beside the far-off card
# ('Meeting 10:30', 11 heights left of the number; 'No,03', 14 heights under it).
CARD_REACH = 7.0
CARD_MARGIN = 2.0
# The valid thru is printed within this many number heights above or under the number's
# line (under it, or over it in a view turned half round). Chosen on data: real-dev's
# dates (read from a box of their own) lie 1.2-3.8 heights under it, eval150's and
# real90's 0.9-1.6, bank97's within 1.9 either way (above it on the cards whose number
# line was read upside down); the coupons' notes of bank_conditions
# ``dated_note_under`` (seeds 7 and 8) lie 5.4-6.1 heights under the number or 6.4-6.9
# over it, within the card's reach (CARD_REACH).
DATE_REACH = 4.5


@dataclass(frozen=True)
class CardReach:
    """The number's place (``u0``-``u1`` along its line, centred at ``cv``, ``height``
    tall, in ``frame``) and what lies on its card from there: the one place that says
    how far from the number is still the card, for the number band and the dates."""

    frame: layout.Frame
    u0: float
    u1: float
    cv: float
    height: float

    @classmethod
    def of_line(cls, frame: layout.Frame, line: layout.Line) -> CardReach:
        return cls(frame, line.u0, line.u1, line.cv, line.height)

    @property
    def margin(self) -> float:
        """How far past the number's ends the card's text may start or end."""
        return CARD_MARGIN * self.height

    def level(self, box: layout.PlacedBox) -> bool:
        """Within CARD_REACH heights above or under the number's line."""
        return abs(box.cv - self.cv) <= CARD_REACH * self.height

    def holds(self, box: layout.PlacedBox) -> bool:
        """The box may be the card's: level with the card (``level``) and reaching no
        more than ``margin`` past the number's ends."""
        return (
            self.level(box) and box.u1 >= self.u0 - self.margin and box.u0 <= self.u1 + self.margin
        )

    def date_place(self, box: layout.PlacedBox) -> bool:
        """The box lies where an ID-1 card prints its valid thru: on the card
        (``holds``), within DATE_REACH heights of the number's line, its centre within
        the number's span (the number runs nearly across the card; the date is printed
        under it, about its middle). Chosen on data: on real-dev the centres of the 16
        dates read from a box of their own lie 0.33-0.62 of the way along the number,
        on bank97 0.39-0.82, on eval150 and real90 0.42-0.65; the coupons' dates of
        bank_conditions ``dated_note`` answered before lie on the number's line, 1.7
        heights past its end."""
        return (
            self.holds(box)
            and abs(box.cv - self.cv) <= DATE_REACH * self.height
            and self.u0 <= box.cu <= self.u1
        )


def number_band(boxes: Sequence[TextBox], best: Scored | None) -> TextBox | None:
    """The whole number line of the card as one region, for the recogniser to read at once.

    The detector cuts embossed digits into groups and, under glare or shadow, loses one
    altogether, or a digit at a gap; read separately, a group also loses the context the
    recogniser needs ('5224' for '6225'). The band is the number's line (the pieces of
    the best reading, else the line with the most digits) widened to the card's text on
    either side, at most about one group each way.
    """
    frame = layout.candidate_frames(boxes)[0]
    line = _number_line(boxes, frame, best)
    if line is None:
        return None
    height = line.height
    reach = CardReach.of_line(frame, line)
    near = [placed for placed in layout.place_all(boxes, frame) if reach.level(placed)]
    # The number starts left of the bank's name on many cards: the band may pass the
    # card's other text by a little.
    u0 = max(line.u0 - BAND_REACH * height, min(p.u0 for p in near) - reach.margin)
    u1 = min(line.u1 + BAND_REACH * height, max(p.u1 for p in near) + reach.margin)
    points = layout.frame_rectangle(frame, u0, u1, line.cv - height / 2, line.cv + height / 2)
    return TextBox(points, "", 1.0)


def _number_line(
    boxes: Sequence[TextBox], frame: layout.Frame, best: Scored | None
) -> layout.Line | None:
    """The reading line of ``best``'s pieces (without it, the line with the most digits
    of those with enough for a number); None when there is none."""
    lines = layout.reading_lines(boxes, frame)
    wanted = {id(boxes[p.box]) for p in best.candidate.pieces} if best is not None else set()

    def digits(line: layout.Line) -> int:
        return sum(ch.isdigit() for ch in line.text)

    if wanted:
        chosen = [line for line in lines if wanted & {id(b.box) for b in line.boxes}]
    else:
        chosen = [line for line in lines if digits(line) >= MIN_LENGTH - 8]
    if not chosen:
        return None
    return max(chosen, key=lambda line: (min(digits(line), MAX_LENGTH), line.height))


def _second_look(boxes: Sequence[TextBox], best: Scored | None, reread: Reread) -> Scored | None:
    indices = _boxes_to_reread(boxes, best)
    # Digits as read that pass Luhn are kept whatever the band would read (see
    # choose_number), so the band is not worth reading for them.
    band = None if best is not None and _read_and_luhn_valid(best) else number_band(boxes, best)
    if not indices and band is None:
        return best
    asked = [boxes[i] for i in indices]
    # The band is read only when the boxes' second looks leave the number unclean (below):
    # a clean number is returned without looking at the band, so its five wide crops
    # were read for nothing there (f1823e5 read boxes and band in one call).
    answers = reread(asked) if asked else []
    readings: list[Sequence[TextBox]] = [boxes]
    for round_ in range(max((len(a) for a in answers), default=0)):
        again = list(boxes)
        for index, answer in zip(indices, answers, strict=True):
            if round_ < len(answer) and answer[round_][0].strip():
                again[index] = _reread_box(boxes[index].points, answer[round_])
        readings.append(again)
    found = choose_number(readings)
    if band is None or (found is not None and found.clean):
        return found
    band_answers = reread([band])[0]
    # The band stands in for the number's boxes: its reading is the whole line. Pooled
    # with the rest, its readings would only add rivals to a correction; alone, it is
    # taken when it reads a number that needs no correction at all.
    replaced = set(indices)
    rest = [box for i, box in enumerate(boxes) if i not in replaced]
    texts = [_as_line_reading(answer) for answer in band_answers if answer[0].strip()]
    # The band reaches past the number on purpose, so a digit at either end may be the
    # card's edge or pattern: readings without it are tried only when none as read fits.
    cuts = [text.without(cut) for text in texts for cut in _ends_cut(text[0])]
    bank_set: Scored | None = None
    for band_texts in (texts, cuts):
        band_readings = [[*rest, _reread_box(band.points, text)] for text in band_texts]
        banded = choose_number(band_readings) if band_readings else None
        if banded is not None and _as_printed(banded):
            return banded if found is None or not _read_and_luhn_valid(found) else found
        if bank_set is None and banded is not None and _bank_set(banded):
            bank_set = banded
    # Failing a number as printed, the band's number with its first group set from the
    # printed bank's BIN (flagged as corrected) beats a reading no issuer vouches for.
    vouched = found is not None and found.issuer and luhn_ok(found.candidate.number)
    if bank_set is not None and not vouched:
        return bank_set
    return found


def _reread_box(points: tuple[tuple[float, float], ...], answer: tuple[str, float]) -> TextBox:
    """A box of a second look's reading that keeps each character's certainty (which
    flags a doubted digit of the answer: ``Piece.doubted``) but not its rivals: as
    alternatives for corrections they would change which number is chosen (on real
    photos, a right number lost to a rival correction), and the second look must
    choose as it did before it had them."""
    return replace(layout.read_box(points, answer), doubts=())


def _bank_set(scored: Scored) -> bool:
    """Read as printed but for a first group set from the printed bank's BIN."""
    return scored.candidate.correction in BANK_CORRECTIONS


def _ends_cut(text: str) -> list[tuple[int, ...]]:
    """The places to drop from ``text`` to have it without its first digit, without its
    last, and without both."""
    at = [i for i, char in enumerate(text) if char.isdigit()]
    if len(at) < MIN_LENGTH + 1:
        return []
    first, last = at[0], at[-1]
    return [(first,), (last,), (first, last)]


def _as_line_reading(answer: tuple[str, float]) -> layout.LineReading:
    """A second look's answer as a ``LineReading`` (a reader that gave only the text and
    score: no doubts)."""
    return answer if isinstance(answer, layout.LineReading) else layout.LineReading(*answer)


def _issued(scored: Scored, bank: str | None) -> bool:
    """The number is one the printed bank issues: its BIN and a length the BIN uses."""
    info = scored.info
    return info is not None and info.bank == bank and len(scored.candidate.number) in info.lengths


def _read_and_luhn_valid(scored: Scored) -> bool:
    return not scored.candidate.correction and luhn_ok(scored.candidate.number)


def _as_printed(scored: Scored) -> bool:
    """Read as it is, Luhn-valid, a known issuer and a length that issuer uses."""
    number, info = scored.candidate.number, scored.info
    return (
        not scored.candidate.correction
        and luhn_ok(number)
        and info is not None
        and scored.issuer
        and len(number) in info.lengths
    )


# Boxes at most this long may hold a valid-thru date (with its 'VALID THRU' label).
MAX_EXPIRY_BOX_CHARS = 14
MAX_EXPIRY_REREADS = 3


def _expiry_second_look(
    boxes: Sequence[TextBox], best: Scored, reread: Reread, kept: Sequence[bool]
) -> Counter[str]:
    """The valid-thru dates second readings of the short boxes with digits in them
    read, a vote per reading (the winner: ``_leading_date``).

    The detector often takes 'VALID THRU 11/30' as one box, and the small two-line label
    then spoils the first reading ('T 3'); enlarged and re-contrasted crops usually read
    the date. The date most of the readings agree on wins. Only the ``kept`` boxes are
    asked, and the places their labels point at (the card's: ``CardReach``): a far-off
    card is read zoomed with what lies beside it (notes, receipts), whose short digit
    boxes are not the card's (real90's photo 35: 'Meeting 10:30', 'No,03' and '周三1'
    were read again, 15 crops, no date).
    """
    number_boxes = best.number_boxes
    asked = [
        box
        for i, box in enumerate(boxes)
        if i not in number_boxes
        and len(box.text) <= MAX_EXPIRY_BOX_CHARS
        and any(char.isdigit() for char in box.text)
        and kept[i]
    ][:MAX_EXPIRY_REREADS]
    # A label beside the card is no more its own ('有效期至 2027/06' on a coupon).
    asked += expiry_regions([box for box, keep in zip(boxes, kept, strict=True) if keep])[
        :MAX_EXPIRY_REREADS
    ]
    if not asked:
        return Counter()
    # A box that any reading shows labelled VALID FROM holds the issue date, however
    # its other readings garble the label. The boxes are read one at a time, and no
    # further once the leading date is out of the others' reach: each box's readings
    # only add votes, so the winner is the one all of them would give.
    votes: Counter[str] = Counter()
    per_box = SECOND_LOOK_CROPS
    for at, box in enumerate(asked):
        (answers,) = reread([box])
        per_box = max(per_box, len(answers))
        votes.update(_expiry_votes(answers))
        if _vote_settled(votes, (len(asked) - at - 1) * per_box):
            break
    return votes


def _leading_date(votes: Counter[str]) -> str:
    """The date most second readings read (ties: the later date)."""
    return max(votes, key=lambda date: (votes[date], date[3:], date[:2]))


def _expiry_votes(answers: Sequence[tuple[str, float]]) -> Counter[str]:
    """The dates a box's second readings read, a vote each; none when any of them
    shows the box labelled VALID FROM (the issue date)."""
    if any(_issue_date_only(text) for text, _ in answers):
        return Counter()
    return Counter(
        expiry
        for text, _ in answers
        if (expiry := find_expiry([_date_letters_as_digits(text)])) is not None
    )


def _indexes_boxes(best: Scored, boxes: Sequence[TextBox]) -> bool:
    """Whether each of ``best``'s pieces was read from the box of ``boxes`` it names (a
    number read from the band, or from second readings, names boxes of other lists)."""
    return all(
        p.box < len(boxes)
        and any(run[0] == p.digits for run in _digit_runs(boxes[p.box].text, boxes[p.box].doubts))
        for p in best.candidate.pieces
    )


def card_reach(boxes: Sequence[TextBox], best: Scored) -> CardReach | None:
    """Where the card whose number ``best`` is lies (``CardReach``); None when where
    the number lies is not known."""
    frame = layout.candidate_frames(boxes)[0]
    if _indexes_boxes(best, boxes):
        # The number's own boxes: its reading line may run on into a note beside it.
        placed = layout.place_all(boxes, frame)
        number = [placed[p.box] for p in best.candidate.pieces]
        return CardReach(
            frame,
            min(b.u0 for b in number),
            max(b.u1 for b in number),
            sum(b.cv for b in number) / len(number),
            max(b.height for b in number),
        )
    line = _number_line(boxes, frame, None)
    return None if line is None else CardReach.of_line(frame, line)


@dataclass(frozen=True)
class DatePlaces:
    """Per box, whether it may be the card's (``near``: ``CardReach.holds``) and whether
    it lies where the card prints its valid thru (``placed``: ``CardReach.date_place``);
    every box is both when where the number lies is not known."""

    near: list[bool]
    placed: list[bool]

    @classmethod
    def of(cls, boxes: Sequence[TextBox], best: Scored) -> DatePlaces:
        reach = card_reach(boxes, best)
        if reach is None:
            return cls([True] * len(boxes), [True] * len(boxes))
        placed = layout.place_all(boxes, reach.frame)
        return cls([reach.holds(b) for b in placed], [reach.date_place(b) for b in placed])

    @property
    def unplaced(self) -> list[bool]:
        """On the card by its reach, but not where it prints its valid thru."""
        return [near and not placed for near, placed in zip(self.near, self.placed, strict=True)]


# Readings per box of the engine's second look (``ocr.kinds.bankcard.second_look``: the
# three ``crop_variants`` and two of them turned): at most this many votes per box unread.
SECOND_LOOK_CROPS = 5


def _vote_settled(votes: Counter[str], unread: int) -> bool:
    """Whether ``unread`` more votes could no longer change the leading date: it leads
    every other date, read or not, by more than that (ties go by the date, so by more)."""
    ranked = votes.most_common(2)
    if not ranked:
        return unread == 0
    runner_up = ranked[1][1] if len(ranked) > 1 else 0
    return ranked[0][1] > runner_up + unread


# Second readings that must read a doubted date again, with none reading another, for
# it to stand (real90's far-off 12/30, its 1 doubted at 0.72: two crops read it again).
CONFIRMING_READINGS = 2


def _expiry_confirmed(boxes: Sequence[TextBox], date: str, reread: Reread) -> bool:
    """Whether second readings of the boxes holding a doubted ``date`` stand behind it:
    CONFIRMING_READINGS of them read it, and none reads another date.

    On real90f's far-off card read '05/25' (05/29 printed) the enlarged crops read
    '96/25', '4/25' and scraps: no reading of the date, so it stays doubted.
    """
    holding = _holding(boxes, date)
    if not holding:
        return False
    return _confirms(_dates_reread(reread, holding, letters_as_digits=False), date)


def _holding(boxes: Sequence[TextBox], date: str) -> list[TextBox]:
    """The boxes ``date`` was read from (read_expiry of the box's text alone)."""
    return [box for box in boxes if read_expiry([box.text]).date == date]


def _dates_reread(
    reread: Reread, boxes: Sequence[TextBox], *, letters_as_digits: bool
) -> Counter[str]:
    """The dates enlarged crops of the first MAX_EXPIRY_REREADS ``boxes`` read, each
    reading a vote; with ``letters_as_digits``, look-alike letters beside a digit or a
    slash are read as digits first ('O9/32')."""
    clean = _date_letters_as_digits if letters_as_digits else str
    return Counter(
        read
        for answers in reread(boxes[:MAX_EXPIRY_REREADS])
        for text, _ in answers
        if (read := read_expiry([clean(text)]).date) is not None
    )


def _confirms(votes: Counter[str], date: str) -> bool:
    """CONFIRMING_READINGS readings read ``date`` and none another."""
    return votes[date] >= CONFIRMING_READINGS and len(votes) == 1


# A box beside the date's that may hold the card's other date (VALID FROM beside VALID
# THRU, one above the other on some cards), read as garbage ('TA/0 322' for a THRU date
# whose small two-line label spoilt it: bank_conditions seed 113, from_thru, index 10).
# Only a box after the date can hold the THRU date: cards print FROM first, left of or
# above THRU. A box before it is never taken (on real-dev, 4 right dates had a box of
# 4 digits or letters and digits 2.5-6.5 heights to their left on their line, e.g. the
# small BIN printed under the number: taking those flagged 3 right dates).
# Beside: on the date's line with at most BESIDE_GAP date heights between the boxes (the
# generator's FROM and THRU dates are 3.7 heights apart; chosen on bank97, bank113,
# real90, real90b and eval150, where no other box with digits stands so near a date), or
# under or over it with at most STACKED_GAP heights between; of the date's height within
# HEIGHT_RATIO (the number's groups are larger, the small BIN under the number smaller).
BESIDE_GAP = 5.0
STACKED_GAP = 1.0
HEIGHT_RATIO = (0.6, 1.8)
# Digits (or look-alikes) a box needs to be taken for a date: MM/YY less a slash and a
# digit lost; more than MAX_DATE_DIGITS is no date (a number's group and more).
MIN_DATE_DIGITS, MAX_DATE_DIGITS = 3, 8


def _bounds(box: TextBox) -> tuple[float, float, float, float]:
    us = [u for u, _ in box.points]
    vs = [v for _, v in box.points]
    return min(us), max(us), min(vs), max(vs)


def _beside(date: TextBox, other: TextBox) -> bool:
    """``other`` stands where a card prints its THRU date after ``date``'s box: right of
    it on its line, or under it."""
    u0, u1, v0, v1 = _bounds(date)
    o_u0, o_u1, o_v0, o_v1 = _bounds(other)
    height = max(v1 - v0, 1.0)
    if not HEIGHT_RATIO[0] <= (o_v1 - o_v0) / height <= HEIGHT_RATIO[1]:
        return False
    across = max(0.0, o_u0 - u1, u0 - o_u1)
    down = max(0.0, o_v0 - v1, v0 - o_v1)
    same_line = abs((o_v0 + o_v1) - (v0 + v1)) / 2 <= height / 2
    after = o_u0 + o_u1 > u0 + u1  # its centre right of the date's
    below = o_v0 + o_v1 > v0 + v1  # its centre under the date's
    return (same_line and after and across <= BESIDE_GAP * height) or (
        not same_line and below and across == 0.0 and down <= STACKED_GAP * height
    )


def _unread_date(text: str) -> bool:
    """Date-shaped text from which no date was read: a slash or three digits (or
    look-alikes) and no more digits than a date and a stray few."""
    digitish = sum(char.isdigit() or char in LOOKALIKES for char in _squeeze(text))
    digits = sum(char.isdigit() for char in text)
    slash = any(char in "/／" for char in text)
    return (
        read_expiry([text]).date is None
        and digits >= 1
        and digitish <= MAX_DATE_DIGITS
        and (digitish >= MIN_DATE_DIGITS or (slash and digitish >= 2))
    )


def _other_date(
    boxes: Sequence[TextBox], best: Scored, date: str, reread: Reread | None
) -> tuple[Expiry, bool] | None:
    """What a date-shaped box beside the one ``date`` was read from says of it: None
    when there is none, or when it holds an earlier date (``date`` is the THRU date).

    The later of two dates is the valid-thru: a later date read from enlarged crops of
    the other box is answered instead (``valid_thru_unsure`` unless CONFIRMING_READINGS
    crops read it and none another); when they read no date, ``date`` may be the issue
    date and is answered as uncertain (``valid_thru_uncertain``: not said expired).
    """
    number_boxes = best.number_boxes
    holding = _holding(boxes, date)
    others = [
        box
        for i, box in enumerate(boxes)
        if i not in number_boxes
        and all(box is not held for held in holding)
        and _unread_date(box.text)
        and any(_beside(held, box) for held in holding)
    ]
    if not others:
        return None
    votes: Counter[str] = Counter()
    if reread is not None:
        votes = _dates_reread(reread, others, letters_as_digits=True)
    later = Counter({read: n for read, n in votes.items() if _later(read, date)})
    if later:
        chosen = max(later, key=lambda read: (later[read], read[3:], read[:2]))
        return Expiry(chosen), not _confirms(later, chosen)
    if votes:
        return None
    return Expiry(date, uncertain=True), False


# Labels printed above the valid-thru date (MONTH/YEAR, 月/年) or left of it (VALID THRU).
DATE_ABOVE_LABELS = ("MONTH", "YEAR", "月/年", "年/月")
DATE_LEFT_LABELS = ("THRU", "有效期")
# Where the date lies from its label, in label heights (the date's embossed digits are
# about twice the label's height) and, below the label, label widths either side.
BELOW_LABEL = (-0.3, 2.0)
BELOW_SIDES = 0.3
RIGHT_OF_LABEL = 5.0
# cut_text's own margin around a region, in region heights (see detect.second_look).
CUT_PAD = 0.25


def expiry_regions(boxes: Sequence[TextBox]) -> list[TextBox]:
    """Where the card's layout puts the valid-thru date, from the labels printed with it.

    The detector may miss an embossed date under glare altogether, or cut it short
    and misread it into an impossible year; a crop of the place the label points at,
    read whole, holds the date. The regions are given so that after the reader's
    margin (CUT_PAD) they span the wanted area.
    """
    frame = layout.candidate_frames(boxes)[0]
    regions = []
    for placed in layout.place_all(boxes, frame):
        label = _squeeze(placed.text)
        if any(word in label for word in DATE_ABOVE_LABELS):
            top = placed.v1 + BELOW_LABEL[0] * placed.height
            bottom = placed.v1 + BELOW_LABEL[1] * placed.height
            left = placed.u0 - BELOW_SIDES * placed.width
            right = placed.u1 + BELOW_SIDES * placed.width
        elif any(word in label for word in DATE_LEFT_LABELS):
            top, bottom = placed.v0, placed.v1
            left, right = placed.u0, placed.u1 + RIGHT_OF_LABEL * placed.height
        else:
            continue
        # Undo the margin the reader adds, so the crop is the area above.
        pad = CUT_PAD * (bottom - top) / (1 + 2 * CUT_PAD)
        points = layout.frame_rectangle(frame, left + pad, right - pad, top + pad, bottom - pad)
        regions.append(TextBox(points, "", 1.0))
    return regions


# Look-alike letters beside a digit or a slash in a date ('O1/14'), read as digits.
_DATE_LETTER = re.compile(r"(?<=[\d/])[OoDQ]|[OoDQ](?=[\d/])|(?<=[\d/])[Il|]|[Il|](?=[\d/])")


def _date_letters_as_digits(text: str) -> str:
    return _DATE_LETTER.sub(lambda m: "0" if m.group() in "OoDQ" else "1", text)


def _later(first: str, second: str) -> bool:
    """``first`` (MM/YY) is a later month than ``second``."""
    return (first[3:], first[:2]) > (second[3:], second[:2])


# --- The extractor ----------------------------------------------------------------------

# The engine's "second look": called with some of the very TextBox objects given to
# extract_bankcard (so the engine can map them back to its own boxes), it answers per
# box zero or more (text, score) readings of enlarged or re-binarised crops.
Reread = Callable[[Sequence[TextBox]], Sequence[Sequence[tuple[str, float]]]]


def extract_bankcard(boxes: Sequence[TextBox], reread: Reread | None = None) -> CardResult:
    """Bank card fields from one photo's OCR boxes; raises NoCardFound without a number.

    ``reread`` is asked for second readings of the number's boxes only when the first
    reading is not clean (fails Luhn, unknown issuer, odd length, needed a correction).
    """
    best = choose_number([boxes])
    # The second look is asked only when the first reading failed a check: a photo that
    # reads badly, so a digit the recogniser doubted in the answer flags it.
    looked_again = reread is not None and (best is None or not best.clean)
    if reread is not None and looked_again:
        best = _second_look(boxes, best, reread)
    texts = [box.text for box in boxes]
    if best is None:
        return _without_number(texts)
    number, info = best.candidate.number, best.info
    luhn = luhn_ok(number)
    fields = {"number": number}
    checks = {"luhn": luhn, "bin": bool(info and info.bank)}
    warnings = []
    if not luhn:
        warnings.append("luhn_failed")
    if best.candidate.correction:
        warnings.append("number_corrected")
    if info is None or not info.bank:
        warnings.append("unknown_bin")
    # A network-only row knows its lengths too: an unknown issuer is no licence for any length.
    if info is not None and len(number) not in info.lengths:
        warnings.append("length_unusual")  # the network or issuer issues no such length
    printed = printed_bank(texts)
    if info is not None and info.bank:
        fields["bank"] = info.bank
        fields["card_type"] = info.card_type
        if printed is not None and printed != info.bank:
            warnings.append("bank_mismatch")
    elif printed is not None:
        fields["bank"] = printed
    expiry, unsure = _card_expiry(boxes, best, reread)
    if expiry.date is not None:
        fields["valid_thru"] = expiry.date
    if expiry.uncertain:
        warnings.append("valid_thru_uncertain")
    if unsure:
        warnings.append("valid_thru_unsure")
    if expiry.unread:
        warnings.append("valid_thru_unreadable")
    doubted = looked_again and any(p.doubted() for p in best.candidate.pieces)
    if min(p.score for p in best.candidate.pieces) < LOW_CONFIDENCE or doubted:
        warnings.append("low_confidence")
    return CardResult(kind="bankcard", fields=fields, checks=checks, warnings=warnings)


def _card_expiry(
    boxes: Sequence[TextBox], best: Scored, reread: Reread | None
) -> tuple[Expiry, bool]:
    """The card's valid thru, and whether a digit of it is doubted (``valid_thru_unsure``).

    Dates are read from the card's boxes only (``CardReach``): a receipt's date beside a
    far-off card is no valid thru. Of those, the boxes where the card prints its date
    (``CardReach.date_place``) are read first; a date found only elsewhere on the card
    may be a note's lying close beside it ('有效期至 2030/06' on the number's line, 1.7
    number heights past its end: bank_conditions ``dated_note``; or under the card, 5.4
    heights under the number: ``dated_note_under``), so it is answered as uncertain
    (``valid_thru_uncertain``: not said expired), never silently.
    """
    places = DatePlaces.of(boxes, best)
    expiry, unsure = _expiry_among(boxes, best, reread, places.placed)
    if expiry.date is not None:
        return expiry, unsure
    elsewhere, unsure = _expiry_among(boxes, best, reread, places.unplaced)
    if elsewhere.date is None:
        return Expiry(None, unread=_date_shown(boxes, best, places)), unsure
    return Expiry(elsewhere.date, uncertain=True), unsure


def _date_shown(boxes: Sequence[TextBox], best: Scored, places: DatePlaces) -> bool:
    """Whether the card shows a valid thru that no reading read: a label of it on the
    card, or where the card prints it a short box other than the number's holding a
    slash beside a letter or digit.

    A far-off card's '01/27' read '/2' and 'z/w' (real_b20's photo 119, generated) came
    back with no date and no word of one; a card that prints none shows neither. Digits
    alone are no date's sign (``_unread_date``'s shape): on two real-dev cards that
    print no valid thru, a short group of digits lies where cards print it.
    """
    number_boxes = best.number_boxes
    for i, box in enumerate(boxes):
        if i in number_boxes or not places.near[i]:
            continue
        text = _squeeze(box.text)
        if any(word in text for word in (*DATE_ABOVE_LABELS, *DATE_LEFT_LABELS)):
            return True
        short = len(text) <= MAX_EXPIRY_BOX_CHARS
        if places.placed[i] and short and _SLASHED.search(text):
            return True
    return False


# A slash beside a letter or digit: what is left of a date read badly ('z/w', '/2').
_SLASHED = re.compile(r"\w[/／]|[/／]\w")


def _expiry_among(
    boxes: Sequence[TextBox], best: Scored, reread: Reread | None, kept: Sequence[bool]
) -> tuple[Expiry, bool]:
    """The valid thru read from the ``kept`` boxes (and second readings of them), and
    whether a digit of it is doubted."""
    expiry = read_expiry([box.text for box, keep in zip(boxes, kept, strict=True) if keep])
    unsure = False
    if (expiry.date is None or expiry.uncertain) and reread is not None:
        votes = _expiry_second_look(boxes, best, reread, kept)
        again = _leading_date(votes) if votes else None
        if again is not None and (expiry.date is None or _later(again, expiry.date)):
            expiry = Expiry(again)
            # Read by the second look alone, a date stands only as ``_expiry_confirmed``
            # has it: read twice, and no other date read (bank4521's far-off 03/28: one
            # crop read '≈ 03/20', its last 0 at 0.38 with 8 as rival, the others no
            # date; answered expired with no doubt).
            unsure = not _confirms(votes, again)
    elif (
        expiry.date is not None
        and (beside := _other_date(boxes, best, expiry.date, reread)) is not None
    ):
        # A second date beside this one, unread: this one may be the issue date.
        expiry, unsure = beside
    elif expiry.date is not None and date_doubted(boxes, expiry.date):
        # A date read with a doubted digit is answered only as doubted, unless enlarged
        # crops of its box read it again with certainty.
        unsure = reread is None or not _expiry_confirmed(boxes, expiry.date, reread)
    return expiry, unsure


def _without_number(texts: Sequence[str]) -> CardResult:
    """A bank card whose number could not be read as a valid one: ask for a retake.

    Only a card that names its bank is taken for a bank card; without that (and without
    a number) nothing says this is a card at all.
    """
    bank = printed_bank(texts)
    if bank is None:
        raise NoCardFound("no plausible bank card number in the photo")
    fields = {"bank": bank}
    expiry = read_expiry(texts)
    warnings = ["number_unreadable"]
    if expiry.date is not None:
        fields["valid_thru"] = expiry.date
    if expiry.uncertain:
        warnings.append("valid_thru_uncertain")
    return CardResult(kind="bankcard", fields=fields, warnings=warnings)


# --- Warnings decided from the fields ---------------------------------------------------

# A card is valid through the last day of its valid-thru month.
VALID_THRU = re.compile(r"^(\d{2})/(\d{2})$")


def expired(valid_thru: str, today: dt.date) -> bool:
    """True when a ``MM/YY`` valid-thru month ended before ``today``'s month."""
    match = VALID_THRU.match(valid_thru)
    if not match or not 1 <= int(match.group(1)) <= 12:
        return False
    month, year = int(match.group(1)), 2000 + int(match.group(2))
    return (year, month) < (today.year, today.month)


def field_warnings(
    fields: dict[str, str], today: dt.date, warnings: Sequence[str] = ()
) -> list[str]:
    """Stable codes the fields alone decide: ``expired``.

    Not when the date may be the issue date (``valid_thru_uncertain``): an old issue
    date would call a valid card expired. A date with a doubted digit
    (``valid_thru_unsure``) still gives it, and the reply says the card may be expired.
    """
    if "valid_thru_uncertain" in warnings:
        return []
    return ["expired"] if expired(fields.get("valid_thru", ""), today) else []
