"""Agent tools through the real command line: identity from the environment, fencing,
mail addresses across rigs."""

from __future__ import annotations

import json

from tests.cli_support import hooked_agent as hooked
from tests.conftest import add_rig, gt


def agent_env(town, agent_id: str, bead: str, attempt: int) -> dict[str, str]:
    return {
        "GT_TOWN": town.root,
        "GT_AGENT_ID": agent_id,
        "GT_BEAD": bead,
        "GT_ATTEMPT": str(attempt),
    }


def test_prime_tells_the_agent_who_it_is_and_what_is_on_its_hook(town, ledger):
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked(ledger)
    res = gt("prime", "--json", env=agent_env(town, agent, bead, attempt))
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["agent"]["name"] == "Toast" and data["hook"]["id"] == bead
    assert "gt done" in data["instructions"]


def test_calls_from_a_stale_attempt_are_refused_without_effect(town, ledger):
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked(ledger)
    stale = agent_env(town, agent, bead, attempt - 1 if attempt > 1 else attempt + 5)
    before = ledger.state.last_event_id()
    for args in (
        ["checkpoint", "halfway"],
        ["heartbeat"],
        ["done"],
        ["mail", "send", "mayor", "hi"],
        ["escalate", "help"],
        ["handoff", "--note", "x"],
    ):
        res = gt(*args, env=stale)
        assert res.returncode == 1, (args, res.stdout, res.stderr)
        assert "stale attempt" in res.stderr
    assert ledger.state.last_event_id() == before


def test_checkpoint_and_heartbeat_are_recorded_with_identity_and_attempt(town, ledger):
    add_rig(ledger, "web", "gt")
    agent, bead, attempt = hooked(ledger)
    env = agent_env(town, agent, bead, attempt)
    assert gt("checkpoint", "tests written", env=env).returncode == 0
    assert gt("heartbeat", env=env).returncode == 0
    events = {e["kind"]: e for e in ledger.beads.history(bead)}
    assert events["checkpoint"]["actor"] == agent
    assert events["checkpoint"]["attempt"] == attempt
    assert events["checkpoint"]["data"]["text"] == "tests written"


def test_mail_addresses_route_across_rigs(town, ledger):
    add_rig(ledger, "web", "gt")
    add_rig(ledger, "api", "ap")
    agent, bead, attempt = hooked(ledger, "web")
    for address, expect in (
        ("mayor", "mayor"),
        ("Toast", agent),
        ("api/witness", "api/witness"),
        ("api/refinery", "api/refinery"),
        ("web/polecats/Toast", agent),
    ):
        res = gt("mail", "send", address, f"to {address}", "--json", town=town)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["to"] == expect
    res = gt("mail", "inbox", "--json", env=agent_env(town, agent, bead, attempt))
    assert len(json.loads(res.stdout)) == 2
    for bad in ("nobody", "api/nothing", "nope/witness", "a b"):
        res = gt("mail", "send", bad, "x", town=town)
        assert res.returncode in (1, 2) and res.stderr.count("\n") == 1


def test_done_outside_a_session_is_a_clear_usage_error(town):
    res = gt("done", town=town)
    assert res.returncode == 2 and "GT_AGENT_ID" in res.stderr
