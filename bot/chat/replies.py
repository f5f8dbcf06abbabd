"""What the bot says: short Chinese texts, one function per kind of result.

Card fields only ever reach a reply through ``ocr.mask.mask_result`` (a table's cells
through ``ocr.mask.mask_cells``); nothing here sees an unmasked value except to hand the
result to the masker.
"""

from __future__ import annotations

from ocr.engine import AUTO, CardResult, Kind
from ocr.errors import (
    DecompressionBomb,
    EmptyImage,
    ImageError,
    ImageTooLarge,
    NotAnImage,
)
from ocr.field_warnings import MISSING_PREFIX
from ocr.kinds import KINDS, get_kind, mask_result
from ocr.mask import mask_cells

AUTO_NAME = "自动识别"
# Between a table row's cells in a reply (issue 15).
CELL_SEPARATOR = "｜"


def kind_name(kind: Kind) -> str:
    """What chat calls a kind (身份证), or AUTO (自动识别)."""
    return AUTO_NAME if kind == AUTO else get_kind(kind).title


# What each check proves, said when it passed (None: not worth a line) / when it failed.
_CHECK_TEXTS: dict[str, tuple[str | None, str]] = {
    "id_checksum": ("号码校验通过", "号码校验未通过，请核对原件"),
    "birth_date": (None, "号码中的出生日期无效"),
    "region": ("地区码有效", "地区码未知"),
    "birth_matches_id": ("出生日期与号码一致", "出生日期与号码不一致"),
    "gender": ("性别与号码一致", "性别与号码不一致"),
    "valid_date": ("有效期限格式正确", "有效期限有误，请核对原件"),
    "car_class": ("准驾车型有效", "准驾车型不是规定的代号，请核对原件"),
    "valid_period": (None, "有效期限不是 6 年、10 年或长期，请核对原件"),
    "luhn": ("卡号校验通过", "卡号校验未通过，请核对原件"),
    "bin": ("发卡行已识别", "发卡行未知"),
    "mrz": ("机读码校验通过", "机读码校验未通过，请核对原件"),
    "mrz_composite": (None, "机读码总校验未通过（可能有字符误读），请核对原件"),
    "printed_matches_mrz": ("印刷信息与机读码一致", "印刷信息与机读码不一致，请核对原件"),
}

# Warnings that take back what a passed check would claim: the check passed on digits
# the engine chose, not on digits it read.
_CHOSEN_BY_ENGINE = {
    "number_corrected": "luhn",
    "id_corrected": "id_checksum",
    "mrz_corrected": "mrz",
}
# What a warning asks of the user.
_WARNING_TEXTS = {
    "id_corrected": "号码中有看不清的数字已按校验规则推测，请核对原件",
    "number_corrected": "卡号有数字看不清，已按校验规则推断，请核对原件",
    "number_unreadable": "卡号未能可靠识别，请将卡片放平、避开反光后重拍",
    # Said of a date that may be the FROM of a FROM/THRU pair, or a date lying on the card
    # away from where cards print their expiry (a note beside it): one text for both.
    "valid_thru_uncertain": "识别到的有效期可能是起始日期或卡片以外的日期，请核对原件",
    "nationality_corrected": "民族一栏不够清晰，已按最接近的民族名称填写，请核对原件",
    "nationality_unreadable": "民族一栏未能识别，请核对原件或重拍",
    "invalid_period": "有效期限不是 5、10、20 年或长期，可能识别有误，请核对原件",
    "temporary": "这是临时居民身份证",
    "length_unusual": "卡号位数与该发卡行的卡不符，请核对原件",
    "mrz_corrected": "机读码有字符看不清，已按校验位推断，请核对原件",
    "mrz_unreadable": "未能读出证件底部的机读码，以上信息未经校验，请核对原件或重拍",
}
# Image warnings (ocr/quality.py): what is wrong with the photo and how to take a better
# one; {thing} is 证件 or 卡片.
_IMAGE_WARNING_TEXTS = {
    "photocopy": "疑似复印件，请拍摄{thing}原件",
    "screen": "疑似翻拍屏幕，请直接拍摄{thing}原件",
    "blur": "照片模糊，请对准焦点、拿稳手机后重拍",
    "border_incomplete": "{thing}边缘不完整，请把整张{thing}拍进画面后重拍",
    "occluded": "有遮挡，请移开手指或遮挡物后重拍",
    "glare": "有反光，请避开灯光直射后重拍",
}
# Failed checks that a more precise warning already explains: one line, not two.
_SAID_BY_WARNING = {"invalid_period": ("valid_date", "valid_period")}
# Warnings that take back "卡号校验通过": Luhn alone does not vouch for a number whose
# length its BIN never issues.
_DOUBTS_ON_LUHN = ("length_unusual",)
# Warnings that doubt the date ``expired`` was decided from: the reply says 可能已过期.
_DOUBTS_ON_EXPIRY = ("valid_thru_unsure",)
# Missing fields that a warning of their own already asks to retake: not named twice.
_SAID_AS_UNREADABLE = {"number_unreadable": "number", "nationality_unreadable": "nationality"}
_RETAKE = "请将{thing}平放、避免反光，把整张{thing}拍进画面后重拍。"

NO_CARD = "未识别到证件，请将证件平放、光线充足后重拍"


def _safe(text: str) -> str:
    # Replies are rendered inside XML CDATA; a "]]>" in OCR output would end it early.
    return text.replace("]]>", "]] >")


def _format_valid_date(value: str) -> str:
    """``20200101-20400101`` as ``2020.01.01-2040.01.01`` (长期 stays as it is)."""
    parts = value.split("-")
    shown = [f"{p[:4]}.{p[4:6]}.{p[6:]}" if len(p) == 8 and p.isdigit() else p for p in parts]
    return "-".join(shown)


def card_result(result: CardResult) -> str:
    """The reply to a photo that was read: masked fields plus what was checked."""
    masked = mask_result(result)
    shown_cells = mask_cells(result.cells) if result.cells is not None else None
    # Said only when true: an ID card's back or a business card shows every field whole,
    # a page of text hides nothing unless a card number was in it.
    hid_something = shown_cells != result.cells or any(
        value != result.fields.get(name) for name, value in masked.items()
    )
    kind = get_kind(result.kind)
    title, labels = kind.title_of(result), kind.labels
    if "valid_date" in masked:
        masked["valid_date"] = _format_valid_date(masked["valid_date"])
    if kind.reply_fill is not None:
        kind.reply_fill(result, masked)
    lines = [f"识别结果：{title}"]
    lines += [f"{label}：{masked[name]}" for name, label in labels if masked.get(name)]
    if shown_cells is not None:
        # One line per row; a long table goes on in customer-service messages.
        lines += [CELL_SEPARATOR.join(row) for row in shown_cells]
    chosen = {_CHOSEN_BY_ENGINE[w] for w in result.warnings if w in _CHOSEN_BY_ENGINE}
    if any(w in _DOUBTS_ON_LUHN for w in result.warnings):
        chosen.add("luhn")
    explained = {c for w in result.warnings if w in _SAID_BY_WARNING for c in _SAID_BY_WARNING[w]}
    explained.add("bin")  # said by the bank line above
    known = [
        (_CHECK_TEXTS[name], ok)
        for name, ok in result.checks.items()
        if name in _CHECK_TEXTS and not (name in explained and not ok)
    ]
    passed = [
        texts[0]
        for name, ok in result.checks.items()
        if ok and name not in chosen and (texts := _CHECK_TEXTS.get(name)) and texts[0]
    ]
    if passed:
        lines.append("，".join(passed))
    lines += [texts[1] for texts, ok in known if not ok]
    if "expired" in result.warnings:
        expired = kind.expired_line(masked) if kind.expired_line else "证件已过期"
        # A date read with a doubted digit makes the card only maybe expired.
        if any(w in _DOUBTS_ON_EXPIRY for w in result.warnings):
            expired = expired.replace("已过期", "可能已过期", 1)
        lines.append(expired)
    warning_texts = {**_WARNING_TEXTS, **kind.warning_texts}
    lines += [warning_texts[w] for w in result.warnings if w in warning_texts]
    lines += [
        _IMAGE_WARNING_TEXTS[w].format(thing=kind.thing)
        for w in result.warnings
        if w in _IMAGE_WARNING_TEXTS
    ]
    # A page read mostly wrong says so itself (its kind's text), not "partly unclear".
    if "low_confidence" in result.warnings and "text_unreadable" not in result.warnings:
        lines.append("部分文字不够清晰，请核对原件")
    missing = _missing_line(result, dict(labels))
    if missing:
        lines.append(missing)
    if hid_something:
        lines.append("（已隐去部分信息以保护隐私）")
    return _safe("\n".join(lines))


def _missing_line(result: CardResult, labels: dict[str, str]) -> str:
    """What could not be read, and what to do about it; empty when nothing is missing."""
    said = {_SAID_AS_UNREADABLE[w] for w in result.warnings if w in _SAID_AS_UNREADABLE}
    missing = [
        code.removeprefix(MISSING_PREFIX)
        for code in result.warnings
        if code.startswith(MISSING_PREFIX)
    ]
    names = [labels.get(name, name) for name in missing if name not in said]
    if not names:
        return ""
    thing = get_kind(result.kind).thing
    return f"未能识别：{'、'.join(names)}。" + _RETAKE.format(thing=thing)


def no_card(kind: Kind = AUTO) -> str:
    if kind == AUTO:
        return NO_CARD
    said = get_kind(kind).no_card_text or NO_CARD
    return f"{said}（当前识别：{kind_name(kind)}，发送“自动”可自动判断证件类型）"


def bad_image(error: ImageError) -> str:
    if isinstance(error, NotAnImage | EmptyImage):
        return "这不是一张可识别的图片，请发送证件的照片（JPG 或 PNG）"
    if isinstance(error, ImageTooLarge | DecompressionBomb):
        return "图片太大了，请发送普通手机拍摄的证件照片"
    return "图片无法读取，请重新拍摄后发送"


def download_failed() -> str:
    return "抱歉，没能取到这张照片，请重新发送"


def engine_error() -> str:
    return "抱歉，识别服务暂时不可用，请稍后再发一次照片"


def service_busy() -> str:
    """The database stayed unavailable: the message was not handled, and must be sent again."""
    return "抱歉，服务暂时繁忙，刚才的消息没能处理，请稍后再发一次"


def daily_limit(limit: int) -> str:
    return f"今天的识别次数已用完（每天 {limit} 次），请明天再来"


def welcome() -> str:
    return (
        f"欢迎关注！发送{'或'.join(k.title for k in KINDS)}的照片，"
        "我会识别并回复关键信息（部分隐去以保护隐私）。\n" + help_text()
    )


def help_text(current: Kind | None = None) -> str:
    lines = [
        "直接发送证件照片即可识别。可发送：",
        *[f"{k.title} — 只识别{k.title}" for k in KINDS],
        "自动 — 自动判断证件类型",
        "帮助 — 显示本说明",
    ]
    if current is not None:
        lines.append(f"当前：{kind_name(current)}")
    return "\n".join(lines)


def kind_chosen(kind: Kind) -> str:
    if kind == AUTO:
        return "好的，之后会自动判断证件类型，请发送照片"
    return f"好的，之后按{kind_name(kind)}识别，请发送{kind_name(kind)}照片"


def unsupported_message() -> str:
    return "暂时只能识别照片哦。发送证件照片，或发送“帮助”查看说明"


def not_operator() -> str:
    """For 用量/usage from a user who is not an operator: the same as any unknown text."""
    return help_text()


# WeChat's limit on one text message, passive or customer-service: 2,048 bytes of UTF-8.
MESSAGE_MAX_BYTES = 2048
# A long reply goes out as this many messages at most (the passive reply or the first
# customer-service message, then continuations); what does not fit is cut off.
MAX_REPLY_MESSAGES = 5
TRUNCATED = "（内容过长，已截断）"


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut_to_bytes(text: str, limit: int) -> tuple[str, str]:
    """``text`` cut at a character boundary into a head of at most ``limit`` bytes and
    the rest (never inside a UTF-8 sequence)."""
    head = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    return head, text[len(head) :]


def split_reply(
    text: str, limit: int = MESSAGE_MAX_BYTES, max_messages: int = MAX_REPLY_MESSAGES
) -> list[str]:
    """A reply as the text messages WeChat takes: each at most ``limit`` bytes, split at
    line boundaries (a line longer than a message is cut at a character boundary), at
    most ``max_messages`` of them; the last ends with TRUNCATED when the text did not fit.

    Deterministic: the pipeline keeps the whole reply and sends ``split_reply(reply)[n]``
    for the n-th message, so a restart between messages resends nothing and skips nothing.
    """
    if _utf8_len(text) <= limit:
        return [text]
    messages: list[str] = []
    current = ""
    pending = text.split("\n")
    while pending:
        line = pending.pop(0)
        joined = f"{current}\n{line}" if current else line
        if _utf8_len(joined) <= limit:
            current = joined
            continue
        if current:
            messages.append(current)
            current = ""
            pending.insert(0, line)
            continue
        head, rest = _cut_to_bytes(line, limit)
        messages.append(head)
        pending.insert(0, rest)
    if current:
        messages.append(current)
    if len(messages) <= max_messages:
        return messages
    kept = messages[:max_messages]
    # The marker must fit in the last message: drop whole lines from its end first, then
    # characters of the last line kept.
    last = kept[-1]
    room = limit - _utf8_len("\n" + TRUNCATED)
    while _utf8_len(last) > room and "\n" in last:
        last = last.rsplit("\n", 1)[0]
    if _utf8_len(last) > room:
        last = _cut_to_bytes(last, room)[0]
    kept[-1] = f"{last}\n{TRUNCATED}" if last else TRUNCATED
    return kept
