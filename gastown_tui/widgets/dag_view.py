"""The selected convoy as a layered graph (or, when space is short, a list), coloured by state.

The form follows the pane's size (engine/views/dag_forms.py): full boxes, compact nodes,
or an indented list saying what each bead needs. Arrow keys move a selected node, and the
view scrolls by nodes to keep it in sight; the selected node's blockers and dependents,
and the edges joining them, are highlighted, and the border says them in words.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.widgets import Static

from engine.safetext import clip
from engine.views.dag import DagCanvas
from engine.views.dag_forms import ListLine, choose, list_form, list_text, relatives
from gastown_tui.theme import CELL_MAX, STATE_STYLE, lit

NEEDS_STYLE = "bold yellow"  # the selected node's blockers and the edges from them
NEEDED_BY_STYLE = "bold cyan"  # what the selected node unblocks, and the edges to it


class DagView(ScrollableContainer):
    BORDER_TITLE = "Convoy"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._signature: str | None = None
        self.convoy: dict[str, Any] | None = None
        self.canvas: DagCanvas | None = None  # None: the list form is shown
        self.lines: list[ListLine] = []
        self.selected: str | None = None
        self._waiting = False
        self.shown: Text = Text()  # what is drawn now (tests read its styles)

    def compose(self) -> ComposeResult:
        yield Static(id="dag-canvas")

    # ---- data ----------------------------------------------------------------------------

    def update_convoy(self, convoy: dict[str, Any] | None) -> None:
        canvas = self.query_one("#dag-canvas", Static)
        if not convoy:
            self.border_title = "Convoy"
            self._title_shown = "Convoy"
            self.border_subtitle = ""
            canvas.styles.width = "auto"
            canvas.styles.height = "auto"
            canvas.update("No convoy yet — press c to create one, s to sling a bead.")
            self._signature = None
            self.convoy = None
            return
        prog = convoy["progress"]
        # Text, not str: a str title is read as markup, and convoy titles may hold "[/]"
        title = lit(
            f"Convoy {convoy['id']} · {clip(convoy['title'], CELL_MAX)} · "
            f"{prog['closed']}/{prog['total']} ✓ · {convoy['status']}"
        )
        # setting a border title repaints the pane even when it says the same (every tick)
        if title.plain != getattr(self, "_title_shown", None):
            self._title_shown = title.plain
            self.border_title = title
        switched = self.convoy is None or self.convoy["id"] != convoy["id"]
        # Laying out and drawing the graph is the dearest part of a refresh: only when
        # the convoy's beads, their states or its edges changed (not every tick).
        signature = repr((convoy["beads"], convoy["edges"]))
        if signature == self._signature and not switched:
            return
        self._signature = signature
        self.convoy = convoy
        ids = [b["id"] for b in convoy["beads"]]
        if switched or self.selected not in ids:
            self.selected = None
        self.relayout()
        if switched:
            # a new convoy shows from its roots, not at the old one's scroll position
            self.scroll_home(animate=False, immediate=True)

    def on_resize(self) -> None:
        if self.convoy is not None:
            self.relayout()

    def _retry(self) -> None:
        self._waiting = False
        if self.scrollable_content_region.size.area:
            self.relayout()

    def relayout(self) -> None:
        """Choose the form for the pane's size now, and draw it."""
        convoy = self.convoy
        if convoy is None:
            return
        edges = [(str(a), str(b)) for a, b in convoy["edges"]]
        size = self.scrollable_content_region.size
        if not size.area:
            # not laid out yet (or hidden): try once after the next refresh; a pane shown
            # later gets a Resize, which lays the graph out then
            if not self._waiting:
                self._waiting = True
                self.call_after_refresh(self._retry)
            return
        self.canvas = choose(convoy["beads"], edges, size.width, size.height)
        self.lines = list_form(convoy["beads"], edges) if self.canvas is None else []
        if self.selected is None:
            self.selected = self.order()[0] if self.order() else None
        self.draw()

    # ---- drawing -------------------------------------------------------------------------

    def draw(self, focused: bool | None = None) -> None:
        convoy = self.convoy
        if convoy is None:
            return
        edges = [(str(a), str(b)) for a, b in convoy["edges"]]
        # the selection shows while the graph has the keyboard: at rest, only states
        sel = self.selected if (self.has_focus if focused is None else focused) else None
        needs, needed_by = relatives(edges, sel or "")
        static = self.query_one("#dag-canvas", Static)
        if self.canvas is not None:
            text = render_canvas(self.canvas, edges, sel, needs, needed_by)
            static.styles.width = self.canvas.width
            static.styles.height = self.canvas.height
        else:
            width = self.scrollable_content_region.width
            by_id = {b["id"]: b for b in convoy["beads"]}
            text = render_list(self.lines, by_id, width, sel, needs, needed_by)
            static.styles.width = width
            static.styles.height = len(self.lines)
        self.shown = text
        static.update(text)
        self.border_subtitle = (
            lit(
                f"{sel} · needs {', '.join(needs) or 'nothing'} · "
                f"needed by {', '.join(needed_by) or 'nothing'}"
            )
            if sel
            else ""
        )

    def on_focus(self) -> None:
        self.draw(focused=True)

    def on_blur(self) -> None:
        self.draw(focused=False)  # has_focus still holds while the blur is handled

    # ---- moving by nodes -----------------------------------------------------------------

    def order(self) -> list[str]:
        if self.canvas is not None:
            placed = self.canvas.nodes
            return sorted(placed, key=lambda n: (placed[n].layer, placed[n].x))
        return [ln.bead_id for ln in self.lines]

    def action_move(self, dx: int, dy: int) -> None:
        order = self.order()
        if not order:
            return
        current = self.selected if self.selected in order else order[0]
        if self.canvas is None:  # the list: up and down step one line
            if not dy:
                return
            i = order.index(current) + dy
            self.selected = order[max(0, min(len(order) - 1, i))]
        else:
            self.selected = step(self.canvas, current, dx, dy)
        self.draw()
        self.show_selected()

    def show_selected(self) -> None:
        """Scroll, if the selected node is not whole in view, to the nearest node boundary
        (a layer's top, a node's left edge) that shows it: the view moves by nodes."""
        if self.selected is None:
            return
        view = self.scrollable_content_region.size
        if self.canvas is not None:
            p = self.canvas.nodes[self.selected]
            xs = sorted({0, *(n.x for n in self.canvas.nodes.values())})
            x = snap(self.scroll_x, view.width, p.x, p.w, xs)
            y = snap(self.scroll_y, view.height, p.y, p.h, self.canvas.layer_tops)
        else:
            x, y = 0, snap(self.scroll_y, view.height, self.order().index(self.selected), 1, [])
        self.scroll_to(x, y, animate=False, immediate=True, force=True)


def snap(at: float, view: int, start: int, size: int, stops: list[int]) -> float:
    """Where a scroll offset goes to show [start, start+size): unchanged if it shows, else
    the first stop from which it shows (or the start itself, lacking a stop)."""
    if at <= start and start + size <= at + view:
        return at
    if start < at:
        return start
    fits = [s for s in stops if s <= start and start + size <= s + view]
    return min(fits) if fits else start + size - view


def step(canvas: DagCanvas, current: str, dx: int, dy: int) -> str:
    """The node left/right in the same layer, or the nearest one in the layer above/below."""
    nodes = canvas.nodes
    here = nodes[current]
    if dx:
        same = sorted((n for n in nodes if nodes[n].layer == here.layer), key=lambda n: nodes[n].x)
        i = same.index(current) + dx
        return same[max(0, min(len(same) - 1, i))]
    layer = here.layer + dy
    while 0 <= layer < canvas.layers:
        row = [n for n in nodes if nodes[n].layer == layer]
        if row:
            mid = here.x + here.w // 2
            return min(row, key=lambda n: abs(nodes[n].x + nodes[n].w // 2 - mid))
        layer += dy
    return current


def render_canvas(
    canvas: DagCanvas,
    edges: list[tuple[str, str]],
    selected: str | None,
    needs: list[str],
    needed_by: list[str],
) -> Text:
    """The canvas as styled text: nodes by state, edges dim unless they touch the selection."""
    from engine.views.dag import drawn_edges

    drawn = drawn_edges(list(canvas.nodes), edges)
    into = {i for i, (a, b) in enumerate(drawn) if b == selected}
    out = {i for i, (a, b) in enumerate(drawn) if a == selected}
    text = Text(no_wrap=True, overflow="crop")
    for y, row in enumerate(canvas.rows):
        if y:
            text.append("\n")
        run: list[str] = []
        style: str | None = None
        for cell in row:
            if cell.style.startswith("node:"):
                st = STATE_STYLE.get(cell.style[5:], "")
            elif cell.edges and into.intersection(cell.edges):
                st = NEEDS_STYLE
            elif cell.edges and out.intersection(cell.edges):
                st = NEEDED_BY_STYLE
            else:
                st = "dim" if cell.style in ("edge", "cross") else ""
            if st != style and run:
                text.append("".join(run), style or "")
                run = []
            style = st
            run.append(cell.char)
        if run:
            text.append("".join(run), style or "")
    line = canvas.width + 1
    for bead_id, extra in (
        *((n, f"underline {NEEDS_STYLE}") for n in needs),
        *((n, f"underline {NEEDED_BY_STYLE}") for n in needed_by),
        *(((selected, "reverse"),) if selected else ()),
    ):
        p = canvas.nodes.get(bead_id)
        if p is None:
            continue
        for y in range(p.y, p.y + p.h):
            text.stylize(extra, y * line + p.x, y * line + p.x + p.w)
    return text


def render_list(
    lines: list[ListLine],
    by_id: dict[str, dict[str, Any]],
    width: int,
    selected: str | None,
    needs: list[str],
    needed_by: list[str],
) -> Text:
    """One bead a line; a gutter mark says the selection (▶), its blockers (↑) and
    dependents (↓) without colour."""
    text = Text(no_wrap=True, overflow="crop")
    for i, ln in enumerate(lines):
        if i:
            text.append("\n")
        n = ln.bead_id
        mark = "▶ " if n == selected else "↑ " if n in needs else "↓ " if n in needed_by else "  "
        indent, words, rest = list_text(ln, by_id[n], width - len(mark))
        start = len(text)
        text.append(mark + indent)
        text.append(words, STATE_STYLE.get(ln.state, ""))
        text.append(rest)
        if n == selected:
            text.stylize("reverse", start, len(text))
        elif n in needs:
            text.stylize(NEEDS_STYLE, start, start + 2)
        elif n in needed_by:
            text.stylize(NEEDED_BY_STYLE, start, start + 2)
    return text
