"""Every kind of event the ledger records, in one registry: kind -> a past-tense class.

An event row is (at, bead_id, kind, actor, attempt, data); each class below documents one
`kind` and the keys of its `data`. `record_event` refuses a kind that is not registered
here, so a new kind cannot be written without being listed (tests/test_typed_domain.py
also scans engine/ for every kind the code passes).

Status changes (`BeadStore.set_status`) always carry `from` and `to` besides their own keys.
The classes are plain (no dataclasses): the registry is read on `gt`'s write paths, which
must start fast, and nothing builds event objects yet — rows stay dicts until a reader
needs more.
"""

from __future__ import annotations

from typing import ClassVar

from engine.model import AgentStatus, MergeRequestState

REGISTRY: dict[str, type[Event]] = {}


class Event:
    """One kind of event. Subclasses name it in the past tense and document its data."""

    kind: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, kind: str = "", fields: tuple[str, ...] = (), **kw: object):
        super().__init_subclass__(**kw)
        if not kind:
            raise TypeError(f"{cls.__name__}: an event class needs its kind")
        if kind in REGISTRY:
            raise TypeError(f"{cls.__name__}: kind {kind!r} is {REGISTRY[kind].__name__}'s")
        cls.kind, cls.fields = kind, fields
        REGISTRY[kind] = cls


class UnknownEventKind(ValueError):
    """A kind no Event class registers: a programming error, never a user's."""


def check_kind(kind: str) -> str:
    if kind not in REGISTRY:
        raise UnknownEventKind(f"event kind {kind!r} is not registered in engine/events.py")
    return kind


def describe(kind: str) -> str:
    """The first line of the kind's documentation."""
    doc = REGISTRY[kind].__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


_FT = ("from", "to")

# ---- beads ----------------------------------------------------------------------------


class BeadCreated(Event, kind="created", fields=("title", "type", "priority", "rig")):
    """A bead was created."""


class BeadUpdated(Event, kind="updated", fields=("<field>",)):
    """A bead's fields were edited; data maps each field to [old, new]."""


class BeadClosed(Event, kind="closed", fields=(*_FT, "reason")):
    """A bead was closed by hand."""


class BeadCancelled(Event, kind="cancelled", fields=(*_FT, "reason")):
    """A bead was cancelled (by hand, or with its convoy)."""


class BeadReopened(Event, kind="reopened", fields=_FT):
    """A final bead was opened again."""


class BeadSlung(Event, kind="slung"):
    """A bead was handed to the scheduler (gt sling, or its convoy launched)."""


class DependencyAdded(Event, kind="dep_added", fields=("depends_on", "type")):
    """A dependency was added to a bead."""


class DependencyRemoved(Event, kind="dep_removed", fields=("depends_on", "type", "by")):
    """A dependency was removed (by hand, or because an import no longer has it)."""


class BeadImported(Event, kind="imported", fields=("status",)):
    """A bead was created from an import file."""


class BeadReimported(Event, kind="import_updated", fields=("status",)):
    """An existing bead was updated from an import file."""


class BeadParked(Event, kind="parked", fields=("reason", "stage")):
    """The engine hit an error on a bead and set it aside (the town goes on)."""


class BeadUnparked(Event, kind="unparked", fields=("reason",)):
    """A parked bead was changed and is considered again."""


class BeadFaulted(Event, kind="bead_fault", fields=(*_FT, "reason")):
    """The bead itself cannot be worked (not the town's fault): it fails at once."""


# ---- an attempt's life ----------------------------------------------------------------


class BeadHooked(Event, kind="hooked", fields=("agent", "rig")):
    """A bead was hooked to a polecat: a new attempt began."""


class WorkStarted(Event, kind="started", fields=(*_FT, "session", "branch")):
    """The polecat's session was started on its hooked bead."""


class BeadUnhooked(Event, kind="unhooked", fields=("reason",)):
    """A polecat's hook was released."""


class DispatchFailed(Event, kind="dispatch_failed", fields=("reason",)):
    """A session could not be started for an attempt (counts towards the breaker)."""


class AgentDied(Event, kind="agent_died", fields=("reason",)):
    """A polecat's session vanished mid-attempt (counts towards the breaker)."""


class AgentStalledOut(Event, kind="agent_stalled_out", fields=("reason",)):
    """A polecat made no progress after nudges and restarts (counts towards the breaker)."""


class BeadFailed(Event, kind="failed", fields=(*_FT, "reason")):
    """A bead failed: its attempts are used up, or its merge failed for good."""


class BeadRequeued(Event, kind="requeued", fields=(*_FT, "reason", "retry_in")):
    """A bead went back to open after a failed attempt (after a back-off delay)."""


class WorkDone(Event, kind="done", fields=(*_FT, "summary", "branch", "<more>")):
    """The polecat ran `gt done`: its work went to review (a merge request)."""


class WorkEscalated(Event, kind="escalated", fields=(*_FT, "summary", "escalation")):
    """The polecat ran `gt done --escalate`: a person must decide."""


class WorkDeferred(Event, kind="deferred", fields=(*_FT, "summary")):
    """The polecat ran `gt done --defer`: the bead waits."""


class HandoffRequested(Event, kind="handoff", fields=("note",)):
    """The polecat asked for a fresh session on the same hook."""


class AgentPrimed(Event, kind="primed"):
    """The polecat ran `gt prime`: it read its hooked work."""


class HeartbeatNoted(Event, kind="heartbeat"):
    """The polecat said it is alive (`gt heartbeat`)."""


class CheckpointNoted(Event, kind="checkpoint", fields=("text",)):
    """The polecat recorded a checkpoint (`gt checkpoint`)."""


# ---- agents ---------------------------------------------------------------------------

# Agent status changes are recorded as `agent_<status>`, by the scheduler (reason) or the
# witness (agent, status).
_AGENT = ("reason", "agent", "status")


class AgentAllocated(Event, kind="agent_allocated", fields=("rig", "name")):
    """A polecat was created in a rig."""


class AgentWentIdle(Event, kind=f"agent_{AgentStatus.IDLE}", fields=_AGENT):
    """A polecat became idle (recovered, or its work ended)."""


class AgentAssigned(Event, kind=f"agent_{AgentStatus.ASSIGNED}", fields=_AGENT):
    """A polecat was given a bead, its session not yet started."""


class AgentWorking(Event, kind=f"agent_{AgentStatus.WORKING}", fields=_AGENT):
    """A polecat is seen making progress."""


class AgentHandedOff(Event, kind=f"agent_{AgentStatus.HANDOFF}", fields=_AGENT):
    """A polecat is waiting for a fresh session on the same hook."""


class AgentStalled(Event, kind=f"agent_{AgentStatus.STALLED}", fields=_AGENT):
    """A polecat made no progress for the stall window."""


class AgentViolatedGupp(Event, kind=f"agent_{AgentStatus.GUPP}", fields=_AGENT):
    """A polecat held a hook without progress for the GUPP window."""


class AgentBecameZombie(Event, kind=f"agent_{AgentStatus.ZOMBIE}", fields=_AGENT):
    """A polecat's session is gone while it still holds work."""


class AgentRetired(Event, kind=f"agent_{AgentStatus.RETIRED}", fields=_AGENT):
    """A polecat was retired (idle too long, or its rig removed)."""


class AgentNudged(Event, kind="witness_nudged", fields=("agent", "status")):
    """The witness nudged a stalled polecat (the first rung)."""


class AgentRestarted(Event, kind="witness_restarted", fields=("agent", "status")):
    """The witness restarted a stalled polecat's session (the second rung)."""


# ---- mail -----------------------------------------------------------------------------


class MailRead(Event, kind="read"):
    """A message was read by its recipient."""


# ---- convoys --------------------------------------------------------------------------


class ConvoyCreated(Event, kind="convoy_created", fields=("beads", "staged")):
    """A convoy was created (staged: not yet launched)."""


class ConvoyLaunched(Event, kind="convoy_launched", fields=_FT):
    """A staged convoy was launched: its beads were slung."""


class ConvoyBeadsAdded(Event, kind="convoy_beads_added", fields=("beads",)):
    """Beads were added to a convoy."""


class ConvoyReopened(Event, kind="convoy_reopened", fields=_FT):
    """A landed convoy was opened again (new beads were added)."""


class ConvoyCancelled(Event, kind="convoy_cancelled", fields=(*_FT, "cancelled")):
    """A convoy was cancelled, with its unfinished beads."""


class ConvoyLanded(Event, kind="convoy_landed", fields=(*_FT, "beads")):
    """Every bead of a convoy is final: the convoy landed."""


# ---- the merge queue ------------------------------------------------------------------

# A merge request's state changes are recorded as `mq_<state>` with the change's own data.


class MergeRequestQueued(Event, kind=f"mq_{MergeRequestState.QUEUED}", fields=("reason",)):
    """A merge request went (back) into the queue."""


class MergeRequestTesting(Event, kind=f"mq_{MergeRequestState.TESTING}", fields=("size",)):
    """A merge request's batch is being tested by the refinery."""


class MergeRequestLanding(Event, kind=f"mq_{MergeRequestState.LANDING}"):
    """A merge request's batch passed and is being pushed to main."""


class MergeRequestAwaitingApproval(
    Event, kind=f"mq_{MergeRequestState.AWAITING_APPROVAL}", fields=("paths",)
):
    """A merge request touches protected paths and waits for `gt mq approve`."""


class MergeRequestLanded(Event, kind=f"mq_{MergeRequestState.LANDED}", fields=("commit",)):
    """A merge request landed on main."""


class MergeRequestFailed(Event, kind=f"mq_{MergeRequestState.FAILED}", fields=("reason",)):
    """A merge request failed its gates."""


class MergeRequestConflicted(Event, kind=f"mq_{MergeRequestState.CONFLICT}", fields=("files",)):
    """A merge request does not merge cleanly into main."""


class MergeRequestRejected(Event, kind=f"mq_{MergeRequestState.REJECTED}", fields=("reason",)):
    """A merge request was rejected by a person."""


class MergeRequestDropped(Event, kind=f"mq_{MergeRequestState.DROPPED}", fields=("reason",)):
    """A merge request was dropped (its bead was cancelled, or its branch is gone)."""


class MergeRequestRebased(Event, kind="mq_rebased", fields=("commit",)):
    """A merge request was rebased onto main and queued again."""


class MergeRequestApproved(Event, kind="mq_approved"):
    """A merge request touching protected paths was approved by a person."""


class MergeRequestRetried(Event, kind="mq_retry", fields=_FT):
    """A failed merge request (and its bead) was queued again by a person."""


class WorkMerged(Event, kind="merged", fields=(*_FT, "merge_request", "commit")):
    """A bead's work (or its merge request) landed on main."""


class MergeConflicted(Event, kind="conflict", fields=_FT):
    """A merge request bead closed on a conflict (its bead goes back for rework)."""


class MergeSuperseded(Event, kind="superseded", fields=_FT):
    """A bead was replaced by its rework bead."""


class MergeDropped(Event, kind="dropped", fields=_FT):
    """A merge request bead closed because its request was dropped."""


class MergeRejected(Event, kind="rejected", fields=_FT):
    """A merge request bead closed because a person rejected it."""


class ReworkCreated(Event, kind="rework_created", fields=("rework",)):
    """A rework bead was created for a conflicted merge."""


class GateFlaked(Event, kind="gate_flake", fields=("batch",)):
    """A gate failed, then passed on the same tree: counted as a flake."""


# ---- the town -------------------------------------------------------------------------


class RigAdded(Event, kind="rig_added", fields=("rig", "prefix")):
    """A rig was added to the town."""


class RigRemoved(Event, kind="rig_removed", fields=("rig", "forced")):
    """A rig was removed from the town."""


class BreakerTripped(Event, kind="breaker_tripped", fields=("failures", "until", "reasons")):
    """Too many town faults in the window: dispatch paused."""


class BreakerReset(Event, kind="breaker_reset"):
    """The dispatch breaker was reset (by a person, or after its cool-down)."""


class InvariantViolated(Event, kind="invariant_violated", fields=("violation",)):
    """The scheduler found the ledger breaking one of its rules (and repaired it)."""
