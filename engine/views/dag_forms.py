"""Which form a convoy's graph takes in the space it has, and the list form itself.

Full boxes when they fit, else compact nodes as wide as the pane allows, else (a pane too
narrow for the widest layer, or too short to scroll usefully) a list: one bead a line,
indented by layer, each saying what it needs. Pure, so tests need no Textual.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.views.dag import (
    FULL_W,
    GAP,
    MAX_COMPACT_W,
    MIN_COMPACT_W,
    DagCanvas,
    bead_state,
    fit,
    layout,
    ordered_rows,
    row_width,
)
from engine.views.glyphs import glyph_word

MIN_SCROLL_H = 10  # a picture taller than its pane still helps if this many rows show
MAX_INDENT = 6  # deep chains: indent stops growing here, the layer number still shows


class ListLine(NamedTuple):
    bead_id: str
    layer: int
    state: str
    needs: list[str]


def relatives(edges: list[tuple[str, str]], bead_id: str) -> tuple[list[str], list[str]]:
    """(what the bead needs, what needs it) among the convoy's `blocks` edges."""
    needs = [a for a, b in edges if b == bead_id and a != bead_id]
    needed_by = [b for a, b in edges if a == bead_id and b != bead_id]
    return list(dict.fromkeys(needs)), list(dict.fromkeys(needed_by))


def list_form(beads: list[dict[str, Any]], edges: list[tuple[str, str]]) -> list[ListLine]:
    """Beads in the picture's order (layer by layer, roots first) with what each needs."""
    by_id = {b["id"]: b for b in beads}
    rows, _links, lay = ordered_rows(list(by_id), edges)
    inside = [(a, b) for a, b in edges if a in by_id and b in by_id]
    return [
        ListLine(n, lay[n], bead_state(by_id[n]), relatives(inside, n)[0])
        for row in rows
        for n in row
        if not n.startswith("~")
    ]


def list_text(line: ListLine, bead: dict[str, Any], width: int) -> tuple[str, str, str]:
    """(indent, state words, the rest) of a list line, the rest cut to the width."""
    indent = "  " * min(line.layer, MAX_INDENT)
    if line.layer > MAX_INDENT:
        indent = indent[:-4] + f"{line.layer:>2}  "
    words = glyph_word(line.state)
    needs = f" · needs: {', '.join(line.needs)}" if line.needs else ""
    rest = f" {bead['id']}{needs} · {bead.get('title') or ''}"
    room = max(width - len(indent) - len(words), 1)
    return indent, words, fit(rest, room).rstrip()


def compact_width(rows: list[list[str]], width: int) -> int:
    """The widest compact node with which every layer fits the width."""
    best = MAX_COMPACT_W
    for row in rows:
        nodes = sum(1 for n in row if not n.startswith("~"))
        slots = len(row) - nodes
        if nodes:
            best = min(best, (width - slots - GAP * (len(row) - 1)) // nodes)
    return best


def choose(
    beads: list[dict[str, Any]], edges: list[tuple[str, str]], width: int, height: int
) -> DagCanvas | None:
    """The picture for a pane of width x height, or None: show the list form instead."""
    if not beads:
        return None
    rows, _links, _lay = ordered_rows([b["id"] for b in beads], edges)
    # the cheap bounds first: a layout costs far more than these on a big convoy
    if all(row_width(r, FULL_W) <= width for r in rows) and len(rows) * 5 - 1 <= height:
        full = layout(beads, edges, "full")
        if full.width <= width and full.height <= height:
            return full
    w = compact_width(rows, width)
    if w < MIN_COMPACT_W or (len(rows) * 3 - 1 > height and height < MIN_SCROLL_H):
        return None
    while w >= MIN_COMPACT_W:
        compact = layout(beads, edges, "compact", w)
        if compact.width <= width:  # slots kept off busy columns can widen a row a little
            if compact.height <= height or height >= MIN_SCROLL_H:
                return compact
            return None
        w -= 1
    return None
