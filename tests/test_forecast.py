"""The conflict forecast in a real town with real git: live branches test-merged with
`git merge-tree` (no worktree touched), conflicts shown and mailed once, the refinery
landing the smaller of a colliding pair first, nothing merged again for unmoved heads."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from engine.adapters import git
from engine.deacon import forecast
from engine.records import MailMessage
from engine.refinery.refinery import Refinery
from tests.conftest import RealTown, git_out, submit_work

LINES = "".join(f"line {i}\n" for i in range(1, 21))


@pytest.fixture
def rt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from engine.config import TownConfig

    monkeypatch.setenv("SHELL", "/bin/sh")
    town = RealTown(tmp_path, TownConfig(), files={"README.md": "# demo\n", "shared.txt": LINES})
    yield town
    town.close()


@pytest.fixture
def merges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every real `git merge-tree` the forecast runs."""
    calls: list[tuple[str, str]] = []
    real = git.Repository.merge_conflicts

    def counted(self: git.Repository, a: str, b: str) -> list[str]:
        calls.append((a, b))
        return real(self, a, b)

    monkeypatch.setattr(git.Repository, "merge_conflicts", counted)
    return calls


def edit(text: str, changes: dict[int, str]) -> str:
    lines = text.splitlines(keepends=True)
    for n, new in changes.items():
        lines[n - 1] = new + "\n"
    return "".join(lines)


def commit_on(repo: str, branch: str, files: dict[str, str], *, new: bool = False) -> str:
    """One commit on BRANCH writing FILES, made in a throwaway worktree."""
    wt = tempfile.mkdtemp(prefix="fc-")
    os.rmdir(wt)
    start = git_out(repo, "config", "gastown.main")
    args = ["-b", branch, wt, start] if new else [wt, branch]
    git_out(repo, "worktree", "add", "-q", *args)
    try:
        for name, text in files.items():
            Path(wt, name).write_text(text)
        git_out(wt, "add", "-A")
        git_out(wt, "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-q", "-m", "work")
        return git_out(wt, "rev-parse", "HEAD")
    finally:
        git_out(repo, "worktree", "remove", "--force", wt)


def live_polecat(rt: RealTown, title: str, files: dict[str, str]) -> tuple[str, str, str]:
    """A polecat working a bead, its branch holding one commit (no session needed: the
    forecast reads the ledger and the repository). Returns (bead, agent id, branch)."""
    from engine.scheduler.names import next_name

    ledger = rt.ledger
    repo = ledger.rigs.require("web")["path"]
    bead = ledger.beads.create(title, rig="web", slung=True)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate("web", next_name(ledger.agents.live_names()), "script")
        attempt = ledger.agents.assign(agent, bead, rig="web")
    branch = f"polecat/{agent['name']}/{bead}"
    commit_on(repo, branch, files, new=True)
    ledger.agents.mark_started(agent["id"], bead, attempt, branch=branch)
    return bead, agent["id"], branch


def run_forecast(rt: RealTown) -> forecast.Outcome:
    """One forecast, its three steps as the engine runs them (work touches no ledger)."""
    return forecast.act(rt.ledger, forecast.work(forecast.look(rt.ledger)))


def forecast_mail(rt: RealTown, agent: str) -> list[MailMessage]:
    return [
        m for m in rt.ledger.mail.inbox([agent]) if m["subject"].startswith("Conflict forecast")
    ]


def test_two_live_branches_editing_the_same_lines_are_warned_once_before_the_refinery(rt, merges):
    a, agent_a, _ = live_polecat(rt, "retitle line 3", {"shared.txt": edit(LINES, {3: "A"})})
    b, agent_b, branch_b = live_polecat(
        rt, "reword line 3", {"shared.txt": edit(LINES, {3: "B", 4: "B"})}
    )
    assert rt.ledger.mq.list() == []  # neither has reached the refinery

    out = run_forecast(rt)
    (c,) = out.conflicts
    assert {c.bead, c.other} == {a, b} and c.files == ["shared.txt"]
    marks = forecast.conflicts_by_bead(rt.ledger)
    assert [(c.other, c.files) for c in marks[a]] == [(b, ["shared.txt"])]
    assert [(c.other, c.files) for c in marks[b]] == [(a, ["shared.txt"])]
    for agent, other in ((agent_a, b), (agent_b, a)):
        (mail,) = forecast_mail(rt, agent)
        assert "shared.txt" in mail["subject"] and other in mail["subject"]
        assert mail["from"] == "deacon"
    # the smaller change (a: one line) is named to land first, in both letters
    assert f"smaller change first ({a})" in forecast_mail(rt, agent_b)[0]["body"]

    # nothing moved: no merge is run again, and nobody is mailed again
    merges.clear()
    again = run_forecast(rt)
    assert merges == [] and again.merges == 0 and again.sizes == 0
    assert len(again.conflicts) == 1
    assert len(forecast_mail(rt, agent_a)) == len(forecast_mail(rt, agent_b)) == 1

    # b moves (still the same lines): only b's pairs are merged again; same files, no mail
    commit_on(
        rt.ledger.rigs.require("web")["path"], branch_b, {"shared.txt": edit(LINES, {3: "C"})}
    )
    moved = run_forecast(rt)
    assert len(merges) == moved.merges == 2  # b against the target, b against a
    assert len(moved.conflicts) == 1
    assert len(forecast_mail(rt, agent_a)) == len(forecast_mail(rt, agent_b)) == 1


def test_two_branches_touching_different_lines_of_one_file_are_not_warned(rt, merges):
    _, agent_a, _ = live_polecat(rt, "top", {"shared.txt": edit(LINES, {2: "top"})})
    _, agent_b, _ = live_polecat(rt, "bottom", {"shared.txt": edit(LINES, {18: "bottom"})})
    out = run_forecast(rt)
    assert out.conflicts == [] and out.mailed == 0
    assert len(merges) == 3  # each against the target, and the pair: all clean
    assert forecast.conflicts_by_bead(rt.ledger) == {}
    assert forecast_mail(rt, agent_a) == forecast_mail(rt, agent_b) == []


def test_a_branch_conflicting_with_the_moved_target_is_warned(rt):
    repo = rt.ledger.rigs.require("web")["path"]
    a, agent_a, _ = live_polecat(rt, "line 5", {"shared.txt": edit(LINES, {5: "mine"})})
    assert run_forecast(rt).conflicts == []
    main = git_out(repo, "config", "gastown.main")
    commit_on(repo, main, {"shared.txt": edit(LINES, {5: "landed meanwhile"})})

    out = run_forecast(rt)
    assert [(c.bead, c.other, c.files) for c in out.conflicts] == [
        (a, forecast.TARGET, ["shared.txt"])
    ]
    (mail,) = forecast_mail(rt, agent_a)
    assert "conflicts with main" in mail["subject"] and "Rebase onto main" in mail["body"]
    assert [c.other for c in forecast.conflicts_by_bead(rt.ledger)[a]] == [forecast.TARGET]


def test_a_branch_with_no_commits_of_its_own_is_merged_with_nothing(rt, merges):
    from engine.scheduler.names import next_name

    ledger = rt.ledger
    repo = ledger.rigs.require("web")["path"]
    bead = ledger.beads.create("not started", rig="web", slung=True)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate("web", next_name(ledger.agents.live_names()), "script")
        attempt = ledger.agents.assign(agent, bead, rig="web")
    branch = f"polecat/{agent['name']}/{bead}"
    git_out(repo, "branch", branch, git_out(repo, "config", "gastown.main"))
    ledger.agents.mark_started(agent["id"], bead, attempt, branch=branch)
    out = run_forecast(rt)
    assert merges == [] and out.sizes == 0 and out.conflicts == []


def test_the_refinery_lands_the_smaller_of_a_predicted_pair_first(rt):
    big_lines = {n: f"big {n}" for n in range(1, 16)}
    big, big_mr = submit_work(rt, "the big one", {"shared.txt": edit(LINES, big_lines)})
    small, small_mr = submit_work(rt, "the small one", {"shared.txt": edit(LINES, {3: "s"})})
    refinery = Refinery(rt.town, rt.ledger, "web", rt.config)
    refinery.recover()
    assert [m["id"] for m in refinery.triage()] == [big_mr, small_mr]  # queue order

    out = run_forecast(rt)  # both wait in the queue: still live branches
    assert [{c.bead, c.other} for c in out.conflicts] == [{big, small}]
    assert [m["id"] for m in refinery.triage()] == [small_mr, big_mr]

    assert refinery.process_once()
    assert rt.ledger.mq.get(small_mr)["state"] == "landed"
    assert rt.ledger.mq.get(big_mr)["state"] != "landed"


def test_smaller_first_settles_a_chain_of_pairs():
    def mr(bead: str) -> dict:
        return {"id": f"mr-{bead}", "source_bead": bead}

    fc = forecast.empty()
    fc["branches"] = {
        b: {"branch": b, "head": b, "size": s} for b, s in (("x", 30), ("y", 20), ("z", 10))
    }
    for a, b in (("x", "y"), ("y", "z")):
        fc["pairs"][forecast.pair_key(a, b)] = {
            "a": a,
            "b": b,
            "heads": [a, b],
            "files": ["f"],
            "mailed": [],
        }
    queue = [mr("x"), mr("y"), mr("z"), mr("w")]
    ordered = forecast.smaller_first(queue, fc)  # type: ignore[arg-type]
    assert [m["source_bead"] for m in ordered] == ["z", "y", "x", "w"]


def test_both_beads_and_both_agents_are_marked_in_the_app(rt):
    from engine.views import town_snapshot
    from gastown_tui.screens.detail import agent_text, bead_text
    from gastown_tui.widgets.bead_table import row_for

    a, agent_a, _ = live_polecat(rt, "one", {"shared.txt": edit(LINES, {7: "one"})})
    b, agent_b, _ = live_polecat(rt, "two", {"shared.txt": edit(LINES, {7: "two"})})
    calm, _, _ = live_polecat(rt, "calm", {"other.txt": "elsewhere\n"})
    run_forecast(rt)

    rows = {r["id"]: r for r in town_snapshot.bead_rows(rt.ledger)}
    for bead in (a, b):
        cells = row_for(rows[bead])
        assert cells["id"].plain.endswith("⚠") and cells["agent"].plain.endswith("⚠")
    assert "⚠" not in row_for(rows[calm])["id"].plain

    detail = bead_text(town_snapshot.bead_detail(rt.ledger, rt.town, a)).plain
    assert f"conflict forecast: collides with bead {b} in shared.txt" in detail
    assert (
        "conflict forecast"
        not in bead_text(town_snapshot.bead_detail(rt.ledger, rt.town, calm)).plain
    )
    shown = agent_text(town_snapshot.agent_detail(rt.ledger, rt.town, agent_b)).plain
    assert f"collides with bead {a} in shared.txt" in shown
    assert agent_a != agent_b


def test_the_forecast_is_a_deacon_patrol_at_its_town_toml_interval(rt):
    from engine.config import TownConfig
    from engine.deacon import rounds
    from engine.deacon.patrol import PatrolContext

    assert forecast.PATROL in rounds.patrols()
    config = TownConfig.model_validate({"deacon": {"forecast_seconds": 60}})
    assert forecast.PATROL.interval(config.deacon) == 60
    assert forecast.PATROL.interval(TownConfig().deacon) == 180

    a, _, _ = live_polecat(rt, "one", {"shared.txt": edit(LINES, {9: "one"})})
    b, _, _ = live_polecat(rt, "two", {"shared.txt": edit(LINES, {9: "two"})})
    ctx = PatrolContext(rt.ledger, config, rt.town, rt.ledger.now())
    p = forecast.PATROL
    (finding,) = p.act(ctx, p.work(ctx, p.look(ctx)))
    assert finding.subject in (a, b) and finding.text.endswith("both change shared.txt")


def test_in_the_engine_the_merges_run_on_the_adapters_thread_not_the_ledgers(rt, monkeypatch):
    import asyncio
    import threading

    from engine.deacon import rounds
    from engine.engine import Engine
    from tests.recording import RecordingDispatcher

    a, _, _ = live_polecat(rt, "one", {"shared.txt": edit(LINES, {11: "one"})})
    b, _, _ = live_polecat(rt, "two", {"shared.txt": edit(LINES, {11: "two"})})
    threads: set[str] = set()
    real = git.Repository.merge_conflicts

    def on_thread(self: git.Repository, x: str, y: str) -> list[str]:
        threads.add(threading.current_thread().name)
        return real(self, x, y)

    monkeypatch.setattr(git.Repository, "merge_conflicts", on_thread)
    monkeypatch.setattr(rounds, "patrols", lambda: [forecast.PATROL])  # this patrol alone

    async def scenario() -> dict:
        engine = Engine(rt.town, dispatcher=RecordingDispatcher(), config=rt.config)
        await engine.start()
        try:
            return await rounds.run_due(engine)
        finally:
            await engine.stop()

    found = asyncio.run(scenario())
    assert [f.subject for f in found["forecast"]] in ([a], [b])
    assert threads and all(n.startswith("adapters") for n in threads), threads
    state = rt.ledger.state.get("deacon.forecast")
    assert state["found"] == 1 and state["next_run"] - state["last_run"] == 180
