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
    CheckpointNoted,
    ConvoyLanded,
    EscalationFiled,
    EscalationRaised,
    Event,
    HeartbeatNoted,
    MergeRequestFailed,
    RuntimePaused,
)
from engine.timeutil import relative
from engine.town import Town
from gastown_tui.widgets.bead_table import FILTERS, BeadTable
from gastown_tui.widgets.dag_view import DagView
from gastown_tui.widgets.logs import LogPane
from gastown_tui.widgets.panels import MailTable, MergeQueueTable, ProblemsTable
from gastown_tui.widgets.rigs_tree import RigsTree
from gastown_tui.widgets.town_header import TownHeader

MAX_REFRESH_HZ = 10
# Events that change nothing a snapshot shows: a working polecat's signs of life. Fifty
# polecats send them all the time, and refreshing the whole screen for each batch was most
# of what watching a busy town cost (bench/bench_tui.py, "loaded, at rest": 10 snapshots a
# second, every one the same). Whatever they do change (a stalled agent coming back) has
# its own event; the 2 s safety refresh catches the rest.
QUIET_EVENTS = (CheckpointNoted, HeartbeatNoted)


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
        self._beads_title = ""  # the bead table's border title as last set

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
                    if not isinstance(event, QUIET_EVENTS):
                        self.notify_event(event)
                        self._dirty = True
        if self._dirty and not self._refreshing:
            await self.request_refresh()

    def notify_event(self, event: Event) -> None:
        """The events a person is told about as they happen; the rest only refresh."""
        if isinstance(event, EscalationFiled | EscalationRaised) and event.bell:
            self.bell()  # once per new critical escalation (its route's bell); the header
            # shows its banner from the snapshot until someone acknowledges it
        match event:
            case EscalationRaised():
                detail = f"{event.bead_id}: {event.from_} -> {event.severity}, unacknowledged"
                self.notify(detail, title="Escalation raised a level", severity="error")
            case BeadCreated(type="escalation"):
                self.notify(event.title or "", title="Escalation raised", severity="warning")
            case MergeRequestFailed():
                detail = f"{event.bead_id}: {(event.reason or '')[:120]}"
                self.notify(detail, title="Merge failed", severity="error")
            case ConvoyLanded():
                self.notify_bead(event, "Convoy landed", "information")
            case BreakerTripped():
                # it has no bead: say how many faults and when dispatch tries again
                retry = f"; dispatch retries {relative(event.until)}" if event.until else ""
                self.notify(
                    f"{event.failures or 'several'} failures{retry}; B resets it now",
                    title="Circuit breaker tripped: dispatch paused",
                    severity="error",
                )
            case BeadFailed():
                self.notify_bead(event, "Bead failed", "warning")
            case RuntimePaused():
                back = f"back {relative(event.until)}" if event.until else "until resumed"
                detail = f"{event.runtime} takes no work for now ({back})"
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
        self.query_one("#rigs", RigsTree).update_rigs(snap["rigs"], snap.get("patrols"))
        self.query_one("#dag", DagView).update_convoy(snap["convoy"])
        table = self.query_one("#beads", BeadTable)
        table.update_beads(snap["beads"])
        title = f"Beads · {flt} · sorted by {table.sort_by}" + (
            f" · search {search!r}" if search else ""
        )
        # setting a border title repaints the widget even when the text is the same
        if title != self._beads_title:
            self._beads_title = title
            # Text, not str: a str title is read as markup, and the search may hold "[/]"
            table.border_title = Text(title)
        if (flt, search) != (self.bead_filter, self.search_text):
            self._dirty = True  # the rows shown are the previous filter's: refresh again
        bar = self.filter_bar()
        if bar != self._filter_bar_shown:  # an update lays the screen out again: only on change
            self._filter_bar_shown = bar
            self.query_one("#filter-bar", Static).update(bar)
        self.query_one("#mail", MailTable).show_mail(snap["mail"])
        self.query_one("#mq", MergeQueueTable).show_queue(snap["mq"])
        problems = self.query_one("#problems", ProblemsTable)
        problems.show_problems(snap["problems"])
        self.query_one("#town-header", TownHeader).show_needs(snap["needs"])
        self.show_pauses(snap["problems"])
        queued = sum(1 for m in snap["mq"] if m["state"] in ("queued", "testing", "landing"))
        self.set_tab_label("tab-mail", f"Mail ({snap['mail']['unread']} unread)")
        self.set_tab_label("tab-problems", problems.label())
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
            # the hint only where it fits whole (75 columns in all); else the filters alone
            # (the keys are in the footer and Help), not a hint cut to "/:"
            " ".join(f"[reverse] {f} [/]" if f == self.bead_filter else f" {f} " for f in FILTERS)
            + (
                "  f filter · o sort · / search"
                if self.query_one("#filter-bar").content_size.width >= 75
                else ""
            )
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
        logs = self.query_one("#logs", LogPane)
        last = self.finished_session()
        if last is not None:
            logs.follow(f"{last.agent} on {last.bead}", last.path, ended=True)
            return
        agent = self.selected_agent()
        if agent is None:
            logs.follow(None, None)  # the log shown stays, marked ended
            return
        logs.follow(agent["name"], self.log_for(agent["rig"], agent), ended=not agent["hook"])

    def finished_session(self) -> Any:
        """The last session of the selected bead once no polecat works on it any more (its
        work landed, failed, or went back): that log, not another polecat's, is what a
        person selecting the bead wants to read."""
        from engine.polecats import seance

        tree = self.query_one("#rigs", RigsTree)
        if tree.has_focus and tree.selected_agent():
            return None
        bead_id = self.query_one("#beads", BeadTable).selected_bead()
        if not bead_id or not self.snap:
            return None
        if any(p["hook"] == bead_id for r in self.snap["rigs"] for p in r["polecats"]):
            return None
        logs = seance.find_logs(self.town.logs_dir, bead=bead_id)
        return logs[-1] if logs else None

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
