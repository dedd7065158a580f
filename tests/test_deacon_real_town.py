"""The deacon's patrols in a real town (real git, real tmux, script polecats): each finds
its case among real sessions and real failures and does the right thing. The patrols run
as the engine's rounds run them (engine/deacon/rounds.py `run_here`), between reconciles."""

from __future__ import annotations

import asyncio
import os
import time

from engine import vocab
from engine.deacon import rounds
from engine.deacon.patrol import PatrolContext
from engine.event_stream import EventStream
from engine.events import Event
from engine.polecats.seance import find_logs
from engine.views.town_snapshot import problems
from tests.conftest import script_body


def patrol(rt, name: str, *, later: float = 0.0):
    """Run one patrol now (or LATER seconds from now) as the rounds do; its findings."""
    ctx = PatrolContext(rt.ledger, rt.config, rt.town, time.time() + later, rt.fleet)
    return rounds.run_here(ctx, force=True, only=[name]).get(name)


def status(rt, bead: str) -> str:
    return str(rt.ledger.beads.require(bead)["status"])


def session(rt, agent: dict) -> str:
    return f"web+{agent['name']}"


def test_a_convoy_whose_work_failed_is_reported_stranded_with_why(real_town_factory):
    rt = real_town_factory({"scheduler": {"max_attempts": 1}})
    broken = rt.ledger.beads.create(
        "migrate", rig="web", body=script_body("fail 'the migration is broken'")
    )["id"]
    after = rt.ledger.beads.create(
        "use the new table", rig="web", deps=[(broken, "blocks")], body=script_body("hang")
    )["id"]
    convoy = rt.ledger.convoys.create("schema change", [broken, after])["id"]
    assert rt.ledger.convoys.require(convoy)["launched_at"]  # created launched: it slings
    assert patrol(rt, "stranded") == []  # `migrate` is ready: the convoy can move
    rt.drive(lambda: status(rt, broken) == vocab.FAILED, timeout=40)
    assert status(rt, after) == vocab.OPEN  # never started: its blocker never landed
    found = patrol(rt, "stranded")
    assert [f.subject for f in found] == [convoy]
    assert f"{broken} failed" in found[0].text
    assert f"{after} blocked by {broken} failed" in found[0].text
    assert [p["id"] for p in problems(rt.ledger) if p["kind"] == "stranded"] == [convoy]
    row = next(r for r in rounds.rows(rt.ledger, rt.config.deacon) if r["name"] == "stranded")
    assert row["found"] == 1 and row["last_run"] and row["next_run"]


def test_a_hook_whose_session_is_gone_and_not_recovered_is_released_after_the_window(
    real_town, monkeypatch
):
    """The session is killed; the scheduler marks its agent a zombie but its recovery of
    the bead fails (stood in for here), so the bead would stay hooked forever: the hooks
    patrol releases it once the window has passed, and it is dispatched again."""
    rt = real_town
    bead = rt.ledger.beads.create(
        "long job", rig="web", slung=True, body=script_body("log 1 0", "hang")
    )["id"]
    rt.drive(lambda: "hanging" in rt.fleet.tmux.capture(session(rt, rt.ledger.agents.list()[0])))
    agent = rt.ledger.agents.list()[0]
    rt.fleet.tmux.kill_session(session(rt, agent))
    with monkeypatch.context() as m:
        m.setattr(rt.scheduler, "fail", lambda *a, **k: None)  # the recovery that failed
        rt.drive(lambda: rt.ledger.agents.require(agent["id"])["status"] == vocab.AGENT_ZOMBIE)
    rt.reconcile()
    assert status(rt, bead) == vocab.IN_PROGRESS  # stuck: nothing else will move it
    window = rt.config.deacon.hook_gone_seconds
    assert patrol(rt, "hooks", later=window - 30) == []  # not gone long enough
    found = patrol(rt, "hooks", later=window + 1)
    assert [f.subject for f in found] == [bead] and "session is gone" in found[0].text
    b = rt.ledger.beads.require(bead)
    assert b["status"] == vocab.OPEN and b["slung"] and b["failures"] == 0
    assert rt.ledger.agents.require(agent["id"])["hook"] is None
    # back in the queue: a new session picks it up (the same bead, the next attempt)
    rt.drive(lambda: rt.ledger.beads.require(bead)["attempt"] == 2, timeout=20)
    again = next(a for a in rt.ledger.agents.list() if a["hook"] == bead)
    rt.drive(lambda: "hanging" in rt.fleet.tmux.capture(session(rt, again)))


def test_a_crash_looping_bead_is_quarantined_not_retried_and_escalated(real_town_factory):
    # max_attempts far above the loop's threshold: the patrol acts, not the scheduler
    rt = real_town_factory(
        {
            "scheduler": {"max_attempts": 20, "backoff_base_seconds": 0.3},
            "deacon": {"crash_loop_failures": 3, "crash_loop_window_seconds": 600},
        }
    )
    bead = rt.ledger.beads.create(
        "flaky", rig="web", slung=True, body=script_body("fail 'segfault in the parser'")
    )["id"]

    def looping() -> bool:
        b = rt.ledger.beads.require(bead)
        return b["failures"] >= 3 and b["status"] == vocab.OPEN

    rt.drive(looping, timeout=40)
    found = patrol(rt, "crash_loops")
    assert [f.subject for f in found] == [bead] and "3 failed attempts" in found[0].text
    b = rt.ledger.beads.require(bead)
    assert b["status"] == vocab.FAILED and b["close_reason"].startswith("quarantined")
    assert "segfault in the parser" in b["close_reason"]
    attempts = b["attempt"]
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # the scheduler leaves it alone from now on
        rt.reconcile()
        time.sleep(0.1)
    assert rt.ledger.beads.require(bead)["attempt"] == attempts
    [esc] = rt.ledger.beads.list(bead_type="escalation", status="open")
    assert esc["metadata"]["cause"] == f"quarantined:{bead}"


def test_old_session_logs_are_rotated_but_a_running_sessions_is_kept(real_town):
    rt = real_town
    done = rt.ledger.beads.create(
        "quick",
        rig="web",
        slung=True,
        body=script_body("log 3 0", "write quick.txt done", "commit 'quick'"),
    )["id"]
    rt.drive(lambda: status(rt, done) == vocab.IN_REVIEW)
    running = rt.ledger.beads.create(
        "slow", rig="web", slung=True, body=script_body("log 3 0", "hang")
    )["id"]
    rt.drive(lambda: status(rt, running) == vocab.IN_PROGRESS and len(logs(rt)) == 2)
    month_ago = time.time() - 30 * 86_400
    for log in find_logs(rt.town.logs_dir):
        os.utime(log.path, (month_ago, month_ago))
    found = patrol(rt, "logs")
    assert found and found[0].text.startswith("1 session logs")
    assert [b for b, _ in logs(rt)] == [running]  # the running attempt's log stays
    assert patrol(rt, "logs") == []  # nothing left to rotate


def logs(rt) -> list[tuple[str, int]]:
    return sorted((log.bead, log.attempt) for log in find_logs(rt.town.logs_dir))


def test_events_are_compacted_while_the_apps_follower_keeps_going(real_town_factory):
    rt = real_town_factory({"deacon": {"events_keep": 100, "events_keep_days": 1}})
    stream = EventStream()
    queue = stream.subscribe()
    seen: list[Event] = []

    def follow() -> None:
        """One publish, as the engine's loop does after each tick; drain what came."""

        async def events_after(after: int) -> list[dict]:
            return rt.ledger.state.events_after(after, limit=100_000)

        asyncio.run(stream.publish(events_after))
        while not queue.empty():
            seen.extend(queue.get_nowait())

    worked = rt.ledger.beads.create(
        "in review", rig="web", slung=True, body=script_body("write x.txt x", "commit 'x'")
    )["id"]
    rt.drive(lambda: status(rt, worked) == vocab.IN_REVIEW)
    for i in range(150):  # finished work: old history the compaction may drop
        b = rt.ledger.beads.create(f"done {i}")["id"]
        rt.ledger.beads.close(b)
    follow()
    before = [e.id for e in seen]
    worked_history = [e["id"] for e in rt.ledger.beads.history(worked)]

    found = patrol(rt, "events", later=2 * 86_400)
    assert found and "compacted" in found[0].text
    assert len(rt.ledger.state.events_after(0, limit=100_000)) < len(before)
    # an open bead's history (in review: not finished) is kept whole
    assert [e["id"] for e in rt.ledger.beads.history(worked)] == worked_history

    more = rt.ledger.beads.create(
        "after the compaction",
        rig="web",
        slung=True,
        body=script_body("write y.txt y", "commit 'y'"),
    )["id"]
    rt.drive(lambda: status(rt, more) == vocab.IN_REVIEW)
    follow()
    after = [e.id for e in seen[len(before) :]]
    # the follower carried on from its place: every new event once, in order, ids rising
    assert after and after[0] > before[-1] and after == sorted(set(after))
    assert after == [e["id"] for e in rt.ledger.state.events_after(before[-1], limit=10_000)]
    kinds = [e.kind for e in seen[len(before) :]]
    assert "events_compacted" in kinds and "done" in kinds
