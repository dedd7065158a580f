"""Every `gt ... --json` output validates against its documented schema (`gt schema NAME`),
extra keys refused and no coercion, on a small real town: the documentation and the output
cannot drift apart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pydantic import ValidationError

from engine.commands import done as done_cmd
from engine.escalations import escalate
from engine.json_schemas import OUTPUTS, adapter, schema
from engine.ledger import Ledger
from engine.town import Town, init_town
from tests.cli_support import hooked_agent, run_gt
from tests.conftest import add_rig


class World(NamedTuple):
    town: Town
    ids: dict[str, Any]


@pytest.fixture
def world(tmp_path: Path) -> World:
    town = init_town(str(tmp_path / "town"))
    with Ledger(town.ledger_target) as led:
        add_rig(led, "web", "gt", capabilities=["python"])
        blocker = led.beads.create("blocker", priority=1, labels=["python"])["id"]
        dependent = led.beads.create("dependent", deps=[(blocker, "blocks")])["id"]
        spare = led.beads.create("spare", metadata={"k": [1]})["id"]
        work = led.beads.create("rig work", rig="web")["id"]
        convoy = led.convoys.create("staged convoy", [spare], staged=True)["id"]
        # a merge request, as `gt done` leaves one (without the git it would read)
        agent, bead, attempt = hooked_agent(led)
        with led.transaction(durable=True):
            mr = done_cmd.record(
                led,
                done_cmd.DoneRequest(agent, bead, attempt, worktree="", summary="s"),
                branch="b",
                commit="c0",
            ).merge_request
        mail = led.mail.send(sender="web/witness", to="mayor", subject="hello", body="hi")["id"]
        led.mail.send(sender="mayor", to=agent, subject="for you")
        # a second polecat with a hook, for prime and done
        hooked = led.beads.create("hooked work", rig="web")["id"]
        with led.transaction():
            second = led.agents.allocate("web", "Nux", "script")
            second_attempt = led.agents.assign(second, hooked, rig="web")
        led.agents.mark_started(second["id"], hooked, second_attempt)
        escalation = escalate(led, title="stuck", body="b", severity="low", actor="x", source=work)
        from engine.commands.formula_actions import Cook, cook

        molecule = cook(led, Cook("bugfix", ("bug=b",), "web", staged=True), actor="x").molecule
        # a host that joined and stopped (a live one would place the work `gt sling` places)
        box = led.hosts.join(
            "box", capacity=2, rigs=["web"], address="box.lan", town_root="/t", lease_seconds=15
        )
        led.hosts.stop("box", box)
    ids = {
        "blocker": blocker,
        "dependent": dependent,
        "spare": spare,
        "work": work,
        "convoy": convoy,
        "mr": mr,
        "mail": mail,
        "escalation": escalation["id"],
        "molecule": molecule,
        "agent_env": {
            "GT_TOWN": town.root,
            "GT_AGENT_ID": second["id"],
            "GT_BEAD": hooked,
            "GT_ATTEMPT": str(second_attempt),
        },
    }
    return World(town, ids)


class Case(NamedTuple):
    output: str
    args: Callable[[dict[str, Any]], tuple[str, ...]]
    agent: bool = False  # run as the hooked polecat


CASES = [
    Case("bead", lambda i: ("bead", "create", "new", "--label", "a", "-p", "0")),
    Case("bead", lambda i: ("bead", "update", i["spare"], "--title", "x", "--add-label", "y")),
    Case("bead", lambda i: ("bead", "close", i["blocker"], "--reason", "why")),
    Case("bead", lambda i: ("bead", "cancel", i["blocker"])),
    Case("bead-show", lambda i: ("bead", "show", i["dependent"])),
    Case("bead-show", lambda i: ("bead", "show", i["spare"])),
    Case("beads", lambda i: ("bead", "list")),
    Case("beads", lambda i: ("ready",)),
    Case("blocked", lambda i: ("blocked",)),
    Case("agents", lambda i: ("agents", "--all")),
    Case("hosts", lambda i: ("hosts",)),
    Case("convoy", lambda i: ("convoy", "create", "c", "--bead", i["dependent"], "--staged")),
    Case("convoy", lambda i: ("convoy", "launch", i["convoy"])),
    Case("convoy", lambda i: ("convoy", "add", i["convoy"], i["work"])),
    Case("convoy-cancel", lambda i: ("convoy", "cancel", i["convoy"])),
    Case("convoy-status", lambda i: ("convoy", "status", i["convoy"])),
    Case("convoys", lambda i: ("convoy", "list")),
    Case("mail", lambda i: ("mail", "send", "mayor", "hi", "--reply-to", i["mail"])),
    Case("mail", lambda i: ("mail", "read", i["mail"])),
    Case("mail-inbox", lambda i: ("mail", "inbox")),
    Case("mail-check", lambda i: ("mail", "check")),
    Case("mq-list", lambda i: ("mq", "list", "--all")),
    Case("mq-show", lambda i: ("mq", "show", i["mr"])),
    Case("status", lambda i: ("status",)),
    Case("breaker", lambda i: ("breaker",)),
    Case("events", lambda i: ("events", "-n", "1000")),
    Case("sling", lambda i: ("sling", i["work"], i["dependent"])),
    Case("prime", lambda i: ("prime",), agent=True),
    Case("mol-status", lambda i: ("mol", "status", i["molecule"])),
    Case("costs", lambda i: ("costs", "--by", "convoy")),
    Case("done", lambda i: ("done", "--status", "deferred"), agent=True),
    Case("done", lambda i: ("done", "--status", "escalated", "--summary", "stuck"), agent=True),
    Case("bead", lambda i: ("escalate", "CI is red", "--severity", "high")),
    Case("escalations", lambda i: ("escalate", "list")),
    Case("escalation-show", lambda i: ("escalate", "show", i["escalation"])),
    Case("escalation", lambda i: ("escalate", "ack", i["escalation"], "--note", "on it")),
    Case("escalation", lambda i: ("escalate", "close", i["escalation"])),
    Case("patrols", lambda i: ("patrol", "list")),
]


def test_every_documented_output_is_checked_against_a_real_command() -> None:
    assert {c.output for c in CASES} == set(OUTPUTS)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.output}-{n}" for n, c in enumerate(CASES)])
def test_json_output_matches_its_schema(world: World, case: Case) -> None:
    env = world.ids["agent_env"] if case.agent else None
    proc = run_gt(*case.args(world.ids), "--json", town=None if case.agent else world.town, env=env)
    assert proc.returncode == 0, (case.args(world.ids), proc.stderr)
    doc = json.loads(proc.stdout)
    assert doc, "an empty output checks nothing"
    adapter(OUTPUTS[case.output].shape).validate_json(proc.stdout)


def test_the_schema_check_refuses_an_undocumented_key(world: World) -> None:
    proc = run_gt("mail", "check", "--json", town=world.town)
    doc = json.loads(proc.stdout)
    with pytest.raises(ValidationError, match="extra"):
        adapter(OUTPUTS["mail-check"].shape).validate_json(json.dumps({**doc, "new": 1}))
    with pytest.raises(ValidationError, match="unread"):
        adapter(OUTPUTS["mail-check"].shape).validate_json(json.dumps({**doc, "unread": "1"}))


@pytest.mark.parametrize("name", ["beads", "status", "done"])
def test_gt_schema_prints_the_documented_schema(name: str) -> None:
    proc = run_gt("schema", name)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed == schema(name)
    top = printed if printed["type"] == "object" else printed["$defs"][printed["items"]["$ref"][8:]]
    assert top["additionalProperties"] is False  # undocumented keys are refused


def test_gt_schema_lists_the_outputs_and_refuses_an_unknown_name() -> None:
    proc = run_gt("schema", "--json")
    assert [o["name"] for o in json.loads(proc.stdout)] == list(OUTPUTS)
    bad = run_gt("schema", "nonesuch")
    assert bad.returncode == 2 and "no output named 'nonesuch'" in bad.stderr
