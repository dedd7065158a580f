"""The shapes only `--json` output has (the records it prints whole are engine/records.py).

Plain `TypedDict`s: engine/json_schemas.py lists which command prints which and turns them
into pydantic validators and JSON Schemas. Every name an annotation here uses is imported at
run time: the schemas resolve the annotations in this module.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from engine.deacon.rounds import PatrolRow
from engine.model import AgentStatus
from engine.records import Bead, BeadWithExtra, Blocker, Edge, EventRow, QueuedMergeRequest


class ShownBead(BeadWithExtra):
    """`gt bead show --json`: the whole bead, its edges both ways, its blockers, its history."""

    depends_on: list[Edge]
    dependents: list[Edge]
    blocked_by: list[Blocker]  # [] unless the bead is blocked
    history: list[EventRow]


class ListedAgent(TypedDict):
    """One agent in `gt agents --json`."""

    name: str
    id: str
    rig: str
    role: str
    status: AgentStatus
    hook: str | None
    attempt: int
    runtime: str | None
    session: str | None
    worktree: str | None
    branch: str | None
    created_at: str
    host: str | None  # the host whose engine runs it (None: a single-host town)


class ListedHost(TypedDict):
    """One host in `gt hosts --json`: an engine on one machine sharing the ledger."""

    name: str
    state: str  # live, lost or stopped
    capacity: int
    busy: int  # its working polecats
    heartbeat_age: float  # seconds since its last heartbeat
    lease_seconds: float
    rigs: list[str]  # the rigs it serves; empty: all
    address: str
    town_root: str
    epoch: int


class ListedMergeRequest(QueuedMergeRequest):
    """One merge request in `gt mq list --json`, with its rig's current batch size."""

    batch_size: int


class MailCount(TypedDict):
    """`gt mail check --json`."""

    address: str
    unread: int


class RigLoad(TypedDict):
    name: str
    prefix: str
    working: int
    capacity: int


class BreakerReason(TypedDict):
    bead: str | None
    reason: str
    at: float


class BreakerState(TypedDict):
    """The dispatch circuit breaker: closed, open (until a time) or half_open (one probe)."""

    state: str
    until: NotRequired[float]
    failures: NotRequired[int]
    tripped_at: NotRequired[float]
    reset_at: NotRequired[float]
    recent: NotRequired[list[BreakerReason]]
    reasons: NotRequired[list[BreakerReason]]


class ParkedBead(TypedDict):
    id: str
    reason: str
    stage: str
    at: str
    updated_at: str | None


class RuntimePause(TypedDict):
    """A runtime paused by a rate or usage limit (no dispatch to it until `until`)."""

    runtime: str
    until: str  # ISO; the reset time the CLI showed, else the town's growing backoff
    since: str
    shown: bool  # whether the CLI showed the reset time
    strikes: int  # limits in a row (they grow the backoff)
    reason: str  # the CLI's own line
    bead: str | None  # the bead its agent was on


class SpentBudget(TypedDict):
    scope: str  # "town" or a convoy id
    reason: str


class TownStatus(TypedDict):
    """`gt status --json`: the town at a glance."""

    town: str
    engine_pid: int | None
    working: int
    capacity: int
    rigs: list[RigLoad]
    beads: dict[str, int]
    breaker: BreakerState
    violations: list[str]
    parked_requests: int
    parked_beads: list[ParkedBead]
    runtime_pauses: list[RuntimePause]
    budget_spent: list[SpentBudget]  # town.toml [budget]: no new dispatch for these
    patrols: list[PatrolRow]  # the deacon's patrols (engine/deacon/)


class DoneResult(TypedDict):
    """`gt done --json`: the bead handed in, its new status, and what was made of it."""

    id: str
    status: str
    agent: str
    merge_request: NotRequired[str]
    escalation: NotRequired[str]


class Placement(TypedDict):
    """One bead in `gt sling --json`: started on an agent, or queued with the reason."""

    id: str
    agent: str | None
    queued: bool
    reason: str | None
    agent_id: NotRequired[str]
    rig: NotRequired[str]
    attempt: NotRequired[int]
    runtime: NotRequired[str]  # what the polecat runs: the bead's runtime, else its rig's


class PrimedAgent(TypedDict):
    name: str
    id: str
    rig: str
    status: AgentStatus
    hook: str | None
    attempt: int
    runtime: str | None
    branch: str | None
    worktree: str | None


# "from" is a Python keyword: the functional form.
_MailHeader = TypedDict("_MailHeader", {"id": str, "from": str | None, "subject": str})


class UnreadMail(TypedDict):
    unread: int
    messages: list[_MailHeader]


class ChecklistItem(TypedDict):
    id: str
    title: str
    description: str
    acceptance: str
    done: bool
    done_at: str | None
    done_by: str | None  # the agent that ticked it
    done_attempt: int | None


class Checklist(TypedDict):
    """A hook's checklist: attached (`gt sling --formula`), or the polecat work checklist
    (attached at the first `gt step done`); `next` is where a session resumes."""

    formula: str
    attached: bool
    next: str | None
    steps: list[ChecklistItem]


class Primed(TypedDict):
    """`gt prime --json`: who the agent is, its hook, the hook's edges, its unread mail,
    the hook's checklist (null without a hook)."""

    agent: PrimedAgent
    hook: Bead | None
    depends_on: list[Edge]
    dependents: list[Edge]
    mail: UnreadMail
    instructions: str
    checklist: Checklist | None


class MolStep(TypedDict):
    """One step: of a molecule (a bead: `bead`, `status`, `assignee`, `needs`), or of a
    checklist (`status` done|todo, `done_by` and `done_attempt` from its tick)."""

    id: str
    title: str
    status: str
    done: bool
    bead: str | None
    rig: str | None
    assignee: str | None
    needs: list[str]  # step ids
    done_by: str | None
    done_attempt: int | None


class MolProgress(TypedDict):
    total: int
    done: int


class MolStatus(TypedDict):
    """`gt mol status --json`: a molecule's or a checklist's progress, step by step."""

    id: str
    title: str
    kind: str  # molecule or checklist
    formula: str
    status: str
    progress: MolProgress
    next: str | None  # the first step not done
    steps: list[MolStep]


class CostLine(TypedDict):
    """Token usage of one group (its key: a bead, agent, convoy, rig, runtime or model;
    null for usage of no bead/convoy, and in the total)."""

    key: str | None
    sessions: int
    input_tokens: int  # uncached input
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    tokens: int  # all four, summed: what a token budget counts
    dollars: float | None  # of the priced models; null without [prices]
    unpriced: list[str]  # models with usage but no price (not in `dollars`)


class BudgetLine(TypedDict):
    scope: str  # "town" or a convoy id
    budget_tokens: int | None
    budget_dollars: float | None
    tokens: int
    dollars: float | None
    spent: str | None  # what is used up; null while the budget lasts


class Costs(TypedDict):
    """`gt costs --json`: usage summed by one grouping, the town's total, the budgets."""

    by: str
    lines: list[CostLine]
    total: CostLine
    budgets: list[BudgetLine]


class EscalationRow(TypedDict):
    """One escalation (engine/commands/escalation_actions.py): its severity now, how often
    its cause was raised (`count`), how often the ladder raised it (`raises`)."""

    id: str
    title: str
    status: str
    severity: str  # low, medium, high, critical
    count: int
    raises: int
    cause: str | None  # the key that keeps it one open escalation per cause
    source: str | None  # the bead it is about
    rig: str | None
    acked_by: str | None
    acked_at: str | None
    created_at: str
    created_by: str | None


class EscalationStep(TypedDict):
    at: str
    kind: str  # escalation_filed, escalation_repeated, escalation_raised, escalation_acked
    actor: str | None
    data: dict[str, Any]


class EscalationDetail(EscalationRow):
    body: str
    history: list[EscalationStep]
