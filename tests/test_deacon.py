"""The deacon's patrols (engine/deacon/): each finds its case and does the right thing, and
what must not happen does not (uncommitted work is never reaped, a slowly failing bead is
not quarantined, compaction keeps the newest events and a follower's place)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time

from engine import vocab
from engine.config import SchedulerSettings, TownConfig
from engine.deacon import rounds
from engine.deacon.patrol import Patrol, PatrolContext
from engine.deacon.settings import DeaconSettings
from engine.engine import Engine
from engine.polecats.seance import log_path
from engine.scheduler.reconciler import Scheduler
from engine.views.town_snapshot import problems
from tests.conftest import add_rig, gt, script_body
from tests.recording import RecordingDispatcher


def ctx_for(ledger, town, config, *, dispatcher=None, now=None) -> PatrolContext:
    return PatrolContext(
        ledger, config, town, ledger.now() if now is None else now, dispatcher=dispatcher
    )


def run_patrol(patrol: Patrol, ctx: PatrolContext):
    return patrol.act(ctx, patrol.work(ctx, patrol.look(ctx)))


def events(ledger, kind: str) -> list[dict]:
    return [e for e in ledger.state.recent(limit=1000) if e["kind"] == kind]


# ---- stranded convoys ------------------------------------------------------------------


def test_a_convoy_that_cannot_move_is_reported_stranded_with_why_once(ledger, town):
    from engine.deacon.stranded import PATROL

    add_rig(ledger, "web", "gt")
    a = ledger.beads.create("schema", rig="web")["id"]
    b = ledger.beads.create("endpoint", rig="web", deps=[(a, "blocks")])["id"]
    c = ledger.beads.create("client", rig="web")["id"]
    convoy = ledger.convoys.create("feature", [a, b, c])["id"]
    ctx = ctx_for(ledger, town, TownConfig())
    assert run_patrol(PATROL, ctx) == []  # a and c are ready: it moves
    ledger.beads.cancel(a, reason="not needed")
    assert run_patrol(PATROL, ctx) == []  # c is still ready
    ledger.beads.cancel(c, reason="dropped")
    found = run_patrol(PATROL, ctx)
    assert [f.subject for f in found] == [convoy]
    assert f"{a} cancelled" in found[0].text and f"{b} blocked by {a} cancelled" in found[0].text
    run_patrol(PATROL, ctx)  # reported again each round, recorded once per cause
    assert len(events(ledger, "convoy_stranded")) == 1
    assert [p["id"] for p in problems(ledger) if p["kind"] == "stranded"] == [convoy]


def test_a_convoy_waiting_on_open_work_or_running_work_is_not_stranded(ledger, town, dispatcher):
    from engine.deacon.stranded import stranded_convoys

    add_rig(ledger, "web", "gt")
    a = ledger.beads.create("long job", rig="web")["id"]
    b = ledger.beads.create("after it", rig="web", deps=[(a, "blocks")])["id"]
    ledger.convoys.create("feature", [a, b])
    Scheduler(ledger, TownConfig()).reconcile(dispatcher)
    assert ledger.beads.get(a)["status"] in (vocab.HOOKED, vocab.IN_PROGRESS)
    assert stranded_convoys(ledger) == []  # a runs, b waits on it
    staged = ledger.beads.create("later", rig="web")["id"]
    ledger.convoys.create("staged", [staged], staged=True)
    ledger.beads.cancel(staged)
    assert stranded_convoys(ledger) == []  # never launched: nothing is expected to move


# ---- hooks of gone agents --------------------------------------------------------------


def test_a_hook_whose_agent_is_gone_is_released_after_the_window_and_dispatched_again(
    ledger, town, clock, dispatcher
):
    from engine.deacon.hooks import PATROL

    add_rig(ledger, "web", "gt")
    config = TownConfig(deacon=DeaconSettings(hook_gone_seconds=600))
    sched = Scheduler(ledger, config)
    bead = ledger.beads.create("a", rig="web", slung=True)["id"]
    sched.reconcile(dispatcher)
    agent = ledger.agents.list()[0]
    with ledger.transaction():  # retired by hand: the bead stays hooked to nobody
        ledger.agents.retire(agent["id"], reason="by hand")
    assert ledger.beads.get(bead)["status"] in (vocab.HOOKED, vocab.IN_PROGRESS)
    clock.advance(599)
    assert run_patrol(PATROL, ctx_for(ledger, town, config)) == []  # not gone long enough
    clock.advance(2)
    found = run_patrol(PATROL, ctx_for(ledger, town, config))
    assert [f.subject for f in found] == [bead] and "no longer holds it" in found[0].text
    b = ledger.beads.get(bead)
    assert b["status"] == vocab.OPEN and b["slung"] and b["assignee"] is None
    assert b["failures"] == 0  # not the bead's fault: no attempt spent
    assert len(events(ledger, "hook_released")) == 1
    sched.reconcile(dispatcher)
    assert [s.bead_id for s in dispatcher.started] == [bead, bead]


def test_a_parked_bead_keeps_its_hook(ledger, town, clock, dispatcher):
    from engine.deacon.hooks import PATROL
    from engine.scheduler.parking import Parking

    add_rig(ledger, "web", "gt")
    config = TownConfig()
    bead = ledger.beads.create("a", rig="web", slung=True)["id"]
    Scheduler(ledger, config).reconcile(dispatcher)
    with ledger.transaction():
        ledger.agents.retire(ledger.agents.list()[0]["id"], reason="by hand")
    Parking(ledger).park(bead, "boom", stage="testing")
    clock.advance(10_000)
    assert run_patrol(PATROL, ctx_for(ledger, town, config)) == []


# ---- crash-looping beads ---------------------------------------------------------------


def crash_config(**deacon) -> TownConfig:
    return TownConfig(
        scheduler=SchedulerSettings(max_attempts=10, backoff_base_seconds=0),
        deacon=DeaconSettings(crash_loop_failures=3, crash_loop_window_seconds=600, **deacon),
    )


def fail_once(ledger, sched, dispatcher, bead) -> None:
    sched.reconcile(dispatcher)
    b = ledger.beads.get(bead)
    assert b["status"] in (vocab.HOOKED, vocab.IN_PROGRESS), b
    sched.fail(bead, b["attempt"], reason="segfault", kind="agent_died")


def test_a_crash_looping_bead_is_quarantined_and_reopen_lifts_it(ledger, town, clock, dispatcher):
    from engine.commands import bead_actions
    from engine.deacon.crashloop import PATROL

    add_rig(ledger, "web", "gt")
    config = crash_config()
    sched = Scheduler(ledger, config)
    bead = ledger.beads.create("flaky", rig="web", slung=True)["id"]
    for _ in range(2):
        fail_once(ledger, sched, dispatcher, bead)
        clock.advance(30)
    assert run_patrol(PATROL, ctx_for(ledger, town, config)) == []  # two: not yet
    fail_once(ledger, sched, dispatcher, bead)
    found = run_patrol(PATROL, ctx_for(ledger, town, config))
    assert [f.subject for f in found] == [bead]
    b = ledger.beads.get(bead)
    assert b["status"] == vocab.FAILED and b["close_reason"].startswith("quarantined")
    assert "segfault" in b["close_reason"]
    started = len(dispatcher.started)
    sched.reconcile(dispatcher)
    assert len(dispatcher.started) == started  # quarantined: not retried
    shown = [p for p in problems(ledger) if p["id"] == bead]
    assert shown and "quarantined" in shown[0]["text"]

    bead_actions.reopen(ledger, bead, actor="mayor")
    ledger.beads.set_slung(bead, actor="mayor")
    fail_once(ledger, sched, dispatcher, bead)  # one new failure: the old ones do not count
    assert run_patrol(PATROL, ctx_for(ledger, town, config)) == []
    assert ledger.beads.get(bead)["status"] == vocab.OPEN


def test_a_bead_failing_slowly_is_retried_not_quarantined(ledger, town, clock, dispatcher):
    from engine.deacon.crashloop import PATROL

    add_rig(ledger, "web", "gt")
    config = crash_config()
    sched = Scheduler(ledger, config)
    bead = ledger.beads.create("slow", rig="web", slung=True)["id"]
    for _ in range(5):
        fail_once(ledger, sched, dispatcher, bead)
        clock.advance(301)  # at most two failures in any 600 s
        assert run_patrol(PATROL, ctx_for(ledger, town, config)) == []
    assert ledger.beads.get(bead)["status"] == vocab.OPEN
    assert ledger.beads.get(bead)["failures"] == 5


# ---- idle polecats, in a real town -----------------------------------------------------


def test_idle_polecats_are_reaped_but_never_one_with_uncommitted_work(real_town):
    from engine.deacon.reaper import PATROL

    rt = real_town
    ids = [
        rt.ledger.beads.create(
            f"task {i}",
            rig="web",
            slung=True,
            body=script_body(f"write f{i}.txt hello {i}", f"commit 'task {i}'"),
        )["id"]
        for i in range(2)
    ]
    rt.drive(lambda: all(rt.ledger.beads.get(i)["status"] == vocab.IN_REVIEW for i in ids))
    rt.drive(lambda: all(a["status"] == vocab.AGENT_IDLE for a in rt.ledger.agents.list()))
    clean, dirty = sorted(rt.ledger.agents.list(), key=lambda a: a["name"])
    with open(os.path.join(dirty["worktree"], "notes.txt"), "w") as fh:
        fh.write("not committed yet\n")
    repo = rt.ledger.rigs.require("web")["path"]

    ctx = ctx_for(rt.ledger, rt.town, rt.config, dispatcher=rt.fleet)
    assert run_patrol(PATROL, ctx) == []  # not idle long enough yet
    later = ctx_for(
        rt.ledger,
        rt.town,
        rt.config,
        dispatcher=rt.fleet,
        now=time.time() + rt.config.scheduler.idle_retire_seconds + 1,
    )
    found = run_patrol(PATROL, later)
    assert sorted(f.text.split()[1] for f in found) == ["kept:", "reaped"]
    assert [a["name"] for a in rt.ledger.agents.list()] == [dirty["name"]]
    assert not os.path.exists(clean["worktree"])  # removed...
    branches = subprocess.run(
        ["git", "branch", "--format=%(refname:short)"], cwd=repo, capture_output=True, text=True
    ).stdout.split()
    assert clean["branch"] in branches  # ...its work still on its branch
    with open(os.path.join(dirty["worktree"], "notes.txt")) as fh:
        assert fh.read() == "not committed yet\n"  # untouched, not even committed
    assert len(events(rt.ledger, "polecat_reaped")) == 1
    rounds.record(later, PATROL, found, None)  # as the rounds keep it: Problems shows it
    kept = [p for p in problems(rt.ledger) if p["kind"] == "patrol"]
    assert [p["id"] for p in kept] == [dirty["name"]] and "uncommitted" in kept[0]["text"]


# ---- session logs ----------------------------------------------------------------------


def test_old_session_logs_are_deleted_but_not_a_running_attempts(ledger, town, dispatcher):
    from engine.deacon.logrotate import PATROL

    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("a", rig="web", slung=True)["id"]
    Scheduler(ledger, TownConfig()).reconcile(dispatcher)
    agent = ledger.agents.list()[0]
    os.makedirs(town.logs_dir, exist_ok=True)
    live = log_path(town.logs_dir, "web", agent["name"], bead, agent["attempt"])
    old = log_path(town.logs_dir, "web", "Gone", "gt-old", 1)
    fresh = log_path(town.logs_dir, "web", "Gone", "gt-new", 1)
    other = os.path.join(town.logs_dir, "engine.log")  # not a session log: not ours
    month_ago = time.time() - 30 * 86_400
    for path in (live, old, fresh, other):
        with open(path, "w") as fh:
            fh.write("x\n")
        if path != fresh:
            os.utime(path, (month_ago, month_ago))
    found = run_patrol(PATROL, ctx_for(ledger, town, TownConfig()))
    assert len(found) == 1 and found[0].text.startswith("1 session logs")
    assert not os.path.exists(old)
    assert all(os.path.exists(p) for p in (live, fresh, other))


# ---- events ----------------------------------------------------------------------------


def test_compaction_keeps_the_newest_events_open_beads_history_and_the_followers_place(
    ledger, town, clock
):
    from engine.deacon.compaction import PATROL

    config = TownConfig(deacon=DeaconSettings(events_keep=100, events_keep_days=30))
    still_open = ledger.beads.create("still open")["id"]
    for i in range(150):
        b = ledger.beads.create(f"done {i}")["id"]
        ledger.beads.close(b)
    clock.advance(40 * 86_400)
    for i in range(60):
        ledger.beads.create(f"recent {i}")
    last = ledger.state.last_event_id()
    newest = [e["id"] for e in ledger.state.events_after(last - 100, limit=1000)]
    follower = last - 5  # the app has read up to here
    found = run_patrol(PATROL, ctx_for(ledger, town, config))
    assert found and "compacted" in found[0].text
    kept = [e["id"] for e in ledger.state.events_after(0, limit=100_000)]
    assert set(newest) <= set(kept)  # the newest 100, always
    assert len(kept) < 150
    assert [e["kind"] for e in ledger.state.recent(bead_id=still_open)] == ["created"]
    assert events(ledger, "events_compacted")
    # the follower carries on from its place; ids go on rising, never reused
    after = [e["id"] for e in ledger.state.events_after(follower)]
    assert after[:5] == list(range(follower + 1, last + 1))
    ledger.beads.create("after compaction")
    assert ledger.state.events_after(ledger.state.last_event_id() - 1)[0]["id"] > last


# ---- the rounds ------------------------------------------------------------------------


def test_each_patrol_runs_at_its_own_interval_and_its_state_is_in_the_ledger(ledger, town, clock):
    config = TownConfig(deacon=DeaconSettings(stranded_every_seconds=60, hooks_every_seconds=600))
    ctx = ctx_for(ledger, town, config)
    first = rounds.run_here(ctx)
    assert {"stranded", "hooks", "crash_loops", "reaper", "logs", "events"} <= set(first)
    assert rounds.run_here(ctx_for(ledger, town, config)) == {}  # none due yet
    clock.advance(61)
    assert "stranded" in rounds.run_here(ctx_for(ledger, town, config))
    rows = {r["name"]: r for r in rounds.rows(ledger, config.deacon)}
    assert rows["hooks"]["next_run"] > rows["stranded"]["last_run"]
    assert rows["stranded"]["error"] is None


def test_a_failing_patrol_is_recorded_and_the_others_still_run(ledger, town, monkeypatch):
    from engine.deacon.stranded import PATROL as stranded

    def broken(ctx):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(stranded, "look", broken)
    ran = rounds.run_here(ctx_for(ledger, town, TownConfig()))
    assert "stranded" not in ran and "hooks" in ran
    row = next(r for r in rounds.rows(ledger, DeaconSettings()) if r["name"] == "stranded")
    assert row["error"] == "RuntimeError: disk on fire"
    shown = [p for p in problems(ledger) if p["kind"] == "patrol"]
    assert shown == [
        {
            "kind": "patrol",
            "id": "stranded",
            "text": "the stranded convoys patrol failed: RuntimeError: disk on fire",
        }
    ]


def test_the_engines_loop_runs_the_patrols(town):
    ledger_cfg = TownConfig(scheduler=SchedulerSettings(tick_seconds=60))

    async def scenario() -> list[rounds.PatrolRow]:
        engine = Engine(town, dispatcher=RecordingDispatcher(), config=ledger_cfg)
        await engine.start()
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:
            for _ in range(500):
                assert engine.ledger is not None
                found = await engine.call(rounds.rows, engine.ledger, ledger_cfg.deacon)
                if all(r["last_run"] for r in found):
                    return found
                await asyncio.sleep(0.01)
            raise AssertionError("the patrols never ran")
        finally:
            stop.set()
            await task
            await engine.stop()

    found = asyncio.run(scenario())
    assert {r["name"] for r in found} >= {"stranded", "reaper", "events"}


def test_gt_status_and_gt_patrol_show_the_patrols(town):
    res = gt("patrol", "run", "stranded", town=town)
    assert res.returncode == 0, res.stderr
    res = gt("status", town=town)
    assert "Patrols" in res.stdout and "stranded" in res.stdout and "ran just now" in res.stdout
    res = gt("patrol", "list", town=town)
    assert res.returncode == 0 and "stranded" in res.stdout
    res = gt("patrol", "run", "nope", town=town)
    assert res.returncode == 1 and "no patrol named 'nope'" in res.stderr
    assert "Traceback" not in res.stderr


def test_an_unknown_deacon_key_is_refused_with_one_line(town):
    with open(town.config_path, "a") as fh:
        fh.write("\n[deacon]\nreap_every_secs = 3\n")
    res = gt("patrol", "list", town=town)
    assert res.returncode == 1
    assert "unknown key 'reap_every_secs' in [deacon]" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
