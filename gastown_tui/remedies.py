"""What a person does about what the header and Problems show, and the diff view.

Retry or cancel a failed bead, reset the dispatch circuit breaker, resume a paused
runtime: each runs the engine's own command (engine/commands/) on the ledger thread, the
engine's one writer, and asks first where it destroys something. `d` opens the diff of
the selected polecat's work or merge request (gastown_tui/screens/diff_screen.py).
Registered, with their keys, in gastown_tui/action_registry.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual import work

from engine.views import diffs
from gastown_tui.actions import TownActions
from gastown_tui.screens.dialogs import ConfirmDialog
from gastown_tui.screens.diff_screen import DiffScreen
from gastown_tui.widgets.bead_table import BeadTable
from gastown_tui.widgets.panels import MergeQueueTable, ProblemsTable

RETRYABLE = ("failed", "cancelled")


class Remedies(TownActions):
    """The town view's actions, with the remedies and the diff view."""

    async def command(self, fn: Callable[..., Any], *args: Any, ok: str, **kwargs: Any) -> Any:
        """Run an engine command on the ledger thread; a refusal is a notification."""
        ledger = self.engine.ledger
        assert ledger is not None, "engine not started"
        result = await self.run_engine(self.engine.call(fn, ledger, *args, **kwargs), ok=ok)
        self.engine.wake()  # dispatch acts on it at once, not at the next poll
        return result

    def problem_key(self, kinds: tuple[str, ...]) -> str | None:
        """The id of the Problems row under the cursor, when Problems has focus and the
        row is one of KINDS."""
        table = self.query_one("#problems", ProblemsTable)
        key = table.selected_key() if table.has_focus else None
        kind, _, ident = (key or "").partition(":")
        return ident if kind in kinds else None

    def chosen_bead(self) -> str | None:
        """The failed bead of the Problems row under the cursor, else the bead table's."""
        return (
            self.problem_key(("failed", "parked", "escalation"))
            or self.query_one("#beads", BeadTable).selected_bead()
        )

    def bead_row(self, bead_id: str) -> dict[str, Any] | None:
        return next((b for b in (self.snap or {}).get("beads", []) if b["id"] == bead_id), None)

    def problems_of(self, kind: str) -> list[str]:
        return [p["id"] for p in (self.snap or {}).get("problems", []) if p["kind"] == kind]

    async def action_retry_bead(self) -> None:
        from engine.commands.bead_actions import reopen

        bead_id = self.chosen_bead()
        if not bead_id:
            self.notify("Select a failed bead (Problems or the bead table).", severity="warning")
            return
        row = self.bead_row(bead_id)
        if row is not None and row["status"] not in RETRYABLE:
            self.notify(
                f"{bead_id} is {row['status']}: only a failed or cancelled bead is retried",
                severity="warning",
            )
            return
        # back to the backlog (the ledger's reopen), then to work as a new attempt
        if await self.command(reopen, bead_id, actor="mayor", ok=f"{bead_id} reopened"):
            result = await self.run_engine(self.engine.sling(bead_id))
            if result:
                self.report_sling(result)

    @work(exclusive=True, group="dialog")
    async def action_cancel_bead(self) -> None:
        from engine.commands.bead_actions import cancel

        bead_id = self.chosen_bead()
        if not bead_id:
            self.notify("Select a bead to cancel (Problems or the bead table).", severity="warning")
            return
        row = self.bead_row(bead_id)
        title = f" “{row['title']}”" if row else ""
        if await self.push_screen_wait(
            ConfirmDialog(f"Cancel bead {bead_id}{title}? It will not be worked (R retries it).")
        ):
            await self.command(
                cancel,
                bead_id,
                actor="mayor",
                reason="cancelled in the app",
                ok=f"Cancelled {bead_id}",
            )

    async def action_reset_breaker(self) -> None:
        from engine.commands.town_actions import reset_breaker

        if not self.problems_of("breaker"):
            self.notify("The circuit breaker is closed: dispatch is running.")
            return
        await self.command(
            reset_breaker, self.engine.config, actor="mayor", ok="Breaker reset: dispatch resumes"
        )

    async def action_resume_runtime(self) -> None:
        from engine.commands.pause_actions import resume_runtime

        paused = self.problems_of("paused")
        runtime = self.problem_key(("paused",)) or (paused[0] if len(paused) == 1 else None)
        if not paused:
            self.notify("No runtime is paused.")
            return
        if runtime is None:
            self.notify(
                f"Select the runtime in the Problems tab (paused: {', '.join(paused)})",
                severity="warning",
            )
            return
        await self.command(resume_runtime, runtime, actor="mayor", ok=f"Runtime {runtime} resumed")

    async def action_ack_escalation(self) -> None:
        await self.on_escalation("ack")

    async def action_close_escalation(self) -> None:
        await self.on_escalation("close")

    async def on_escalation(self, verb: str) -> None:
        """Acknowledge or close the escalation under the cursor in Problems."""
        from engine.commands.escalation_actions import acknowledge, close

        esc = self.problem_key(("escalation",))
        if not esc:
            self.notify("Select an escalation in the Problems tab.", severity="warning")
            return
        if verb == "ack":
            await self.command(acknowledge, esc, actor="mayor", ok=f"Acknowledged {esc}")
        else:
            await self.command(
                close, esc, actor="mayor", reason="closed in the app", ok=f"Closed {esc}"
            )

    # ---- the diff view ----------------------------------------------------------------

    def action_diff(self) -> None:
        mq = self.query_one("#mq", MergeQueueTable)
        if mq.has_focus:
            key = mq.selected_key()
            if key:
                self.open_diff("mr", key)
            return
        agent = self.selected_agent()
        if not agent:
            self.notify(
                "Select a polecat (in Rigs) or a merge request to see its diff.",
                severity="warning",
            )
            return
        self.open_diff("agent", agent["id"])

    @work(exclusive=True, group="diff")
    async def open_diff(self, kind: str, ident: str) -> None:
        """The diff of an agent's work or a merge request, over whatever screen is shown
        (the main screen, or the agent's detail screen)."""
        views = await self.engine.views()
        source_of = diffs.source_of_agent if kind == "agent" else diffs.source_of_mr
        source = await self.run_engine(views.read(source_of, ident))
        if source is None:
            return
        # git runs in a thread: a large repository never holds up the screen
        summary = await self.run_engine(asyncio.to_thread(diffs.summarize, source))
        if summary is None:
            return

        async def load(file: diffs.FileStat) -> diffs.FilePatch:
            return await asyncio.to_thread(diffs.patch, summary["target"], file)

        await self.push_screen_wait(DiffScreen(summary, load))
