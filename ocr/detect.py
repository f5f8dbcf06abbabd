"""From the text boxes of a photo to a document: which way up it is, which kind, which fields.

Kind detection uses the text alone. Each kind (ocr/kinds/) scores its printed landmarks
(the ID front's labels and 18-character number, the back's titles and validity period,
a bank card's bank name, network logo and digit groups); the kind with the most
landmarks wins, and a photo with too few of any raises NoCardFound instead of inventing
fields. A kind scored by structure alone (a table's aligned rows) loses to a kind whose
self-checking content shows in its layout (an ID front's number passing its checksum,
its birth date printed in a row above it): a card's label and value columns line up like
a table.
"""

from __future__ import annotations

from ocr.engine import AUTO, CardResult, Kind
from ocr.errors import NoCardFound
from ocr.kinds import KINDS, DocumentKind, get_kind
from ocr.layout import CardView, LineReader, OcrPage

# Fewer landmarks than this and the photo is not taken for a document of that kind.
MIN_EVIDENCE = 2


def read_card(page: OcrPage, kind: Kind, reader: LineReader | None = None) -> CardResult:
    """The document on the page, of the asked kind (or the detected one for AUTO)."""
    if not page.boxes:
        raise NoCardFound("no text on the photo")
    view = upright_view(page)
    if kind != AUTO:
        return get_kind(kind).read(view, reader)
    chosen = detect_kind(view)
    try:
        result = chosen.read(view, reader)
    except NoCardFound:
        # Another kind with as many landmarks gets its turn: a bank card's 19-digit number
        # whose last 18 digits pass the ID checksum by chance (1 in 11) scored as an ID
        # front too, and the tie went to the ID card, which found no ID in it (a screen
        # photo of seed 20261129: its number read right, "no card" answered).
        tied = tied_kind(view, chosen)
        if tied is None:
            raise
        chosen = tied
        result = chosen.read(view, reader)
    result.last_resort = chosen.fallback
    return result


def detect_kind(view: CardView) -> DocumentKind:
    """The kind with the most landmarks; a fallback kind (printed text) only when no other
    kind shows a single landmark. NoCardFound when none has enough."""
    scores = kind_scores(view)
    firm = {name: score for name, score in scores.items() if not get_kind(name).fallback}
    # max() keeps the first of equal scores: ties go to the earlier kind of the registry.
    best = max(firm, key=lambda k: firm[k], default=None)
    if best is not None and firm[best] >= MIN_EVIDENCE:
        if get_kind(best).structural:
            # An ID front's label and value columns line up like a table's; with faint
            # labels its only landmarks are its number (checksum) and the birth date
            # above it, 4 against a lattice of 4-6 rows (real90d's photo 84 answered
            # as a table). Content that checks itself outweighs a grid of boxes.
            for kind in KINDS:
                if kind.verified and firm[kind.name] >= MIN_EVIDENCE and kind.verified(view):
                    return kind
        return get_kind(best)
    if best is None or firm[best] == 0:
        for kind in KINDS:
            if kind.fallback and scores[kind.name] >= MIN_EVIDENCE:
                return kind
    raise NoCardFound("no card landmarks in the text")


def shows_kind(page: OcrPage, kind: Kind) -> bool:
    """Whether the page, seen upright, shows enough of ``kind``'s landmarks to be taken
    for it by auto detection (MIN_EVIDENCE): for printed text, five long lines."""
    return bool(page.boxes) and get_kind(kind).score(upright_view(page)) >= MIN_EVIDENCE


def tied_kind(view: CardView, chosen: DocumentKind) -> DocumentKind | None:
    """The first other firm kind with as many landmarks as ``chosen`` (detect_kind's
    pick), when there is one."""
    scores = kind_scores(view)
    for kind in KINDS:
        if kind is not chosen and not kind.fallback and scores[kind.name] == scores[chosen.name]:
            return kind
    return None


def upright_view(page: OcrPage) -> CardView:
    """The view whose printed labels come in the card's order; the classifier's vote breaks ties."""
    views = [CardView.of(page, frame) for frame in page.frames()]
    return max(views, key=lambda v: (order_agreement(v), -views.index(v)))


def order_agreement(view: CardView) -> int:
    """Pairs of landmarks seen top-to-bottom as printed, minus pairs seen reversed."""
    return sum(kind.order_agreement(view) for kind in KINDS)


def kind_scores(view: CardView) -> dict[str, int]:
    """Each registered kind's landmark score, in registry order."""
    return {kind.name: kind.score(view) for kind in KINDS}
