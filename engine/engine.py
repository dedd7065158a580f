"""The Engine facade: start/stop, the reconcile loop, commands, and an event stream for views.

The loop is level-triggered and event-woken: it reconciles when anything in the ledger
changed (another process committed: `PRAGMA data_version` moves), when something in-process
asks (`wake()`), and on a safety tick. Writers notify the engine after each commit through
a pipe in the town's state dir (engine/ledger/wake.py), so at rest the loop sleeps and
checks `data_version` only slowly, for writers that do not notify. Ledger writes and the
reconcile (with its git and tmux calls) run on one dedicated thread, the engine's single
writer; the app's views read on their own read-only aiosqlite connection
(engine/ledger/reader.py), so a refresh never waits behind a `git worktree add`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from engine.lock import EngineLock

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.commands.sling import SlingRequest
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.ledger.reader import LedgerReader
    from engine.ledger.wake import WakeListener
    from engine.polecats.dispatcher import Dispatcher
    from engine.refinery.pool import RefineryPool
    from engine.scheduler.reconciler import ReconcileReport, Scheduler
    from engine.town import Town

log = logging.getLogger("gastown.engine")
T = TypeVar("T")

# With the wake pipe open, polling `data_version` is only the safety net for writers that
# do not notify (an older gt, the sqlite3 shell): slow, so an idle engine costs ~nothing.
POLL_SECONDS = 0.25
# Without it (attached to a headless engine, or no FIFO on this filesystem) the poll is the
# wake latency: one PRAGMA every 10 ms, ~3 % of a core.
UNNOTIFIED_POLL_SECONDS = 0.01


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
    ) -> None:
        self.town = town
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._dispatcher = dispatcher
        self._config = config
        self._lock = EngineLock(town.lock_path)
        self._with_refinery = refinery
        self.mode = "embedded"  # or "attached" to a headless engine holding the town
        self.holder_pid: int | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._reader: LedgerReader | None = None
        self._reader_opening = asyncio.Lock()
        self._wake = asyncio.Event()
        self._hint = asyncio.Event()  # the wake pipe: another writer committed
        self._subscribers: list[asyncio.Queue[list[dict[str, Any]]]] = []
        self._last_event = 0
        self._data_version = -1
        self.ledger: Ledger | None = None
        self.scheduler: Scheduler | None = None
        self.dispatcher: Dispatcher | None = None
        self.config: TownConfig | None = None
        self.refineries: RefineryPool | None = None
        self.reconciles = 0
        self.last_report: ReconcileReport | None = None

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self, *, attach_if_running: bool = False) -> None:
        """Take the town's lock and run its engine; or, when `attach_if_running` and a
        headless engine already holds it, attach to that one (views and commands only)."""
        import os

        from engine.errors import GtError
        from engine.lock import holder_pid

        if not os.path.isfile(self.town.config_path):
            raise GtError(f"no town at {self.town.root} (no town.toml); nothing was started")
        try:
            self._lock.acquire()
        except GtError:
            if not attach_if_running:
                raise
            self.mode = "attached"
            self.holder_pid = holder_pid(self.town.lock_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        try:
            await self.call(self._open)
        except BaseException:
            if self.mode == "embedded":
                self._lock.release()
            raise
        log.info(
            "engine %s for %s", "started" if self.mode == "embedded" else "attached", self.town.root
        )

    def _open(self) -> None:
        from engine.ledger import Ledger
        from engine.polecats.registry import make_dispatcher
        from engine.scheduler.reconciler import Scheduler

        self.config = self._config or self.town.config()
        self.ledger = Ledger(self.town.ledger_path, clock=self.clock)
        self.dispatcher = self._dispatcher or make_dispatcher(self.town, self.config, self.ledger)
        self.scheduler = Scheduler(self.ledger, self.config)
        self._last_event = self.ledger.state.last_event_id()
        self._data_version = self.ledger.db.data_version()
        if self.mode == "embedded":  # we hold the town: what an earlier engine left is ours
            self._take_over()
        self.dispatcher.on_engine_start()
        if self._with_refinery:
            from engine.refinery.pool import RefineryPool

            self.refineries = RefineryPool(self.town, self.config)

    def _take_over(self) -> None:
        """Before anything touches a worktree: kill the gates an earlier engine left
        running (after kill -9 nothing else would), and make the town private again
        (a town made by an older version or under a loose umask is readable by all)."""
        from engine.refinery.gates import GateRunner
        from engine.town import tighten_permissions

        tighten_permissions(self.town)
        for pid in GateRunner(self.town.state_dir).sweep():
            log.warning("killed gate process %s left running by an earlier engine", pid)

    async def stop(self) -> None:
        if self._executor is None:
            return
        try:
            if self._reader is not None:
                reader, self._reader = self._reader, None
                await reader.close()
            await self.call(self._close)
        finally:
            self._executor.shutdown(wait=True)
            self._executor = None
            if self.mode == "embedded":
                self._lock.release()
            log.info("engine stopped")

    def _close(self) -> None:
        if self.refineries is not None:
            self.refineries.stop()
        # attached to a headless engine, the fleet is that engine's to close, not ours
        if self.dispatcher is not None and self.mode == "embedded":
            self.dispatcher.close()
        if self.ledger is not None:
            self.ledger.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile until `stop` is set: on wake, on ledger change, and every tick."""
        assert self.config is not None
        tick = self.config.scheduler.tick_seconds
        listener = self._listen()
        poll = self.poll_seconds if listener else UNNOTIFIED_POLL_SECONDS
        try:
            await self._loop(stop, tick, poll)
        finally:
            if listener:
                asyncio.get_running_loop().remove_reader(listener.fileno())
                listener.close()
                assert self.ledger is not None
                self.ledger.db.notify_commits = True

    def _listen(self) -> WakeListener | None:
        """Open the town's wake pipe, when we hold the town (attached, the holding engine
        listens; we poll). None when it cannot be opened: then we poll fast, as before."""
        if self.mode != "embedded":
            return None
        from engine.ledger.wake import WakeListener, wake_path

        listener = WakeListener(wake_path(self.town.ledger_path))
        if not listener.open():
            log.warning("no wake pipe at %s; polling the ledger instead", listener.path)
            return None

        def heard() -> None:
            listener.drain()
            self._hint.set()

        try:
            asyncio.get_running_loop().add_reader(listener.fileno(), heard)
        except NotImplementedError:  # an event loop without add_reader
            listener.close()
            return None
        assert self.ledger is not None
        self.ledger.db.notify_commits = False
        return listener

    async def _loop(self, stop: asyncio.Event, tick: float, poll: float) -> None:
        next_tick = 0.0
        while not stop.is_set():
            woke = self._wake.is_set()
            self._wake.clear()
            # cleared before looking: a commit after the look sends a hint that wakes us again
            self._hint.clear()
            changed = await self.call(self._ledger_changed)
            if self.mode == "attached":
                pass  # views only: the holding engine reconciles
            elif woke or changed or time.monotonic() >= next_tick:
                try:
                    await self.reconcile()
                except Exception:  # one bad tick must not kill the town
                    log.exception("reconcile failed; retrying on the next tick")
                next_tick = time.monotonic() + tick
            await self._publish()
            # a hint only makes us look at data_version (it may be our own, already seen)
            waits = [asyncio.ensure_future(e.wait()) for e in (self._wake, self._hint, stop)]
            timeout = poll
            if self.mode == "embedded":  # the tick is due on time, not up to a poll late
                timeout = max(0.0, min(poll, next_tick - time.monotonic()))
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for fut in waits:
                fut.cancel()

    def _ledger_changed(self) -> bool:
        assert self.ledger is not None
        version = self.ledger.db.data_version()
        changed = version != self._data_version
        self._data_version = version
        return changed

    # ---- work ----------------------------------------------------------------------------

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` on the ledger thread (all ledger access is serialised there)."""
        assert self._executor is not None, "engine not started"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def reconcile(self) -> ReconcileReport:
        report = await self.call(self._reconcile)
        self.reconciles += 1
        self.last_report = report
        return report

    def _reconcile(self) -> ReconcileReport:
        assert self.scheduler is not None and self.dispatcher is not None
        report = self.scheduler.reconcile(self.dispatcher, self.inbox_handlers())
        if self.refineries is not None:
            assert self.ledger is not None
            self.refineries.sync(self.ledger.rigs.list())
            self.refineries.wake()
        # Our own commits do not move data_version for this connection; other writers do.
        assert self.ledger is not None
        self._data_version = self.ledger.db.data_version()
        return report

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

    # ---- the event stream for views ------------------------------------------------------

    def subscribe(self) -> asyncio.Queue[list[dict[str, Any]]]:
        """A queue receiving batches of new ledger events (whoever wrote them)."""
        queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue(maxsize=100)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[list[dict[str, Any]]]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    async def _publish(self) -> None:
        if not self._subscribers:
            return
        assert self.ledger is not None
        ledger = self.ledger
        events = await self.call(ledger.state.events_after, self._last_event)
        if not events:
            return
        self._last_event = events[-1]["id"]
        for queue in self._subscribers:
            if queue.full():  # a slow view gets the newest batches, not an unbounded backlog
                queue.get_nowait()
            queue.put_nowait(events)

    # ---- views for the app (on the reader: never behind the ledger thread) --------------

    async def views(self) -> LedgerReader:
        """The views' own read-only connection, opened on first use (a headless engine
        never needs one) and after the engine's own, which checked the schema."""
        async with self._reader_opening:
            if self._reader is None:
                from engine.ledger.reader import LedgerReader

                assert self._executor is not None, "engine not started"
                reader = LedgerReader(self.town.ledger_path, clock=self.clock)
                await reader.open()
                self._reader = reader
            return self._reader

    async def snapshot(self, **filters: Any) -> dict[str, Any]:
        from engine.views import town

        assert self.config is not None, "engine not started"
        return await (await self.views()).read(town.snapshot, self.config, **filters)

    async def bead_detail(self, bead_id: str) -> dict[str, Any]:
        from engine.views import town

        return await (await self.views()).read(town.bead_detail, self.town, bead_id)

    async def agent_detail(self, ident: str) -> dict[str, Any]:
        from engine.views import town

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
        from engine.commands.sling import NewBead, SlingRequest

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
    ) -> dict[str, Any]:
        assert self.ledger is not None
        ledger = self.ledger

        def create() -> dict[str, Any]:
            if plan:
                from engine.plans import load_plan, validate_plan

                _title, items = load_plan(plan)
                planned = validate_plan(ledger, items, plan)
                return ledger.convoys.create_planned(title, planned, staged=staged, actor=actor)
            return ledger.convoys.create(title, beads or [], staged=staged, actor=actor)

        convoy = await self.call(create)
        self.wake()
        return convoy

    async def convoy_launch(self, convoy_id: str, actor: str = "mayor") -> dict[str, Any]:
        assert self.ledger is not None
        out = await self.call(self.ledger.convoys.launch, convoy_id, actor=actor)
        self.wake()
        return out

    async def convoy_cancel(self, convoy_id: str, actor: str = "mayor") -> dict[str, Any]:
        assert self.ledger is not None
        out = await self.call(self.ledger.convoys.cancel, convoy_id, actor=actor)
        self.wake()
        return out

    async def mail_send(
        self,
        to: str,
        subject: str,
        body: str = "",
        reply_to: str | None = None,
        sender: str = "mayor",
    ) -> dict[str, Any]:
        from engine.addresses import resolve_address

        assert self.ledger is not None
        ledger = self.ledger

        def send() -> dict[str, Any]:
            return ledger.mail.send(
                sender=sender,
                to=resolve_address(ledger, to),
                subject=subject,
                body=body,
                reply_to=reply_to,
            )

        return await self.call(send)

    async def mail_read(self, mail_id: str, reader: str = "mayor") -> dict[str, Any]:
        assert self.ledger is not None
        return await self.call(self.ledger.mail.mark_read, mail_id, reader=reader)

    async def nudge(self, agent: str, message: str, ttl: float = 300, actor: str = "mayor") -> None:
        from engine.commands.nudge import Nudge, nudge

        assert self.ledger is not None
        request = Nudge.of(agent, message, ttl)
        await self.call(nudge, self.ledger, request, actor=actor)
        self.wake()

    async def mq_retry(self, mr_id: str, actor: str = "mayor") -> dict[str, Any]:
        from engine.commands import merge_requests

        assert self.ledger is not None
        ledger = self.ledger

        def retry() -> dict[str, Any]:
            merge_requests.retry(ledger, mr_id, actor=actor)
            return ledger.mq.require(mr_id)

        return await self.call(retry)

    async def mq_reject(self, mr_id: str, reason: str, actor: str = "mayor") -> dict[str, Any]:
        from engine.commands import merge_requests

        assert self.ledger is not None and self.config is not None
        ledger, config = self.ledger, self.config

        def reject() -> dict[str, Any]:
            merge_requests.reject(ledger, config, mr_id, reason=reason, actor=actor)
            return ledger.mq.require(mr_id)

        return await self.call(reject)

    def attach(self, agent_id: str) -> int:
        """Run `tmux attach` on the agent's session in this terminal until the person
        detaches (blocking: the app calls it while suspended). Returns tmux's exit code."""
        from engine.polecats.fleet import session_of_agent
        from engine.polecats.tmux import Tmux, socket_name

        return Tmux(socket_name(self.town.root)).attach(session_of_agent(agent_id))

    def peek(self, agent_id: str, lines: int = 40) -> str:
        from engine.polecats.fleet import session_of_agent
        from engine.polecats.tmux import Tmux, socket_name

        tmux = Tmux(socket_name(self.town.root))
        session = session_of_agent(agent_id)
        return tmux.capture(session, lines) if tmux.has_session(session) else ""
