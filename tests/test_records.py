"""The record shapes (engine/records.py) are what the ledger's stores really return: one of
each record is made through the normal paths and validated, extra keys refused and no
coercion (an int is not a bool), so a store and its TypedDict cannot drift apart."""

from __future__ import annotations

import typing
from typing import Any, TypedDict

import pytest
from pydantic import ValidationError

from engine import records
from engine.commands import done as done_cmd
from engine.json_schemas import adapter
from engine.ledger import Ledger
from tests.cli_support import hooked_agent
from tests.conftest import add_rig


def check(shape: Any, value: Any) -> None:
    adapter(shape).validate_python(value)


@pytest.fixture
def made(ledger: Ledger) -> dict[str, Any]:
    """One of each record, made as gt and the engine make them."""
    add_rig(ledger, "web", "gt")
    blocker = ledger.beads.create("blocker", labels=["py"], metadata={"k": 1})["id"]
    dependent = ledger.beads.create("dependent", deps=[(blocker, "blocks")])["id"]
    agent, bead, attempt = hooked_agent(ledger)
    with ledger.transaction(durable=True):
        done = done_cmd.record(
            ledger,
            done_cmd.DoneRequest(agent, bead, attempt, worktree="", summary="s"),
            branch="b",
            commit="c0ffee",
        )
    convoy = ledger.convoys.create("ship", [blocker, dependent], staged=True)["id"]
    sent = ledger.mail.send(sender="mayor", to=agent, subject="hello", body="hi")
    reply = ledger.mail.send(sender=agent, to="mayor", subject="re", reply_to=sent["id"])
    return {
        "blocker": blocker,
        "dependent": dependent,
        "agent": agent,
        "mr": done.merge_request,
        "convoy": convoy,
        "mail": sent["id"],
        "reply": reply["id"],
    }


def test_beads_match_the_bead_record(ledger: Ledger, made: dict[str, Any]) -> None:
    every = ledger.beads.list(include_records=True)  # work, convoys, mail, merge requests
    assert {b["type"] for b in every} >= {"task", "convoy", "message", "merge-request"}
    check(list[records.Bead], every)
    check(records.BeadWithExtra, ledger.beads.require(made["dependent"], extra=True))
    check(list[records.Bead], ledger.beads.ready())
    check(list[records.BlockedBead], ledger.beads.blocked())
    assert ledger.beads.blocked()  # the dependent: the check above saw a blocked bead


def test_agents_match_the_agent_record(ledger: Ledger, made: dict[str, Any]) -> None:
    agents = ledger.agents.list()
    assert agents
    check(list[records.Agent], agents)
    check(records.Agent, ledger.agents.require(made["agent"]))


def test_merge_requests_match_the_merge_request_records(
    ledger: Ledger, made: dict[str, Any]
) -> None:
    check(records.MergeRequest, ledger.mq.require(made["mr"]))
    queued = ledger.mq.list()
    assert [m["id"] for m in queued] == [made["mr"]]
    check(list[records.QueuedMergeRequest], queued)


def test_convoys_match_the_convoy_records(ledger: Ledger, made: dict[str, Any]) -> None:
    check(records.Convoy, ledger.convoys.require(made["convoy"]))
    check(list[records.ListedConvoy], ledger.convoys.list())
    check(records.ConvoyStatus, ledger.convoys.status(made["convoy"]))
    check(records.CancelledConvoy, ledger.convoys.cancel(made["convoy"], actor="mayor"))


def test_mail_matches_the_mail_record(ledger: Ledger, made: dict[str, Any]) -> None:
    check(records.MailMessage, ledger.mail.require(made["mail"]))
    reply = ledger.mail.require(made["reply"])
    assert reply["reply_to"] == made["mail"]
    check(records.MailMessage, reply)
    check(list[records.MailMessage], ledger.mail.inbox([made["agent"]]))


def test_events_match_the_event_record(ledger: Ledger, made: dict[str, Any]) -> None:
    check(list[records.EventRow], ledger.state.recent(limit=1000))
    check(list[records.EventRow], ledger.state.events_after(0))
    check(list[records.EventRow], ledger.beads.history(made["dependent"]))


def test_edges_and_blockers_match_their_records(ledger: Ledger, made: dict[str, Any]) -> None:
    edges = ledger.graph.edges_of(made["dependent"])
    assert edges["depends_on"]
    check(list[records.Edge], edges["depends_on"] + edges["dependents"])
    check(list[records.Blocker], ledger.graph.blockers(made["dependent"]))


def test_rigs_match_the_rig_record(ledger: Ledger, made: dict[str, Any]) -> None:
    rigs = ledger.rigs.list()
    assert [r["name"] for r in rigs] == ["web"]
    check(list[records.Rig], rigs)
    check(records.Rig, ledger.rigs.require("web"))
    check(records.Rig, ledger.rigs.by_prefix("gt"))


def test_status_changes_edges_and_trees_match_their_records(
    ledger: Ledger, made: dict[str, Any]
) -> None:
    # an external ref: its tree node has no title or status
    check(records.DepAdded, ledger.graph.add(made["dependent"], "external:gh-1", "related"))
    with ledger.transaction(durable=True):
        change = ledger.beads.set_status(
            made["dependent"], "deferred", actor="mayor", kind="deferred"
        )
    check(records.StatusChange, change)
    assert change["from"] == "open" and change["to"] == "deferred"
    tree = ledger.graph.tree(made["dependent"])
    assert [c["id"] for c in tree["children"]] == [made["blocker"], "external:gh-1"]
    assert tree["children"][1]["title"] is None
    check_tree(tree)
    cut = ledger.graph.tree(made["dependent"], max_depth=0)
    assert cut.get("truncated") is True
    check_tree(cut)
    with pytest.raises(ValidationError, match="title"):
        check_tree({**tree, "children": [{"id": "x", "children": []}]})


def check_tree(node: Any) -> None:
    """A TreeNode and, one by one, its children: the adapter cannot build the recursive
    type, so each node is checked against TreeNode's own fields with children left open."""
    fields = typing.get_type_hints(records.TreeNode, include_extras=True)
    flat = TypedDict("FlatTreeNode", {**fields, "children": list[Any]})  # type: ignore[misc]
    check(flat, node)
    for child in node["children"]:
        check_tree(child)


def test_inbox_items_match_their_records(ledger: Ledger) -> None:
    from engine.ledger.inbox import MAX_TRIES

    ledger.inbox.put("nudge", {"agent_id": "a", "message": "hi"}, actor="mayor")
    pending = ledger.inbox.pending()
    assert pending and pending[0]["payload"] == {"agent_id": "a", "message": "hi"}
    check(list[records.InboxItem], pending)
    for _ in range(MAX_TRIES):
        ledger.inbox.failed(pending[0]["id"], "no session")
    parked = ledger.inbox.parked()
    assert [p["id"] for p in parked] == [pending[0]["id"]]
    check(list[records.ParkedInboxItem], parked)  # the payload as stored: JSON text


def test_the_check_refuses_an_extra_key_a_missing_key_and_a_coerced_value(
    ledger: Ledger, made: dict[str, Any]
) -> None:
    bead = ledger.beads.require(made["blocker"])
    with pytest.raises(ValidationError, match="extra"):
        check(records.Bead, {**bead, "surprise": 1})
    with pytest.raises(ValidationError, match="missing"):
        check(records.Bead, {k: v for k, v in bead.items() if k != "slung"})
    with pytest.raises(ValidationError, match="slung"):
        check(records.Bead, {**bead, "slung": 0})  # stored as 0/1: must come out a bool
    agent = ledger.agents.require(made["agent"])
    with pytest.raises(ValidationError, match="status"):
        check(records.Agent, {**agent, "status": "sleeping"})  # not an AgentStatus


@pytest.mark.parametrize("source", ["beads-issues.jsonl", "gastown-backup"])
def test_imported_records_match_the_import_shapes(source: str) -> None:
    from engine.beads_jsonl import read_beads_jsonl
    from tests.conftest import DATA

    batch = read_beads_jsonl(DATA / source)
    assert batch.beads and batch.deps and not batch.errors
    check(list[records.ImportedBead], batch.beads)
    check(list[records.ImportedDep], batch.deps)
