"""The Engine facade: start/stop, the reconcile loop, commands, and an event stream for views.

The loop is level-triggered and event-woken: it reconciles when anything in the ledger
changed (another process committed: `PRAGMA data_version` moves), when something in-process
asks (`wake()`), and on a safety tick. All ledger work runs on one dedicated thread — the
same model as aiosqlite, without a second copy of the SQL layer — so an embedding app's
event loop never blocks on SQLite, git or tmux.
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

    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher
    from engine.refinery.pool import RefineryPool
    from engine.scheduler.reconciler import ReconcileReport, Scheduler
    from engine.town import Town

log = logging.getLogger("gastown.engine")
T = TypeVar("T")

# The idle check is one PRAGMA: polling often costs next to nothing and is the wake latency.
POLL_SECONDS = 0.01


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
        self._executor: ThreadPoolExecutor | None = None
        self._wake = asyncio.Event()
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

    async def start(self) -> None:
        import os

        from engine.errors import GtError

        if not os.path.isfile(self.town.config_path):
            raise GtError(f"no town at {self.town.root} (no town.toml); nothing was started")
        self._lock.acquire()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        try:
            await self.call(self._open)
        except BaseException:
            self._lock.release()
            raise
        log.info("engine started for %s", self.town.root)

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
        startup = getattr(self.dispatcher, "on_engine_start", None)
        if startup:
            startup()
        if self._with_refinery:
            from engine.refinery.pool import RefineryPool

            self.refineries = RefineryPool(self.town, self.config)

    async def stop(self) -> None:
        if self._executor is None:
            return
        try:
            await self.call(self._close)
        finally:
            self._executor.shutdown(wait=True)
            self._executor = None
            self._lock.release()
            log.info("engine stopped")

    def _close(self) -> None:
        if self.refineries is not None:
            self.refineries.stop()
        closer = getattr(self.dispatcher, "close", None)
        if closer:
            closer()
        if self.ledger is not None:
            self.ledger.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile until `stop` is set: on wake, on ledger change, and every tick."""
        assert self.config is not None
        tick = self.config.scheduler.tick_seconds
        next_tick = 0.0
        while not stop.is_set():
            woke = self._wake.is_set()
            self._wake.clear()
            changed = await self.call(self._ledger_changed)
            if woke or changed or time.monotonic() >= next_tick:
                try:
                    await self.reconcile()
                except Exception:  # one bad tick must not kill the town
                    log.exception("reconcile failed; retrying on the next tick")
                next_tick = time.monotonic() + tick
            await self._publish()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait(
                {waiter, stopper}, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for fut in (waiter, stopper):
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
        extra = getattr(dispatcher, "inbox_handlers", None)
        if extra:
            handlers.update(extra())
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
