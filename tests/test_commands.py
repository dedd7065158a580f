"""The commands layer: each action once, typed in and out, one transaction, no printing."""

from __future__ import annotations

import subprocess

import pytest

from engine.commands import done as done_cmd
from engine.commands import merge_requests, nudge, sling
from engine.config import RigSettings, TownConfig
from engine.errors import Conflict, GtError, UsageError
from tests.cli_support import hooked_agent as hooked
from tests.conftest import add_rig, make_source_repo


def git(path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=path,
        check=True,
        capture_output=True,
    )


def branch(tmp_path, *, committed: bool):
    """A checkout on a polecat branch off main (main recorded as `gt rig add` does)."""
    repo = make_source_repo(tmp_path / "wt")
    git(repo, "config", "gastown.main", "main")
    git(repo, "checkout", "-q", "-b", "polecat/toast")
    if committed:
        (repo / "fix.txt").write_text("fixed\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "fix")
    return repo


# ---- sling ------------------------------------------------------------------------------


def test_sling_assigns_a_ready_bead_and_reports_the_placement(ledger, config):
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("fix it", rig="web")["id"]
    result = sling.sling(ledger, config, sling.SlingRequest(ids=(bead,)), actor="mayor")
    (placed,) = result.placements
    assert placed.bead_id == bead and placed.agent and placed.rig == "web"
    assert not placed.queued and result.assigned
    assert ledger.beads.get(bead)["status"] == "hooked"
    assert list(placed.as_dict()) == [
        "id",
        "agent",
        "agent_id",
        "rig",
        "attempt",
        "runtime",
        "queued",
        "reason",
    ]
    assert placed.runtime == config.runtime_for("web")


def test_sling_a_bead_that_cannot_start_says_why_it_waits(ledger, config):
    add_rig(ledger, "web", "gt")
    blocker = ledger.beads.create("first", rig="web")["id"]
    bead = ledger.beads.create("second", rig="web", deps=[(blocker, "blocks")])["id"]
    result = sling.sling(ledger, config, sling.SlingRequest(ids=(bead,)), actor="mayor")
    (placed,) = result.placements
    assert placed.queued and not result.assigned
    assert placed.reason and blocker in placed.reason
    assert placed.as_dict() == {"id": bead, "agent": None, "queued": True, "reason": placed.reason}


def test_sling_is_all_or_nothing(ledger, config):
    add_rig(ledger, "web", "gt")
    closed = ledger.beads.create("old", rig="web")["id"]
    ledger.beads.close(closed, reason="done")
    before = len(ledger.beads.list())
    request = sling.SlingRequest(ids=(closed,), new_bead=sling.NewBead("new work", rig="web"))
    with pytest.raises(Conflict):
        sling.sling(ledger, config, request, actor="mayor")
    assert len(ledger.beads.list()) == before  # the new bead was not left behind


def test_sling_launches_a_staged_convoy_and_slings_each_bead_once(ledger, config):
    add_rig(ledger, "web", "gt")
    a = ledger.beads.create("a", rig="web")["id"]
    b = ledger.beads.create("b", rig="web")["id"]
    convoy = ledger.convoys.create("both", [a, b], staged=True)["id"]
    result = sling.sling(ledger, config, sling.SlingRequest(ids=(convoy, a)), actor="mayor")
    assert sorted(p.bead_id for p in result.placements) == sorted([a, b])
    assert ledger.convoys.get(convoy)["status"] != "staged"


def test_sling_refuses_an_id_that_can_never_be_a_branch(ledger, config):
    with pytest.raises(GtError):
        sling.sling(ledger, config, sling.SlingRequest(ids=("bad id;rm",)), actor="mayor")


# ---- done -------------------------------------------------------------------------------


def test_done_refuses_a_branch_with_no_commits_beyond_main(ledger, tmp_path):
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked(ledger)
    repo = branch(tmp_path, committed=False)
    before = ledger.state.last_event_id()
    request = done_cmd.DoneRequest(agent, bead, attempt, worktree=str(repo))
    with pytest.raises(Conflict, match="no commits beyond main"):
        done_cmd.done(ledger, request)
    assert ledger.state.last_event_id() == before
    assert ledger.beads.get(bead)["status"] != "in_review"


def test_done_submits_a_committed_branch_as_a_merge_request(ledger, tmp_path):
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked(ledger)
    repo = branch(tmp_path, committed=True)
    result = done_cmd.done(
        ledger, done_cmd.DoneRequest(agent, bead, attempt, worktree=str(repo), summary="ok")
    )
    assert result.branch == "polecat/toast" and result.commit and result.merge_request
    assert result.as_dict() == {
        "id": bead,
        "status": "completed",
        "agent": "Toast",
        "merge_request": result.merge_request,
    }
    assert ledger.beads.get(bead)["status"] == "in_review"


def test_done_handing_back_reads_no_git(ledger):
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked(ledger)
    request = done_cmd.DoneRequest(
        agent, bead, attempt, worktree="/no/such/worktree", status="deferred"
    )
    result = done_cmd.done(ledger, request)
    assert result.branch is None and result.merge_request is None
    assert result.as_dict() == {"id": bead, "status": "deferred", "agent": "Toast"}


# ---- nudge ------------------------------------------------------------------------------


def test_a_nudge_with_a_control_character_is_refused_when_it_is_made():
    with pytest.raises(UsageError, match="control character"):
        nudge.Nudge.of("Toast", "stop\x03")


def test_nudge_queues_the_message_for_the_engine_with_its_expiry(ledger, clock):
    add_rig(ledger, "web", "gt")
    agent, _bead, _attempt = hooked(ledger)
    queued = nudge.nudge(ledger, nudge.Nudge(agent="Toast", message="hi", ttl=60), actor="mayor")
    assert queued.agent_id == agent and queued.agent_name == "Toast"
    (item,) = ledger.inbox.pending()
    assert item["kind"] == "nudge" and item["actor"] == "mayor"
    assert item["payload"] == {"agent_id": agent, "message": "hi", "expires_at": clock() + 60}


def test_nudge_to_an_unknown_agent_queues_nothing(ledger):
    with pytest.raises(GtError):
        nudge.nudge(ledger, nudge.Nudge(agent="Nobody", message="hi"), actor="mayor")
    assert ledger.inbox.pending() == []


# ---- the merge queue --------------------------------------------------------------------


def test_the_batch_size_follows_the_failure_rate_capped_by_the_rig(ledger):
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    config = TownConfig(rigs={"api": RigSettings(max_batch=4)})
    with ledger.transaction():
        ledger.state.put("refinery:web", {"failure_rate": 0.1, "last_batch": "web-1"})
    web = merge_requests.rig_batch(ledger, config, "web")
    assert (web.batch_size, web.failure_rate, web.last_batch) == (8, 0.1, "web-1")
    assert merge_requests.rig_batch(ledger, config, "api").batch_size == 4  # prior 0.05 → 16, cap 4


def test_the_queue_listing_carries_each_rigs_batch_size(ledger, config, tmp_path):
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked(ledger)
    repo = branch(tmp_path, committed=True)
    mr = done_cmd.done(ledger, done_cmd.DoneRequest(agent, bead, attempt, worktree=str(repo)))
    listing = merge_requests.list_queue(ledger, config)
    assert [b.rig for b in listing.rigs] == ["web"]
    (row,) = listing.as_json()
    assert row["id"] == mr.merge_request and row["batch_size"] == listing.rigs[0].batch_size
    with pytest.raises(Conflict):  # only a failed, conflicting or rejected request is retried
        merge_requests.retry(ledger, row["id"], actor="mayor")
    decided = merge_requests.reject(ledger, config, row["id"], reason="wrong", actor="mayor")
    assert decided.mr_id == row["id"] and decided.source_bead == bead
    assert decided.state == ledger.mq.require(row["id"])["state"]


def test_the_nudge_command_checks_the_text_however_the_request_was_made(ledger):
    add_rig(ledger, "web", "gt")
    hooked(ledger)
    with pytest.raises(UsageError, match="control character"):
        nudge.nudge(ledger, nudge.Nudge(agent="Toast", message="\x1b[2J"), actor="mayor")
    assert ledger.inbox.pending() == []
