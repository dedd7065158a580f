"""The selected convoy as a layered graph, coloured by state, scrolling beyond the screen."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.widgets import Static

from engine.safetext import clip
from engine.views.dag import layout
from gastown_tui.theme import CELL_MAX, STATE_STYLE, lit


def render_dag(convoy: dict[str, Any]) -> tuple[Text, int, int]:
    canvas = layout(convoy["beads"], [tuple(e) for e in convoy["edges"]])
    text = Text(no_wrap=True, overflow="crop")
    for y, row in enumerate(canvas.rows):
        if y:
            text.append("\n")
        run: list[str] = []
        style: str | None = None
        for cell in row:
            st = (
                STATE_STYLE.get(cell.style[5:], "")
                if cell.style.startswith("node:")
                else "dim"
                if cell.style == "edge"
                else ""
            )
            if st != style and run:
                text.append("".join(run), style or "")
                run = []
            style = st
            run.append(cell.char)
        if run:
            text.append("".join(run).rstrip(), style or "")
    return text, canvas.width, canvas.height


class DagView(ScrollableContainer):
    BORDER_TITLE = "Convoy"
    _signature: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="dag-canvas")

    def update_convoy(self, convoy: dict[str, Any] | None) -> None:
        canvas = self.query_one("#dag-canvas", Static)
        if not convoy:
            self.border_title = "Convoy"
            canvas.styles.width = "auto"
            canvas.styles.height = "auto"
            canvas.update("No convoy yet — press c to create one, s to sling a bead.")
            self._signature = None
            return
        prog = convoy["progress"]
        # Text, not str: a str title is read as markup, and convoy titles may hold "[/]"
        self.border_title = lit(
            f"Convoy {convoy['id']} · {clip(convoy['title'], CELL_MAX)} · "
            f"{prog['closed']}/{prog['total']} ✓ · {convoy['status']}"
        )
        # Laying out and drawing the graph is the dearest part of a refresh: only when
        # the convoy's beads, their states or its edges changed (not every tick).
        signature = repr((convoy["beads"], convoy["edges"]))
        if signature == self._signature:
            return
        self._signature = signature
        text, width, height = render_dag(convoy)
        # the canvas keeps its own size: the container scrolls instead of wrapping lines
        canvas.styles.width = width
        canvas.styles.height = height
        canvas.update(text)
