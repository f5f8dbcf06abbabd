"""Labelled synthetic ID cards and bank cards for tests and the evaluation set.

``python -m tests.cardgen --out DIR --count N --seed S`` writes ``NAME.jpg|png`` and
``NAME.json`` pairs in the ``wxocr eval`` format. One seed always gives the same set:
each sample draws from its own generators seeded by (seed, index), so a sample does
not change when the count does.
"""

from __future__ import annotations

import io
import json
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from faker import Faker
from PIL import Image

from tests.cardgen import scene
from tests.cardgen.businesscard import make_business_card, render_business_card
from tests.cardgen.content import make_bank_card, make_person, pinyin_holder
from tests.cardgen.drivinglicense import make_licence, render_licence
from tests.cardgen.fonts import FontSet, find_fonts, fonts_available
from tests.cardgen.passport import make_passport, render_passport
from tests.cardgen.printed import make_page, make_table, render_page, render_table
from tests.cardgen.render import render_bank_card, render_id_back, render_id_front

CARD_KINDS = ("idcard_front", "idcard_back", "bankcard")
# The document kinds of issue 15; each sample's label ``kind`` is the kind's own name.
DOCUMENT_KINDS = ("drivinglicense", "passport", "businesscard", "text", "table")
ALL_KINDS = (*CARD_KINDS, *DOCUMENT_KINDS)
# Sheets of paper: square corners, and no thumb holding them (their text reaches the edge).
PAPER_KINDS = ("text", "table")
SHORT_NAMES = {
    "idcard_front": "idfront", "idcard_back": "idback", "bankcard": "bank",
    "drivinglicense": "licence", "passport": "passport", "businesscard": "bizcard",
    "text": "text", "table": "table",
}  # fmt: skip
# Conditions of real photos a set may be asked for (``--conditions``): the scene ones
# (scene.SCENE_CONDITIONS) take turns over a set's photos, whatever the card; the ID
# ones apply to every ID card: faint_labels (washed-out blue labels), old_code (a
# number with an abolished region code), upside_down_line (the address's last line alone
# turned half round: the line the reader must turn and read again).
ID_CONDITIONS = ("faint_labels", "old_code", "upside_down_line")
CONDITIONS = (*scene.SCENE_CONDITIONS, *ID_CONDITIONS)
UNREADABLE_KINDS = ("blank", "clutter", "blurred")
CARD_RENDER_WIDTH = 1000
# One photo in twelve of each kind is turned a quarter or half turn: rare, as in real uploads.
QUARTER_TURN_EVERY = 12


@dataclass(frozen=True)
class Sample:
    name: str
    image: Image.Image
    label: dict[str, Any]
    png: bool
    jpeg_quality: int

    def encode(self) -> bytes:
        buffer = io.BytesIO()
        if self.png:
            self.image.save(buffer, "PNG")
        else:
            self.image.save(buffer, "JPEG", quality=self.jpeg_quality)
        return buffer.getvalue()

    @property
    def suffix(self) -> str:
        return ".png" if self.png else ".jpg"


class NoFontsError(RuntimeError):
    """No CJK font is installed: run `make fonts` (scripts/install-system-deps.sh fonts)."""


def _sample_rngs(seed: int, index: int) -> tuple[random.Random, np.random.Generator]:
    return random.Random(f"wxocr-cardgen:{seed}:{index}"), np.random.default_rng([seed, index])


def _photo_angle(rng: random.Random, quarter_turn: bool) -> float:
    tilt = max(-15.0, min(15.0, rng.gauss(0.0, 6.0)))
    if quarter_turn:
        return rng.choice((90.0, 180.0, 270.0)) + tilt / 3
    return tilt


def _render_card(
    kind: str,
    fonts: FontSet,
    rng: random.Random,
    np_rng: np.random.Generator,
    fake: Faker,
    conditions: frozenset[str] = frozenset(),
) -> tuple[Image.Image, str, dict[str, Any]]:
    """The flat card image, the eval ``kind`` and the expected fields."""
    if kind in DOCUMENT_KINDS:
        return _render_document(kind, fonts, rng, np_rng, fake)
    if kind == "bankcard":
        card = make_bank_card(rng, pinyin_holder(rng))
        image = render_bank_card(card, fonts, rng, np_rng, CARD_RENDER_WIDTH)
        return image, "bankcard", card.expected()
    person = make_person(rng, fake, old_code="old_code" in conditions)
    if kind == "idcard_front":
        faint = "faint_labels" in conditions
        turned = "upside_down_line" in conditions
        image = render_id_front(person.front, fonts, rng, np_rng, CARD_RENDER_WIDTH, faint, turned)
        return image, "idcard", person.front.expected()
    image = render_id_back(person.back, fonts, rng, np_rng, CARD_RENDER_WIDTH)
    return image, "idcard", person.back.expected()


def _render_document(
    kind: str, fonts: FontSet, rng: random.Random, np_rng: np.random.Generator, fake: Faker
) -> tuple[Image.Image, str, dict[str, Any]]:
    if kind == "drivinglicense":
        licence = make_licence(rng, fake)
        return render_licence(licence, fonts, rng, np_rng, 1000), kind, licence.expected()
    if kind == "passport":
        passport = make_passport(rng, fake)
        return render_passport(passport, fonts, rng, np_rng, 1300), kind, passport.expected()
    if kind == "businesscard":
        card = make_business_card(rng, fake)
        return render_business_card(card, fonts, rng, np_rng, 1000), kind, card.expected()
    if kind == "text":
        page = make_page(rng, fake, fonts, 1400)
        return render_page(page, rng, np_rng, 1400), kind, page.expected()
    table = make_table(rng, fake)
    return render_table(table, fonts, rng, np_rng, 1200), kind, table.expected()


def make_card_sample(
    seed: int,
    index: int,
    kind: str,
    photo: bool,
    quarter_turn: bool,
    fonts: FontSet,
    fake: Faker,
    conditions: frozenset[str] = frozenset(),
) -> Sample:
    rng, np_rng = _sample_rngs(seed, index)
    card, label_kind, expected = _render_card(kind, fonts, rng, np_rng, fake, conditions)
    short = SHORT_NAMES[kind]
    paper = kind in PAPER_KINDS
    corners = 0.0 if paper else scene.CARD_CORNER_SHARE
    if photo:
        angle = _photo_angle(rng, quarter_turn)
        # The scene conditions were measured on ID and bank cards: only those get them.
        shot = _scene_condition(index, conditions) if kind in CARD_KINDS else ""
        if shot == "small_photo":
            image = scene.small_photo(rng, np_rng, card, fonts, angle)
        elif shot == "far_card":
            image = scene.far_card(rng, np_rng, card, fonts, angle)
        else:
            image = scene.photograph(
                rng, np_rng, card, fonts, angle, corner_share=corners, hand=not paper
            )
        turned = "_turned" if quarter_turn else ""
        marks = "".join(f"_{c}" for c in (shot, *_card_conditions(kind, conditions)) if c)
        return Sample(
            f"{index:03d}_{short}_photo{turned}{marks}",
            image,
            {"kind": label_kind, "mode": "photo", "expected": expected},
            png=False,
            jpeg_quality=rng.randint(55, 90),
        )
    lossless = rng.random() < 0.35
    image = scene.scan(rng, np_rng, card, lossless, corners)
    marks = "".join(f"_{c}" for c in _card_conditions(kind, conditions))
    return Sample(
        f"{index:03d}_{short}_scan{marks}",
        image,
        {"kind": label_kind, "mode": "scan", "expected": expected},
        png=lossless,
        jpeg_quality=rng.randint(80, 95),
    )


def make_unreadable_sample(
    seed: int, index: int, variant: str, fonts: FontSet, fake: Faker
) -> Sample:
    rng, np_rng = _sample_rngs(seed, index)
    label_kind = rng.choice(("idcard", "bankcard"))
    if variant == "blank":
        image = scene.blank_paper(rng, np_rng)
    elif variant == "clutter":
        image = scene.clutter_only(rng, np_rng, fonts)
    else:
        kind = rng.choice(CARD_KINDS)
        card, label_kind, _ = _render_card(kind, fonts, rng, np_rng, fake)
        photo = scene.photograph(rng, np_rng, card, fonts, _photo_angle(rng, False))
        image = scene.blurred_beyond_reading(photo, np_rng)
    return Sample(
        f"{index:03d}_nocard_{variant}",
        image,
        {"kind": label_kind, "mode": "photo", "expected": {"error": "no_card"}},
        png=False,
        jpeg_quality=rng.randint(55, 90),
    )


def _card_conditions(kind: str, conditions: frozenset[str]) -> list[str]:
    """The ID conditions that show on this kind of card (all only on the front)."""
    return [c for c in ID_CONDITIONS if c in conditions and kind == "idcard_front"]


def _scene_condition(index: int, conditions: frozenset[str]) -> str:
    """The scene condition of sample ``index``: the asked ones take turns; '' for none."""
    asked = [c for c in scene.SCENE_CONDITIONS if c in conditions]
    return asked[index % len(asked)] if asked else ""


@dataclass(frozen=True)
class Slot:
    """What sample ``index`` will be: a card kind (or an unreadable variant) and how shot."""

    index: int
    kind: str  # one of ALL_KINDS, or one of UNREADABLE_KINDS when ``readable`` is False
    readable: bool
    photo: bool
    quarter_turn: bool


def plan(count: int, photo_share: float, kinds: Sequence[str], unreadable: int) -> list[Slot]:
    """The set's layout: card kinds in turn, then the ``unreadable`` samples without a card.

    Modes and turns follow their shares exactly rather than by chance, so small sets
    still hold scans and turned photos.
    """
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be among {', '.join(ALL_KINDS)}")
    if not 0 <= unreadable <= count:
        raise ValueError("unreadable must be between 0 and count")
    scan_share = round(1.0 - photo_share, 6)  # 1 - 0.8 is 0.19999999999999996
    photos_of_kind = dict.fromkeys(kinds, 0)
    cards = count - unreadable
    slots = []
    for index in range(cards):
        photo = int((index + 1) * scan_share) == int(index * scan_share)
        kind = kinds[index % len(kinds)]
        # Counted per kind: one count shared by all kinds can fall into step with the
        # kind rotation and turn only one kind of card.
        turn_slot = photos_of_kind[kind] % QUARTER_TURN_EVERY == QUARTER_TURN_EVERY // 3
        photos_of_kind[kind] += photo
        slots.append(Slot(index, kind, True, photo, photo and turn_slot))
    for index in range(cards, count):
        variant = UNREADABLE_KINDS[(index - cards) % len(UNREADABLE_KINDS)]
        slots.append(Slot(index, variant, False, True, False))
    return slots


def iter_samples(
    count: int,
    seed: int,
    photo_share: float = 0.8,
    kinds: Sequence[str] = CARD_KINDS,
    unreadable: int = 0,
    conditions: Iterable[str] = (),
) -> Iterator[Sample]:
    """``count`` labelled samples for ``seed`` (see ``plan``), one at a time.

    A photo is several megabytes in memory, so large sets are written as they are made.
    """
    slots = plan(count, photo_share, kinds, unreadable)
    asked = frozenset(conditions)
    if asked - set(CONDITIONS):
        raise ValueError(f"conditions must be among {', '.join(CONDITIONS)}")
    if not fonts_available():
        raise NoFontsError(NoFontsError.__doc__)
    # Checked above, not inside the generator: bad arguments fail before any file is made.
    return _make_samples(seed, slots, asked)


def _make_samples(seed: int, slots: list[Slot], conditions: frozenset[str]) -> Iterator[Sample]:
    fonts = find_fonts()
    fake = Faker("zh_CN")
    for slot in slots:
        if slot.readable:
            yield make_card_sample(
                seed, slot.index, slot.kind, slot.photo, slot.quarter_turn, fonts, fake, conditions
            )
        else:
            yield make_unreadable_sample(seed, slot.index, slot.kind, fonts, fake)


def generate(
    count: int,
    seed: int,
    photo_share: float = 0.8,
    kinds: Sequence[str] = CARD_KINDS,
    unreadable: int = 0,
    conditions: Iterable[str] = (),
) -> list[Sample]:
    return list(iter_samples(count, seed, photo_share, kinds, unreadable, conditions))


def write_samples(samples: Iterable[Sample], out: Path, max_bytes: int | None = None) -> list[Path]:
    """Writes each image and its label; ``max_bytes`` (for committed fixtures) lowers a
    JPEG's quality, then its size, until the file fits."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for sample in samples:
        if max_bytes:
            # Fixtures are JPEG whatever the mode: a lossless scan would not fit.
            image_path = out / f"{sample.name}.jpg"
            image_path.write_bytes(_fitted(sample, max_bytes))
        else:
            image_path = out / f"{sample.name}{sample.suffix}"
            image_path.write_bytes(sample.encode())
        label = json.dumps(sample.label, ensure_ascii=False, indent=2) + "\n"
        (out / f"{sample.name}.json").write_text(label, encoding="utf-8")
        written.append(image_path)
    return written


def write_and_report(
    samples: Callable[[], Iterable[Sample]], out: Path, max_bytes: int | None = None
) -> int:
    """The generators' command lines: write the samples, say how many; exit status 2
    with the reason when the fonts are missing or an option is wrong."""
    try:
        written = write_samples(samples(), out, max_bytes)
    except (NoFontsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} samples to {out}")
    return 0


def _fitted(sample: Sample, max_bytes: int) -> bytes:
    image, quality = sample.image, sample.jpeg_quality
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    data = buffer.getvalue()
    while len(data) > max_bytes:
        if quality > 60:
            quality -= 5
        else:
            image = image.resize((image.width * 9 // 10, image.height * 9 // 10))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        data = buffer.getvalue()
    return data
