"""The convoy, mail and agent-report commands: each action once, on a real ledger, and
each refusal leaves the ledger as it was."""

from __future__ import annotations

import pytest

from engine.commands import convoy_actions, messages, reports, sling
from engine.errors import Conflict, GtError, NotFound, UsageError
from tests.cli_support import hooked_agent as hooked
from tests.cli_support import ledger_dump
from tests.conftest import add_rig


def events(ledger, kind: str) -> list[dict]:
    return [e for e in ledger.state.events_after(0, limit=10_000) if e["kind"] == kind]


@pytest.fixture
def web(ledger):
    add_rig(ledger, "web", "gt")
    return ledger


# ---- convoys ----------------------------------------------------------------------------


def test_a_convoy_of_existing_beads_slings_them_at_once(web):
    a = web.beads.create("a", rig="web")["id"]
    b = web.beads.create("b", rig="web")["id"]
    convoy = convoy_actions.create(
        web, convoy_actions.ConvoyCreate("both", beads=(a, b, a)), actor="mayor"
    )
    assert convoy.beads == (a, b) and convoy.status == "open"
    assert convoy.as_dict() == web.convoys.get(convoy.id)
    assert all(web.beads.get(x)["slung"] for x in (a, b))
    (created,) = events(web, "convoy_created")
    assert created["actor"] == "mayor" and created["bead_id"] == convoy.id


def test_a_staged_convoy_dispatches_nothing_until_launched_and_launches_once(web):
    a = web.beads.create("a", rig="web")["id"]
    request = convoy_actions.ConvoyCreate("later", beads=(a,), staged=True)
    staged = convoy_actions.create(web, request, actor="mayor")
    assert staged.status == "staged" and not web.beads.get(a)["slung"]
    launched = convoy_actions.launch(web, staged.id, actor="mayor")
    assert launched.status == "open" and web.beads.get(a)["slung"]
    with pytest.raises(Conflict, match="not staged"):
        convoy_actions.launch(web, staged.id, actor="mayor")


def test_a_convoy_from_a_plan_creates_its_beads_and_needs_together(web, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'title = "ignored"\n'
        '[[bead]]\nkey = "schema"\ntitle = "users table"\nrig = "web"\n'
        '[[bead]]\nkey = "api"\ntitle = "users endpoint"\nrig = "web"\nneeds = ["schema"]\n'
    )
    request = convoy_actions.ConvoyCreate("Auth", plan=str(plan), staged=True)
    convoy = convoy_actions.create(web, request, actor="mayor")
    assert convoy.record["title"] == "Auth" and len(convoy.beads) == 2
    schema, api = sorted(convoy.beads, key=lambda b: web.beads.get(b)["title"] != "users table")
    needs = web.graph.edges_of(api)["depends_on"]
    assert [d["id"] for d in needs] == [schema]


@pytest.mark.parametrize(
    "text",
    [
        '[[bead]]\nkey = "a"\ntitle = "a"\nneeds = ["nowhere"]\n',
        '[[bead]]\nkey = "a"\ntitle = "a"\nneeds = ["b"]\n[[bead]]\nkey = "b"\ntitle = "b"\n'
        'needs = ["a"]\n',
        "[[bead]]\ntitle = 5\n",
    ],
    ids=["unknown need", "cycle", "bad field"],
)
def test_a_refused_plan_writes_nothing(web, tmp_path, text):
    plan = tmp_path / "plan.toml"
    plan.write_text(text)
    before = ledger_dump(web.path)
    with pytest.raises(GtError):
        convoy_actions.create(
            web, convoy_actions.ConvoyCreate("bad", plan=str(plan)), actor="mayor"
        )
    assert ledger_dump(web.path) == before


def test_a_missing_plan_file_is_refused(web, tmp_path):
    with pytest.raises(GtError, match="no such plan file"):
        request = convoy_actions.ConvoyCreate("x", plan=str(tmp_path / "none.toml"))
        convoy_actions.create(web, request, actor="mayor")


def test_a_convoy_of_an_unknown_bead_or_of_none_is_refused_and_writes_nothing(web):
    a = web.beads.create("a", rig="web")["id"]
    before = ledger_dump(web.path)
    with pytest.raises(NotFound):
        convoy_actions.create(
            web, convoy_actions.ConvoyCreate("x", beads=(a, "gt-nope")), actor="mayor"
        )
    with pytest.raises(UsageError, match="at least one bead"):
        convoy_actions.create(web, convoy_actions.ConvoyCreate("x"), actor="mayor")
    assert ledger_dump(web.path) == before


@pytest.mark.parametrize("action", ["launch", "add", "cancel"])
def test_an_unknown_convoy_is_refused(web, action):
    a = web.beads.create("a", rig="web")["id"]
    before = ledger_dump(web.path)
    with pytest.raises(NotFound):
        if action == "add":
            convoy_actions.add(web, "gt-nope", (a,), actor="mayor")
        else:
            getattr(convoy_actions, action)(web, "gt-nope", actor="mayor")
    assert ledger_dump(web.path) == before


def test_adding_to_a_convoy_tracks_the_new_beads_and_slings_them(web):
    a = web.beads.create("a", rig="web")["id"]
    b = web.beads.create("b", rig="web")["id"]
    convoy = convoy_actions.create(web, convoy_actions.ConvoyCreate("c", beads=(a,)), actor="mayor")
    grown = convoy_actions.add(web, convoy.id, (b,), actor="mayor")
    assert grown.beads == (a, b) and web.beads.get(b)["slung"]
    with pytest.raises(Conflict, match="already tracks"):
        convoy_actions.add(web, convoy.id, (b,), actor="mayor")


def test_cancelling_a_convoy_cancels_only_the_beads_that_have_not_landed(web):
    a = web.beads.create("a", rig="web")["id"]
    b = web.beads.create("b", rig="web")["id"]
    convoy = convoy_actions.create(
        web, convoy_actions.ConvoyCreate("c", beads=(a, b)), actor="mayor"
    )
    web.beads.close(a, reason="done")
    cancelled = convoy_actions.cancel(web, convoy.id, actor="mayor", reason="changed plans")
    assert cancelled.status == "cancelled" and cancelled.cancelled == (b,)
    assert cancelled.as_dict()["cancelled"] == [b]
    assert web.beads.get(a)["status"] == "closed"
    assert web.beads.get(b)["status"] == "cancelled"
    assert web.beads.get(b)["close_reason"] == "changed plans"
    with pytest.raises(Conflict, match="already cancelled"):
        convoy_actions.cancel(web, convoy.id, actor="mayor")
    with pytest.raises(Conflict, match="was cancelled"):
        convoy_actions.add(web, convoy.id, (a,), actor="mayor")


# ---- mail -------------------------------------------------------------------------------


def test_mail_to_a_name_is_delivered_to_the_agents_canonical_address(web):
    agent, _bead, _attempt = hooked(web)
    msg = messages.send(
        web, messages.MailSend.of("Toast", "hello", "line 1\r\nline 2"), sender="mayor"
    )
    assert (msg.to, msg.sender, msg.subject, msg.read) == (agent, "mayor", "hello", False)
    assert msg.record["body"] == "line 1\nline 2"
    assert msg.as_dict() == web.mail.require(msg.id)
    assert [m["id"] for m in web.mail.inbox([agent])] == [msg.id]


def test_a_reply_names_the_message_it_answers(web):
    hooked(web)
    first = messages.send(web, messages.MailSend.of("Toast", "question"), sender="mayor")
    reply = messages.send(
        web, messages.MailSend.of("mayor", "Re: question", reply_to=first.id), sender=first.to
    )
    assert reply.to == "mayor" and reply.record["reply_to"] == first.id
    with pytest.raises(NotFound, match="to reply to"):
        messages.send(
            web, messages.MailSend.of("mayor", "Re: ?", reply_to="gt-nope"), sender="mayor"
        )


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("Nobody", NotFound),
        ("web/nothing", UsageError),
        ("nowhere/witness", NotFound),
        ("a b", UsageError),
        ("", UsageError),
    ],
)
def test_mail_to_a_bad_address_is_refused_and_writes_nothing(web, address, error):
    before = ledger_dump(web.path)
    with pytest.raises(error):
        messages.send(web, messages.MailSend.of(address, "hello"), sender="mayor")
    assert ledger_dump(web.path) == before


def test_mail_text_is_checked_however_the_request_was_made(web):
    with pytest.raises(UsageError, match="control character"):
        messages.MailSend.of("mayor", "hi\x1b]52;c;eA==\x07")
    before = ledger_dump(web.path)
    with pytest.raises(UsageError, match="control character"):
        messages.send(web, messages.MailSend("mayor", "hi", "\x1b[2J"), sender="mayor")
    with pytest.raises(UsageError, match="empty"):
        messages.send(web, messages.MailSend("mayor", "  "), sender="mayor")
    assert ledger_dump(web.path) == before


def test_reading_mail_marks_it_read_once(web, clock):
    msg = messages.send(web, messages.MailSend.of("mayor", "hello"), sender="web/witness")
    read = messages.read(web, msg.id, reader="mayor")
    assert read.read and read.record["status"] == "closed"
    assert web.mail.unread_count(["mayor"]) == 0
    clock.advance(5)  # a second read would stamp a new time if it wrote anything
    again = messages.read(web, msg.id, reader="mayor")
    assert again.record == read.record
    assert len([e for e in events(web, "read") if e["bead_id"] == msg.id]) == 1
    with pytest.raises(NotFound):
        messages.read(web, "gt-nope", reader="mayor")


# ---- an agent reporting on its own hook -------------------------------------------------


def test_prime_records_the_session_and_tells_the_agent_its_hook_and_mail(web):
    agent, bead, attempt = hooked(web)
    messages.send(web, messages.MailSend.of("Toast", "welcome"), sender="mayor")
    primed = reports.prime(web, reports.AgentReport(agent, attempt))
    assert primed.hook is not None and primed.hook["id"] == bead
    data = primed.as_dict()
    assert list(data) == ["agent", "hook", "depends_on", "dependents", "mail", "instructions"]
    assert data["agent"]["id"] == agent and data["agent"]["hook"] == bead
    assert data["mail"]["unread"] == 1 and data["mail"]["messages"][0]["subject"] == "welcome"
    (event,) = events(web, "primed")
    assert (event["actor"], event["bead_id"], event["attempt"]) == (agent, bead, attempt)


def test_prime_from_a_stale_attempt_is_told_to_stop_and_records_nothing(web):
    agent, _bead, attempt = hooked(web)
    before = ledger_dump(web.path)
    with pytest.raises(Conflict, match="stop working on it"):
        reports.prime(web, reports.AgentReport(agent, attempt - 1))
    assert ledger_dump(web.path) == before


def test_heartbeat_and_checkpoint_are_recorded_on_the_hook(web, clock):
    agent, bead, attempt = hooked(web)
    beat = reports.heartbeat(web, reports.AgentReport(agent, attempt))
    note = reports.checkpoint(web, reports.AgentReport(agent, attempt), "tests pass")
    assert (beat.kind, note.kind) == ("heartbeat", "checkpoint") and beat.agent_id == agent
    (hb,) = events(web, "heartbeat")
    (cp,) = events(web, "checkpoint")
    assert hb["bead_id"] == cp["bead_id"] == bead
    assert hb["data"] == {} and cp["data"] == {"text": "tests pass"}
    assert web.agents.get(agent)["last_heartbeat"] == clock()


@pytest.mark.parametrize("kind", ["heartbeat", "checkpoint"])
def test_a_report_from_a_stale_attempt_or_an_unknown_agent_changes_nothing(web, kind):
    agent, _bead, attempt = hooked(web)
    before = ledger_dump(web.path)
    args = ("text",) if kind == "checkpoint" else ()
    with pytest.raises(Conflict, match="stale attempt"):
        getattr(reports, kind)(web, reports.AgentReport(agent, attempt + 1), *args)
    with pytest.raises(NotFound):
        getattr(reports, kind)(web, reports.AgentReport("web/polecats/Nobody", attempt), *args)
    assert ledger_dump(web.path) == before


def test_an_escalation_is_a_bead_and_mail_to_the_mayor(web):
    agent, bead, _attempt = hooked(web)
    request = reports.Escalation("stuck on CI", body="red", severity="high", source=bead)
    esc = reports.escalate(web, request, actor=agent)
    assert esc.record["type"] == "escalation" and esc.record["priority"] == 1
    meta = esc.record["metadata"]
    assert {k: meta[k] for k in ("severity", "source", "count", "raises")} == {
        "severity": "high",
        "source": bead,
        "count": 1,
        "raises": 0,
    }
    assert esc.as_dict() == web.beads.get(esc.id)
    (msg,) = web.mail.inbox(["mayor"])
    assert msg["subject"] == "[high] stuck on CI" and msg["from"] == agent
    before = ledger_dump(web.path)
    with pytest.raises(UsageError):
        reports.escalate(web, reports.Escalation("  "), actor=agent)
    assert ledger_dump(web.path) == before


def test_handoff_keeps_the_hook_and_leaves_the_note_for_the_next_session(web):
    agent, bead, attempt = hooked(web)
    done = reports.handoff(web, reports.Handoff(agent, bead, attempt, note="half way"))
    assert done == reports.HandoffRequested(agent, bead)
    assert web.agents.get(agent)["status"] == "handoff"
    assert web.beads.get(bead)["metadata"]["handoff_note"] == "half way"
    assert web.agents.get(agent)["hook"] == bead


def test_handoff_by_the_wrong_agent_or_a_stale_attempt_changes_nothing(web, config):
    agent, bead, attempt = hooked(web)
    other_bead = web.beads.create("other work", rig="web")["id"]
    (placed,) = sling.sling(web, config, sling.SlingRequest(ids=(other_bead,)), actor="mayor")[0]
    other = placed.agent_id
    assert other and other != agent
    before = ledger_dump(web.path)
    with pytest.raises(Conflict, match="not hooked to"):
        reports.handoff(web, reports.Handoff(other, bead, attempt))
    with pytest.raises(Conflict, match="stale attempt"):
        reports.handoff(web, reports.Handoff(agent, bead, attempt + 1))
    with pytest.raises(NotFound):
        reports.handoff(web, reports.Handoff("web/polecats/Nobody", bead, attempt))
    assert ledger_dump(web.path) == before
