"""What each `gt ... --json` prints, as one schema per output, documented from the records.

The shapes are `TypedDict`s (engine/records.py and the output-only ones below); pydantic
turns them into validators and JSON Schemas. Only `gt schema` and the tests import this
module: pydantic stays off `gt`'s hot path (tests/test_boundaries.py).
tests/test_json_schemas.py runs every listed command against a real town and validates its
output here with extra keys refused, so this documentation cannot drift from the output.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, NamedTuple, NotRequired, TypedDict

import typing_extensions
from pydantic import Strict, TypeAdapter

from engine.deacon.rounds import PatrolRow
from engine.model import AgentStatus
from engine.records import (
    Agent,
    Bead,
    BeadWithExtra,
    BlockedBead,
    Blocker,
    CancelledConvoy,
    Convoy,
    ConvoyStatus,
    Edge,
    EventRow,
    ListedConvoy,
    MailMessage,
    MergeRequest,
    QueuedMergeRequest,
)

# --- output-only shapes ----------------------------------------------------------------


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


# --- the outputs -----------------------------------------------------------------------


class Output(NamedTuple):
    shape: Any
    commands: str  # the commands that print it


OUTPUTS: dict[str, Output] = {
    "bead": Output(Bead, "gt bead create|update|close|cancel|reopen --json, gt escalate MSG"),
    "bead-show": Output(ShownBead, "gt bead show --json"),
    "beads": Output(list[Bead], "gt bead list --json, gt ready --json"),
    "blocked": Output(list[BlockedBead], "gt blocked --json"),
    "agents": Output(list[ListedAgent], "gt agents --json"),
    "convoy": Output(Convoy, "gt convoy create|launch|add --json"),
    "convoy-cancel": Output(CancelledConvoy, "gt convoy cancel --json"),
    "convoy-status": Output(ConvoyStatus, "gt convoy status --json"),
    "convoys": Output(list[ListedConvoy], "gt convoy list --json"),
    "mail": Output(MailMessage, "gt mail send|read --json"),
    "mail-inbox": Output(list[MailMessage], "gt mail inbox --json"),
    "mail-check": Output(MailCount, "gt mail check --json"),
    "mq-list": Output(list[ListedMergeRequest], "gt mq list --json"),
    "mq-show": Output(MergeRequest, "gt mq show --json"),
    "status": Output(TownStatus, "gt status --json"),
    "breaker": Output(BreakerState, "gt breaker --json"),
    "events": Output(list[EventRow], "gt events --json"),
    "done": Output(DoneResult, "gt done --json"),
    "sling": Output(list[Placement], "gt sling --json"),
    "prime": Output(Primed, "gt prime --json"),
    "mol-status": Output(MolStatus, "gt mol status --json"),
    "costs": Output(Costs, "gt costs --json"),
    "escalation": Output(EscalationRow, "gt escalate ack|close --json"),
    "escalations": Output(list[EscalationRow], "gt escalate list --json"),
    "escalation-show": Output(EscalationDetail, "gt escalate show --json"),
    "patrols": Output(list[PatrolRow], "gt patrol list --json"),
}

# Records that are not printed whole by one command but are checked against the stores.
RECORDS: dict[str, Any] = {
    "agent": Agent,
    "bead": BeadWithExtra,
    "convoy": Convoy,
    "merge-request": MergeRequest,
    "mail": MailMessage,
    "event": EventRow,
}


# --- TypedDict -> pydantic -------------------------------------------------------------

# Extra keys refused; no coercion (1 is not true, "2" is not 2) except a StrEnum's value.
_CONFIG = {"extra": "forbid", "strict": True}
_converted: dict[Any, Any] = {}
# Called through a plain name: mypy reads a direct `TypedDict(...)` call as a class statement.
_make_typed_dict: Any = typing_extensions.TypedDict


def pydantic_ready(tp: Any) -> Any:
    """The same type with each `typing.TypedDict` rebuilt as a `typing_extensions` one,
    which pydantic needs on Python < 3.12, with extra keys refused and strict values.

    The records stay plain `typing.TypedDict`s so importing them costs nothing extra;
    only this module (off the hot path) pays for typing_extensions and pydantic.
    """
    if typing.is_typeddict(tp):
        if tp not in _converted:
            fields = {}
            for key, hint in typing.get_type_hints(tp, include_extras=True).items():
                # Read NotRequired from the hint: with string annotations (PEP 563)
                # Python 3.11 counts every key in __required_keys__.
                required = key in tp.__required_keys__
                if typing.get_origin(hint) in (NotRequired, typing.Required):
                    required = typing.get_origin(hint) is typing.Required
                    hint = typing.get_args(hint)[0]
                wrap = typing_extensions.Required if required else typing_extensions.NotRequired
                fields[key] = wrap[pydantic_ready(hint)]
            new = _make_typed_dict(tp.__name__, fields)
            new.__doc__ = tp.__doc__
            new.__pydantic_config__ = _CONFIG
            _converted[tp] = new
        return _converted[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        # Stores hand out plain strings ("open"): a StrEnum field takes its value.
        return typing.Annotated[tp, Strict(False)]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(pydantic_ready(a) for a in args)]  # noqa: UP007
    if origin in (list, dict):
        return origin[tuple(pydantic_ready(a) for a in args)]
    return tp


def adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(pydantic_ready(tp))


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one output, its description naming the commands that print it."""
    out = OUTPUTS[name]
    doc = adapter(out.shape).json_schema()
    doc["title"] = name
    own = doc.get("description")  # the top shape's docstring, when it is one record
    doc["description"] = f"Printed by `{out.commands}`." + (f" {own}" if own else "")
    return doc
