"""A convoy's beads as a layered graph on a character canvas (pure; the app colours it).

Layers by longest path along `blocks` edges; an edge spanning several layers runs through
one-column pass-through slots so every drawn link joins adjacent rows; barycentre sweeps
order each row to cut crossings.

Routing keeps every edge traceable (issue 11): between two rows each source gets one
"bus" - a column down from the source to a lane of its own, along the lane, and one column
per child down to that child. Columns are never shared within a channel and a lane is
shared only by edges of the same source, so edges meet only at their own ends: a fan-out
(`┬`) has one source, a child with several parents has one arrow per parent. `┼` is
therefore always a crossing, never a join.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.safetext import visible
from engine.views.glyphs import glyph, glyph_word

FULL_W = 24  # a full node: a 4-row box
MIN_COMPACT_W = 12  # below this a compact node says too little: use the list form
MAX_COMPACT_W = 30
GAP = 2
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
    style: str  # "" (plain), "edge", "cross" (two edges crossing) or "node:<status>"
    edges: tuple[int, ...] = ()  # indices of the drawn edges through this cell


class Placed(NamedTuple):
    x: int
    y: int
    w: int
    h: int
    layer: int


class DagCanvas(NamedTuple):
    rows: list[list[Cell]]
    width: int
    height: int
    layers: int
    nodes: dict[str, Placed]  # bead id -> where its node is drawn
    layer_tops: list[int]  # y of each layer's node row: scrolling moves by these
    form: str  # "full" or "compact"


class Link(NamedTuple):
    src: str
    dst: str
    edge: int  # index into the drawn edges: a long edge is several links


def bead_state(bead: dict[str, Any]) -> str:
    if bead.get("status") == "open":
        return "blocked" if bead.get("blocked") else "ready"
    return str(bead.get("status"))


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


def drawn_edges(ids: list[str], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The edges a picture can draw: both ends in the convoy, downward, each once."""
    lay = layers(ids, edges)
    seen: set[tuple[str, str]] = set()
    out = []
    for a, b in edges:
        if a in lay and b in lay and lay[a] < lay[b] and (a, b) not in seen:
            seen.add((a, b))
            out.append((a, b))
    return out


def ordered_rows(
    ids: list[str], edges: list[tuple[str, str]]
) -> tuple[list[list[str]], list[Link], dict[str, int]]:
    """Each layer's items (beads and `~n` pass-through slots) in drawing order, and links."""
    lay = layers(ids, edges)
    depth = max(lay.values(), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for bid in ids:
        rows[lay[bid]].append(bid)
    links: list[Link] = []
    for e, (a, b) in enumerate(drawn_edges(ids, edges)):
        prev = a
        for r in range(lay[a] + 1, lay[b]):
            via = f"~{e}.{r}"
            rows[r].append(via)
            lay[via] = r
            links.append(Link(prev, via, e))
            prev = via
        links.append(Link(prev, b, e))
    ups: dict[str, list[str]] = {}
    downs: dict[str, list[str]] = {}
    for lk in links:
        ups.setdefault(lk.dst, []).append(lk.src)
        downs.setdefault(lk.src, []).append(lk.dst)
    # barycentre sweeps, down then up, twice: few crossings on convoy-sized graphs
    for _sweep in range(2):
        for r in range(1, depth):
            _order(rows[r], rows[r - 1], ups)
        for r in range(depth - 2, -1, -1):
            _order(rows[r], rows[r + 1], downs)
    return rows, links, lay


def _order(row: list[str], near: list[str], adj: dict[str, list[str]]) -> None:
    """Sort a row by the mean position of its neighbours in the `near` row (stable)."""
    pos = {n: i for i, n in enumerate(near)}
    keep = {n: i for i, n in enumerate(row)}

    def key(n: str) -> tuple[float, int]:
        ps = [pos[p] for p in adj.get(n, []) if p in pos]
        return (sum(ps) / len(ps) if ps else keep[n], keep[n])

    row.sort(key=key)


def node_size(form: str, node_w: int) -> tuple[int, int]:
    return (FULL_W, 4) if form == "full" else (node_w, 2)


def row_width(row: list[str], w: int) -> int:
    return sum(1 if n.startswith("~") else w for n in row) + GAP * max(len(row) - 1, 0)


def layout(
    beads: list[dict[str, Any]],
    edges: list[tuple[str, str]],
    form: str = "full",
    node_w: int = FULL_W,
) -> DagCanvas:
    """Nodes joined by routed edges, top to bottom; `form` is "full" or "compact"."""
    by_id = {b["id"]: b for b in beads}
    rows, links, lay = ordered_rows([b["id"] for b in beads], edges)
    w, h = node_size(form, node_w)
    depth = len(rows)
    width = max((row_width(r, w) for r in rows), default=1)
    # x of every item, row by row: under its parents where there is room, else packed
    xs: dict[str, int] = {}
    outcol: dict[str, int] = {}
    for r, row in enumerate(rows):
        xs.update(_place(row, w, width, links, outcol, r, lay))
        for n in row:
            outcol[n] = xs[n] if n.startswith("~") else xs[n] + w // 2
    width = max([width, *(xs[n] + (1 if n.startswith("~") else w) for n in xs)])
    buses = _buses(rows, links, xs, outcol, w)
    tops: list[int] = []
    y = 0
    for r in range(depth):
        tops.append(y)
        y += h + (len({b.lane for b in buses[r] if b.lane >= 0}) + 1 if r < depth - 1 else 0)
    height = y
    grid = [[" "] * width for _ in range(height)]
    styles = [[""] * width for _ in range(height)]
    bits = [[0] * width for _ in range(height)]
    owners: list[list[set[int]]] = [[set() for _ in range(width)] for _ in range(height)]
    placed: dict[str, Placed] = {}
    for r, row in enumerate(rows):
        for n in row:
            x, y0 = xs[n], tops[r]
            if n.startswith("~"):
                for yy in range(y0, y0 + h):
                    bits[yy][x] |= UP | DOWN
                    owners[yy][x].add(int(n[1:].split(".")[0]))
                continue
            placed[n] = Placed(x, y0, w, h, r)
            _node(grid, styles, x, y0, w, form, by_id[n])
    for r in range(depth - 1):
        _route(buses[r], tops[r] + h, tops[r + 1], bits, owners, grid, styles, form)
    cells = []
    for y in range(height):
        line = []
        for x in range(width):
            if bits[y][x] and grid[y][x] == " ":
                style = "cross" if bits[y][x] == UP | DOWN | LEFT | RIGHT else "edge"
                line.append(Cell(JOIN[bits[y][x]], style, tuple(sorted(owners[y][x]))))
            else:
                line.append(Cell(grid[y][x], styles[y][x], tuple(sorted(owners[y][x]))))
        cells.append(line)
    return DagCanvas(cells, width, height, depth, placed, tops, form)


def _place(
    row: list[str],
    w: int,
    width: int,
    links: list[Link],
    outcol: dict[str, int],
    r: int,
    lay: dict[str, int],
) -> dict[str, int]:
    """Items of a row left to right, each as near under its parents as the order allows,
    pass-through slots kept off the columns the row above sends edges down."""
    taken = {c for n, c in outcol.items() if lay[n] == r - 1}
    want: dict[str, float] = {}
    for n in row:
        ps = [outcol[lk.src] for lk in links if lk.dst == n and lk.src in outcol]
        size = 1 if n.startswith("~") else w
        want[n] = (sum(ps) / len(ps) - size // 2) if ps else -1
    xs: dict[str, int] = {}
    x = 0
    for i, n in enumerate(row):
        size = 1 if n.startswith("~") else w
        rest = row_width(row[i + 1 :], w) + (GAP if i + 1 < len(row) else 0)
        # never so far right that the rest of the row no longer fits the canvas
        x = max(x, min(int(want[n]), width - rest - size)) if want[n] >= 0 else x
        if n.startswith("~"):
            src = next(lk.src for lk in links if lk.dst == n)
            solo = sum(1 for lk in links if lk.src == src and lay[lk.dst] == r) == 1
            # a slot may sit right under its source only when nothing else leaves it:
            # a drop at the source's own column between others would read as a crossing
            while x in taken and (x != outcol.get(src) or not solo):
                x += 1
        xs[n] = x
        x += size + GAP
    return xs


class Bus(NamedTuple):
    src_col: int
    drops: list[tuple[int, int, bool]]  # (column, edge, into a bead, not a slot)
    lane: int  # -1: one straight drop under the source, no lane needed
    left: int
    right: int


def _buses(
    rows: list[list[str]],
    links: list[Link],
    xs: dict[str, int],
    outcol: dict[str, int],
    w: int,
) -> list[list[Bus]]:
    """Per channel, a bus per source with its drop columns and its lane."""
    out: list[list[Bus]] = []
    for r in range(len(rows) - 1):
        here = set(rows[r])
        chan = [lk for lk in links if lk.src in here]
        taken = {outcol[n] for n in rows[r]}
        drops: dict[str, list[tuple[int, int, bool]]] = {}
        for child in rows[r + 1]:
            ins = sorted((lk for lk in chan if lk.dst == child), key=lambda lk: outcol[lk.src])
            if child.startswith("~"):
                for lk in ins:
                    drops.setdefault(lk.src, []).append((xs[child], lk.edge, False))
                continue
            free = [c for c in range(xs[child] + 1, xs[child] + w - 1) if c not in taken]
            for i, lk in enumerate(ins):
                scol = outcol[lk.src]
                solo = sum(1 for x in chan if x.src == lk.src) == 1
                # straight down when the source is alone and above; else spread the arrows
                # over the node so each parent has its own, in the parents' order
                aim = scol if solo else xs[child] + (i + 1) * w // (len(ins) + 1)
                # its own source's column only for a lone edge: a straight line, no lane
                own = [scol] if solo and xs[child] < scol < xs[child] + w - 1 else []
                ok = [*free, *own] or [xs[child]]
                col = min(ok, key=lambda c: (abs(c - aim), c))
                if col in free:
                    free.remove(col)
                taken.add(col)
                drops.setdefault(lk.src, []).append((col, lk.edge, True))
        buses = []
        for src in rows[r]:
            if src not in drops:
                continue
            cols = [c for c, _e, _b in drops[src]] + [outcol[src]]
            straight = len(drops[src]) == 1 and drops[src][0][0] == outcol[src]
            buses.append(Bus(outcol[src], drops[src], -1 if straight else 0, min(cols), max(cols)))
        # lanes: a bus takes the first lane where it keeps two cells clear of the others
        ends: list[int] = []
        laid = []
        for b in sorted(buses, key=lambda b: (b.left, b.right)):
            if b.lane < 0:
                laid.append(b)
                continue
            lane = next((i for i, e in enumerate(ends) if e + 2 < b.left), len(ends))
            if lane == len(ends):
                ends.append(b.right)
            ends[lane] = b.right
            laid.append(b._replace(lane=lane))
        out.append(laid)
    return out


def _route(
    buses: list[Bus],
    top: int,
    bottom: int,
    bits: list[list[int]],
    owners: list[list[set[int]]],
    grid: list[list[str]],
    styles: list[list[str]],
    form: str,
) -> None:
    """Draw one channel (rows top..bottom-1); the last row carries the arrowheads."""
    for b in buses:
        every = {e for _c, e, _into in b.drops}
        lane_y = top + b.lane if b.lane >= 0 else bottom - 1
        for y in range(top, lane_y + (1 if b.lane < 0 else 0)):
            bits[y][b.src_col] |= UP | DOWN
            owners[y][b.src_col] |= every
        if form == "full" and grid[top - 1][b.src_col] == "─":
            grid[top - 1][b.src_col] = "┬"
        if b.lane >= 0:
            bits[lane_y][b.src_col] |= UP
            owners[lane_y][b.src_col] |= every
            for col, e, _into in b.drops:
                step = 1 if col > b.src_col else -1
                for x in range(b.src_col, col, step):
                    bits[lane_y][x] |= RIGHT if step > 0 else LEFT
                    bits[lane_y][x + step] |= LEFT if step > 0 else RIGHT
                    owners[lane_y][x].add(e)
                bits[lane_y][col] |= DOWN
                owners[lane_y][col].add(e)
                for y in range(lane_y + 1, bottom):
                    bits[y][col] |= UP | DOWN
                    owners[y][col].add(e)
        for col, e, into in b.drops:
            owners[bottom - 1][col].add(e)
            if into:
                grid[bottom - 1][col] = "▼"
                styles[bottom - 1][col] = "edge"


def _node(
    grid: list[list[str]],
    styles: list[list[str]],
    x: int,
    y: int,
    w: int,
    form: str,
    bead: dict[str, Any],
) -> None:
    status = bead_state(bead)
    if form == "full":
        inner = w - 2
        lines = [
            "┌" + "─" * inner + "┐",
            "│" + fit(f"{glyph_word(status)} {bead['id']}", inner) + "│",
            "│" + fit(bead.get("title") or "", inner) + "│",
            "└" + (f"─ {visible(bead.get('rig') or 'town')} " + "─" * inner)[:inner] + "┘",
        ]
    else:  # compact: no border; glyph + id, then the title (the glyph says the state)
        lines = [fit(f"{glyph(status)} {bead['id']}", w), fit(bead.get("title") or "", w)]
    for dy, text in enumerate(lines):
        for dx, ch in enumerate(text):
            grid[y + dy][x + dx] = ch
            styles[y + dy][x + dx] = f"node:{status}"


def fit(text: str, width: int, fill: str = " ") -> str:
    text = visible(text)  # titles are agents' text: one cell per character, nothing raw
    if len(text) > width:
        return text[: width - 1] + "…"
    return text + fill * (width - len(text))


def to_text(canvas: DagCanvas) -> str:
    return "\n".join("".join(c.char for c in row).rstrip() for row in canvas.rows)
