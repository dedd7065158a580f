"""The witness with real sessions: labels, the recovery ladder, nudges, handoff, seance."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from engine import vocab
from tests.conftest import gt, script_body


def events(ledger, kind):
    return [e for e in ledger.state.recent(limit=1000) if e["kind"] == kind]


def test_stalled_agent_is_nudged_then_restarted_then_redispatched(real_town_factory):
    rt = real_town_factory(
        {
            "witness": {
                "stall_seconds": 1,
                "gupp_seconds": 30,
                "ladder_seconds": 0.5,
                "max_restarts": 1,
            },
            "scheduler": {"max_attempts": 2},
        }
    )
    bead = rt.ledger.beads.create("stuck", rig="web", slung=True, body=script_body("hang"))["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS)
    rt.drive(lambda: events(rt.ledger, "witness_nudged"), timeout=10)
    rt.drive(
        lambda: "witness: you have work on your hook" in rt.fleet.tmux.capture("web+Toast", 30),
        timeout=10,
    )
    assert rt.ledger.agents.get("Toast")["status"] in (
        vocab.AGENT_STALLED,
        "handoff",
        vocab.AGENT_WORKING,
    )
    rt.drive(lambda: events(rt.ledger, "witness_restarted"), timeout=10)
    rt.drive(lambda: rt.ledger.beads.get(bead)["attempt"] == 2, timeout=15)
    assert events(rt.ledger, "agent_stalled_out")
    logs = sorted(os.listdir(rt.town.logs_dir))
    assert any(name.endswith("+1.log") for name in logs)
    first = Path(rt.town.logs_dir, next(n for n in logs if n.endswith("+1.log")))
    assert first.read_text().count("--- ") == 2  # the original session and its restart
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.FAILED, timeout=20)
    assert any(
        "failed after 2 attempts" in e["title"]
        for e in rt.ledger.beads.list(bead_type="escalation")
    )


def test_witness_labels_a_quiet_agent_gupp(real_town_factory):
    rt = real_town_factory(
        {"witness": {"stall_seconds": 0.5, "gupp_seconds": 1, "ladder_seconds": 30}}
    )
    bead = rt.ledger.beads.create("quiet", rig="web", slung=True, body=script_body("hang"))["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS)
    rt.drive(lambda: rt.ledger.agents.get("Toast")["status"] == vocab.AGENT_GUPP, timeout=10)


def test_nudge_is_typed_literally_into_the_pane(real_town, tmp_path):
    rt = real_town
    canary = tmp_path / "canary"
    bead = rt.ledger.beads.create("wait", rig="web", slung=True, body=script_body("hang"))["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS)
    rt.drive(lambda: "hanging" in rt.fleet.tmux.capture("web+Toast", 20))
    text = f"C-c Enter Escape $(touch {canary}) ; q"
    res = gt("nudge", "Toast", text, town=rt.town)
    assert res.returncode == 0, res.stderr
    rt.drive(lambda: text in rt.fleet.tmux.capture("web+Toast", 20), timeout=10)
    time.sleep(0.3)
    assert rt.fleet.alive() == {"web/polecats/Toast"}  # C-c was typed, not sent as a key
    assert not canary.exists()
    assert rt.ledger.inbox.pending() == []


def test_expired_nudge_is_dropped(real_town):
    rt = real_town
    bead = rt.ledger.beads.create("wait", rig="web", slung=True, body=script_body("hang"))["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS)
    rt.ledger.inbox.put(
        "nudge",
        {"agent_id": "web/polecats/Toast", "message": "too late", "expires_at": time.time() - 1},
    )
    rt.reconcile()
    assert "too late" not in rt.fleet.tmux.capture("web+Toast", 20)
    assert rt.ledger.inbox.pending() == []


def test_handoff_restarts_the_session_with_hook_and_note_intact(real_town):
    rt = real_town
    bead = rt.ledger.beads.create(
        "big job",
        rig="web",
        slung=True,
        body=script_body(
            "handoff 'halfway: see notes.md'", "write notes.md done", "commit 'notes'"
        ),
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_REVIEW, timeout=30)
    assert events(rt.ledger, "handoff")
    b = rt.ledger.beads.get(bead)
    assert b["attempt"] == 1 and b["metadata"]["handoff_note"] == "halfway: see notes.md"
    agent = rt.ledger.agents.get("Toast")
    prompt = Path(agent["worktree"], ".gastown", "PROMPT.md").read_text()
    assert "halfway: see notes.md" in prompt


def test_seance_finds_what_an_ended_session_said(real_town):
    rt = real_town
    bead = rt.ledger.beads.create(
        "talk", rig="web", slung=True, body=script_body("log 3 0.01", "write t.txt x", "commit 't'")
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_REVIEW)
    rt.drive(lambda: not rt.fleet.alive())
    res = gt("seance", bead, town=rt.town)
    assert res.returncode == 0 and "working on " + bead in res.stdout
    res = gt("seance", "Toast", "--grep", "step 2/3", town=rt.town)
    assert "step 2/3" in res.stdout and "step 1/3" not in res.stdout
    peek = gt("peek", "Toast", town=rt.town)
    assert peek.returncode == 0 and "Submitted" in peek.stdout


def test_peek_shows_a_live_sessions_output(real_town):
    rt = real_town
    bead = rt.ledger.beads.create(
        "p", rig="web", slung=True, body=script_body("log 2 0.01", "hang")
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_PROGRESS)
    rt.drive(lambda: "hanging" in rt.fleet.tmux.capture("web+Toast", 20))
    res = gt("peek", "Toast", "-n", "5", town=rt.town)
    assert res.returncode == 0 and "hanging" in res.stdout


def test_bad_names_and_paths_are_refused(real_town):
    from engine.errors import GtError
    from engine.polecats import worktrees

    rt = real_town
    for bad in ("../escape", "has space", "a/b"):
        try:
            worktrees.ensure(
                rt.ledger.rigs.require("web")["path"],
                os.path.join(rt.town.rig_dir("web"), "polecats"),
                bad,
                "gt-abcd",
            )
        except GtError:
            pass
        else:
            raise AssertionError(f"{bad!r} was accepted")
    res = gt("rig", "add", "../evil", str(rt.source), town=rt.town)
    assert res.returncode == 2 and "bad rig name" in res.stderr
    res = gt("rig", "add", "has space", str(rt.source), town=rt.town)
    assert res.returncode == 2
    assert (
        subprocess.run(
            ["git", "check-ref-format", "--branch", "polecat/x/../y"], capture_output=True
        ).returncode
        != 0
    )
