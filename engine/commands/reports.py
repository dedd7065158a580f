"""An agent reporting on its own hook: primed, heartbeat, checkpoint, escalate, handoff.

The caller has already fenced the agent (its session token, and a stale attempt refused
first so a zombie hears that): requests carry the fenced identity. The ledger fences the
attempt again inside the write, so a report from a stale attempt changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from engine.escalation_routes import EscalationSettings
    from engine.ledger import Ledger
    from engine.records import Agent, Bead, Edge, MailMessage

PRIME_INSTRUCTIONS = (
    "Commit your work on your branch, then run `gt done --summary ...`."
    " Stuck: `gt escalate TITLE`. Mail: `gt mail inbox`."
)
_PRIME_AGENT_FIELDS = (
    "name",
    "id",
    "rig",
    "status",
    "hook",
    "attempt",
    "runtime",
    "branch",
    "worktree",
)


class AgentReport(NamedTuple):
    """From an agent whose identity the caller has fenced; `attempt` None when unknown."""

    agent_id: str
    attempt: int | None = None


class Primed(NamedTuple):
    """What an agent needs to start: who it is, its hook, its unread mail."""

    agent: Agent
    hook: Bead | None
    depends_on: list[Edge]
    dependents: list[Edge]
    unread: list[MailMessage]  # the agent's unread messages, newest first

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (`gt prime --json`)."""
        return {
            "agent": {k: self.agent[k] for k in _PRIME_AGENT_FIELDS},  # type: ignore[literal-required]
            "hook": self.hook,
            "depends_on": self.depends_on,
            "dependents": self.dependents,
            "mail": {
                "unread": len(self.unread),
                "messages": [
                    {"id": m["id"], "from": m["from"], "subject": m["subject"]} for m in self.unread
                ],
            },
            "instructions": PRIME_INSTRUCTIONS,
        }


class Recorded(NamedTuple):
    agent_id: str
    kind: str  # the event recorded: primed, heartbeat, checkpoint


def prime(ledger: Ledger, request: AgentReport) -> Primed:
    """Record that the agent primed, and read what it needs. A session from a stale
    attempt on its hook is told to stop, and nothing is recorded."""

    with ledger.transaction():
        agent = ledger.agents.require(request.agent_id)
        hook = ledger.beads.get(agent["hook"]) if agent["hook"] else None
        if hook and request.attempt is not None:
            ledger.agents.fence(hook["id"], request.attempt, then="stop working on it")
        ledger.agents.record(agent["id"], "primed", attempt=request.attempt, data={})
        deps = ledger.graph.edges_of(hook["id"]) if hook else {"depends_on": [], "dependents": []}
        unread = ledger.mail.inbox([agent["id"]], unread_only=True)
    return Primed(agent, hook, deps["depends_on"], deps["dependents"], unread)


def heartbeat(ledger: Ledger, request: AgentReport) -> Recorded:
    """Proof of life for the witness."""
    return _record(ledger, request, "heartbeat", {})


def checkpoint(ledger: Ledger, request: AgentReport, text: str) -> Recorded:
    """Progress on the hook, kept in its history for the next session (and `gt seance`)."""
    return _record(ledger, request, "checkpoint", {"text": text})


def _record(ledger: Ledger, request: AgentReport, kind: str, data: dict[str, Any]) -> Recorded:
    with ledger.transaction():
        agent = ledger.agents.record(request.agent_id, kind, attempt=request.attempt, data=data)
    return Recorded(agent["id"], kind)


class Escalation(NamedTuple):
    title: str
    body: str = ""
    severity: str = "medium"  # low, medium, high or critical
    source: str | None = None  # the bead it is about (the caller's hook)
    cause: str | None = None  # one open escalation per cause; default: who + the title


class Escalated(NamedTuple):
    id: str
    record: Bead  # the escalation bead: what `gt escalate --json` prints
    told: list[str]  # who its route told (empty: its cause was open already, only counted)

    def as_dict(self) -> Bead:
        return self.record


def escalate(
    ledger: Ledger,
    request: Escalation,
    *,
    actor: str,
    routes: EscalationSettings | None = None,
) -> Escalated:
    """An escalation bead and its severity's route told, together (durable: the agent is
    told the mayor knows). The same title from the same caller while the first is open
    counts on the first (an agent repeating itself files one escalation)."""
    from engine.escalations import escalate as file_escalation

    record = file_escalation(
        ledger,
        title=request.title,
        body=request.body,
        severity=request.severity,
        actor=actor,
        source=request.source,
        cause=request.cause or f"{actor}: {request.title.strip()[:200]}",
        routes=routes,
    )
    told: list[str] = []
    for e in ledger.beads.history(record["id"]):
        if e["kind"] == "escalation_filed" and int(record["metadata"].get("count") or 1) == 1:
            told = list(e["data"].get("to") or [])
    return Escalated(record["id"], record, told)


class Handoff(NamedTuple):
    agent_id: str
    bead_id: str
    attempt: int
    note: str = ""  # what the next session should know


class HandoffRequested(NamedTuple):
    agent_id: str
    bead_id: str


def handoff(ledger: Ledger, request: Handoff) -> HandoffRequested:
    """The engine restarts the agent's session on the same hook, with the note."""
    with ledger.transaction(durable=True):
        ledger.agents.request_handoff(
            request.agent_id, request.bead_id, request.attempt, note=request.note
        )
    return HandoffRequested(request.agent_id, request.bead_id)
