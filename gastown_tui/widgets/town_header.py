"""The main screen's header: the town's name, and what needs a person, as counts.

Each count (the circuit breaker, paused runtimes, agents that need you, failed beads,
spent budgets) is shown only while it is not zero, with a glyph and a word, so it reads
without colour; a click on it (or `!`, which steps through them) opens its list: the
Problems tab, filtered to it. With nothing to do it says so, in one quiet word.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Click
from textual.widgets import Static

from engine.views.needs_you import NEED_KEYS, NeedCount

# one cell each in every terminal font (no emoji: "⏸" and "✋" are drawn two wide, or not)
GLYPHS = {
    "critical": "!",
    "breaker": "⚡",
    "paused": "‖",
    "needs_you": "⚑",
    "failed": "✗",
    "budget": "$",
}


def chip_text(need: NeedCount) -> str:
    if need["key"] == "breaker":  # one breaker: its state, not a count
        return f"{GLYPHS['breaker']} breaker {need['state'] or 'open'}"
    return f"{GLYPHS[need['key']]} {need['count']} {need['word']}"


class NeedChip(Static):
    """One count; a click opens its list."""

    def __init__(self, key: str) -> None:
        super().__init__(id=f"need-{key}", classes="need-chip", markup=False)
        self.key = key
        self.display = False

    async def on_click(self, event: Click) -> None:
        event.stop()
        await self.app.run_action(f"show_needs('{self.key}')")


class TownHeader(Horizontal):
    """One line: "Gas Town — <where>" on the left, the counts on the right."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[tuple[str, int, str], ...] | None = None
        self._mayor_word: str | None = None  # what the mayor chip says (None: hidden)

    def compose(self) -> ComposeResult:
        yield Static(id="header-title", markup=False)
        mayor = Static(id="mayor-chip", markup=False)
        mayor.display = False  # no mayor, no chip
        yield mayor
        yield Static("✓ nothing needs you", id="need-none", markup=False)
        for key in NEED_KEYS:
            yield NeedChip(key)

    def on_mount(self) -> None:
        # the app's title also carries what the counts show ("paused: codex", for the
        # detail screens' plain header): here the town's name and where it runs
        self.watch(self.app, "sub_title", self._where, init=True)

    def _where(self, where: str) -> None:
        self.set_where(type(self.app).TITLE or "", where)

    def set_where(self, title: str, where: str) -> None:
        label = self.query_one("#header-title", Static)
        label.update(Text.assemble((title, "bold"), f" — {where}" if where else ""))

    def show_needs(self, needs: list[NeedCount]) -> None:
        """Only on change: a changed label lays the header out again."""
        shown = tuple((n["key"], n["count"], n["state"]) for n in needs)
        if shown == self._shown:
            return
        self._shown = shown
        with self.app.batch_update():
            for need in needs:
                chip = self.query_one(f"#need-{need['key']}", NeedChip)
                chip.display = need["count"] > 0
                if need["count"]:
                    chip.update(chip_text(need))
            self.query_one("#need-none").display = not any(n["count"] for n in needs)

    def show_mayor(self, word: str | None) -> None:
        """The mayor's state ("mayor: idle"), from its screen; hidden when there is none."""
        if word == self._mayor_word:
            return  # only on change: a changed label lays the header out again
        self._mayor_word = word
        chip = self.query_one("#mayor-chip", Static)
        if word:
            chip.update(f"mayor: {word}")
            chip.set_class(word in ("needs you", "rate-limited", "crashed"), "-alert")
        chip.display = bool(word)

    def active(self) -> list[str]:
        """The keys with a count now, in the header's order (what `!` steps through)."""
        return [key for key, count, _ in self._shown or () if count]
