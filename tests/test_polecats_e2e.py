"""Polecats for real: git worktrees, a private tmux server, the script runtime, `gt done`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from engine import vocab
from tests.conftest import script_body


def merge_requests(ledger):
    return ledger.beads.list(bead_type="merge-request")


def test_three_beads_run_concurrently_in_three_worktrees_and_polecats_are_reused(real_town):
    rt = real_town
    ids = [
        rt.ledger.beads.create(
            f"task {i}",
            rig="web",
            slung=True,
            body=script_body("log 3 0.2", f"write f{i}.txt hello {i}", f"commit 'task {i}'"),
        )["id"]
        for i in range(3)
    ]
    rt.reconcile()
    agents = rt.ledger.agents.list()
    assert sorted(a["name"] for a in agents) == ["Birch", "Maple", "Toast"]
    assert len({a["worktree"] for a in agents}) == 3
    assert {a["branch"] for a in agents} == {f"polecat/{a['name']}/{a['hook']}" for a in agents}
    assert rt.fleet.alive() == {a["id"] for a in agents}  # all three at once
    rt.drive(lambda: all(rt.ledger.beads.get(i)["status"] == vocab.IN_REVIEW for i in ids))
    mrs = merge_requests(rt.ledger)
    assert sorted(m["metadata"]["source"] for m in mrs) == sorted(ids)
    for m in mrs:  # each branch really carries its commit
        log = subprocess.run(
            ["git", "log", "--format=%s", "-1", m["metadata"]["commit"]],
            cwd=rt.ledger.rigs.require("web")["path"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert log.startswith("task ")
    rt.drive(lambda: all(a["status"] == vocab.AGENT_IDLE for a in rt.ledger.agents.list()))
    worktrees_before = {a["name"]: a["worktree"] for a in rt.ledger.agents.list()}
    more = [rt.ledger.beads.create(f"more {i}", rig="web", slung=True)["id"] for i in range(3)]
    rt.drive(lambda: all(rt.ledger.beads.get(i)["status"] == vocab.IN_REVIEW for i in more))
    after = {a["name"]: a["worktree"] for a in rt.ledger.agents.list()}
    assert after == worktrees_before  # same polecats, same worktrees, new branches
    branches = subprocess.run(
        ["git", "branch", "--format=%(refname:short)"],
        cwd=rt.ledger.rigs.require("web")["path"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert sum(b.startswith("polecat/") for b in branches) == 6


def test_serial_convoy_of_five_uses_one_polecat_at_a_time(real_town):
    rt = real_town
    ids: list[str] = []
    for i in range(5):
        deps = [(ids[-1], "blocks")] if ids else []
        ids.append(rt.ledger.beads.create(f"step {i}", rig="web", deps=deps)["id"])
    rt.ledger.convoys.create("serial", ids)
    for bead_id in ids:
        rt.drive(lambda b=bead_id: rt.ledger.beads.get(b)["status"] == vocab.IN_REVIEW)
        assert len(rt.ledger.agents.list()) == 1
        assert len(rt.fleet.alive()) <= 1
        rt.ledger.beads.close(bead_id)  # stands in for the refinery landing it
    assert [a["name"] for a in rt.ledger.agents.list()] == ["Toast"]


def test_killed_session_is_redispatched_and_the_zombie_done_changes_nothing(real_town):
    rt = real_town
    bead = rt.ledger.beads.create(
        "long", rig="web", slung=True, body=script_body("write a.txt x", "commit 'a'", "hang")
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS)
    agent = rt.ledger.agents.list()[0]
    rt.drive(lambda: "hanging" in rt.fleet.tmux.capture("web+Toast", 20))
    rt.fleet.tmux.kill_session("web+Toast")
    rt.drive(
        lambda: (
            rt.ledger.beads.get(bead)["attempt"] == 2
            and rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS
        ),
        timeout=20,
    )
    before = rt.ledger.beads.get(bead)
    env = {
        **os.environ,
        "GT_TOWN": rt.town.root,
        "GT_AGENT_ID": agent["id"],
        "GT_BEAD": bead,
        "GT_ATTEMPT": "1",
        "GT_WORKTREE": agent["worktree"],
    }
    late = subprocess.run(
        [os.path.join(os.path.dirname(os.sys.executable), "gt"), "done"],
        env=env,
        capture_output=True,
        text=True,
        cwd=agent["worktree"],
    )
    assert late.returncode == 1 and "stale attempt 1" in late.stderr
    assert rt.ledger.beads.get(bead) == before
    assert merge_requests(rt.ledger) == []


def test_runtime_whose_command_does_not_exist_backs_off_then_fails_clearly(tmp_path, monkeypatch):
    from engine.config import SchedulerSettings, TownConfig
    from tests.conftest import RealTown

    monkeypatch.setenv("SHELL", "/bin/sh")
    config = TownConfig.model_validate(
        {
            "scheduler": {"max_attempts": 2, "backoff_base_seconds": 0.2, "breaker_failures": 50},
            "runtime": {"default": "broken", "broken": {"argv": ["no-such-agent-cli", "{prompt}"]}},
        }
    )
    assert isinstance(config.scheduler, SchedulerSettings)
    rt = RealTown(tmp_path, config)
    try:
        bead = rt.ledger.beads.create("x", rig="web", slung=True)["id"]
        rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.FAILED, timeout=15)
        b = rt.ledger.beads.get(bead)
        assert "no-such-agent-cli" in b["last_error"] and "not found" in b["last_error"]
        assert b["failures"] == 2
        for _ in range(5):  # nothing loops afterwards
            assert rt.reconcile().assigned == []
        assert any(
            "failed after 2 attempts" in e["title"]
            for e in rt.ledger.beads.list(bead_type="escalation")
        )
    finally:
        rt.close()


def test_untrusted_title_and_body_reach_the_agent_verbatim_and_execute_nothing(real_town, tmp_path):
    rt = real_town
    canary = tmp_path / "pwned"
    title = f"$(touch {canary}); rm -rf ~ `touch {canary}`"
    body = f"C-c Enter Escape q ; touch {canary} && echo $HOME '\"\n" + script_body(
        "write note.txt done", "commit 'note'"
    )
    bead = rt.ledger.beads.create(title, rig="web", slung=True, body=body)["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_REVIEW)
    agent = rt.ledger.agents.list()[0]
    prompt = Path(agent["worktree"], ".gastown", "PROMPT.md").read_text()
    assert title in prompt and body in prompt
    assert not canary.exists()
    assert rt.ledger.beads.get(bead)["title"] == title
