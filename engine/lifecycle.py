"""The engine's start and stop: take the town's lock (or attach to the engine holding
it), open the ledger, the dispatcher, the scheduler and the refineries on the ledger
thread, and close them all again in order.

These are the Engine's own workings, kept out of the facade: they read and set its state.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.ledger import Ledger

log = logging.getLogger("gastown.engine")


async def start(engine: Engine, *, attach_if_running: bool = False) -> None:
    """Take the town's lock and run its engine; or, when `attach_if_running` and a
    headless engine already holds it, attach to that one (views and commands only)."""
    import os

    from engine.errors import GtError
    from engine.lock import holder_pid

    town = engine.town
    if not os.path.isfile(town.config_path):
        raise GtError(f"no town at {town.root} (no town.toml); nothing was started")
    try:
        engine._lock.acquire()
    except GtError:
        if not attach_if_running:
            raise
        engine.mode = "attached"
        engine.holder_pid = holder_pid(town.lock_path)
    engine._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
    engine._adapters = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adapters")
    try:
        await engine.call(open_town, engine)
    except BaseException:
        if engine.membership is not None:  # joined, then failed: stop renewing the lease
            engine.membership.leave(None)
            engine.membership = None
        for pool in (engine._executor, engine._adapters):
            pool.shutdown(wait=False)
        engine._executor = engine._adapters = None
        if engine.mode == "embedded":
            engine._lock.release()
        raise
    log.info("engine %s for %s", "started" if engine.mode == "embedded" else "attached", town.root)


def open_town(engine: Engine) -> None:
    """On the ledger thread: everything the engine works with."""
    from engine.polecats.registry import make_dispatcher
    from engine.scheduler.reconciler import Scheduler

    town = engine.town
    config = engine.config = engine._config or town.config()
    ledger = engine.ledger = town.open_ledger(clock=engine.clock)
    if engine.mode == "embedded":
        try:
            join_hosts(engine, ledger)
        except BaseException:
            ledger.close()
            raise
    dispatcher = engine.dispatcher = engine._dispatcher or make_dispatcher(town, config, ledger)
    engine.scheduler = Scheduler(ledger, config, host=engine.host)
    if engine.membership is not None:
        engine.scheduler.membership = engine.membership
        engine.scheduler.host_epoch = engine.membership.epoch
    engine.stream.last_event = ledger.state.last_event_id()
    engine._data_version = ledger.data_version()
    if engine.mode == "embedded":  # we hold the town: what an earlier engine left is ours
        take_over(engine)
    dispatcher.on_engine_start()
    if engine._with_refinery:
        from engine.refinery.pool import RefineryPool

        engine.refineries = RefineryPool(town, config)


def join_hosts(engine: Engine, ledger: Ledger) -> None:
    """With --host: join the town's hosts and start renewing the lease; without: refuse
    while hosts serve the ledger (engine/host_membership.py)."""
    from engine.host_membership import HostMembership, refuse_hostless

    if engine.host is None:
        refuse_hostless(ledger)
        return
    assert engine.config is not None
    membership = HostMembership(engine.host, engine.config, engine.town.root)
    membership.join(ledger)
    # the target, not ledger.path: a PostgreSQL URL's password is kept out of that one
    membership.start_heartbeat(engine.town.ledger_target, ledger.clock)
    engine.membership = membership
    clone_served_rigs(engine, ledger)


def clone_served_rigs(engine: Engine, ledger: Ledger) -> None:
    """A joining host clones the rigs it serves (their upstream) that it has no clone of,
    and makes every clone share that upstream (engine/upstream.py): branches and landings
    then travel through it, so any host's refinery can land any host's work."""
    from engine.errors import GtError
    from engine.upstream import ensure_local_clone

    assert engine.config is not None
    served = set(engine.config.host.rigs)
    for rig in ledger.rigs.list():
        if served and rig["name"] not in served:
            continue
        try:
            ensure_local_clone(engine.town, rig)
        except GtError as exc:  # one unreachable upstream must not keep the host out
            log.warning("host %s cannot clone rig %s: %s", engine.host, rig["name"], exc)


def take_over(engine: Engine) -> None:
    """Before anything touches a worktree: kill the gates an earlier engine left
    running (after kill -9 nothing else would), and make the town private again
    (a town made by an older version or under a loose umask is readable by all)."""
    from engine.refinery.gates import GateRunner
    from engine.town import tighten_permissions

    tighten_permissions(engine.town)
    for pid in GateRunner(engine.town.state_dir).sweep():
        log.warning("killed gate process %s left running by an earlier engine", pid)


async def stop(engine: Engine) -> None:
    executor = engine._executor
    if executor is None:
        return
    try:
        if engine._reader is not None:
            reader, engine._reader = engine._reader, None
            await reader.close()
        # a reconcile in flight records its launches before the ledger closes
        async with engine.reconciling:
            await engine.call(close, engine)
    finally:
        executor.shutdown(wait=True)
        engine._executor = None
        if engine._adapters is not None:
            engine._adapters.shutdown(wait=True)
            engine._adapters = None
        if engine.mode == "embedded":
            engine._lock.release()
        log.info("engine stopped")


def close(engine: Engine) -> None:
    """On the ledger thread: the refineries, the fleet (ours only), then the ledger."""
    if engine.refineries is not None:
        engine.refineries.stop()
    if engine.membership is not None:  # before the ledger closes: it says we stopped
        engine.membership.leave(engine.ledger)
    # attached to a headless engine, the fleet is that engine's to close, not ours
    if engine.dispatcher is not None and engine.mode == "embedded":
        engine.dispatcher.close()
    if engine.ledger is not None:
        engine.ledger.close()
