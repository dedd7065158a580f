"""Every `--json` command prints exactly one JSON document, in the documented shapes.

List commands print a JSON array (also when empty); beads carry id, title, status,
priority, type, rig, assignee, labels, created_at; agents carry name, rig, status, hook,
attempt, runtime. Nothing else goes to stdout, and nothing to stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.ledger import Ledger
from engine.town import Town, init_town
from tests.cli_support import run_gt
from tests.conftest import add_rig

BEAD_KEYS = {"id", "title", "status", "priority", "type", "rig", "assignee", "labels", "created_at"}
AGENT_KEYS = {"name", "rig", "status", "hook", "attempt", "runtime"}


def one_document(*args: str, town: Town) -> Any:
    """Run a --json command: exit 0, empty stderr, stdout exactly one JSON document."""
    proc = run_gt(*args, town=town)
    assert proc.returncode == 0, (args, proc.stderr)
    assert proc.stderr == "", (args, proc.stderr)
    text = proc.stdout
    assert text.strip(), f"{args}: no output"
    decoder = json.JSONDecoder()
    doc, end = decoder.raw_decode(text, len(text) - len(text.lstrip()))
    assert text[end:].strip() == "", f"{args}: more than one document: {text[end:][:80]!r}"
    return doc


def one_array(*args: str, town: Town) -> list[Any]:
    doc = one_document(*args, town=town)
    assert isinstance(doc, list), (args, type(doc))
    return doc


def one_object(*args: str, town: Town) -> dict[str, Any]:
    doc = one_document(*args, town=town)
    assert isinstance(doc, dict), (args, type(doc))
    return doc


def assert_bead(obj: dict[str, Any]) -> None:
    missing = BEAD_KEYS - set(obj)
    assert not missing, (obj.get("id"), missing)
    assert isinstance(obj["id"], str) and isinstance(obj["title"], str)
    assert isinstance(obj["status"], str) and isinstance(obj["type"], str)
    assert type(obj["priority"]) is int
    assert isinstance(obj["labels"], list) and all(isinstance(x, str) for x in obj["labels"])
    assert isinstance(obj["created_at"], str)
    assert obj["rig"] is None or isinstance(obj["rig"], str)
    assert obj["assignee"] is None or isinstance(obj["assignee"], str)


def assert_agent(obj: dict[str, Any]) -> None:
    missing = AGENT_KEYS - set(obj)
    assert not missing, (obj.get("name"), missing)
    assert isinstance(obj["name"], str) and isinstance(obj["rig"], str)
    assert type(obj["attempt"]) is int


@dataclass
class World:
    town: Town
    blocker: str
    dependent: str
    free: str
    spare: str
    work: str  # a rig bead, ready, not yet slung
    convoy: str  # a staged convoy tracking `spare`


@pytest.fixture
def world(tmp_path: Path) -> World:
    town = init_town(str(tmp_path / "town"))
    with Ledger(town.ledger_target) as led:
        add_rig(led, "backend", "be", capabilities=["python"])
        blocker = led.beads.create("blocker", priority=1, labels=["python"])["id"]
        dependent = led.beads.create("dependent", deps=[(blocker, "blocks")])["id"]
        free = led.beads.create("free")["id"]
        spare = led.beads.create("spare")["id"]
        work = led.beads.create("rig work", rig="backend")["id"]
        convoy = led.convoys.create("staged convoy", [spare], staged=True)["id"]
    return World(town, blocker, dependent, free, spare, work, convoy)


@pytest.fixture
def empty_town(tmp_path: Path) -> Town:
    return init_town(str(tmp_path / "empty"))


# --- beads ------------------------------------------------------------------------------


def test_bead_create_json_is_one_bead(world: World) -> None:
    bead = one_object(
        "bead", "create", "new one", "--label", "a", "-p", "0", "--json", town=world.town
    )
    assert_bead(bead)
    assert (bead["title"], bead["priority"], bead["labels"]) == ("new one", 0, ["a"])


def test_bead_show_json_is_one_bead_with_its_edges(world: World) -> None:
    bead = one_object("bead", "show", world.dependent, "--json", town=world.town)
    assert_bead(bead)
    assert bead["blocked"] is True
    assert [d["id"] for d in bead["depends_on"]] == [world.blocker]
    assert [d["id"] for d in bead["blocked_by"]] == [world.blocker]
    assert isinstance(bead["history"], list) and bead["history"]


@pytest.mark.parametrize(
    "extra",
    [
        (),
        ("--all",),
        ("--rig", "backend"),
        ("--status", "open"),
        ("--label", "python"),
        ("-n", "1"),
    ],
)
def test_bead_list_json_is_an_array_of_beads(world: World, extra: tuple[str, ...]) -> None:
    beads = one_array("bead", "list", *extra, "--json", town=world.town)
    assert beads
    for b in beads:
        assert_bead(b)


def test_bead_list_json_with_no_match_is_an_empty_array(world: World) -> None:
    assert one_array("bead", "list", "--status", "nonesuch", "--json", town=world.town) == []


def test_bead_update_json_is_the_updated_bead(world: World) -> None:
    bead = one_object(
        "bead",
        "update",
        world.free,
        "--title",
        "renamed",
        "-p",
        "3",
        "--add-label",
        "x",
        "--json",
        town=world.town,
    )
    assert_bead(bead)
    assert (bead["title"], bead["priority"], bead["labels"]) == ("renamed", 3, ["x"])


@pytest.mark.parametrize(("action", "status"), [("close", "closed"), ("cancel", "cancelled")])
def test_bead_close_and_cancel_json_are_the_bead(world: World, action: str, status: str) -> None:
    bead = one_object("bead", action, world.free, "--reason", "why", "--json", town=world.town)
    assert_bead(bead)
    assert bead["status"] == status
    reopened = one_object("bead", "reopen", world.free, "--json", town=world.town)
    assert_bead(reopened)
    assert reopened["status"] == "open"


# --- readiness and dependencies ---------------------------------------------------------


def test_ready_json_is_an_array_of_beads(world: World) -> None:
    beads = one_array("ready", "--json", town=world.town)
    ids = {b["id"] for b in beads}
    assert world.blocker in ids and world.dependent not in ids
    for b in beads:
        assert_bead(b)
    assert one_array("ready", "--all", "--json", town=world.town)


def test_blocked_json_is_an_array_of_beads_with_blockers(world: World) -> None:
    beads = one_array("blocked", "--json", town=world.town)
    assert [b["id"] for b in beads] == [world.dependent]
    assert_bead(beads[0])
    assert [x["id"] for x in beads[0]["blocked_by"]] == [world.blocker]


def test_empty_town_lists_are_empty_arrays(empty_town: Town) -> None:
    for args in (
        ("ready",),
        ("blocked",),
        ("bead", "list"),
        ("agents",),
        ("rig", "list"),
        ("convoy", "list"),
        ("mail", "inbox"),
    ):
        assert one_array(*args, "--json", town=empty_town) == [], args
    events = one_array("events", "--json", town=empty_town)
    assert isinstance(events, list)


def test_dep_add_json_is_one_edge(world: World) -> None:
    edge = one_object("dep", "add", world.free, world.blocker, "--json", town=world.town)
    assert edge == {"bead_id": world.free, "depends_on": world.blocker, "type": "blocks"}


@pytest.mark.parametrize("reverse", [False, True])
def test_dep_tree_json_is_one_nested_object(world: World, reverse: bool) -> None:
    root = world.blocker if reverse else world.dependent
    tree = one_object(
        "dep", "tree", root, *(["--reverse"] if reverse else []), "--json", town=world.town
    )
    assert tree["id"] == root and isinstance(tree["children"], list)
    other = world.dependent if reverse else world.blocker
    assert [c["id"] for c in tree["children"]] == [other]


# --- convoys ----------------------------------------------------------------------------


def test_convoy_create_json_is_one_convoy(world: World) -> None:
    convoy = one_object(
        "convoy",
        "create",
        "ship it",
        "--bead",
        world.free,
        "--bead",
        world.blocker,
        "--staged",
        "--json",
        town=world.town,
    )
    assert_bead(convoy)
    assert convoy["type"] == "convoy" and convoy["beads"] == [world.free, world.blocker]


def test_convoy_create_from_a_plan_json_is_one_convoy(world: World, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[[bead]]\nkey = "a"\ntitle = "first"\n'
        '[[bead]]\nkey = "b"\ntitle = "second"\nneeds = ["a"]\n',
        encoding="utf-8",
    )
    convoy = one_object(
        "convoy", "create", "planned", "--plan", str(plan), "--staged", "--json", town=world.town
    )
    assert_bead(convoy)
    assert len(convoy["beads"]) == 2


def test_convoy_status_json_is_one_object(world: World) -> None:
    st = one_object("convoy", "status", world.convoy, "--json", town=world.town)
    assert st["id"] == world.convoy
    assert st["progress"]["total"] == 1
    for b in st["tracked"]:
        assert_bead(b)


def test_convoy_list_json_is_an_array_of_convoys(world: World) -> None:
    convoys = one_array("convoy", "list", "--json", town=world.town)
    assert [c["id"] for c in convoys] == [world.convoy]
    assert_bead(convoys[0])


def test_convoy_launch_add_and_cancel_json_are_one_convoy(world: World) -> None:
    launched = one_object("convoy", "launch", world.convoy, "--json", town=world.town)
    assert_bead(launched)
    assert launched["status"] == "open"
    added = one_object("convoy", "add", world.convoy, world.free, "--json", town=world.town)
    assert_bead(added)
    assert added["beads"] == [world.spare, world.free]
    cancelled = one_object("convoy", "cancel", world.convoy, "--json", town=world.town)
    assert_bead(cancelled)
    assert cancelled["status"] == "cancelled"
    assert sorted(cancelled["cancelled"]) == sorted([world.spare, world.free])


# --- sling and agents -------------------------------------------------------------------


def test_sling_json_is_an_array_of_results(world: World) -> None:
    results = one_array("sling", world.work, world.dependent, "--json", town=world.town)
    assert [r["id"] for r in results] == [world.work, world.dependent]
    started, queued = results
    assert started["agent"] and started["queued"] is False and started["rig"] == "backend"
    assert queued["agent"] is None and queued["queued"] is True
    assert world.blocker in queued["reason"]


def test_sling_title_json_creates_and_slings(world: World) -> None:
    results = one_array(
        "sling", "--title", "quick job", "--rig", "backend", "--json", town=world.town
    )
    assert len(results) == 1 and results[0]["agent"]


def test_agents_json_is_an_array_of_agents(world: World) -> None:
    one_array("sling", world.work, "--json", town=world.town)
    agents = one_array("agents", "--json", town=world.town)
    assert len(agents) == 1
    assert_agent(agents[0])
    assert (agents[0]["rig"], agents[0]["hook"], agents[0]["attempt"]) == ("backend", world.work, 1)
    assert one_array("agents", "--all", "--rig", "backend", "--json", town=world.town)


# --- rigs -------------------------------------------------------------------------------


def test_rig_list_and_show_json(world: World) -> None:
    rigs = one_array("rig", "list", "--json", town=world.town)
    assert [r["name"] for r in rigs] == ["backend"]
    assert rigs[0]["prefix"] == "be" and rigs[0]["capabilities"] == ["python"]
    rig = one_object("rig", "show", "backend", "--json", town=world.town)
    assert rig["name"] == "backend" and rig["beads"] == {"open": 1}
    assert rig["agents"] == []


def test_rig_add_json_is_one_rig(world: World, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "i"], check=True, env=env
    )
    rig = one_object("rig", "add", "frontend", str(repo), "--json", town=world.town)
    assert rig["name"] == "frontend" and rig["prefix"] == "fro"


# --- mail -------------------------------------------------------------------------------


def test_mail_send_inbox_check_read_json(world: World) -> None:
    sent = one_object(
        "mail", "send", "mayor", "hello there", "--body", "hi", "--json", town=world.town
    )
    assert_bead(sent)
    assert (sent["to"], sent["subject"], sent["read"]) == ("mayor", "hello there", False)
    inbox = one_array("mail", "inbox", "--json", town=world.town)
    assert [m["id"] for m in inbox] == [sent["id"]]
    assert_bead(inbox[0])
    assert one_object("mail", "check", "--json", town=world.town) == {
        "address": "mayor",
        "unread": 1,
    }
    read = one_object("mail", "read", sent["id"], "--json", town=world.town)
    assert read["id"] == sent["id"] and read["read"] is True and read["body"] == "hi"
    assert one_object("mail", "check", "--json", town=world.town)["unread"] == 0
    assert one_array("mail", "inbox", "--unread", "--json", town=world.town) == []
    reply = one_object(
        "mail", "send", "mayor", "re: hello", "--reply-to", sent["id"], "--json", town=world.town
    )
    assert reply["reply_to"] == sent["id"]


# --- town -------------------------------------------------------------------------------


def test_status_json_is_one_object(world: World) -> None:
    st = one_object("status", "--json", town=world.town)
    assert st["engine_pid"] is None
    assert [r["name"] for r in st["rigs"]] == ["backend"]
    assert st["beads"]["open"] == 5
    assert st["breaker"]["state"] == "closed"


def test_breaker_json_is_one_object(world: World) -> None:
    assert one_object("breaker", "--json", town=world.town)["state"] == "closed"


def test_events_json_is_an_array_oldest_first(world: World) -> None:
    events = one_array("events", "--json", "-n", "1000", town=world.town)
    assert events and all({"id", "at", "kind", "bead_id", "data"} <= set(e) for e in events)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert len(one_array("events", "--json", "-n", "2", town=world.town)) == 2
    mine = one_array("events", "--bead", world.dependent, "--json", town=world.town)
    assert mine and {e["bead_id"] for e in mine} == {world.dependent}


def test_import_json_is_one_summary_object(world: World, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "hq-imp1", "title": "imported"}\n{"broken\n', encoding="utf-8")
    summary = one_object("import", str(src), "--skip-bad", "--json", town=world.town)
    assert (summary["created"], summary["layout"]) == (1, "embedded")
    assert [s["line"] for s in summary["skipped"]] == [2]
