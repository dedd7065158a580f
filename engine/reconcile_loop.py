"""When the engine reconciles: the loop and its wake-ups.

Level-triggered and event-woken: the loop reconciles when anything in the ledger changed
(another process committed: `PRAGMA data_version` moves), when something in-process asks
(`Engine.wake()`), and on a safety tick. Writers notify the engine after each commit
through a pipe in the town's state dir (engine/ledger/wake.py), so at rest the loop sleeps
and checks `data_version` only slowly, for writers that do not notify.

These are the Engine's own workings, kept out of the facade: they read and set its state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from engine.deacon import rounds as deacon_rounds
from engine.errors import LedgerError

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.ledger.wake import WakeListener

log = logging.getLogger("gastown.engine")

# With the wake pipe open, polling `data_version` is only the safety net for writers that
# do not notify (an older gt, the sqlite3 shell): slow, so an idle engine costs ~nothing.
POLL_SECONDS = 0.25
# Without it (attached to a headless engine, or no FIFO on this filesystem) the poll is the
# wake latency: one PRAGMA every 10 ms, ~3 % of a core.
UNNOTIFIED_POLL_SECONDS = 0.01


async def run(engine: Engine, stop: asyncio.Event) -> None:
    """Reconcile until `stop` is set: on wake, on ledger change, and every tick."""
    assert engine.config is not None
    tick = engine.config.scheduler.tick_seconds
    if engine.town.shared_ledger:
        await run_shared(engine, stop, tick)
        return
    listener = listen(engine)
    poll = engine.poll_seconds if listener else UNNOTIFIED_POLL_SECONDS
    try:
        await loop(engine, stop, tick, poll)
    finally:
        if listener:
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()
            assert engine.ledger is not None
            engine.ledger.notify_commits = True


async def run_shared(engine: Engine, stop: asyncio.Event, tick: float) -> None:
    """A ledger on PostgreSQL: wake on its notifications (every engine sharing it listens,
    attached ones too: LISTEN needs no lock), with `data_version` as the slow safety net."""
    from engine.ledger.pg_wake import PgWakeListener

    def own_pids() -> set[int]:
        # the engine's own connection: it knows what it wrote
        db = engine.ledger.db if engine.ledger is not None else None
        return {db.backend_pid} if db is not None and hasattr(db, "backend_pid") else set()

    listener = PgWakeListener(engine.town.ledger_target, engine._hint.set, own_pids)
    listener.start()
    try:
        await loop(engine, stop, tick, engine.poll_seconds)
    finally:
        await listener.close()


def listen(engine: Engine) -> WakeListener | None:
    """Open the town's wake pipe, when we hold the town (attached, the holding engine
    listens; we poll). None when it cannot be opened: then we poll fast, as before."""
    if engine.mode != "embedded":
        return None
    from engine.ledger.wake import WakeListener, wake_path

    listener = WakeListener(wake_path(engine.town.ledger_path))
    if not listener.open():
        log.warning("no wake pipe at %s; polling the ledger instead", listener.path)
        return None

    def heard() -> None:
        listener.drain()
        engine._hint.set()

    try:
        asyncio.get_running_loop().add_reader(listener.fileno(), heard)
    except NotImplementedError:  # an event loop without add_reader
        listener.close()
        return None
    assert engine.ledger is not None
    engine.ledger.notify_commits = False
    return listener


# how long the loop waits between looks while the ledger's server does not answer
UNREACHABLE_RETRY = 1.0


def unreachable(engine: Engine, exc: LedgerError) -> None:
    """Say it once per outage, not once per look."""
    if not engine._unreachable:
        log.warning("cannot read the ledger: %s; retrying every %gs", exc, UNREACHABLE_RETRY)
        engine._unreachable = True


async def loop(engine: Engine, stop: asyncio.Event, tick: float, poll: float) -> None:
    next_tick = 0.0
    while not stop.is_set():
        woke = engine._wake.is_set()
        engine._wake.clear()
        # cleared before looking: a commit after the look sends a hint that wakes us again
        engine._hint.clear()
        # through the method, not inlined: a subclass may count or time the looks
        try:
            changed = await engine.call(engine._ledger_changed)
        except LedgerError as exc:
            # the ledger's server is away (a restart, the network): wait and look again;
            # its connection is opened afresh on the next statement (engine/ledger/pg_db.py)
            unreachable(engine, exc)
            await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=UNREACHABLE_RETRY)
            continue
        if engine._unreachable:
            log.warning("the ledger answers again")
            engine._unreachable = False
        if engine.mode == "attached":
            pass  # views only: the holding engine reconciles
        elif woke or changed or time.monotonic() >= next_tick:
            try:
                await engine.reconcile()
            except Exception:  # one bad tick must not kill the town
                log.exception("reconcile failed; retrying on the next tick")
            try:  # the patrols that are due (engine/deacon/)
                await deacon_rounds.run_due(engine)
            except LedgerError as exc:  # the ledger went away mid-round: look again later
                unreachable(engine, exc)
            except Exception:  # one bad patrol must not kill the town either
                log.exception("the deacon's round failed; retrying on the next tick")
            next_tick = time.monotonic() + tick
        try:
            await engine._publish()
        except LedgerError as exc:
            unreachable(engine, exc)
        # a hint only makes us look at data_version (it may be our own, already seen)
        waits = [asyncio.ensure_future(e.wait()) for e in (engine._wake, engine._hint, stop)]
        timeout = poll
        if engine.mode == "embedded":  # the tick is due on time, not up to a poll late
            timeout = max(0.0, min(poll, next_tick - time.monotonic()))
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for fut in waits:
            fut.cancel()
