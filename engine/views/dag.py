"""A convoy's beads as a layered graph on a character canvas (pure; the app colours it).

Layers by longest path along `blocks` edges; edges spanning several layers get pass-through
slots so every drawn edge joins adjacent rows; one barycentre pass orders each row to cut
crossings. Edge cells carry direction bits that merge into box-drawing characters.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.safetext import visible

BOX_W = 24
UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
JOIN = {
    UP | DOWN: "│",
    LEFT | RIGHT: "─",
    DOWN | RIGHT: "┌",
    DOWN | LEFT: "┐",
    UP | RIGHT: "└",
    UP | LEFT: "┘",
    UP | DOWN | RIGHT: "├",
    UP | DOWN | LEFT: "┤",
    LEFT | RIGHT | DOWN: "┬",
    LEFT | RIGHT | UP: "┴",
    UP | DOWN | LEFT | RIGHT: "┼",
    UP: "│",
    DOWN: "│",
    LEFT: "─",
    RIGHT: "─",
}


class Cell(NamedTuple):
    char: str
    style: str  # "" (plain), "edge", or "node:<status>"


class DagCanvas(NamedTuple):
    rows: list[list[Cell]]
    width: int
    height: int
    layers: int


def layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layer of each node; an edge (a, b) means b needs a (a above b)."""
    needs: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        if a in needs and b in needs:
            needs[b].append(a)
    memo: dict[str, int] = {}

    def layer(n: str, trail: frozenset[str]) -> int:
        if n in memo:
            return memo[n]
        if n in trail:  # a cycle in imported data: cut it here
            return 0
        ups = [layer(p, trail | {n}) + 1 for p in needs[n]]
        memo[n] = max(ups, default=0)
        return memo[n]

    return {n: layer(n, frozenset()) for n in nodes}


def layout(beads: list[dict[str, Any]], edges: list[tuple[str, str]]) -> DagCanvas:
    """Boxes (glyph + status word, id, rig, title) joined by lines, top to bottom."""
    from engine.views.glyphs import glyph_word

    ids = [b["id"] for b in beads]
    by_id = {b["id"]: b for b in beads}
    lay = layers(ids, edges)
    depth = max(lay.values(), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for bid in ids:
        rows[lay[bid]].append(bid)
    # pass-through slots for edges longer than one layer
    links: list[tuple[str, str]] = []
    counter = 0
    for a, b in edges:
        if a not in lay or b not in lay:
            continue
        prev = a
        for r in range(lay[a] + 1, lay[b]):
            counter += 1
            via = f"~{counter}"
            rows[r].append(via)
            lay[via] = r
            links.append((prev, via))
            prev = via
        links.append((prev, b))
    # one barycentre pass, top-down, to reduce crossings
    for r in range(1, depth):
        pos_above = {n: i for i, n in enumerate(rows[r - 1])}
        parents: dict[str, list[int]] = {n: [] for n in rows[r]}
        for a, b in links:
            if b in parents and a in pos_above:
                parents[b].append(pos_above[a])
        rows[r].sort(key=lambda n: sum(parents[n]) / len(parents[n]) if parents[n] else 1e9)
    # each row's channel gives every parent with outgoing edges a lane of its own
    senders: list[list[str]] = [[] for _ in range(depth)]
    for a, _b in links:
        r = lay[a]
        if a not in senders[r]:
            senders[r].append(a)
    tops, y = [], 0
    for r in range(depth):
        tops.append(y)
        y += 4 + max(len(senders[r]), 1) + 1
    width = max((len(row) for row in rows), default=1) * (BOX_W + 2) + 1
    height = y
    grid = [[" "] * width for _ in range(height)]
    styles = [[""] * width for _ in range(height)]
    bits = [[0] * width for _ in range(height)]
    centre: dict[str, tuple[int, int, int]] = {}  # id -> (x centre, top y, bottom y)
    for r, row in enumerate(rows):
        y = tops[r]
        for i, n in enumerate(row):
            x = i * (BOX_W + 2)
            cx = x + BOX_W // 2
            centre[n] = (cx, y, y + 3)
            if n.startswith("~"):
                for yy in range(y, y + 4):
                    bits[yy][cx] |= UP | DOWN
                continue
            _box(grid, styles, x, y, by_id[n], glyph_word)
    for a, b in links:
        ax, _, ab = centre[a]
        bx, bt, _ = centre[b]
        lane = ab + 1 + senders[lay[a]].index(a)
        if not a.startswith("~"):
            grid[ab][ax] = "┬"
        for yy in range(ab + 1, lane):
            bits[yy][ax] |= UP | DOWN
        bits[lane][ax] |= UP
        if ax == bx:
            bits[lane][ax] |= DOWN
        else:
            step = 1 if bx > ax else -1
            bits[lane][ax] |= RIGHT if step > 0 else LEFT
            for x in range(ax + step, bx, step):
                bits[lane][x] |= LEFT | RIGHT
            bits[lane][bx] |= (LEFT if step > 0 else RIGHT) | DOWN
        for yy in range(lane + 1, bt):
            bits[yy][bx] |= UP | DOWN
        if not b.startswith("~"):
            grid[bt - 1][bx] = "▼"
            styles[bt - 1][bx] = "edge"
    cells = []
    for y in range(height):
        line = []
        for x in range(width):
            if bits[y][x] and grid[y][x] == " ":
                line.append(Cell(JOIN.get(bits[y][x], "┼"), "edge"))
            else:
                line.append(Cell(grid[y][x], styles[y][x]))
        cells.append(line)
    while cells and all(c.char == " " for c in cells[-1]):
        cells.pop()
    return DagCanvas(cells, width, len(cells), depth)


def _box(
    grid: list[list[str]],
    styles: list[list[str]],
    x: int,
    y: int,
    bead: dict[str, Any],
    glyph_word: Any,
) -> None:
    status = (
        "blocked"
        if bead.get("blocked") and bead["status"] == "open"
        else ("ready" if bead["status"] == "open" else bead["status"])
    )
    inner = BOX_W - 2
    lines = [
        "┌" + "─" * inner + "┐",
        "│" + _fit(f"{glyph_word(status)} {bead['id']}", inner) + "│",
        "│" + _fit(bead.get("title") or "", inner) + "│",
        "└" + (f"─ {visible(bead.get('rig') or 'town')} " + "─" * inner)[:inner] + "┘",
    ]
    for dy, text in enumerate(lines):
        for dx, ch in enumerate(text):
            grid[y + dy][x + dx] = ch
            styles[y + dy][x + dx] = f"node:{status}"


def _fit(text: str, width: int, fill: str = " ") -> str:
    text = visible(text)  # titles are agents' text: one cell per character, nothing raw
    if len(text) > width:
        return text[: width - 1] + "…"
    return text + fill * (width - len(text))


def to_text(canvas: DagCanvas) -> str:
    return "\n".join("".join(c.char for c in row).rstrip() for row in canvas.rows)
