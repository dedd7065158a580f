"""What the main screen shows: engine snapshots, refreshed from the event stream.

The engine's change events are drained in batches and the screen refreshes at most ten
times a second, whatever the event rate; a refresh never overlaps another. The selection
(a polecat in Rigs, or the bead under the cursor) decides which session log is followed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rich.text import Text
from textual.app import App
from textual.notifications import SeverityLevel
from textual.widgets import Static, TabbedContent

from engine.engine import Engine
from engine.errors import GtError
from engine.event_stream import Batch
from engine.events import (
    BeadCreated,
    BeadFailed,
    BreakerTripped,
    ConvoyLanded,
    Event,
    MergeRequestFailed,
    RuntimePaused,
)
from engine.town import Town
from gastown_tui.widgets.bead_table import FILTERS, BeadTable
from gastown_tui.widgets.dag_view import DagView
from gastown_tui.widgets.logs import LogPane
from gastown_tui.widgets.panels import MailTable, MergeQueueTable, ProblemsTable
from gastown_tui.widgets.rigs_tree import RigsTree

MAX_REFRESH_HZ = 10


class TownView(App[None]):
    """The app's view of the town: the last snapshot, what it was filtered by, and the
    refresh loop that replaces it."""

    def __init__(self, town: Town, engine: Engine) -> None:
        super().__init__()
        self.town = town
        self.engine = engine
        self.bead_filter = "all"
        self.search_text = ""
        self.convoy_id: str | None = None
        self.snap: dict[str, Any] | None = None
        self._dirty = True
        self._refreshing = False
        self._queue: asyncio.Queue[Batch] | None = None
        self.refreshes = 0
        self._filter_bar_shown: str | None = None
        self._refresh_started = 0.0
        self._busy_shown = False

    # ---- refresh -------------------------------------------------------------------------

    def mark_dirty(self) -> None:
        self._dirty = True

    async def request_refresh(self) -> None:
        """Refresh now, or right after the refresh under way (never two at once)."""
        self._dirty = True
        if not self._refreshing:
            await self.refresh_town()

    def sweep_watchers(self) -> None:
        """Forget watchers that belong to removed widgets (every 2 s).

        Textual drops a removed widget's watcher only when the watched value next changes,
        so watchers of values that never change pile up with everything they hold: every
        focus move rebuilds the footer's keys (each watching the footer's `compact`), every
        detail screen brings a header (watching the app's title). bench/bench_tui.py saw
        the app grow by ~40 MiB a minute while keys were pressed.
        """
        for screen in self.screen_stack:
            for node in (self, *screen.walk_children(with_self=True)):
                for watchers in getattr(node, "__watchers", {}).values():
                    if any(owner._closing for owner, _ in watchers):
                        watchers[:] = [(o, cb) for o, cb in watchers if not o._closing]

    async def drain(self) -> None:
        """Take every batch of events queued since the last tick; refresh once at most."""
        if self._queue is not None:
            while not self._queue.empty():
                for event in self._queue.get_nowait():
                    self.notify_event(event)
                self._dirty = True
        if self._dirty and not self._refreshing:
            await self.request_refresh()

    def notify_event(self, event: Event) -> None:
        """The events a person is told about as they happen; the rest only refresh."""
        match event:
            case BeadCreated(type="escalation"):
                self.notify(event.title or "", title="Escalation raised", severity="warning")
            case MergeRequestFailed():
                detail = f"{event.bead_id}: {(event.reason or '')[:120]}"
                self.notify(detail, title="Merge failed", severity="error")
            case ConvoyLanded():
                self.notify_bead(event, "Convoy landed", "information")
            case BreakerTripped():
                self.notify_bead(event, "Circuit breaker tripped: dispatch paused", "error")
            case BeadFailed():
                self.notify_bead(event, "Bead failed", "warning")
            case RuntimePaused():
                detail = f"{event.runtime} takes no work until {event.until}"
                self.notify(detail, title="Rate or usage limit: runtime paused", severity="warning")

    def notify_bead(self, event: Event, title: str, severity: SeverityLevel) -> None:
        self.notify(event.bead_id or "", title=title, severity=severity)

    def show_busy(self) -> None:
        """A slow snapshot shows as progress, never a freeze. It reads on its own connection
        (engine/ledger/reader.py), so only the ledger itself (a stalled disk) can slow it."""
        if not self.is_running:  # quitting: the screens are being taken down under us
            return
        started = self._refresh_started
        bar = self.query_one("#filter-bar", Static)
        if self._refreshing and started and time.monotonic() - started > 0.5:
            waited = time.monotonic() - started
            bar.update(f"⧗ waiting for the engine ({waited:.0f}s)…")
            self._busy_shown = True
            self._filter_bar_shown = None
        elif self._busy_shown:
            self._busy_shown = False
            self._filter_bar_shown = self.filter_bar()
            bar.update(self._filter_bar_shown)

    async def refresh_town(self) -> None:
        self._refreshing = True
        self._refresh_started = time.monotonic()
        self._dirty = False
        # what this snapshot shows: a filter or search chosen meanwhile waits for the next
        flt, search = self.bead_filter, self.search_text
        try:
            snap = await self.engine.snapshot(
                bead_filter=flt, search=search, convoy_id=self.convoy_id
            )
        except GtError as exc:
            self.notify(exc.message, severity="error")
            return
        finally:
            self._refreshing = False
        if not self.is_running:  # quit while the snapshot was being taken: no screen left
            return
        self.snap = snap
        self.refreshes += 1
        if snap["convoy"]:
            self.convoy_id = snap["convoy"]["id"]
        self.query_one("#rigs", RigsTree).update_rigs(snap["rigs"])
        self.query_one("#dag", DagView).update_convoy(snap["convoy"])
        table = self.query_one("#beads", BeadTable)
        table.update_beads(snap["beads"])
        # Text, not str: a str title is read as markup, and the search may hold "[/]"
        table.border_title = Text(
            f"Beads · {flt} · sorted by {table.sort_by}"
            + (f" · search {search!r}" if search else "")
        )
        if (flt, search) != (self.bead_filter, self.search_text):
            self._dirty = True  # the rows shown are the previous filter's: refresh again
        bar = self.filter_bar()
        if bar != self._filter_bar_shown:  # an update lays the screen out again: only on change
            self._filter_bar_shown = bar
            self.query_one("#filter-bar", Static).update(bar)
        self.query_one("#mail", MailTable).show_mail(snap["mail"])
        self.query_one("#mq", MergeQueueTable).show_queue(snap["mq"])
        self.query_one("#problems", ProblemsTable).show_problems(snap["problems"])
        self.show_pauses(snap["problems"])
        queued = sum(1 for m in snap["mq"] if m["state"] in ("queued", "testing", "landing"))
        self.set_tab_label("tab-mail", f"Mail ({snap['mail']['unread']} unread)")
        self.set_tab_label("tab-problems", f"Problems ({len(snap['problems'])})")
        self.set_tab_label("tab-mq", f"Merge queue ({queued})")
        self.follow_selected()
        logs = self.query_one("#logs", LogPane)
        if logs.tiled:
            logs.set_tiles(self.working_logs())

    def show_pauses(self, problems: list[dict[str, Any]]) -> None:
        """Runtimes paused by a rate or usage limit, in the header: the town is not stuck,
        it is waiting for an account's window."""
        paused = [p["id"] for p in problems if p["kind"] == "paused"]
        title = (self.TITLE or "") + (f" · paused: {', '.join(paused)}" if paused else "")
        if self.title != title:
            self.title = title

    def set_tab_label(self, pane: str, label: str) -> None:
        """Relabelling a tab lays the screen out again: only when the text changes."""
        tab = self.query_one("#bottom", TabbedContent).get_tab(pane)
        if tab.label.plain != label:
            tab.label = label

    def filter_bar(self) -> str:
        return (
            "  ".join(f"[reverse] {f} [/]" if f == self.bead_filter else f" {f} " for f in FILTERS)
            + "   (f: filter, o: sort, /: search)"
        )

    # ---- selection -----------------------------------------------------------------------

    def selected_agent(self) -> dict[str, Any] | None:
        """The polecat under the cursor in Rigs, else the agent of the selected bead."""
        tree = self.query_one("#rigs", RigsTree)
        agent = tree.selected_agent()
        if agent and (tree.has_focus or self.focused is None):
            return agent
        bead_id = self.query_one("#beads", BeadTable).selected_bead()
        if bead_id and self.snap:
            for rig in self.snap["rigs"]:
                for p in rig["polecats"]:
                    if p["hook"] == bead_id:
                        return {**p, "rig": rig["name"]}
        if agent:
            return agent
        # nothing chosen yet: follow the first polecat at work, so the log is never empty
        for rig in (self.snap or {}).get("rigs", []):
            for p in rig["polecats"]:
                if p["hook"]:
                    return {**p, "rig": rig["name"]}
        return None

    def log_for(self, rig: str, agent: dict[str, Any]) -> str | None:
        from engine.views.town_snapshot import current_log

        return current_log(self.town, {**agent, "rig": rig})

    def follow_selected(self) -> None:
        agent = self.selected_agent()
        logs = self.query_one("#logs", LogPane)
        if agent is None:
            logs.follow(None, None)
            return
        logs.follow(agent["name"], self.log_for(agent["rig"], agent))

    def working_logs(self) -> list[tuple[str, str]]:
        out = []
        for rig in (self.snap or {}).get("rigs", []):
            for p in rig["polecats"]:
                path = self.log_for(rig["name"], p) if p["hook"] else None
                if path:
                    out.append((p["name"], path))
        return out

    def on_tree_node_highlighted(self, event: Any) -> None:
        self.follow_selected()

    def on_data_table_row_highlighted(self, event: Any) -> None:
        if event.data_table.id == "beads":
            self.follow_selected()
