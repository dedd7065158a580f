"""The Engine facade: what the app (and a headless `gt engine`) calls.

Start/stop (engine.lifecycle), the reconcile loop and its wake-ups (engine.reconcile_loop),
the event stream for views (engine.event_stream), views and commands for the app. Ledger
writes run on one dedicated thread, the engine's single writer; git and tmux work (the
fleet's look, starting sessions) runs on a second, the adapters' thread, so a command
from the app never waits behind a `git worktree add`; the app's views read on their own
read-only aiosqlite connection (engine/ledger/reader.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any, TypeVar

from engine import lifecycle, reconcile_loop
from engine.event_stream import Batch, EventStream
from engine.lock import EngineLock
from engine.reconcile_loop import POLL_SECONDS, UNNOTIFIED_POLL_SECONDS

if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import ThreadPoolExecutor

    from engine.commands.sling import SlingRequest
    from engine.config import TownConfig
    from engine.host_membership import HostMembership
    from engine.ledger import Ledger
    from engine.ledger.reader import LedgerReader
    from engine.mayor.session import MayorStatus
    from engine.mayor.watch import MayorWatch
    from engine.polecats.dispatcher import Dispatcher, Started
    from engine.records import Convoy, MailMessage, MergeRequest
    from engine.refinery.pool import RefineryPool
    from engine.scheduler.reconciler import ReconcilePlan, ReconcileReport, Scheduler
    from engine.town import Town

log = logging.getLogger("gastown.engine")
T = TypeVar("T")

__all__ = ["POLL_SECONDS", "UNNOTIFIED_POLL_SECONDS", "Engine"]


class Engine:
    def __init__(
        self,
        town: Town,
        *,
        dispatcher: Dispatcher | None = None,
        config: TownConfig | None = None,
        clock: Callable[[], float] = time.time,
        poll_seconds: float = POLL_SECONDS,
        refinery: bool = True,
        host: str | None = None,
    ) -> None:
        self.town = town
        # one host of several sharing the ledger (engine/host_membership.py); None: alone
        self.host = host
        self.membership: HostMembership | None = None
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._dispatcher = dispatcher
        self._config = config
        self._lock = EngineLock(town.lock_path)
        self._with_refinery = refinery
        self.mode = "embedded"  # or "attached" to a headless engine holding the town
        self.holder_pid: int | None = None
        self._executor: ThreadPoolExecutor | None = None  # the ledger's thread
        self._adapters: ThreadPoolExecutor | None = None  # git and tmux
        self.reconciling = asyncio.Lock()  # held by a reconcile, and by stop
        self._reader: LedgerReader | None = None
        self._reader_opening = asyncio.Lock()
        self._wake = asyncio.Event()
        self._hint = asyncio.Event()  # the wake pipe: another writer committed
        self.stream = EventStream()
        self._data_version = -1
        self._unreachable = False  # the ledger's server did not answer the last look
        self.ledger: Ledger | None = None
        self.scheduler: Scheduler | None = None
        self.dispatcher: Dispatcher | None = None
        self.config: TownConfig | None = None
        self.refineries: RefineryPool | None = None
        self.reconciles = 0
        self.last_report: ReconcileReport | None = None
        self._mayor: MayorWatch | None = None  # made once a mayor was ever started

    # ---- lifecycle (engine.lifecycle) -----------------------------------------------------

    async def start(self, *, attach_if_running: bool = False) -> None:
        """Take the town's lock and run its engine; or, when `attach_if_running` and a
        headless engine already holds it, attach to that one (views and commands only)."""
        await lifecycle.start(self, attach_if_running=attach_if_running)

    async def stop(self) -> None:
        await lifecycle.stop(self)

    # ---- the loop (engine.reconcile_loop) ------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile until `stop` is set: on wake, on ledger change, and every tick."""
        await reconcile_loop.run(self, stop)

    def _ledger_changed(self) -> bool:
        assert self.ledger is not None
        version = self.ledger.data_version()
        changed = version != self._data_version
        self._data_version = version
        return changed

    # ---- work ----------------------------------------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the ledger thread (all ledger access is serialised there)."""
        assert self._executor is not None, "engine not started"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def on_adapters(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the adapters' thread (git and tmux): never the ledger's, so a
        command or a view waits for no `git worktree add`. `fn` must not touch the ledger."""
        assert self._adapters is not None, "engine not started"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._adapters, lambda: fn(*args, **kwargs))

    async def reconcile(self) -> ReconcileReport:
        """One reconcile, its steps on the thread each belongs to: the fleet's look (tmux),
        the plan (ledger), the launches (git, tmux), the record (ledger). One at a time:
        two overlapping reconciles could start the same hooked bead twice."""
        from engine.scheduler.reconciler import launch_all

        async with self.reconciling:
            assert self.scheduler is not None and self.dispatcher is not None
            alive = await self.on_adapters(self.dispatcher.alive)
            plan = await self.call(self._plan, alive)
            outcomes = []
            if plan.launches:
                outcomes = await self.on_adapters(launch_all, self.dispatcher, plan.launches)
            report = await self.call(self._record, plan, outcomes)
            await self.call(self._watch_mayor)
        self.reconciles += 1
        self.last_report = report
        return report

    def _plan(self, alive: set[str] | None) -> ReconcilePlan:
        assert self.scheduler is not None and self.dispatcher is not None
        return self.scheduler.plan(self.dispatcher, self.inbox_handlers(), alive=alive)

    def _record(
        self, plan: ReconcilePlan, outcomes: list[Started | BaseException]
    ) -> ReconcileReport:
        assert self.scheduler is not None and self.dispatcher is not None
        report = self.scheduler.record(self.dispatcher, plan, outcomes)
        if self.refineries is not None:
            assert self.ledger is not None
            self.refineries.sync(self.ledger.rigs.list())
            self.refineries.wake()
        # Our own commits do not move data_version for this connection; other writers do.
        assert self.ledger is not None
        self._data_version = self.ledger.data_version()
        return report

    def _watch_mayor(self) -> None:
        """The mayor's session (engine/mayor/watch.py): restarted when gone, handed its
        mail when idle. Nothing to do in a town that never started one (one stat)."""
        if self._mayor is None:
            from engine.mayor import session, watch

            if not os.path.exists(session.paths(self.town).state):
                return
            assert self.config is not None and self.ledger is not None
            self._mayor = watch.MayorWatch(self.town, self.config, self.ledger)
        try:
            self._mayor.tick()
        except Exception:  # the mayor is one agent: the town's reconcile goes on
            log.exception("watching the mayor failed; trying again next tick")

    def inbox_handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        assert self.dispatcher is not None
        dispatcher = self.dispatcher
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "stop_agent": lambda p: dispatcher.stop(p["agent_id"]),
        }
        handlers.update(dispatcher.inbox_handlers())
        return handlers

    def wake(self) -> None:
        self._wake.set()

    # ---- the event stream for views (engine.event_stream) --------------------------------

    def subscribe(self) -> asyncio.Queue[Batch]:
        """A queue receiving batches of new ledger events (whoever wrote them)."""
        return self.stream.subscribe()

    def unsubscribe(self, queue: asyncio.Queue[Batch]) -> None:
        self.stream.unsubscribe(queue)

    async def _publish(self) -> None:
        if not self.stream.subscribers:
            return
        assert self.ledger is not None
        # EventRows; the stream (engine/event_stream.py) still takes them as plain dicts
        events_after: Callable[[int], list[Any]] = self.ledger.state.events_after
        await self.stream.publish(lambda after: self.call(events_after, after))

    # ---- views for the app (on the reader: never behind the ledger thread) --------------

    async def views(self) -> LedgerReader:
        """The views' own read-only connection, opened on first use (a headless engine
        never needs one) and after the engine's own, which checked the schema."""
        async with self._reader_opening:
            if self._reader is None:
                from engine.ledger.reader import LedgerReader

                assert self._executor is not None, "engine not started"
                reader = LedgerReader(self.town.ledger_target, clock=self.clock)
                await reader.open()
                self._reader = reader
            return self._reader

    async def snapshot(self, **filters: Any) -> dict[str, Any]:
        from engine.views import town_snapshot as town

        assert self.config is not None, "engine not started"
        return await (await self.views()).read(town.snapshot, self.config, **filters)

    async def bead_detail(self, bead_id: str) -> dict[str, Any]:
        from engine.views import town_snapshot as town

        return await (await self.views()).read(town.bead_detail, self.town, bead_id)

    async def agent_detail(self, ident: str) -> dict[str, Any]:
        from engine.views import town_snapshot as town

        return await (await self.views()).read(town.agent_detail, self.town, ident)

    # ---- commands for the app (through the ledger thread, the one writer) ----------------

    async def sling(self, bead_id: str, *, actor: str = "mayor") -> dict[str, Any]:
        from engine.commands.sling import SlingRequest

        return await self._sling(SlingRequest(ids=(bead_id,)), actor)

    async def create_and_sling(
        self,
        title: str,
        *,
        rig: str | None,
        priority: int = 2,
        labels: list[str] | None = None,
        deps: list[str] | None = None,
        body: str = "",
        actor: str = "mayor",
    ) -> dict[str, Any]:
        from engine.commands.bead_actions import NewBead
        from engine.commands.sling import SlingRequest

        # created by the bead-create command inside the sling's transaction
        bead = NewBead(
            title,
            rig=rig,
            priority=priority,
            body=body,
            labels=tuple(labels or ()),
            deps=tuple((d, "blocks") for d in deps or ()),
        )
        return await self._sling(SlingRequest(new_bead=bead), actor)

    async def _sling(self, request: SlingRequest, actor: str) -> dict[str, Any]:
        """The app slings one bead at a time: its placement, as `gt sling --json` shows it."""
        from engine.commands.sling import sling

        assert self.ledger is not None and self.config is not None
        result = await self.call(
            sling, self.ledger, self.config, request, actor=actor, scheduler=self.scheduler
        )
        self.wake()
        return result.placements[0].as_dict()

    async def convoy_create(
        self,
        title: str,
        *,
        beads: list[str] | None = None,
        plan: str | None = None,
        staged: bool = False,
        actor: str = "mayor",
    ) -> Convoy:
        from engine.commands.convoy_actions import ConvoyCreate, create

        assert self.ledger is not None
        request = ConvoyCreate(title, beads=tuple(beads or ()), plan=plan, staged=staged)
        convoy = await self.call(create, self.ledger, request, actor=actor, config=self.config)
        self.wake()
        return convoy.as_dict()

    async def convoy_launch(self, convoy_id: str, actor: str = "mayor") -> Convoy:
        from engine.commands.convoy_actions import launch

        assert self.ledger is not None
        convoy = await self.call(launch, self.ledger, convoy_id, actor=actor)
        self.wake()
        return convoy.as_dict()

    async def convoy_cancel(self, convoy_id: str, actor: str = "mayor") -> Convoy:
        from engine.commands.convoy_actions import cancel

        assert self.ledger is not None
        convoy = await self.call(cancel, self.ledger, convoy_id, actor=actor)
        self.wake()
        return convoy.as_dict()

    async def mail_send(
        self,
        to: str,
        subject: str,
        body: str = "",
        reply_to: str | None = None,
        sender: str = "mayor",
    ) -> MailMessage:
        from engine.commands.messages import MailSend, send

        assert self.ledger is not None
        request = MailSend.of(to, subject, body, reply_to)
        return (await self.call(send, self.ledger, request, sender=sender)).as_dict()

    async def mail_read(self, mail_id: str, reader: str = "mayor") -> MailMessage:
        from engine.commands.messages import read

        assert self.ledger is not None
        return (await self.call(read, self.ledger, mail_id, reader=reader)).as_dict()

    async def mayor(self, action: str, text: str = "", actor: str = "mayor") -> MayorStatus:
        """The mayor's session (engine/mayor/control.py): "start", "stop", "status", or
        "tell" (type `text` into it). Its log: engine.mayor.session.paths(town).log."""
        from engine.mayor import control

        assert self.ledger is not None and self.config is not None
        args = (self.town, self.config, self.ledger, action)
        return await self.call(control.act, *args, text=text, actor=actor)

    async def nudge(self, agent: str, message: str, ttl: float = 300, actor: str = "mayor") -> None:
        from engine.commands.nudge import Nudge, nudge

        assert self.ledger is not None
        request = Nudge.of(agent, message, ttl)
        await self.call(nudge, self.ledger, request, actor=actor)
        self.wake()

    async def mq_retry(self, mr_id: str, actor: str = "mayor") -> MergeRequest:
        from engine.commands import merge_requests

        assert self.ledger is not None
        ledger = self.ledger

        def retry() -> MergeRequest:
            merge_requests.retry(ledger, mr_id, actor=actor)
            return ledger.mq.require(mr_id)

        return await self.call(retry)

    async def mq_reject(self, mr_id: str, reason: str, actor: str = "mayor") -> MergeRequest:
        from engine.commands import merge_requests

        assert self.ledger is not None and self.config is not None
        ledger, config = self.ledger, self.config

        def reject() -> MergeRequest:
            merge_requests.reject(ledger, config, mr_id, reason=reason, actor=actor)
            return ledger.mq.require(mr_id)

        return await self.call(reject)

    def attach(self, agent_id: str) -> int:
        """Run `tmux attach` on the agent's session in this terminal until the person
        detaches (blocking: the app calls it while suspended). Returns tmux's exit code."""
        from engine.adapters.tmux import Tmux, socket_name
        from engine.polecats.fleet import session_of_agent

        return Tmux(socket_name(self.town.root)).attach(session_of_agent(agent_id))

    def peek(self, agent_id: str, lines: int = 40) -> str:
        from engine.adapters.tmux import Tmux, socket_name
        from engine.polecats.fleet import session_of_agent

        tmux = Tmux(socket_name(self.town.root))
        session = session_of_agent(agent_id)
        return tmux.capture(session, lines) if tmux.has_session(session) else ""
