"""The Gas Town app: the whole town on one keyboard-driven screen.

The app owns no state the ledger does not have: it asks the engine for snapshots (at most
ten screen updates a second, whatever the event rate) and sends it commands. Everything
slow (SQLite, git, tmux, log files) runs off the event loop.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.filter import LineFilter
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from engine.engine import Engine
from engine.errors import GtError
from engine.safetext import check_typed, visible
from engine.town import Town
from gastown_tui.commands import GasTownCommands
from gastown_tui.screens.detail import DetailScreen, agent_text, bead_text, rig_text
from gastown_tui.screens.dialogs import (
    ComposeDialog,
    ConfirmDialog,
    ConvoyDialog,
    HelpDialog,
    MessageDialog,
    SlingDialog,
    TextDialog,
)
from gastown_tui.theme import InertText, ansi
from gastown_tui.widgets.beads import FILTERS, SORTS, BeadTable
from gastown_tui.widgets.dag import DagView
from gastown_tui.widgets.logs import LogPane
from gastown_tui.widgets.panels import MailTable, MergeQueueTable, ProblemsTable
from gastown_tui.widgets.rigs import RigsTree
from styles import APP_TCSS

STYLES = str(APP_TCSS)
MAX_REFRESH_HZ = 10
NOTIFY = {
    "convoy_landed": ("Convoy landed", "information"),
    "mq_failed": ("Merge failed", "error"),
    "breaker_tripped": ("Circuit breaker tripped: dispatch paused", "error"),
    "failed": ("Bead failed", "warning"),
}


class GasTownApp(App[None]):
    CSS_PATH = STYLES
    TITLE = "Gas Town"
    COMMANDS: ClassVar = App.COMMANDS | {GasTownCommands}
    BINDINGS: ClassVar = [
        Binding("s", "sling", "Sling", id="sling"),
        Binding("c", "convoy", "Convoy", id="convoy"),
        Binding("L", "launch_convoy", "Launch", id="launch_convoy", show=False),
        Binding("X", "cancel_convoy", "Cancel convoy", id="cancel_convoy", show=False),
        Binding("m", "compose", "Mail", id="compose"),
        Binding("r", "reply", "Reply", id="reply", show=False),
        Binding("n", "nudge", "Nudge", id="nudge"),
        Binding("a", "attach", "Attach", id="attach"),
        Binding("p", "peek", "Peek", id="peek", show=False),
        Binding("enter", "details", "Details", id="details", show=False),
        Binding("t", "retry_mr", "Retry MR", id="retry_mr", show=False),
        Binding("j", "reject_mr", "Reject MR", id="reject_mr", show=False),
        Binding("f", "cycle_filter", "Filter", id="cycle_filter"),
        Binding("o", "cycle_sort", "Sort", id="cycle_sort", show=False),
        Binding("/", "search", "Search", id="search"),
        Binding("v", "tile_logs", "Tile logs", id="tile_logs", show=False),
        Binding("]", "next_convoy", "Next convoy", id="next_convoy", show=False),
        Binding("[", "prev_convoy", "Prev convoy", id="prev_convoy", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        town: Town,
        *,
        engine: Engine | None = None,
        attach_if_running: bool = True,
        calm_gc: bool = False,
    ) -> None:
        super().__init__()
        self.town = town
        self.calm_gc = calm_gc
        self.engine = engine or Engine(town)
        self.attach_if_running = attach_if_running
        self.bead_filter = "all"
        self.search_text = ""
        self.convoy_id: str | None = None
        self.snap: dict[str, Any] | None = None
        self._dirty = True
        self._refreshing = False
        self._stop = asyncio.Event()
        self._engine_task: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[list[dict[str, Any]]] | None = None
        self.refreshes = 0
        self.keymap: dict[str, str] = {}  # binding id -> keys, from town.toml [keys]
        self._filter_bar_shown: str | None = None
        self._refresh_started = 0.0
        self._busy_shown = False

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="main"):
            yield RigsTree(id="rigs")
            with Vertical(id="center"):
                yield DagView(id="dag")
                yield Static(id="filter-bar")
                yield BeadTable(id="beads")
            yield LogPane(id="logs")
        with TabbedContent(id="bottom"):
            with TabPane("Mail", id="tab-mail"):
                yield MailTable(id="mail")
            with TabPane("Merge queue", id="tab-mq"):
                yield MergeQueueTable(id="mq")
            with TabPane("Problems", id="tab-problems"):
                yield ProblemsTable(id="problems")
        yield Footer()

    async def on_mount(self) -> None:
        try:
            await self.engine.start(attach_if_running=self.attach_if_running)
        except GtError as exc:
            self.exit(message=f"gastown: error: {exc.message}")
            return
        if self.engine.mode == "embedded":
            self._engine_task = asyncio.create_task(self.engine.run(self._stop))
            self.sub_title = f"{self.town.root} · engine: embedded"
        else:
            self.sub_title = (
                f"{self.town.root} · attached to the engine (pid {self.engine.holder_pid})"
            )
        self._queue = self.engine.subscribe()
        self.apply_keymap()
        self.query_one("#beads", BeadTable).focus()
        self.set_interval(1 / MAX_REFRESH_HZ, self.drain)
        self.set_interval(2.0, self.mark_dirty)
        self.set_interval(2.0, self.sweep_watchers)
        self.set_interval(0.25, self.show_busy)
        self.on_resize()
        await self.refresh_town()
        if self.calm_gc:
            self.call_after_refresh(calm_gc)

    def apply_keymap(self) -> None:
        """Keys are remappable from town.toml: [keys] sling = "S", quit = "ctrl+q" ..."""
        keys = (self.engine.config.model_extra or {}).get("keys") if self.engine.config else None
        if isinstance(keys, dict) and keys:
            self.keymap = {str(k): str(v) for k, v in keys.items()}
            self.set_keymap(self.keymap)

    def on_resize(self, event: Any = None) -> None:
        # The event's size: this handler runs before App's own, which updates self.size.
        size = event.size if event is not None else self.size
        narrow = size.width < 110
        short = size.height < 30
        self.screen.set_class(narrow, "narrow")
        self.screen.set_class(short, "short")

    async def on_unmount(self) -> None:
        self._stop.set()
        if self._engine_task is not None:
            await self._engine_task
        if self.engine._executor is not None:
            await self.engine.stop()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications quote the ledger (titles, reasons, errors): literal, not markup, and
        control characters shown (an escalation's title is an agent's text)."""
        super().notify(
            visible(message),
            title=visible(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    _inert = InertText()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Every line drawn passes InertText: no widget can send a raw escape sequence."""
        return [*super().get_line_filters(), self._inert]

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

    def notify_event(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind == "created" and event["data"].get("type") == "escalation":
            self.notify(
                event["data"].get("title", ""), title="Escalation raised", severity="warning"
            )
            return
        if kind in NOTIFY:
            title, severity = NOTIFY[kind]
            detail = event["bead_id"] or ""
            if kind == "mq_failed":
                detail = f"{event['bead_id']}: {event['data'].get('reason', '')[:120]}"
            self.notify(detail, title=title, severity=severity)  # type: ignore[arg-type]

    def show_busy(self) -> None:
        """A slow engine call (a hung git, a busy tmux) shows as progress, never a freeze."""
        if not self.is_running:  # quitting: the screens are being taken down under us
            return
        started = self._refresh_started
        bar = self.query_one("#filter-bar", Static)
        if self._refreshing and started and time.monotonic() - started > 0.5:
            waited = time.monotonic() - started
            bar.update(f"⧗ waiting for the engine ({waited:.0f}s: git or tmux busy)…")
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
        queued = sum(1 for m in snap["mq"] if m["state"] in ("queued", "testing", "landing"))
        self.set_tab_label("tab-mail", f"Mail ({snap['mail']['unread']} unread)")
        self.set_tab_label("tab-problems", f"Problems ({len(snap['problems'])})")
        self.set_tab_label("tab-mq", f"Merge queue ({queued})")
        self.follow_selected()
        logs = self.query_one("#logs", LogPane)
        if logs.tiled:
            logs.set_tiles(self.working_logs())

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
        from engine.views.town import current_log

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

    # ---- actions -------------------------------------------------------------------------

    async def run_engine(self, coro: Any, ok: str | None = None) -> Any:
        """Await an engine command; a refusal is a notification, never a crash."""
        try:
            result = await coro
        except GtError as exc:
            self.notify(exc.message, severity="error")
            return None
        if ok:
            self.notify(ok)
        self.mark_dirty()
        return result

    @work(exclusive=True, group="dialog")
    async def action_sling(self) -> None:
        rigs = [r["name"] for r in (self.snap or {}).get("rigs", [])]
        ready = [
            b
            for b in (self.snap or {}).get("beads", [])
            if b["status"] == "open" and not b["blocked"] and not b["slung"]
        ]
        choice = await self.push_screen_wait(SlingDialog(rigs, ready))
        if not choice:
            return
        if "bead" in choice:
            result = await self.run_engine(self.engine.sling(choice["bead"]))
        else:
            result = await self.run_engine(
                self.engine.create_and_sling(
                    choice["title"],
                    rig=choice["rig"],
                    priority=choice["priority"],
                    labels=choice["labels"],
                    deps=choice["deps"],
                )
            )
        if result:
            self.report_sling(result)

    def report_sling(self, result: dict[str, Any]) -> None:
        if result.get("agent"):
            self.notify(
                f"{result['id']} in rig {result['rig']}", title=f"{result['agent']} is on it!"
            )
        else:
            self.notify(result.get("reason") or "", title=f"{result['id']} is queued")

    @work(exclusive=True, group="dialog")
    async def action_convoy(self) -> None:
        bead = self.query_one("#beads", BeadTable).selected_bead()
        choice = await self.push_screen_wait(ConvoyDialog([bead] if bead else []))
        if choice:
            convoy = await self.run_engine(
                self.engine.convoy_create(
                    choice["title"],
                    beads=choice["beads"],
                    plan=choice["plan"],
                    staged=choice["staged"],
                )
            )
            if convoy:
                self.convoy_id = convoy["id"]
                self.notify(
                    f"{len(convoy['beads'])} beads"
                    + (", staged (L launches it)" if choice["staged"] else ""),
                    title=f"Convoy {convoy['id']} created",
                )

    async def action_launch_convoy(self) -> None:
        if self.convoy_id:
            await self.run_engine(
                self.engine.convoy_launch(self.convoy_id), ok=f"Launched {self.convoy_id}"
            )

    @work(exclusive=True, group="dialog")
    async def action_cancel_convoy(self) -> None:
        if not self.convoy_id:
            return
        if await self.push_screen_wait(
            ConfirmDialog(f"Cancel convoy {self.convoy_id} and its beads that have not landed?")
        ):
            await self.run_engine(
                self.engine.convoy_cancel(self.convoy_id), ok=f"Cancelled {self.convoy_id}"
            )

    def cycle_convoy(self, step: int) -> None:
        convoys = [c["id"] for c in (self.snap or {}).get("convoys", [])]
        if not convoys:
            return
        i = convoys.index(self.convoy_id) if self.convoy_id in convoys else 0
        self.convoy_id = convoys[(i + step) % len(convoys)]
        self.mark_dirty()

    def action_next_convoy(self) -> None:
        self.cycle_convoy(1)

    def action_prev_convoy(self) -> None:
        self.cycle_convoy(-1)

    @work(exclusive=True, group="dialog")
    async def action_compose(
        self, to: str = "", subject: str = "", reply_to: str | None = None
    ) -> None:
        draft = await self.push_screen_wait(ComposeDialog(to, subject, reply_to))
        if draft:
            msg = await self.run_engine(
                self.engine.mail_send(
                    draft["to"], draft["subject"], draft["body"], reply_to=draft["reply_to"]
                )
            )
            if msg:
                self.notify(f"to {msg['to']}", title="Mail sent")

    @work(exclusive=True, group="dialog")
    async def action_reply(self) -> None:
        mail_id = self.query_one("#mail", MailTable).selected_key()
        if not mail_id:
            self.notify("Select a message in the Mail tab first.", severity="warning")
            return
        await self.open_mail(mail_id)

    async def open_mail(self, mail_id: str) -> None:
        msg = await self.run_engine(self.engine.mail_read(mail_id))
        if not msg:
            return
        if await self.push_screen_wait(MessageDialog(msg)) == "reply":
            subject = (
                msg["subject"] if msg["subject"].startswith("Re:") else f"Re: {msg['subject']}"
            )
            draft = await self.push_screen_wait(
                ComposeDialog(msg["from"] or "", subject, msg["id"])
            )
            if draft:
                await self.run_engine(
                    self.engine.mail_send(
                        draft["to"], draft["subject"], draft["body"], reply_to=draft["reply_to"]
                    ),
                    ok="Reply sent",
                )

    @work(exclusive=True, group="dialog")
    async def action_nudge(self) -> None:
        agent = self.selected_agent()
        if not agent:
            self.notify("Select a polecat (in Rigs) to nudge.", severity="warning")
            return
        text = await self.push_screen_wait(
            TextDialog(
                f"Nudge {agent['name']}",
                "a short message, typed into its pane",
                "Nudge",
                check=lambda text: check_typed(text, "a nudge"),
            )
        )
        if text and text.strip():
            await self.run_engine(
                self.engine.nudge(agent["id"], text.strip()), ok=f"Nudge queued for {agent['name']}"
            )

    async def action_attach(self) -> None:
        agent = self.selected_agent()
        if not agent:
            self.notify("Select a polecat (in Rigs) to attach to.", severity="warning")
            return
        try:
            # `tmux attach` blocks until the person detaches: it runs in a thread so the
            # event loop (and the embedded engine on it) keeps the town running meanwhile;
            # nothing is drawn while the terminal belongs to tmux.
            with self.suspend(), self.batch_update():
                code = await asyncio.to_thread(self.engine.attach, agent["id"])
        except GtError as exc:
            self.notify(exc.message, severity="error")
            return
        except Exception as exc:  # e.g. no terminal to hand over (tests, pipes)
            self.notify(f"cannot attach here: {exc}", severity="error")
            return
        self.refresh(layout=True)
        self.notify(f"back from {agent['name']}'s pane" + (f" (tmux {code})" if code else ""))

    @work(exclusive=True, group="dialog")
    async def action_peek(self) -> None:
        agent = self.selected_agent()
        if not agent:
            return
        text = await asyncio.to_thread(self.engine.peek, agent["id"], 30)
        await self.push_screen_wait(
            DetailScreen(f"peek {agent['name']}", ansi(text or "(no live session)"))
        )

    @work(exclusive=True, group="dialog")
    async def action_details(self) -> None:
        focused = self.focused
        try:
            if isinstance(focused, RigsTree) and focused.cursor_node and focused.cursor_node.data:
                data = focused.cursor_node.data
                if data["kind"] == "agent":
                    detail = await self.engine.agent_detail(data["id"])
                    await self.push_screen_wait(DetailScreen(data["name"], agent_text(detail)))
                else:
                    await self.show_rig(data["rig"] if "rig" in data else data["name"])
                return
            if isinstance(focused, MailTable):
                key = focused.selected_key()
                if key:
                    await self.open_mail(key)
                return
            if isinstance(focused, MergeQueueTable):
                key = focused.selected_key()
                mr = next((m for m in (self.snap or {}).get("mq", []) if m["id"] == key), None)
                if mr:
                    await self.show_bead(mr["source_bead"])
                return
            bead_id = self.query_one("#beads", BeadTable).selected_bead()
            if bead_id:
                await self.show_bead(bead_id)
        except GtError as exc:
            self.notify(exc.message, severity="error")

    async def show_bead(self, bead_id: str) -> None:
        detail = await self.engine.bead_detail(bead_id)
        await self.push_screen_wait(DetailScreen(bead_id, bead_text(detail)))

    async def show_rig(self, name: str) -> None:
        snap = self.snap or {}
        rig = next((r for r in snap.get("rigs", []) if r["name"] == name), None)
        if rig is None:
            return
        beads = [b for b in snap.get("beads", []) if b["rig"] == name]
        mq = [m for m in snap.get("mq", []) if m["rig"] == name]
        cfg = self.engine.config
        gates = list(cfg.rig(name).gates.values()) if cfg else []
        await self.push_screen_wait(DetailScreen(f"rig {name}", rig_text(rig, beads, mq, gates)))

    async def action_retry_mr(self) -> None:
        key = self.query_one("#mq", MergeQueueTable).selected_key()
        if key:
            await self.run_engine(self.engine.mq_retry(key), ok=f"{key} queued again")

    @work(exclusive=True, group="dialog")
    async def action_reject_mr(self) -> None:
        key = self.query_one("#mq", MergeQueueTable).selected_key()
        if not key:
            self.notify("Select a merge request in the Merge queue tab.", severity="warning")
            return
        reason = await self.push_screen_wait(TextDialog(f"Reject {key}", "why", "Reject"))
        if reason and reason.strip():
            await self.run_engine(self.engine.mq_reject(key, reason.strip()), ok=f"Rejected {key}")

    async def action_cycle_filter(self) -> None:
        self.bead_filter = FILTERS[(FILTERS.index(self.bead_filter) + 1) % len(FILTERS)]
        await self.request_refresh()

    async def action_cycle_sort(self) -> None:
        table = self.query_one("#beads", BeadTable)
        table.sort_by = SORTS[(SORTS.index(table.sort_by) + 1) % len(SORTS)]
        table.apply_sort()
        await self.request_refresh()

    @work(exclusive=True, group="dialog")
    async def action_search(self) -> None:
        text = await self.push_screen_wait(
            TextDialog("Search beads", "text in id or title", "Search", self.search_text)
        )
        if text is not None:
            self.search_text = text.strip()
            await self.request_refresh()

    def action_tile_logs(self) -> None:
        logs = self.query_one("#logs", LogPane)
        logs.set_tiles(self.working_logs())
        logs.toggle_tiled()

    @work(exclusive=True, group="dialog")
    async def action_help(self) -> None:
        rows = [
            (
                self.get_key_display(replace(b, key=self.keymap.get(b.id or "", b.key))),
                b.description,
                b.id or b.action,
            )
            for b in self.BINDINGS
            if isinstance(b, Binding)
        ]
        await self.push_screen_wait(HelpDialog(rows))

    async def action_quit(self) -> None:
        # Nothing is lost by quitting: the ledger has everything, and polecats keep working
        # in tmux until the engine comes back and adopts them. Only a dialog's draft asks.
        self.exit()


def calm_gc() -> None:
    """Keep the cyclic garbage collector's pauses off the keyboard (bench/bench_tui.py).

    A full collection walks every tracked object; a Textual screen holds well over 100,000
    (strips, styles, caches), so each one took 50-100 ms, several times a minute, and landed
    on keypresses. Once the screen is built, what exists now (modules, widgets, styles)
    leaves the collector's view for good, and young collections run less often, so few
    objects reach the oldest generation and full passes are rare and shorter. Cycles still
    get collected. A process-wide setting: the `gastown` command turns it on, tests do not.
    """
    gc.freeze()
    gc.set_threshold(5_000, 10, 10)


def run_app(town: Town) -> int:
    app = GasTownApp(town, calm_gc=True)
    app.run()
    if isinstance(app.return_value, str):
        print(app.return_value)
    return 0
