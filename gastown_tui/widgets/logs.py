"""Live logs: the selected polecat's session log (and a tiled view of all working ones),
streamed from the log files with ANSI handled, following the tail, bounded memory."""

from __future__ import annotations

import asyncio
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog

from engine.views.logtail import LogTail
from gastown_tui.theme import ansi

MAX_LINES = 2000
TILE_LINES = 200


class LiveLog(RichLog):
    """A RichLog whose growth repaints itself instead of laying out the whole screen.

    Every write grows the log's virtual size, and a widget's virtual size is a layout
    reactive: streaming ten writes a second meant ten full-screen layouts a second. The
    log's own box never depends on its content, so only its scrollbars need the news (and
    they ask for a layout themselves when they appear or go).
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False, repaint=True)

    def watch_virtual_size(self, size: Size) -> None:
        if self.is_mounted and self.size:
            self._scroll_update(size)


class LogPane(Vertical):
    BORDER_TITLE = "Live log"

    def compose(self) -> ComposeResult:
        yield LiveLog(
            max_lines=MAX_LINES,
            wrap=False,
            markup=False,
            highlight=False,
            auto_scroll=True,
            id="log-single",
        )
        yield Grid(id="log-tiles")

    def on_mount(self) -> None:
        self._tail: LogTail | None = None
        self._following: str | None = None  # whose log _tail is
        self._tiles: dict[str, tuple[LogTail, RichLog]] = {}
        self._held: dict[RichLog, deque[str]] = {}  # lines of tiles out of sight
        self.tiled = False
        self.query_one("#log-tiles").display = False
        self.set_interval(0.1, self._pump)

    def follow(self, agent_name: str | None, path: str | None, *, ended: bool = False) -> None:
        """Stream `path`; `ended` marks a session that is over (its last words stay shown).
        Nothing to follow keeps the log on screen, marked ended: work that just finished
        must not vanish from under a person reading it."""
        if path is None and self._tail is not None:
            path, ended, agent_name = self._tail.path, True, self._following
        title = f"Live log · {agent_name}" if agent_name else "Live log"
        if ended:
            title += " · session ended"
        if self.border_title != title:
            self.border_title = title
        if self._tail is not None and path == self._tail.path:
            return
        log = self.query_one("#log-single", RichLog)
        log.clear()
        self._tail = LogTail(path) if path else None
        self._following = agent_name
        if not path:
            log.write(
                Text(
                    "Select a polecat (in Rigs, or a bead in the table) to follow it.", style="dim"
                )
            )

    def set_tiles(self, sessions: list[tuple[str, str]]) -> None:
        """(agent name, log path) for every working polecat; shown when tiled."""
        grid = self.query_one("#log-tiles", Grid)
        wanted = dict(sessions)
        for name in list(self._tiles):
            if name not in wanted or self._tiles[name][0].path != wanted[name]:
                widget = self._tiles.pop(name)[1]
                self._held.pop(widget, None)
                widget.remove()
        for name, path in sessions:
            if name not in self._tiles:
                widget = LiveLog(
                    max_lines=TILE_LINES, wrap=False, markup=False, highlight=False, classes="tile"
                )
                widget.border_title = name
                grid.mount(widget)
                self._tiles[name] = (LogTail(path, start_lines=20), widget)

    def toggle_tiled(self) -> None:
        self.tiled = not self.tiled
        self.query_one("#log-single").display = not self.tiled
        self.query_one("#log-tiles").display = self.tiled

    async def _pump(self) -> None:
        """Read what is new (off the event loop) and write it in one batch per pane."""
        jobs: list[tuple[LogTail, RichLog]] = []
        if not self.tiled and self._tail is not None:
            jobs.append((self._tail, self.query_one("#log-single", RichLog)))
        if self.tiled:
            jobs.extend(self._tiles.values())
        if not jobs:
            return
        results = await asyncio.to_thread(lambda: [t.read() for t, _ in jobs])
        shown = self.query_one("#log-tiles", Grid).region if self.tiled else None
        for (_, widget), lines in zip(jobs, results, strict=True):
            if shown is not None and not shown.overlaps(widget.region):
                # a tile scrolled out of sight: keep its newest lines, draw them when seen
                # (parsing and drawing 50 tiles 10 times a second was most of the app's time)
                if lines:
                    self._held.setdefault(widget, deque(maxlen=TILE_LINES)).extend(lines)
                continue
            if widget in self._held:
                lines = [*self._held.pop(widget), *lines][-TILE_LINES:]
            if lines:
                # agents' output keeps its colours; titles, clipboard writes, cursor moves
                # and the like are dropped (engine/safetext.keep_sgr)
                text = ansi("\n".join(lines))
                if widget.auto_scroll and widget.size.area:
                    # Follow the tail now, in this frame: RichLog scrolls after the next
                    # refresh, so every write cost two frames (bench/bench_tui.py, a busy
                    # log at rest). Not before it has a size: then RichLog defers the write.
                    widget.write(text, scroll_end=False)
                    widget.scroll_end(animate=False, immediate=True, x_axis=False)
                else:
                    widget.write(text)

    def lines_shown(self) -> int:
        return len(self.query_one("#log-single", RichLog).lines)
