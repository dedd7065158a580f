"""An agent acts only as itself: its identity comes from its session (a per-dispatch token
in its environment, kept hashed in the ledger), never from what it claims on a command line."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from engine import vocab
from tests.cli_support import assert_one_line_error, ledger_dump
from tests.conftest import add_rig, gt, script_body


def hook(ledger, name: str, rig: str = "web") -> tuple[str, str, int]:
    bead = ledger.beads.create(f"work of {name}", rig=rig)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate(rig, name, "script")
        attempt = ledger.agents.assign(agent, bead, rig=rig)
    ledger.agents.mark_started(agent["id"], bead, attempt)
    return agent["id"], bead, attempt


def session_env(town, agent_id: str, bead: str, attempt: int, token: str | None = None):
    env = {
        "GT_TOWN": town.root,
        "GT_ROLE": "polecat",
        "GT_AGENT": agent_id.rsplit("/", 1)[1],
        "GT_AGENT_ID": agent_id,
        "GT_BEAD": bead,
        "GT_ATTEMPT": str(attempt),
    }
    if token is not None:
        env["GT_AGENT_TOKEN"] = token
    return env


@pytest.fixture
def two(town, ledger):
    add_rig(ledger, "web", "gt")
    toast = hook(ledger, "Toast")
    maple = hook(ledger, "Maple")
    return toast, maple


def test_inside_a_session_agent_naming_another_agent_is_refused(town, ledger, two):
    (toast, _tb, ta), (maple, mb, ma) = two
    env = session_env(town, toast, _tb, ta)
    before = ledger_dump(town.ledger_target)
    for args in (
        ["done", "--agent", maple, "--bead", mb, "--attempt", str(ma)],
        ["done", "--agent", "Maple", "--bead", mb, "--attempt", str(ma), "--status", "deferred"],
        ["heartbeat", "--agent", maple],
        ["checkpoint", "halfway", "--agent", "maple"],
        ["handoff", "--agent", maple, "--bead", mb, "--attempt", str(ma)],
        ["prime", "--agent", maple],
    ):
        res = gt(*args, env=env)
        assert_one_line_error(res, 2, "another agent")
    assert ledger_dump(town.ledger_target) == before  # nothing changed
    # naming itself is fine, by id or by name
    assert gt("heartbeat", "--agent", toast, env=env).returncode == 0
    assert gt("checkpoint", "x", "--agent", "Toast", env=env).returncode == 0


def test_a_wrong_or_missing_token_is_refused_and_the_right_one_accepted(town, ledger, two):
    (toast, tb, ta), _maple = two
    token = ledger.agents.issue_token(toast, ta)
    before = ledger_dump(town.ledger_target)
    for bad in ("not-the-token", None, ""):
        env = session_env(town, toast, tb, ta, bad)
        for args in (
            ["heartbeat"],
            ["checkpoint", "x"],
            ["prime"],
            ["done", "--status", "deferred"],
            ["handoff", "--note", "x"],
            ["mail", "send", "mayor", "hi"],
            ["mail", "inbox"],
            ["escalate", "help"],
            ["nudge", "Maple", "hello"],
            ["bead", "create", "as Toast"],
        ):
            res = gt(*args, env=env)
            assert_one_line_error(res, 1, "token")
    assert ledger_dump(town.ledger_target) == before
    good = session_env(town, toast, tb, ta, token)
    for args in (["heartbeat"], ["checkpoint", "x"], ["mail", "send", "mayor", "hi"]):
        res = gt(*args, env=good)
        assert res.returncode == 0, (args, res.stderr)
    sent = ledger.mail.inbox(["mayor"])
    assert [m["from"] for m in sent] == [toast]


def test_the_ledger_keeps_only_a_hash_and_a_new_dispatch_replaces_it(town, ledger, two):
    (toast, tb, ta), _ = two
    first = ledger.agents.issue_token(toast, ta)
    text = "\n".join(ledger_dump(town.ledger_target))
    assert first not in text
    assert hashlib.sha256(first.encode()).hexdigest() in text
    second = ledger.agents.issue_token(toast, ta)
    assert second != first
    assert gt("heartbeat", env=session_env(town, toast, tb, ta, first)).returncode == 1
    assert gt("heartbeat", env=session_env(town, toast, tb, ta, second)).returncode == 0


def test_a_person_at_a_terminal_is_the_mayor_and_cannot_borrow_an_agent(town, ledger, two):
    (toast, tb, ta), _ = two
    ledger.agents.issue_token(toast, ta)
    res = gt("mail", "send", "Toast", "from the mayor", "--json", town=town)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["from"] == "mayor"
    assert gt("escalate", "look at this", town=town).returncode == 0
    before = ledger_dump(town.ledger_target)
    res = gt(
        "done",
        "--agent",
        toast,
        "--bead",
        tb,
        "--attempt",
        str(ta),
        "--status",
        "deferred",
        town=town,
    )
    assert_one_line_error(res, 1, "token")
    assert ledger_dump(town.ledger_target) == before


# ---- for real: two tmux sessions ---------------------------------------------------------


def wait_for(pred, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_toast_cannot_land_work_as_maple_but_maple_can(real_town, tmp_path: Path):
    rt = real_town
    target, out, go = tmp_path / "target", tmp_path / "attack.out", tmp_path / "go"
    # Toast waits for Maple's identity, then tries twice to finish Maple's bead as Maple:
    # with --agent, and by overwriting its own identity variables.
    attack = (
        f"while [ ! -s {target} ]; do sleep 0.05; done; . {target}; "
        f'gt done --agent "$AGENT" --bead "$BEAD" --attempt "$ATTEMPT" > {out} 2>&1; '
        f'echo "rc=$?" >> {out}; '
        f'GT_AGENT_ID="$AGENT" GT_AGENT=Maple GT_BEAD="$BEAD" GT_ATTEMPT="$ATTEMPT" '
        f"gt done >> {out} 2>&1; "
        f'echo "rc=$?" >> {out}'
    )
    toast_bead = rt.ledger.beads.create(
        "toast",
        rig="web",
        slung=True,
        body=script_body("write t.txt t", "commit 't'", f"run sh -c '{attack}'", "hang"),
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(toast_bead)["status"] == vocab.IN_PROGRESS)
    maple_bead = rt.ledger.beads.create(
        "maple",
        rig="web",
        slung=True,
        body=script_body(
            "write m.txt m", "commit 'm'", f"run sh -c 'while [ ! -f {go} ]; do sleep 0.05; done'"
        ),
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(maple_bead)["status"] == vocab.IN_PROGRESS)
    maple = rt.ledger.agents.require("Maple")
    assert maple["hook"] == maple_bead
    before = rt.ledger.beads.get(maple_bead)
    target.write_text(f"AGENT={maple['id']}\nBEAD={maple_bead}\nATTEMPT={before['attempt']}\n")
    wait_for(lambda: out.exists() and out.read_text().count("rc=") == 2)
    report = out.read_text()
    assert "rc=0" not in report, report
    assert "another agent" in report and "token" in report, report
    assert rt.ledger.beads.get(maple_bead) == before
    assert rt.ledger.beads.list(bead_type="merge-request") == []
    # Maple's own session still finishes its own work
    go.write_text("go")
    rt.drive(lambda: rt.ledger.beads.get(maple_bead)["status"] == vocab.IN_REVIEW)
    mrs = rt.ledger.beads.list(bead_type="merge-request")
    assert [(m["metadata"]["source"], m["created_by"]) for m in mrs] == [(maple_bead, maple["id"])]
