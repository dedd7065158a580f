"""The kinds of event of the town's machinery: agents, mail, convoys, the merge queue,
rigs and the breaker."""

from __future__ import annotations

from engine.events.base import AgentStatusChanged, Event, StatusChanged
from engine.model import AgentStatus, MergeRequestState

# ---- agents ---------------------------------------------------------------------------


class AgentAllocated(Event, kind="agent_allocated"):
    """A polecat was created in a rig."""

    rig: str | None
    name: str | None


class AgentWentIdle(AgentStatusChanged, kind=f"agent_{AgentStatus.IDLE}"):
    """A polecat became idle (recovered, or its work ended)."""


class AgentAssigned(AgentStatusChanged, kind=f"agent_{AgentStatus.ASSIGNED}"):
    """A polecat was given a bead, its session not yet started."""


class AgentWorking(AgentStatusChanged, kind=f"agent_{AgentStatus.WORKING}"):
    """A polecat is seen making progress."""


class AgentHandedOff(AgentStatusChanged, kind=f"agent_{AgentStatus.HANDOFF}"):
    """A polecat is waiting for a fresh session on the same hook."""


class AgentStalled(AgentStatusChanged, kind=f"agent_{AgentStatus.STALLED}"):
    """A polecat made no progress for the stall window."""


class AgentViolatedGupp(AgentStatusChanged, kind=f"agent_{AgentStatus.GUPP}"):
    """A polecat held a hook without progress for the GUPP window."""


class AgentBecameZombie(AgentStatusChanged, kind=f"agent_{AgentStatus.ZOMBIE}"):
    """A polecat's session is gone while it still holds work."""


class AgentRetired(AgentStatusChanged, kind=f"agent_{AgentStatus.RETIRED}"):
    """A polecat was retired (idle too long, or its rig removed)."""


class AgentNeedsYou(AgentStatusChanged, kind="agent_needs_you"):
    """A polecat's screen waits for a person (a login, a question the town does not
    answer): it is held as stalled, never nudged, and escalated to the mayor."""


class DialogAnswered(Event, kind="dialog_answered"):
    """The witness answered a known start-up dialog on a polecat's screen (its rules name
    the dialog and the keys)."""

    agent: str | None
    dialog: str | None
    keys: list[str] | None


class AgentNudged(Event, kind="witness_nudged"):
    """The witness nudged a stalled polecat (the first rung)."""

    agent: str | None
    status: str | None


class AgentRestarted(Event, kind="witness_restarted"):
    """The witness restarted a stalled polecat's session (the second rung)."""

    agent: str | None
    status: str | None


# ---- mail -----------------------------------------------------------------------------


class MailRead(Event, kind="read"):
    """A message was read by its recipient."""


# ---- convoys --------------------------------------------------------------------------


class ConvoyCreated(Event, kind="convoy_created"):
    """A convoy was created (staged: not yet launched)."""

    beads: list[str] | None
    staged: bool | None


class ConvoyLaunched(StatusChanged, kind="convoy_launched"):
    """A staged convoy was launched: its beads were slung."""


class ConvoyBeadsAdded(Event, kind="convoy_beads_added"):
    """Beads were added to a convoy."""

    beads: list[str] | None


class ConvoyReopened(StatusChanged, kind="convoy_reopened"):
    """A landed convoy was opened again (new beads were added)."""


class ConvoyCancelled(StatusChanged, kind="convoy_cancelled"):
    """A convoy was cancelled, with its unfinished beads."""

    cancelled: list[str] | None


class ConvoyLanded(StatusChanged, kind="convoy_landed"):
    """Every bead of a convoy is final: the convoy landed."""

    beads: int | None  # how many beads it tracked


# ---- the merge queue ------------------------------------------------------------------

# A merge request's state changes are recorded as `mq_<state>` with the change's own data.


class MergeRequestQueued(Event, kind=f"mq_{MergeRequestState.QUEUED}"):
    """A merge request went (back) into the queue."""

    reason: str | None


class MergeRequestTesting(Event, kind=f"mq_{MergeRequestState.TESTING}"):
    """A merge request's batch is being tested by the refinery."""

    size: int | None


class MergeRequestLanding(Event, kind=f"mq_{MergeRequestState.LANDING}"):
    """A merge request's batch passed and is being pushed to main."""


class MergeRequestAwaitingApproval(Event, kind=f"mq_{MergeRequestState.AWAITING_APPROVAL}"):
    """A merge request touches protected paths and waits for `gt mq approve`."""

    paths: list[str] | None


class MergeRequestLanded(Event, kind=f"mq_{MergeRequestState.LANDED}"):
    """A merge request landed on main."""

    commit: str | None


class MergeRequestFailed(Event, kind=f"mq_{MergeRequestState.FAILED}"):
    """A merge request failed its gates."""

    reason: str | None


class MergeRequestConflicted(Event, kind=f"mq_{MergeRequestState.CONFLICT}"):
    """A merge request does not merge cleanly into main."""

    files: list[str] | None


class MergeRequestRejected(Event, kind=f"mq_{MergeRequestState.REJECTED}"):
    """A merge request was rejected by a person."""

    reason: str | None


class MergeRequestDropped(Event, kind=f"mq_{MergeRequestState.DROPPED}"):
    """A merge request was dropped (its bead was cancelled, or its branch is gone)."""

    reason: str | None


class MergeRequestRebased(Event, kind="mq_rebased"):
    """A merge request was rebased onto main and queued again."""

    commit: str | None


class MergeRequestApproved(Event, kind="mq_approved"):
    """A merge request touching protected paths was approved by a person."""


class MergeRequestRetried(StatusChanged, kind="mq_retry"):
    """A failed merge request (and its bead) was queued again by a person."""


class WorkMerged(StatusChanged, kind="merged"):
    """A bead's work (or its merge request) landed on main."""

    merge_request: str | None
    commit: str | None


class MergeConflicted(StatusChanged, kind="conflict"):
    """A merge request bead closed on a conflict (its bead goes back for rework)."""


class MergeSuperseded(StatusChanged, kind="superseded"):
    """A bead was replaced by its rework bead."""


class MergeDropped(StatusChanged, kind="dropped"):
    """A merge request bead closed because its request was dropped."""


class MergeRejected(StatusChanged, kind="rejected"):
    """A merge request bead closed because a person rejected it."""


class ReworkCreated(Event, kind="rework_created"):
    """A rework bead was created for a conflicted merge."""

    rework: str | None


class GateFlaked(Event, kind="gate_flake"):
    """A gate failed, then passed on the same tree: counted as a flake."""

    batch: str | None


# ---- the town -------------------------------------------------------------------------


class RigAdded(Event, kind="rig_added"):
    """A rig was added to the town."""

    rig: str | None
    prefix: str | None


class RigRemoved(Event, kind="rig_removed"):
    """A rig was removed from the town."""

    rig: str | None
    forced: bool | None


class BreakerTripped(Event, kind="breaker_tripped"):
    """Too many town faults in the window: dispatch paused."""

    failures: int | None
    until: str | None
    reasons: list[str] | None  # "bead: reason", one per fault


class BreakerReset(Event, kind="breaker_reset"):
    """The dispatch breaker was reset (by a person, or after its cool-down)."""


class RuntimePaused(Event, kind="runtime_paused"):
    """A runtime (account) hit a rate or usage limit: no dispatch to it until `until`."""

    runtime: str | None
    until: str | None
    shown: bool | None  # the CLI showed the reset time (else: the town's growing backoff)
    strikes: int | None  # limits in a row, which grow the backoff
    reason: str | None


class RuntimeResumed(Event, kind="runtime_resumed"):
    """A paused runtime takes work again: its time passed, or a person lifted the pause."""

    runtime: str | None
    lifted: bool | None  # a person lifted it (`gt runtime resume`)


class InvariantViolated(Event, kind="invariant_violated"):
    """The scheduler found the ledger breaking one of its rules (and repaired it)."""

    violation: str | None
