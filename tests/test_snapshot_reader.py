"""The app's snapshot reads on its own aiosqlite connection: never behind git or tmux, and
the same content as a snapshot read on the engine's own connection."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from engine.config import SchedulerSettings, TownConfig
from engine.engine import Engine
from engine.errors import LedgerError
from engine.ledger import Ledger
from engine.ledger.reader import LedgerReader
from engine.polecats.dispatcher import Assignment, Started
from engine.views import town_snapshot as town_view
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher

SLOW_START_SECONDS = 2.0


class SlowDispatcher(RecordingDispatcher):
    """A `git worktree add` / tmux start that takes two seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.starting = threading.Event()

    def start(self, assignment: Assignment) -> Started:
        self.starting.set()
        time.sleep(SLOW_START_SECONDS)
        return super().start(assignment)


def run(coro):
    return asyncio.run(coro)


def test_snapshot_returns_while_a_reconcile_waits_on_a_slow_dispatch(town):
    ledger = Ledger(town.ledger_target)
    add_rig(ledger, "web", "gt")
    ledger.beads.create("slow to start", rig="web", slung=True)
    ledger.close()
    dispatcher = SlowDispatcher()

    async def scenario() -> float:
        engine = Engine(town, dispatcher=dispatcher, config=TownConfig())
        await engine.start()
        try:
            reconcile = asyncio.create_task(engine.reconcile())
            assert await asyncio.to_thread(dispatcher.starting.wait, 5)
            t0 = time.monotonic()
            snap = await engine.snapshot()
            elapsed = time.monotonic() - t0
            assert not reconcile.done()  # the dispatch was still under way
            # the assignment was committed before the dispatch: the reader already sees it
            assert [p["hook"] for p in snap["rigs"][0]["polecats"]] == [snap["beads"][0]["id"]]
            await reconcile
            return elapsed
        finally:
            await engine.stop()

    assert run(scenario()) < 0.2


def seed(ledger: Ledger) -> None:
    """A town with something in every part of the snapshot."""
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    a = ledger.beads.create("schema", rig="web", priority=1, labels=["db"])["id"]
    b = ledger.beads.create("endpoint", rig="web", deps=[(a, "blocks")])["id"]
    c = ledger.beads.create("client", rig="api", deps=[(b, "blocks")])["id"]
    ledger.beads.create("docs [/] search me", rig="api", priority=3)
    doomed = ledger.beads.create("doomed", rig="api")["id"]
    later = ledger.beads.create("later", rig="web")["id"]
    ledger.convoys.create("first", [a, b, c, doomed])
    ledger.convoys.create("staged one", [later], staged=True)
    ledger.mail.send(sender="Toast", to="mayor", subject="hello", body="from the rig")
    ledger.mail.send(sender="Maple", to="mayor", subject="second")
    ledger.beads.create("help wanted", bead_type="escalation")
    ledger.beads.cancel(doomed, reason="not needed")  # the first convoy is stranded


@pytest.mark.both_backends
def test_the_engine_closes_the_readers_thread_when_it_stops(town):
    async def scenario() -> None:
        before = {t.ident for t in threading.enumerate()}
        engine = Engine(town, dispatcher=RecordingDispatcher(), config=TownConfig())
        await engine.start()
        await engine.snapshot()
        assert len(threading.enumerate()) > len(before)
        await engine.stop()
        # aiosqlite's thread is not a daemon: left running, it would hang the app's exit
        assert {t.ident for t in threading.enumerate()} <= before

    run(scenario())


FILTERS = [
    {},
    {"bead_filter": "ready"},
    {"bead_filter": "blocked"},
    {"bead_filter": "in progress"},
    {"bead_filter": "in review"},
    {"search": "search"},
]


@pytest.mark.both_backends
def test_the_readers_snapshot_equals_the_one_read_on_the_engines_connection(town):
    ledger = Ledger(town.ledger_target)
    seed(ledger)
    ledger.close()
    config = TownConfig(scheduler=SchedulerSettings(max_polecats=2))

    async def scenario() -> None:
        engine = Engine(town, dispatcher=RecordingDispatcher(), config=config)
        await engine.start()
        try:
            await engine.reconcile()  # agents hooked, working
            assert engine.ledger is not None
            led = engine.ledger
            convoys = await engine.call(lambda: [c["id"] for c in led.convoys.list()])
            for filters in [*FILTERS, {"convoy_id": convoys[0]}, {"convoy_id": "nope"}]:
                old = await engine.call(town_view.snapshot, led, config, **filters)
                new = await engine.snapshot(**filters)
                assert new == old, filters
            assert old["rigs"][1]["polecats"], "the comparison covers working polecats"
            assert old["mail"]["unread"] == 2 and old["problems"] and old["convoy"]
            beads = await engine.call(lambda: led.beads.list(include_records=False))
            agents = await engine.call(led.agents.list)
            for b in beads:
                assert await engine.bead_detail(b["id"]) == await engine.call(
                    town_view.bead_detail, led, town, b["id"]
                )
            for a in agents:
                assert await engine.agent_detail(a["name"]) == await engine.call(
                    town_view.agent_detail, led, town, a["name"]
                )
        finally:
            await engine.stop()

    run(scenario())


@pytest.mark.both_backends
def test_the_reader_refuses_to_write(town):
    async def scenario() -> None:
        reader = LedgerReader(town.ledger_target)
        await reader.open()
        try:
            with pytest.raises(LedgerError, match="read-only"):
                await reader.read(lambda led: led.beads.create("nope", rig=None))

            def raw_insert(led: Ledger) -> None:
                led.db.conn.execute("INSERT INTO town_state(key, value) VALUES ('x', '1')")

            # SQLite's words, or PostgreSQL's ("cannot execute INSERT in a read-only
            # transaction"): refused by the database itself either way
            with pytest.raises(Exception, match=r"readonly|read-only"):
                await reader.read(raw_insert)
        finally:
            await reader.close()

    run(scenario())
