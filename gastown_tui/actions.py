"""The main screen's actions: what each registered key does (gastown_tui/action_registry.py).

Each asks for what it needs in a dialog, calls the engine, and reports the outcome as a
notification; a refusal from the engine is a notification too, never a crash.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.widgets import Input

from engine.errors import GtError
from engine.safetext import check_typed, visible
from gastown_tui.refresh import TownView
from gastown_tui.screens.detail import DetailScreen, agent_text, bead_text, rig_text
from gastown_tui.screens.dialogs import (
    ComposeDialog,
    ConfirmDialog,
    ConvoyDialog,
    MessageDialog,
    SlingDialog,
    TextDialog,
    reply_address,
)
from gastown_tui.screens.diff_screen import AgentDetailScreen
from gastown_tui.screens.search import SearchBar
from gastown_tui.theme import ansi
from gastown_tui.widgets.bead_table import FILTERS, SORTS, BeadTable
from gastown_tui.widgets.logs import LogPane
from gastown_tui.widgets.panels import MailTable, MergeQueueTable, ProblemsTable
from gastown_tui.widgets.rigs_tree import RigsTree, patrols_text


class TownActions(TownView):
    """The town view, steerable: one `action_<name>` per registered action."""

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
                    body=choice["body"],
                )
            )
        if result:
            self.report_sling(result)

    def report_sling(self, result: dict[str, Any]) -> None:
        self.query_one("#beads", BeadTable).reveal(result["id"])
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
        msg = await self.push_screen_wait(
            ComposeDialog(to, subject, reply_to, send=self.send_draft)
        )
        if msg:
            self.notify(f"to {msg['to']}", title="Mail sent")

    async def send_draft(self, draft: dict[str, Any]) -> Any:
        """Send from inside the compose dialog: a refusal (an unknown address) raises there,
        so the dialog stays open with every word typed, to be corrected."""
        result = await self.engine.mail_send(
            draft["to"], draft["subject"], draft["body"], reply_to=draft["reply_to"]
        )
        self.mark_dirty()
        return result

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
        self.mark_dirty()  # read now: the unread mark goes
        # MessageDialog offers a reply only where one can go (reply_address)
        if await self.push_screen_wait(MessageDialog(msg)) == "reply":
            subject = (
                msg["subject"] if msg["subject"].startswith("Re:") else f"Re: {msg['subject']}"
            )
            sent = await self.push_screen_wait(
                ComposeDialog(
                    reply_address(msg["from"]) or "", subject, msg["id"], send=self.send_draft
                )
            )
            if sent:
                self.notify(f"to {sent['to']}", title="Reply sent")

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
        await self.attach_with(lambda: self.engine.attach(agent["id"]), f"{agent['name']}'s")

    async def attach_with(self, attach: Callable[[], int], whose: str) -> None:
        """Hand the terminal to `tmux attach` (a polecat's pane, the mayor's) until the
        person detaches, then come back where the app was."""
        try:
            # `tmux attach` blocks until the person detaches: it runs in a thread so the
            # event loop (and the embedded engine on it) keeps the town running meanwhile;
            # nothing is drawn while the terminal belongs to tmux.
            with self.suspend(), self.batch_update():
                code = await asyncio.to_thread(attach)
        except GtError as exc:
            self.notify(exc.message, severity="error")
            return
        except Exception as exc:  # e.g. no terminal to hand over (tests, pipes)
            self.notify(f"cannot attach here: {exc}", severity="error")
            return
        self.refresh(layout=True)
        self.notify(f"back from {whose} pane" + (f" (tmux {code})" if code else ""))

    @work(exclusive=True, group="dialog")
    async def action_peek(self) -> None:
        agent = self.selected_agent()
        if not agent:
            return
        text = await asyncio.to_thread(self.engine.peek, agent["id"], 200)
        # a pane's news is at its bottom: the screen opens there (tail), as the pane shows it
        await self.push_screen_wait(
            DetailScreen(f"peek {agent['name']}", ansi(text or "(no live session)"), tail=True)
        )

    @work(exclusive=True, group="dialog")
    async def action_details(self) -> None:
        focused = self.focused
        try:
            if isinstance(focused, RigsTree) and focused.cursor_node and focused.cursor_node.data:
                data = focused.cursor_node.data
                if data["kind"] == "agent":
                    detail = await self.engine.agent_detail(data["id"])
                    await self.push_screen_wait(
                        AgentDetailScreen(data["name"], agent_text(detail), detail["id"])
                    )
                elif data["kind"] in ("deacon", "patrol"):
                    await self.push_screen_wait(
                        DetailScreen("deacon patrols", patrols_text(data["patrols"]))
                    )
                else:
                    await self.show_rig(data["rig"] if "rig" in data else data["name"])
                return
            if isinstance(focused, MailTable):
                key = focused.selected_key()
                if key:
                    await self.open_mail(key)
                return
            if isinstance(focused, ProblemsTable):
                key = focused.selected_key()
                if key:
                    await self.open_problem(key)
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

    async def open_problem(self, key: str) -> None:
        """A Problems row's own subject: the failed bead, the escalation, the stuck agent,
        the stranded convoy — not whatever the bead table has selected."""
        kind, _, ident = key.partition(":")
        if kind in ("failed", "escalation", "parked", "stranded"):
            await self.show_bead(ident)
        elif kind in ("stalled", "gupp", "zombie"):
            detail = await self.engine.agent_detail(ident)
            await self.push_screen_wait(AgentDetailScreen(ident, agent_text(detail), detail["id"]))
        else:  # a runtime pause, a budget, the breaker: the row says it all, shown whole
            problem = next(
                (
                    p
                    for p in (self.snap or {}).get("problems", [])
                    if f"{p['kind']}:{p['id']}" == key
                ),
                None,
            )
            if problem:
                await self.push_screen_wait(
                    DetailScreen(f"{kind} {ident}", Text(visible(problem["text"], multiline=True)))
                )

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

    def action_search(self) -> None:
        self.query_one("#search", SearchBar).open(self.search_text)

    async def action_clear_search(self) -> None:
        bar = self.query_one("#search", SearchBar)
        if not self.search_text and not bar.has_class("-shown"):
            return
        bar.close()
        self.query_one("#beads", BeadTable).focus()
        await self.set_search("")

    async def set_search(self, text: str) -> None:
        if text != self.search_text:
            self.search_text = text
            await self.request_refresh()

    async def on_input_changed(self, event: Input.Changed) -> None:
        # the table answers each key (refreshes are coalesced: never two at once)
        if event.input.id == "search":
            await self.set_search(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "search":
            self.query_one("#search", SearchBar).keep(self.search_text)
            self.query_one("#beads", BeadTable).focus()

    @work(exclusive=True, group="dialog")
    async def action_costs(self) -> None:
        from engine.commands.costs import CostsReport, costs
        from gastown_tui.screens.cost_screen import CostsScreen

        async def load(by: str) -> CostsReport:
            # the views' read-only connection: the engine's ledger thread is not held up
            views = await self.engine.views()
            return await views.read(costs, self.engine.config, by)

        await self.push_screen_wait(CostsScreen(load))

    def action_tile_logs(self) -> None:
        logs = self.query_one("#logs", LogPane)
        logs.set_tiles(self.working_logs())
        logs.toggle_tiled()
