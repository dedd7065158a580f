"""The domain's closed sets of words as `StrEnum`s: statuses, types, states.

A member *is* its string (`BeadStatus.OPEN == "open"`, and it is stored, hashed, printed
and serialised as "open"), so the ledger's text columns, JSON and older callers that pass
plain strings keep working. engine/vocab.py keeps its old names as aliases of these.

Import-light (only `enum`, which `gt` already imports) because the `gt` hot path imports it.
"""

from enum import StrEnum


class BeadStatus(StrEnum):
    """A bead's status. Beads (the tracker) has more (pinned, tombstone, deferred...);
    unknown statuses are stored verbatim and simply never become ready."""

    OPEN = "open"
    HOOKED = "hooked"
    IN_PROGRESS = "in_progress"
    IN_REVIEW = "in_review"
    CLOSED = "closed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BeadType(StrEnum):
    """What a bead is: work a polecat can be given, a container, or a record."""

    TASK = "task"
    BUG = "bug"
    FEATURE = "feature"
    CHORE = "chore"
    MOLECULE = "molecule"
    EPIC = "epic"
    CONVOY = "convoy"
    MESSAGE = "message"
    MERGE_REQUEST = "merge-request"
    AGENT = "agent"
    ESCALATION = "escalation"
    EVENT = "event"


class DepType(StrEnum):
    """A dependency's type. Only BLOCKS and PARENT_CHILD affect readiness."""

    BLOCKS = "blocks"
    PARENT_CHILD = "parent-child"
    RELATED = "related"
    DISCOVERED_FROM = "discovered-from"
    TRACKS = "tracks"


class AgentStatus(StrEnum):
    """A polecat's state. Live agents are every status but RETIRED."""

    IDLE = "idle"
    ASSIGNED = "assigned"  # hooked, dispatch not yet done
    WORKING = "working"
    HANDOFF = "handoff"  # asked for a fresh session on the same hook
    STALLED = "stalled"
    GUPP = "gupp"  # hooked, but no progress for the GUPP window
    ZOMBIE = "zombie"
    RETIRED = "retired"


class MergeRequestState(StrEnum):
    """Where a merge request is in the refinery's queue."""

    QUEUED = "queued"
    TESTING = "testing"
    LANDING = "landing"
    AWAITING_APPROVAL = "awaiting_approval"
    LANDED = "landed"
    FAILED = "failed"
    CONFLICT = "conflict"
    REJECTED = "rejected"
    DROPPED = "dropped"
