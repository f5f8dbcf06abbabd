"""Groups of linked items (union-find), for finding the largest cluster of nearby text.

The card's text in a photo (``ocr.local``, ``ocr.quality``) and a page's text
(``ocr.kinds.text``) are each the biggest group of boxes chained by nearness; this is
the one place that joins the links into groups.
"""

from __future__ import annotations

from collections.abc import Iterable


def group_roots(count: int, links: Iterable[tuple[int, int]]) -> list[int]:
    """For each of ``count`` items, the representative of its group once every link
    ``(i, j)`` has joined the groups of items ``i`` and ``j`` (in the order given: the
    representatives, and so ties broken by them, follow that order)."""
    group = list(range(count))

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in links:
        group[root(i)] = root(j)
    return [root(i) for i in range(count)]
