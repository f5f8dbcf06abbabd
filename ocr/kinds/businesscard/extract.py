"""Text boxes of a business card -> name, title, company, mobile, phone, email, address, website.

A business card has no fixed layout (horizontal or portrait, left-aligned, centred, a
logo beside the text, Chinese or Chinese + English), so fields are assigned by what
their text is, line by line in reading order:

- a printed label (手机/Mob/M:, 电话/Tel/T:, 传真/Fax/F:, 邮箱/E-mail/E:, 地址/Add/A:,
  网址/Web/W:) says what the rest of its line is; a line may hold several labels
  ("Tel: ... Fax: ..."), each starting a value of its own;
- without a label, the value's shape does: an e-mail address (``@``), a web address
  (``www.``, ``http``), a mobile number (11 digits with a Chinese mobile prefix), a
  landline or 400/800 number (area code first), an address (province, city, road,
  number), a company (its name ends in 公司, 集团, 事务所, Co., Ltd...), a job title
  (经理, 总监, 工程师, Manager...);
- the name is the tallest short line of Chinese characters (2-4, or a Latin name when
  no Chinese one is printed) that is none of those.

Checks that correct: numbers are written as ``ocr.documents.normalise_mobile`` /
``normalise_phone`` write them; a labelled number that is not a valid one is kept as
read with a warning (``mobile_invalid``, ``phone_invalid``), never rewritten. E-mail
and web addresses must parse (``ocr.documents.email_ok``, ``website_ok``); the classic
OCR confusions (``@`` read as ``©`` or ``(@``, ``.com`` as ``,com``) are undone only
where the result then parses and exactly one way of undoing them does
(``email_corrected``, ``website_corrected``); an address that still does not parse is
kept as read with ``email_invalid`` / ``website_invalid``. Such a line is first read
again from its crop (``second_look``). An e-mail domain one or two characters off the
web site's host is ``domain_mismatch``. A county name misread in one character is put
right from the region table, as on the ID card. Fax, QQ and WeChat IDs are read as
such and dropped: they are not among the fields.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ocr.checks import fix_county_name, fix_province_name, luhn_ok
from ocr.documents import (
    edit_distance,
    email_ok,
    mobile_ok,
    normalise_mobile,
    normalise_phone,
    website_ok,
)
from ocr.engine import TextBox
from ocr.kinds.base import Extracted as KindExtracted
from ocr.layout import CardView, Line, LineReader, PlacedBox, crop_variants, split_placed

FIELDS = ("name", "title", "company", "mobile", "phone", "email", "address", "website")
# Fields that hold several values joined with ';' (each number printed on the card).
MULTI = ("mobile", "phone")
_CONTACT_FIELDS = ("mobile", "phone", "email", "website")
# Fields whose presence is evidence of a business card (a name or an address alone is not).
_EVIDENCE_FIELDS = ("title", "company", "mobile", "phone", "email", "website")
NUMBER_SEPARATOR = ";"

# Labels printed before a value, as ``label_key`` writes text (NFKC, case-folded). The
# one-letter ones count only with a colon after them: "A" or "M" alone is too common.
_LABEL_WORDS: dict[str, tuple[str, ...]] = {
    "mobile": ("手机号码", "手机号", "手机", "移动电话", "mobile", "mob", "cell", "m"),
    "phone": ("电话", "座机", "办公电话", "联系电话", "tel", "te1", "phone", "t"),
    "fax": ("传真", "fax", "f"),
    # 邮 alone: 邮箱 with its second character lost (with a colon after it, as the
    # one-letter labels; 邮编 has none); mai1: the l read as 1, as in te1.
    "email": (
        "电子邮箱",
        "电子邮件",
        "邮箱",
        "e-mail",
        "email",
        "mail",
        "e-mai1",
        "emai1",
        "邮",
        "e",
    ),
    "address": ("公司地址", "地址", "address", "add", "addr", "a"),
    "website": ("网址", "网站", "主页", "website", "web", "url", "w"),
    "qq": ("qq",),
    "wechat": ("微信号", "微信", "wechat"),
}
# Labelled values that are none of the fields: read, so that they are not taken for one.
_NOT_FIELDS = ("fax", "qq", "wechat")
_SEPARATOR = r"[:：;.]"


def _label_pattern() -> re.Pattern[str]:
    alternatives = []
    for kind, words in _LABEL_WORDS.items():
        for i, word in enumerate(words):
            body = re.escape(word)
            if len(word) == 1:
                # Not the last letter of a word or address: "m:" but not "com:".
                body = rf"(?<![a-z0-9@.]){body}{_SEPARATOR}"
            alternatives.append((len(word), rf"(?P<{kind}_{i}>{body})"))
    # Longest first, so that 手机号码 wins over 手机 and mobile over m.
    return re.compile("|".join(a for _, a in sorted(alternatives, key=lambda a: -a[0])))


_LABEL = _label_pattern()
_CJK = re.compile(r"[\u4e00-\u9fff]")
_TELEPHONE_SIGNS = "☎✆📞📱✉☏"
# A telephone sign before a mobile number read as a letter or digit ("0 138 1234 5678").
_SIGN_LOOKALIKES = "0OoQ@©®C"
_SIGN_READ_AS_TEXT = re.compile(rf"^[{_SIGN_LOOKALIKES}]\s+(?=1\d{{2}}[\s-]?\d{{4}}[\s-]?\d{{4}}$)")

# E-mail: a local part, an at sign (or what OCR makes of it) and a domain.
_AT_LOOKALIKES = ("(@)", "(@", "@)", "©", "®", "(a)", "＠", "@")
_EMAIL_SHAPE = re.compile(r"[a-z0-9._%+-]+(?:\(@\)?|@\)|©|®|\(a\)|@)[a-z0-9.,-]+\.?[a-z]{2,}", re.I)
_WEB_SHAPE = re.compile(
    r"^(?:https?[:;]//|[wv]{2,4}[.,])[a-z0-9.,/-]+$|^[a-z0-9-]+\.(?:com|cn|net|org)(?:\.cn)?/?$",
    re.I,
)
# Replacements of OCR confusions in e-mail and web addresses: (read, meant).
_DOT_FIXES = ((",", "."), ("。", "."), ("·", "."), (";", "."), ("..", "."))
# What an at sign is read as when nothing like one is read, likeliest first.
_ADDRESS_CHARS = re.compile(r"[A-Za-z0-9._%+-]")
_TOP_LEVEL = frozenset({"com", "net", "org", "cn", "edu", "gov"})


def _not_in_addresses(char: str) -> bool:
    return not _ADDRESS_CHARS.fullmatch(char)


def _round_letter(char: str) -> bool:
    return char in "oOQ0"


# The blank before a word in a printed line, in text heights (``_line_chars``): letters
# of one word are closer.
WORD_GAP = 0.6


def _plausible_domain(domain: str) -> bool:
    """A domain whose first label is a name, not a top-level domain cut short."""
    first = domain.split(".")[0].lower()
    return len(first) >= 3 and first not in _TOP_LEVEL


_AT_FIXES = tuple((lookalike, "@") for lookalike in _AT_LOOKALIKES if lookalike != "@")

# A landline or service number: area code first (0xx, 0xxx) or 400/800.
_PHONE_SHAPE = re.compile(r"^\(?0\d{2,3}\)?[\d\s\-()]{6,}|^[48]00[\d\s\-]{7,}")
_MOBILE_SHAPE = re.compile(r"^(?:\+?86[\s-]*)?1[\d\s-]{10,13}$")
# The shortest number worth reading: a 7-digit local number.
_MIN_NUMBER_DIGITS = 7
# What OCR reads a printed hyphen of a number as.
_HYPHEN_LOOKALIKES = str.maketrans({c: "-" for c in "=—–_~一－"})
_EXTENSION = re.compile(r"(?:转|ext\.?|x|#)\s*\d{1,5}$", re.I)

# What ends a company's name ("...有限公司", "... Co., Ltd.").
_COMPANY_END = re.compile(
    r"(?:公司|集团|事务所|工作室|研究院|研究所|设计院|中心|银行|支行|分行|医院|学校|大学|学院|"
    r"协会|商行|厂|酒店|律师事务所|co\.?,?\s*ltd\.?|ltd\.?|inc\.?|corp\.?|group|company|"
    r"limited|studio)$",
    re.I,
)
# Job titles; the longest one a text ends with counts (副总经理 before 经理).
TITLES = (
    "董事长", "副董事长", "总经理", "副总经理", "执行董事", "董事", "总裁", "副总裁", "首席执行官",
    "总监", "经理", "主管", "主任", "工程师", "设计师", "律师", "会计师", "顾问", "专员", "助理",
    "秘书", "主席", "院长", "校长", "教授", "医师", "医生", "主编", "合伙人", "代表", "厂长",
    "部长", "科长", "处长", "行长", "店长", "总工", "架构师", "分析师", "策划", "编辑", "记者",
    "讲师", "研究员", "负责人", "创始人", "联合创始人", "经纪人", "销售", "客服",
)  # fmt: skip
_TITLE_WORDS_EN = re.compile(
    r"\b(?:manager|director|engineer|ceo|cto|cfo|coo|chairman|president|designer|lawyer|"
    r"attorney|consultant|lead|officer|partner|founder|specialist|assistant|secretary|"
    r"supervisor|executive|representative|analyst|architect|head)\b",
    re.I,
)
# An address: its administrative units and street words.
_ADDRESS_WORDS = re.compile(r"省|市|区|县|镇|乡|路|街|道|巷|弄|号|栋|幢|楼|室|层|座|大厦|广场|园")
_NAME_CJK = re.compile(r"^[\u4e00-\u9fff]{2,4}$|^[\u4e00-\u9fff]{1,3}·[\u4e00-\u9fff]{1,6}$")
_NAME_LATIN = re.compile(r"^[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2}$")
# Text that says the photo holds another document (an ID card, a licence, a passport).
# Fewer pieces of business-card content than this (labels, numbers, e-mail, web,
# company, title) and the text holds no business card.
MIN_EVIDENCE = 2
# Auto detection asks for more: a receipt on the desk shows a 电话 label, a number and a
# short line that could be a name. Every generated card shows 5 or more.
AUTO_EVIDENCE = 3
# A gap this wide (in text heights) parts a printed line into pieces read on their own.
SEGMENT_GAP = 3.0
# An address is printed in one run: beside it, a gap this wide parts it from other text
# (a note on the desk level with its line: '10:30' after '2003室', seed 7's photo 133;
# '外卖' before '地址:', seed 7's photo 006; each was read into the address, silently).
ADDRESS_GAP = 1.5
# The next line of an address: its centre at most this many text heights under the
# line above (cards set lines about 1.5 heights apart), its height within this ratio.
_NEXT_LINE = 1.9
_SAME_SIZE = 1.35
# The detector fits a lone character's box to the glyph, without the line's margins: the
# final 号 or 室 wrapped onto a line of its own measured 0.54 and 0.74 of the address
# line's height (seed 8's photos 40 and 69, lost before), so such an end is taken from
# half the height.
_LONE_END = 0.5
# A business card holds a dozen lines at most, a page of text or a table many more.
MAX_LINES = 24
_OTHER_DOCUMENTS = (
    "公民身份号码",
    "居民身份证",
    "身份证",
    "驾驶证",
    "护照",
    "PASSPORT",
    "签发机关",
)


@dataclass
class Extracted(KindExtracted):
    # ``evidence``: kinds of business-card content found (labels, contact values,
    # company, title).
    # Contact lines printed below the name minus those above it (cards print the name
    # above): which way up the photo is.
    name_above_contacts: int = 0
    # The printed line of each e-mail or web address, for a second look.
    value_lines: dict[str, Line] = field(default_factory=dict)


@dataclass
class _Found:
    """Values found so far, in reading order; several numbers per field."""

    values: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    labels: int = 0

    def add(self, name: str, value: str) -> None:
        value = value.strip()
        if value and value not in self.values.setdefault(name, []):
            self.values[name].append(value)

    def warn(self, code: str) -> None:
        if code not in self.warnings:
            self.warnings.append(code)


def label_key(text: str) -> str:
    """Text as labels are matched: NFKC (full-width to ASCII), case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def split_labels(text: str) -> list[tuple[str | None, str]]:
    """A line as (label, value) pieces: the text before the first label has label None."""
    key = label_key(text)
    pieces: list[tuple[str | None, str]] = []
    start, kind = 0, None
    for match in _LABEL.finditer(key):
        found = next(name for name, value in match.groupdict().items() if value is not None)
        found_kind = found.rsplit("_", 1)[0]
        if not _label_stands_alone(key, match, found_kind):
            continue
        between = text[start : match.start()]
        if kind is not None and not between.strip(" /、|:："):
            # Two labels of one value ("手机/微信：138..."): the first says what it is.
            start = match.end()
            continue
        pieces.append((kind, between))
        start, kind = match.end(), found_kind
    pieces.append((kind, text[start:]))
    return [(k, v.strip(" :：,，;；|")) for k, v in pieces if k is not None or v.strip(" :：")]


def _label_stands_alone(key: str, match: re.Match[str], kind: str) -> bool:
    """A label only where it can be one: at the start of the line, or mid-line after a gap
    and, for a Latin word, with a colon after it (else "tel" in "hotel.com" is a label)."""
    word = match.group(0)
    if match.start() == 0 or key[: match.start()].strip(" " + _TELEPHONE_SIGNS) == "":
        after = key[match.end() : match.end() + 1]
        if word.isascii() and word.isalpha() and after in ("@", ".", "_", "-"):
            return False  # an address that starts like a label: "mail@a.cn"
        if not (word.isascii() and word.isalpha() and _continues_word(key, match.end())):
            return True
        # The colon lost: "Emailinfo@a.cn" still starts with its label, and so does
        # "Webwww.a.net" (seed 8's photo 118: its web address dropped without a word).
        rest = key[match.end() :]
        if kind == "website":
            return len(word) > 1 and rest.startswith(("www.", "http"))
        return kind == "email" and len(word) > 1 and "@" in rest
    before = key[match.start() - 1]
    if word.isascii() and word.isalpha():
        return before in " ,;|/" and key[match.end() : match.end() + 1] in (":", "：")
    return True


# How far into a line a label may start.
_LABEL_REACH = 4


def label_from_rivals(text: str, chars: Sequence[Char]) -> str:
    """``text`` with a doubted character at its start replaced by the rival the recogniser
    saw there that makes it a label, or ``text`` when none does: '擦机:028-4397-5436', 擦
    at 0.89 with rival 座, lost its phone number (blind seed 21's photo 045)."""
    for at, char in enumerate(chars[:_LABEL_REACH]):
        for rival in char.doubts:
            candidate = text[:at] + rival + text[at + 1 :]
            if any(kind is not None for kind, _ in split_labels(candidate)):
                return candidate
    return text


def _continues_word(key: str, end: int) -> bool:
    """A Latin label word run on into letters ("tel" in "telecom") is no label."""
    return end < len(key) and key[end].isalpha() and key[end].isascii()


def _without_sign(value: str) -> str:
    """A value without the telephone sign printed before it, read as a sign or not.

    The recogniser reads a handset or phone icon as whichever pictograph it knows (a
    ballot box ☑ before a dashed mobile on KIND150 seed 7's photo 1, whose number was then
    dropped without a word): any leading character of Unicode's "other symbol" class is
    an icon, never part of a number, an address or a web address."""
    text = _without_icons(unicodedata.normalize("NFKC", value).strip(_TELEPHONE_SIGNS + " "))
    text = _SIGN_READ_AS_TEXT.sub("", text)
    # The sign read as a 0 with no space kept after it: '0193-3918-5693' (blind seed 21's
    # photo 034, its 0 at 0.57) is no landline (no area code but Beijing's begins 01) and
    # a valid mobile without its first character.
    if text[:1] in _SIGN_LOOKALIKES and normalise_mobile(text[1:]) and not normalise_phone(text):
        text = text[1:]
    return text


def _without_icons(text: str) -> str:
    """``text`` without the pictographs (Unicode's "other symbol" class) it starts with:
    what the recogniser makes of an icon, or of a blank before the text (blind seed 43's
    photo 013 read its title '☑主任' from a box that held only 主任 and the card's white;
    the title was then none, and dropped)."""
    while text and unicodedata.category(text[0]) == "So":
        text = text[1:].lstrip()
    return text


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


# ----------------------------------------------------------------------- e-mail and web


def _fixes(text: str, fixes: Sequence[tuple[str, str]], ok: Callable[[str], bool]) -> list[str]:
    """Readings of ``text`` with some of ``fixes`` applied that pass ``ok``."""
    applicable = [fix for fix in fixes if fix[0] in text]
    found: list[str] = []
    for count in range(1, len(applicable) + 1):
        for chosen in itertools.combinations(applicable, count):
            fixed = text
            for read, meant in chosen:
                fixed = fixed.replace(read, meant)
            if ok(fixed) and fixed not in found:
                found.append(fixed)
        if found:
            break
    return found


@dataclass(frozen=True)
class Char:
    """One character of a printed line with what the recogniser said of it beside its
    text: the other characters it found nearly as likely there (``TextBox.doubts``, ""
    when sure or not said) and the blank in the print before it, in text heights (within
    a box ``TextBox.blanks``; between two boxes, their gap)."""

    text: str
    doubts: str = ""
    blank: float = 0.0


def _email_chars(value: str, chars: Sequence[Char] | None) -> list[Char]:
    """The characters of an e-mail value as ``read_email`` reads them: NFKC, without
    spaces (a space read in the value is a word's gap before the next character), without
    the punctuation around it. ``chars``: the value's characters as read, else none."""
    if chars is None or "".join(c.text for c in chars) != value:
        chars = [Char(c) for c in value]
    kept: list[Char] = []
    gap = 0.0
    for char in chars:
        if char.text.isspace():
            gap = max(gap, WORD_GAP)
            continue
        for part in unicodedata.normalize("NFKC", char.text):
            if not part.isspace():
                kept.append(Char(part, char.doubts, max(gap, char.blank)))
                gap = 0.0
    while kept and kept[0].text in ".,;:。":
        kept.pop(0)
    while kept and kept[-1].text in ".,;:。":
        kept.pop()
    return kept


def read_email(value: str, chars: Sequence[Char] | None = None) -> tuple[str, str | None]:
    """(the address, a warning or None). Fixed only where exactly one fix makes it parse.

    ``chars``: the value's characters with the recogniser's doubts and the blanks in the
    print, when known (``_line_chars``): a word of desk clutter read glued before the
    address is cut off at its gap, and an at sign read as a letter is put back where the
    recogniser saw an @ as the second likeliest character."""
    read = _email_chars(value, chars)
    for cut in (*_label_colon(read), *_word_gaps(read)):
        rest, warning = _read_email_text(read[cut:])
        if warning != "email_invalid":
            # The address stands alone after a gap a word leaves: what is before it is
            # no part of it (an address is printed without spaces), but say so.
            return rest, "email_corrected"
    return _read_email_text(read)


def _label_colon(chars: Sequence[Char]) -> list[int]:
    """After the label's colon read as another character ("E-mail" + "t." read for
    "E-mail:"), which the recogniser saw as a colon second: where the address starts."""
    return [i + 1 for i, c in enumerate(chars[:2]) if ":" in c.doubts or "：" in c.doubts]


def _word_gaps(chars: Sequence[Char]) -> list[int]:
    """Where a word ends before the at sign: a blank of a word's width in the print
    before a letter, with only letters and digits before it (the clutter word)."""
    at = next((i for i, c in enumerate(chars) if c.text == "@"), len(chars))
    return [
        i
        for i in range(1, at)
        if chars[i].blank >= WORD_GAP and all(c.text.isalnum() for c in chars[:i])
    ]


def _read_email_text(chars: Sequence[Char]) -> tuple[str, str | None]:
    text = "".join(c.text for c in chars)
    if "@" in text and email_ok(text):
        return _with_lower_l(text, None, chars)
    fixed = _fixes(text, (*_AT_FIXES, *_DOT_FIXES), email_ok)
    if not fixed and not any(at in text for at in _AT_LOOKALIKES):
        # No at sign read at all: where the recogniser's second guess was an @, else a
        # character no address holds (ä), else a round letter (o); never one that leaves
        # a domain like "m.cn" (c@m.cn from .com).
        seen_at = [c.doubts for c in chars] if len(chars) == len(text) else [""] * len(text)
        at_places: tuple[Callable[[int], bool], ...] = (
            lambda i: "@" in seen_at[i],
            lambda i: _not_in_addresses(text[i]),
            lambda i: _round_letter(text[i]),
        )
        for is_at in at_places:
            fixed = [
                candidate
                for i in range(len(text))
                if is_at(i)
                and email_ok(candidate := f"{text[:i]}@{text[i + 1 :]}")
                and _plausible_domain(candidate.rpartition("@")[2])
            ]
            if fixed:
                break
    if len(fixed) == 1:
        return _with_lower_l(fixed[0], "email_corrected", chars)
    return text, "email_invalid"


def _with_lower_l(
    text: str, warning: str | None, chars: Sequence[Char] = ()
) -> tuple[str, str | None]:
    """An address printed in small letters with a capital I among them: the I is an l
    misread (cards print addresses in small letters; l and I look alike in many fonts);
    so is a 1 between letters that the recogniser saw as an l second ("yf1@" for
    "yfl@"). Said, since an address may be printed so."""
    letters = [c for c in text if c.isalpha() and c != "I"]
    lower = bool(letters) and all(c.islower() for c in letters)
    doubts = [c.doubts for c in chars] if len(chars) == len(text) else [""] * len(text)

    def is_l(i: int, char: str) -> bool:
        if char == "I":
            return lower
        beside_letter = text[i - 1 : i].isalpha() or text[i + 1 : i + 2].isalpha()
        return char == "1" and "l" in doubts[i] and beside_letter

    fixed = "".join("l" if is_l(i, char) else char for i, char in enumerate(text))
    return (text, warning) if fixed == text else (fixed, "email_corrected")


def read_website(value: str) -> tuple[str, str | None]:
    """(the web address, a warning or None). Fixed as an e-mail address is."""
    text = _compact(value).strip(",;:。")
    text = re.sub(r"^(https?)[;.]//", r"\1://", text, flags=re.I)
    # "W:www." with its colon lost reads "Wwww.": the label's W, not a fourth w.
    text = re.sub(r"^w{4,}(?=[.,])", "www", text, flags=re.I)
    if website_ok(text):
        return text, None
    fixed = _fixes(text, (*_DOT_FIXES, ("vww.", "www."), ("ww.", "www.")), website_ok)
    if len(fixed) == 1:
        return fixed[0], "website_corrected"
    return text, "website_invalid"


# ----------------------------------------------------------------------------- numbers


def _number_parts(value: str) -> list[str]:
    """The numbers of one value ("138 1234 5678 / 139 ..."), split where they are joined."""
    text = _without_sign(value)
    text = text.translate(_HYPHEN_LOOKALIKES)
    parts = re.split(r"\s*[/、,，;；|]\s*", text)
    # Without words before the number ("总机 010-..."); fewer digits than any number
    # has: a fragment (or a label on a note on the desk).
    parts = [re.sub(r"^[^\d(+]+", "", p).strip() for p in parts]
    return [p for p in parts if sum(c.isdigit() for c in p) >= _MIN_NUMBER_DIGITS]


def read_number(value: str, label: str | None, found: _Found) -> bool:
    """Take the numbers of a value as mobile or phone; False when it holds none.

    The label decides where a reading that is no valid number goes; the shape decides
    for a valid one (a mobile printed after 电话 is a mobile number).
    """
    took = False
    for part in _number_parts(value):
        digits = re.sub(r"[\s\-().+]", "", part)
        mobile = normalise_mobile(part)
        phone = "" if mobile else normalise_phone(part)
        if mobile:
            found.add("mobile", mobile)
        elif phone:
            found.add("phone", phone)
        elif label == "mobile" or (label is None and _MOBILE_SHAPE.match(part)):
            # Not a number any Chinese mobile has: kept as read, and said.
            found.add("mobile", digits)
            found.warn("mobile_invalid")
        elif label == "phone" or (label is None and _PHONE_SHAPE.match(part)):
            found.add("phone", part.strip())
            found.warn("phone_invalid")
        else:
            continue
        took = True
    return took


def looks_like_number(value: str) -> bool:
    text = _without_sign(value)
    text = _EXTENSION.sub("", text).strip()
    digits = sum(c.isdigit() for c in text)
    return digits >= 7 and digits >= 0.7 * len(re.sub(r"[\s\-()+/]", "", text))


# ------------------------------------------------------------------- words and lines


def is_company(text: str) -> bool:
    text = text.strip()
    return len(text) >= 4 and bool(_COMPANY_END.search(text))


def title_suffix(text: str) -> str:
    """The job title that ``text`` ends with (longest), or ""."""
    best = ""
    for title in TITLES:
        if text.endswith(title) and len(title) > len(best):
            best = title
    if not best:
        return ""
    # 高级工程师, 销售经理, 市场总监: a title's own words run back to what is not a name.
    head = text[: len(text) - len(best)]
    return text[len(head) - _title_head(head) :] if head else best


def _title_head(head: str) -> int:
    """How many characters before a title word belong to the title (高级, 销售, 人力资源,
    高级项目)."""
    taken = 0
    while prefix := next((p for p in _TITLE_PREFIXES if head[: len(head) - taken].endswith(p)), ""):
        taken += len(prefix)
    return taken


# Longest first: 人力资源 before 资源.
_TITLE_PREFIXES = (
    "人力资源", "高级", "资深", "首席", "副", "总", "销售", "市场", "技术", "项目", "财务", "客户",
    "产品", "行政", "运营", "研发", "区域", "大区", "部门", "执业", "主治", "常务", "执行",
    "业务", "商务", "品牌", "质量", "采购", "法务", "软件", "结构", "室内", "平面", "网络",
)  # fmt: skip


def is_title(text: str) -> bool:
    text = text.strip()
    if _CJK.search(text):
        return bool(title_suffix(text)) and len(text) - len(title_suffix(text)) == 0
    return bool(_TITLE_WORDS_EN.search(text)) and len(text.split()) <= 4


def looks_like_address(text: str) -> bool:
    cjk = len(_CJK.findall(text))
    return cjk >= 5 and len(_ADDRESS_WORDS.findall(text)) >= 2 and not is_company(text)


def is_name(text: str) -> bool:
    text = text.strip()
    if _NAME_CJK.match(text):
        return not is_title(text) and text not in _LABEL_WORDS_CJK
    return False


_LABEL_WORDS_CJK = frozenset(w for words in _LABEL_WORDS.values() for w in words if _CJK.search(w))


# ------------------------------------------------------------------------ the reader


def other_document(view: CardView) -> bool:
    """The text says it is an ID card, licence or passport, or holds a bank card number."""
    text = "".join(line.text for line in view.lines)
    upper = unicodedata.normalize("NFKC", text).upper()
    if any(mark in upper for mark in _OTHER_DOCUMENTS):
        return True
    for line in view.lines:
        for run in re.findall(r"\d[\d ]{14,24}\d", line.text):
            digits = run.replace(" ", "")
            if 16 <= len(digits) <= 19 and luhn_ok(digits) and not mobile_ok(digits[:11]):
                return True
    return False


def extract(view: CardView) -> Extracted:
    found = _Found()
    names: list[PlacedBox] = []
    address: list[str] = []
    address_open = False
    companies: list[str] = []
    titles: list[str] = []
    contact_lines: list[float] = []
    value_lines: dict[str, Line] = {}
    address_line: Line | None = None
    for line in (segment for printed in view.lines for segment in _segments(printed)):
        chars = _line_chars(line)
        text = "".join(c.text for c in chars)
        pieces = split_labels(text)
        if all(kind is None for kind, _ in pieces):
            text = label_from_rivals(text, chars)
            pieces = split_labels(text)
        kinds = [kind for kind, _ in pieces if kind is not None]
        found.labels += len(kinds)
        taken = bool(kinds)
        for kind, value in pieces:
            what = kind or _shape_of(value)
            if what == "address":
                # A labelled address starts afresh; an unlabelled one goes on the last.
                address = [value] if kind is not None else [*address, value]
            elif what is None and looks_like_number(value) and not _CJK.search(value):
                # Digits in no number's shape: a number misread beyond its shape ('190-
                # 0495-1971' as '999-9-09 1' on blind seed 21's photo 014), left out and
                # said, never dropped without a word. Not with Chinese in it: an address's
                # second line is mostly digits too ('2号12栋2302室').
                found.warn("number_unread")
            elif what is not None:
                took = _take_value(
                    what, value, kind is not None, found, _chars_of(value, text, chars)
                )
                taken = taken or took
                if took and what in ("email", "website"):
                    value_lines.setdefault(what, line)
            if what == "address":
                taken = True
        if taken:
            contact_lines.append(line.cv)
            address_open = "address" in kinds or (
                not kinds and all(_shape_of(v) == "address" for _, v in pieces)
            )
            address_line = line if address_open else None
            continue
        if address_open and address_line is not None:
            rest = _continuation(address_line, line)
            if rest is not None:
                address.append(_line_text(rest).strip())
                address_line = rest
                continue
        address_open = False
        _assign_words(line, names, companies, titles)
    chinese_titles = [t for t in titles if _CJK.search(t)]
    fields = {
        "name": _pick_name(names),
        "title": (chinese_titles or titles or [""])[0],
        "company": companies[0] if companies else "",
        "address": clean_address("".join(address)),
    }
    for name in ("mobile", "phone", "email", "website"):
        fields[name] = NUMBER_SEPARATOR.join(found.values.get(name, ()))
    fields = {name: fields[name] for name in FIELDS if fields.get(name)}
    evidence = found.labels + sum(bool(fields.get(name)) for name in _EVIDENCE_FIELDS)
    if "email_invalid" in found.warnings and fields.get("website"):
        at_site = email_at_site(fields["email"], fields["website"])
        if at_site:
            fields["email"] = at_site
            found.warnings.remove("email_invalid")
            found.warn("email_corrected")
    if domains_disagree(fields.get("email", ""), fields.get("website", "")):
        found.warn("domain_mismatch")
    checks = _checks(fields)
    name_box = _name_box(names)
    agreement = (
        sum(1 if cv > name_box.cv else -1 for cv in contact_lines) if name_box is not None else 0
    )
    return Extracted(fields, checks, found.warnings, evidence, agreement, value_lines)


def second_look(view: CardView, extracted: Extracted, reader: LineReader) -> None:
    """Read again the line of an e-mail or web address that did not parse as read, or
    only after a fix: cut out enlarged, as it is, equalised and binarised. A reading that
    parses as read is taken; it stands without a warning only when two readings agree
    (or it agrees with the fix), since one reading alone may be a misread that parses."""
    for name, read_value in (("email", read_email), ("website", read_website)):
        doubts = [w for w in extracted.warnings if w in (f"{name}_invalid", f"{name}_corrected")]
        line = extracted.value_lines.get(name)
        if not doubts or line is None:
            continue
        readings: list[str] = []
        for text, _ in reader(crop_variants(view.cut(_spanning(line)))):
            value = _value_of(text, name)
            if value is None:
                continue
            got, warning = read_value(value)
            if warning is None:
                readings.append(got)
        if not readings:
            continue
        known = [extracted.fields.get(name, "")] if doubts == [f"{name}_corrected"] else []
        if known and any(_unrepaired(r, known[0]) for r in readings):
            # Read again as first read, before a repair that only the first reading's
            # doubts and gaps could make (an l read as I or 1, a clutter word glued
            # before it): the repair and its warning stand.
            continue
        agreed = [r for r in readings if (readings + known).count(r) >= 2]
        extracted.fields[name] = agreed[0] if agreed else readings[0]
        extracted.checks[name] = True
        extracted.warnings.remove(doubts[0])
        if not agreed:
            extracted.warnings.append(f"{name}_corrected")


def _unrepaired(reading: str, fixed: str) -> bool:
    """``reading`` is ``fixed`` as read before ``_with_lower_l`` or a cut at a word's gap."""
    as_l = str.maketrans("I1", "ll")
    return reading != fixed and reading.translate(as_l).endswith(fixed.translate(as_l))


def _spanning(line: Line) -> PlacedBox:
    """One box over the whole printed line."""
    first = line.boxes[0]
    return PlacedBox(first.box, line.u0, line.u1, line.cv, line.height)


def _value_of(text: str, name: str) -> str | None:
    """The value of a re-read line that is of ``name`` (by its label or its shape)."""
    for kind, value in split_labels(text):
        if kind == name or (kind is None and _shape_of(value) == name):
            return value
    return None


def email_at_site(email: str, website: str) -> str:
    """An e-mail address read without its at sign that ends with the web site's host
    ("salesehuaxin.com" beside www.huaxin.com): the character before the host is the at
    sign misread (most cards use one domain for both). "" when it does not end so."""
    host = _host(website)
    if "@" in email or not host or not email.lower().endswith(host):
        return ""
    at = len(email) - len(host) - 1
    # The misread at sign is a character no domain holds before its host, not a dot
    # (info.huaxin.com may be a host of the site's domain).
    if at < 1 or email[at] in ".-":
        return ""
    fixed = f"{email[:at]}@{email[at + 1 :]}"
    return fixed if email_ok(fixed) else ""


def _host(website: str) -> str:
    """A web address's host without its www."""
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", website.lower()).split("/")[0]


def domains_disagree(email: str, website: str) -> bool:
    """The e-mail's domain and the web site's host differ by a character or two: one of
    them is misread (most cards use one domain for both; different domains differ more)."""
    if "@" not in email or not website:
        return False
    domain = email.rpartition("@")[2].lower()
    host = _host(website)
    return domain != host and edit_distance(domain, host) <= 2


def _chars_of(value: str, text: str, chars: Sequence[Char]) -> list[Char] | None:
    """The characters of ``value``, a piece of the line ``text`` read as ``chars``."""
    start = text.rfind(value)
    return list(chars[start : start + len(value)]) if value and start >= 0 else None


def _take_value(
    what: str, value: str, labelled: bool, found: _Found, chars: Sequence[Char] | None = None
) -> bool:
    """Read one contact value as ``what``; False when it holds nothing of the kind."""
    if what in _NOT_FIELDS:
        return True
    if what == "email":
        text, warning = read_email(value, chars)
    elif what == "website":
        text, warning = read_website(value)
    else:
        return read_number(value, what if labelled else None, found) or labelled
    if not text:
        return labelled
    found.add(what, text)
    if warning:
        found.warn(warning)
    return True


def _line_text(line: Line) -> str:
    """A line's boxes joined, with a space where a gap in the print separates them."""
    return "".join(c.text for c in _line_chars(line))


def _line_chars(line: Line) -> list[Char]:
    """``_line_text`` character by character, with what the recogniser said of each."""
    chars: list[Char] = []
    edge: float | None = None
    for box in line.boxes:
        gap = 0.0 if edge is None else (box.u0 - edge) / box.height
        if chars and gap > WORD_GAP:
            chars.append(Char(" ", "", gap))
        text = box.text
        doubts = box.box.doubts if len(box.box.doubts) == len(text) else ("",) * len(text)
        blanks = box.box.blanks if len(box.box.blanks) == len(text) else (0.0,) * len(text)
        for i, (char, doubt, blank) in enumerate(zip(text, doubts, blanks, strict=True)):
            chars.append(Char(char, doubt, max(blank, gap) if i == 0 and chars else blank))
        edge = box.u1
    return chars


def _shape_of(value: str) -> str | None:
    """What an unlabelled value is by its shape alone, or None when not a contact value."""
    text = _without_sign(value)
    compact = re.sub(r"\s+", "", text)
    if _EMAIL_SHAPE.search(compact) and not _CJK.search(compact):
        return "email"
    if _WEB_SHAPE.match(compact):
        return "website"
    if looks_like_number(text):
        plain = re.sub(r"[\s\-()+]", "", _EXTENSION.sub("", text))
        if _MOBILE_SHAPE.match(text) or (len(plain) == 11 and plain.startswith("1")):
            return "mobile"
        if _PHONE_SHAPE.match(text):
            return "phone"
        return None
    if looks_like_address(text):
        return "address"
    return None


def _segments(line: Line) -> list[Line]:
    """A line cut where a wide gap parts its boxes: a note on the desk beside the card,
    or two values printed side by side, is a piece of its own."""
    parts: list[list[PlacedBox]] = []
    for box in line.boxes:
        if parts:
            last = parts[-1]
            gap = box.u0 - max(b.u1 for b in last)
            heights = (last[-1].height, box.height)
            # Beside an address, in the smaller text's heights: a note's print is larger.
            if _holds_address(last) or _holds_address([box]):
                widest = ADDRESS_GAP * min(heights)
            else:
                widest = SEGMENT_GAP * max(heights)
            if gap <= widest:
                last.append(box)
                continue
        parts.append([box])
    return [Line(tuple(part)) for part in parts]


def _holds_address(boxes: Sequence[PlacedBox]) -> bool:
    """Whether the boxes' text is or labels an address."""
    text = "".join(b.text for b in boxes)
    return any(
        kind == "address" or (kind is None and _shape_of(value) == "address")
        for kind, value in split_labels(text)
    )


def _continuation(above: Line, line: Line) -> Line | None:
    """The next line of a wrapped address: right under the address's line (not a note
    on the desk further down), within its width, at its size, and no other value.
    Latin-only boxes on it (a stray letter of clutter) are left out."""
    height = above.height
    close = 0 < line.cv - above.cv <= _NEXT_LINE * height
    within = line.u0 >= above.u0 - height and line.u1 <= above.u1 + height
    alike = max(line.height, height) <= _SAME_SIZE * min(line.height, height)
    if not alike and _address_end(line):
        alike = _LONE_END * height <= line.height <= _SAME_SIZE * height
    if not (close and within and alike):
        return None
    kept = tuple(b for b in line.boxes if _CJK.search(b.text) or any(c.isdigit() for c in b.text))
    if not kept or not _continues_address(_line_text(Line(kept))):
        return None
    return Line(kept)


def _address_end(line: Line) -> bool:
    """A line of one or two characters ending in an address's unit (号, 室, 栋...): the end
    of an address wrapped just before it."""
    text = _compact(_line_text(line))
    return 0 < len(text) <= 2 and bool(_ADDRESS_WORDS.fullmatch(text[-1]))


def _continues_address(text: str) -> bool:
    """The second line of a wrapped address: no label, not a contact value, no company."""
    compact = _compact(text)
    return (
        bool(compact)
        and _shape_of(compact) in (None, "address")
        and not is_company(compact)
        and (bool(_CJK.search(compact)) or compact.isdigit())
        and len(compact) <= 40
    )


def _assign_words(
    line: Line, names: list[PlacedBox], companies: list[str], titles: list[str]
) -> None:
    """The boxes of a line that is no contact line: company, title, name candidates."""
    text = _compact(_line_text(line))
    if is_company(text):
        companies.append(text)
        return
    for box in _join_spaced_characters(line.boxes):
        word = _without_icons(_compact(box.text))
        if not word:
            continue
        if is_company(word):
            companies.append(word)
        elif (suffix := title_suffix(word)) and suffix != word and is_name(word[: -len(suffix)]):
            # The name and the title read as one box ("刘平琪律师").
            names.append(split_placed(box, 0, len(word) - len(suffix)))
            titles.append(suffix)
        elif is_title(word):
            # An English title beside the Chinese one is its translation.
            titles.append(word if _CJK.search(word) else box.text.strip())
        elif is_name(word) or _NAME_LATIN.match(box.text.strip()):
            names.append(box)


def _join_spaced_characters(boxes: Sequence[PlacedBox]) -> list[PlacedBox]:
    """Boxes of one or two Chinese characters side by side at one size joined: a name set
    with wide letter spacing (刘  平  琪) may come as a box per character."""
    joined: list[PlacedBox] = []
    for box in boxes:
        last = joined[-1] if joined else None
        if (
            last is not None
            and _SPACED.match(box.text)
            and _SPACED.match(last.text[-2:])
            and len(last.text) < 4
            and _CJK.fullmatch(last.text[-1])
            and max(box.height, last.height) <= 1.3 * min(box.height, last.height)
            and box.u0 - last.u1 <= 1.5 * last.height
        ):
            text = last.text + box.text
            merged = TextBox(last.box.points, text, min(last.box.score, box.box.score))
            joined[-1] = PlacedBox(
                merged, last.u0, box.u1, (last.cv + box.cv) / 2, max(last.height, box.height)
            )
        else:
            joined.append(box)
    return joined


_SPACED = re.compile(r"^[\u4e00-\u9fff]{1,2}$")


def _name_box(names: Sequence[PlacedBox]) -> PlacedBox | None:
    """The tallest candidate; a Chinese name before a Latin one of the same person."""
    cjk = [b for b in names if _CJK.search(b.text)]
    return max(cjk or names, key=lambda b: b.height) if names else None


def _pick_name(names: Sequence[PlacedBox]) -> str:
    box = _name_box(names)
    if box is None:
        return ""
    return _compact(box.text) if _CJK.search(box.text) else box.text.strip()


def clean_address(text: str) -> str:
    """Without spaces and stray punctuation, and with a province or county name misread
    in one character put right from the region table (as on the ID card: 福日区 ->
    福田区; 族西省西安市 -> 陕西省西安市, seed 8's photo 41)."""
    text = _compact(text).strip(",，;；:：")
    # A Chinese address starts with a place name: Latin letters or digits before it are a
    # label read wrongly ("A5浙江省..." for "A:浙江省...").
    text = re.sub(r"^[^\u4e00-\u9fff]{1,4}(?=[\u4e00-\u9fff])", "", text)
    return fix_county_name(fix_province_name(text))


def _checks(fields: dict[str, str]) -> dict[str, bool]:
    """One check per contact field that is present: every value of it is valid."""
    checks: dict[str, bool] = {}
    if "mobile" in fields:
        checks["mobile"] = all(mobile_ok(n) for n in fields["mobile"].split(NUMBER_SEPARATOR))
    if "phone" in fields:
        checks["phone"] = all(
            bool(normalise_phone(n)) for n in fields["phone"].split(NUMBER_SEPARATOR)
        )
    if "email" in fields:
        checks["email"] = email_ok(fields["email"])
    if "website" in fields:
        checks["website"] = website_ok(fields["website"])
    return checks


def order_agreement(view: CardView) -> int:
    """For a view that holds a business card: its contact lines below its name count for
    this way up, those above against. Nothing for any other text (it adds to every
    kind's agreement when a photo's way up is chosen)."""
    if len(view.lines) > MAX_LINES or other_document(view):
        return 0
    extracted = extract(view)
    return extracted.name_above_contacts if extracted.evidence >= MIN_EVIDENCE else 0


def landmarks(view: CardView) -> int:
    """Business-card content in a view: contact labels, contact values, company, title.
    None without a name and a way to contact it (a flyer, a receipt), on a page of text
    (more lines than a card holds) or on another document."""
    if len(view.lines) > MAX_LINES or other_document(view):
        return 0
    extracted = extract(view)
    contact = any(name in extracted.fields for name in _CONTACT_FIELDS)
    if not contact or "name" not in extracted.fields or extracted.evidence < AUTO_EVIDENCE:
        return 0
    return extracted.evidence
