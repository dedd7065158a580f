"""The shapes of the ledger's records, as the stores return them: beads, agents, merge
requests, convoys, mail messages, events.

`TypedDict`s, not classes with behaviour: a record stays the plain dict the ledger builds
(zero runtime cost, `--json` prints it as is), and mypy checks every key a caller reads.
Field names and types are exactly what engine/ledger/ returns today; tests/test_records.py
validates real store output against these shapes (extra keys refused), so they cannot drift.
The `--json` outputs built from them are in engine/json_schemas.py (`gt schema`).

Hot-path modules should import these names under `TYPE_CHECKING` only: importing `typing`
costs `gt` start-up ~3 ms, and annotations need nothing at run time.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from engine.model import AgentStatus, BeadStatus, BeadType, DepType, MergeRequestState


class Bead(TypedDict):
    """A bead as the ledger returns it (engine/ledger/rows.py), and `gt bead list --json`."""

    id: str
    title: str
    # Beads made here use BeadStatus; convoys add their own ("staged", "landed") and an
    # import keeps Beads' other statuses ("pinned", "tombstone"...) verbatim.
    status: BeadStatus | str
    priority: int
    # An import keeps Beads' unknown issue types verbatim, as with statuses.
    type: BeadType | str
    rig: str | None
    assignee: str | None
    labels: list[str]
    created_at: str
    updated_at: str
    closed_at: str | None
    close_reason: str | None
    created_by: str | None
    body: str
    metadata: dict[str, Any]
    defer_until: str | None
    ephemeral: bool
    slung: bool
    attempt: int
    failures: int
    last_error: str | None
    blocked: bool
    # The runtime it names (`gt sling --runtime`); None: its rig's, else the town's default.
    runtime: str | None


class BeadWithExtra(Bead):
    """`beads.get(id, extra=True)`: the fields Beads had that the ledger has no column for."""

    extra: dict[str, Any]


class Edge(TypedDict):
    """One dependency seen from a bead (`graph.edges_of`): the other bead and the edge type.
    The other bead may be outside the ledger (an external ref): no title or status then."""

    id: str
    type: DepType | str  # mail adds "replies-to"; an import keeps unknown types verbatim
    title: str | None
    status: BeadStatus | str | None


class Blocker(TypedDict):
    """What keeps a bead blocked (`graph.blockers`): an open blocker or a blocked parent."""

    id: str
    title: str
    status: BeadStatus | str
    type: DepType | str


class BlockedBead(Bead):
    """A bead with what blocks it (`gt blocked`, a convoy's tracked beads)."""

    blocked_by: list[Blocker]


class EventRow(TypedDict):
    """One row of the event history (`gt events`, `state.recent`, `beads.history`)."""

    id: int
    at: str
    bead_id: str | None
    kind: str  # one of engine/events/'s registry (`gt events --kinds`)
    actor: str | None
    attempt: int | None
    data: dict[str, Any]


class Agent(TypedDict):
    """An agent row (engine/ledger/rows.py `agent`)."""

    id: str
    name: str
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
    updated_at: str
    idle_since: float | None
    last_activity: float | None
    last_heartbeat: float | None
    info: dict[str, Any]
    host: str | None  # the host whose engine runs it (None: a single-host town)


class Host(TypedDict):
    """A host sharing the ledger (engine/ledger/hosts.py): one engine on one machine."""

    name: str
    capacity: int
    rigs: list[str]  # the rigs it serves; empty: all
    address: str
    town_root: str
    epoch: int
    heartbeat_at: float
    lease_seconds: float
    state: str  # live, lost or stopped
    joined_at: float


class HostRelease(TypedDict):
    """A bead a lost host's agent held, put back to open for another host."""

    bead_id: str
    attempt: int
    agent: str


class MergeRequest(TypedDict):
    """A merge request (engine/ledger/merge_queue.py): the row, with `id` and `commit`."""

    id: str
    bead_id: str  # the same as id: the merge request is a bead
    source_bead: str
    rig: str
    branch: str
    commit: str
    agent: str | None
    attempt: int
    state: MergeRequestState
    priority: int
    retries: int
    batch: str | None
    gate_log: str | None
    failure: str | None
    merged_commit: str | None
    approved: int  # 0 or 1, as stored
    created_at: str
    updated_at: str


class QueuedMergeRequest(MergeRequest):
    """`mq.list`: each request with its source bead's status and title, and the creation
    time of the convoy tracking it (the refinery's landing order)."""

    source_status: BeadStatus | str | None
    source_title: str | None
    convoy_created_at: str | None


class Progress(TypedDict):
    """How many tracked beads there are, how many closed, and a count per status."""

    total: int
    closed: int
    by_status: dict[str, int]


class Convoy(Bead):
    """A convoy (`convoys.get`): its bead, whether it is staged, and the beads it tracks."""

    staged: bool
    launched_at: str | None
    landed_at: str | None
    beads: list[str]


class ListedConvoy(Convoy):
    """`convoys.list`: each convoy with its progress."""

    progress: Progress


class ConvoyStatus(Convoy):
    """`convoys.status`: progress, per rig ("(town)" for rig-less beads), and each
    tracked bead with what blocks it."""

    progress: Progress
    rigs: dict[str, Progress]
    tracked: list[BlockedBead]


class CancelledConvoy(Convoy):
    """`convoys.cancel`: the convoy and the tracked beads it cancelled."""

    cancelled: list[str]


# "from" is a Python keyword: the mail fields need the functional form.
_MailFields = TypedDict(
    "_MailFields",
    {"reply_to": str | None, "from": str | None, "to": str | None, "subject": str, "read": bool},
)


class MailMessage(Bead, _MailFields):
    """A mail message (`mail.get`): a bead of type "message" with the mail words on top
    (from = created_by, to = assignee, subject = title, read = no longer open)."""


class Rig(TypedDict):
    """A rig (engine/ledger/rigs.py): where its repository is and what its polecats can do."""

    name: str
    prefix: str
    source: str
    path: str
    capabilities: list[str]
    gates: list[str]
    config: dict[str, Any]
    created_at: str


# `beads.set_status`: the bead and the status it moved from and to ("from" is a Python
# keyword: the functional form again).
StatusChange = TypedDict("StatusChange", {"id": str, "from": str, "to": str})


class DepAdded(TypedDict):
    """`graph.add`: the edge made."""

    bead_id: str
    depends_on: str
    type: DepType | str


class TreeNode(TypedDict):
    """One node of `graph.tree` (`gt dep tree`): the bead, the edge that led to it, and what
    it depends on (or, reversed, what depends on it)."""

    id: str
    title: str | None  # None for an external ref
    status: BeadStatus | str | None
    type: DepType | str | None  # None at the root
    children: list[TreeNode]
    repeat: NotRequired[bool]  # already on the path: not expanded again
    truncated: NotRequired[bool]  # the depth limit was reached


class _InboxFields(TypedDict):
    id: int
    at: str
    kind: str
    actor: str | None
    attempt: int | None
    state: str  # pending, done or parked
    tries: int
    error: str | None


class InboxItem(_InboxFields):
    """A request waiting in the engine's inbox (`inbox.pending`), its payload decoded."""

    payload: dict[str, Any]


class ParkedInboxItem(_InboxFields):
    """A request the engine gave up on (`inbox.parked`): the payload as stored (JSON text)."""

    payload: str


class ImportedBead(TypedDict):
    """A bead as engine/beads_jsonl/read.py hands it to the ledger: Beads' keys mapped to
    ledger fields, everything unmapped kept in `extra` (with `_keys`, the original order)."""

    id: str
    title: str
    body: str
    status: BeadStatus | str
    priority: int
    type: BeadType | str
    assignee: str | None
    created_at: str | None
    created_by: str | None
    updated_at: str | None
    closed_at: str | None
    close_reason: str | None
    defer_until: str | None
    labels: list[str]
    ephemeral: bool
    metadata: dict[str, Any]
    extra: dict[str, Any]


class UsageRow(TypedDict):
    """One agent session's token usage on one model (engine/ledger/usage.py)."""

    agent: str
    session: str
    model: str
    runtime: str
    rig: str | None
    bead_id: str | None
    attempt: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    first_seen: str
    updated_at: str


class UsageTotal(TypedDict):
    """Token usage summed over a group (a bead, agent, convoy, rig or runtime) and model."""

    key: str | None
    model: str
    sessions: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int


class ChecklistStep(TypedDict):
    """One step of a bead's checklist (`checklists.steps`): the formula's words as they were
    attached, and the tick (null until `gt step done`)."""

    bead_id: str
    position: int
    step_id: str
    formula: str
    title: str
    description: str
    acceptance: str
    done_at: str | None
    done_by: str | None  # the agent that ticked it
    done_attempt: int | None  # the attempt it ticked it in


class ImportedDep(TypedDict):
    """A dependency as engine/beads_jsonl/read.py hands it to the ledger."""

    bead_id: str
    depends_on: str
    type: DepType | str
    created_at: str | None
    created_by: str | None
    extra: dict[str, Any]


class RefineryLease(TypedDict):
    """Who runs a rig's merge queue town-wide (engine/ledger/refinery_leases.py)."""

    rig: str
    holder: str  # the engine's machine and town directory
    token: str  # changes at every take; a landing is recorded only under the current one
    epoch: int  # how many times the lease has been taken
    expires_at: float  # ledger clock seconds
