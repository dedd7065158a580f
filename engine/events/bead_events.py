"""The kinds of event in a bead's life: created, edited, closed, and an attempt's work."""

from __future__ import annotations

from typing import Any

from engine.events.base import Event, StatusChanged

# ---- beads ----------------------------------------------------------------------------


class BeadCreated(Event, kind="created"):
    """A bead was created."""

    title: str | None
    type: str | None
    priority: int | None
    rig: str | None


class BeadUpdated(Event, kind="updated", more="<field>"):
    """A bead's fields were edited; data maps each field to [old, new]."""

    @property
    def changes(self) -> dict[str, Any]:
        """field -> [old, new]: every key of the data (no key is fixed)."""
        return self.extra


class BeadClosed(StatusChanged, kind="closed"):
    """A bead was closed by hand."""

    reason: str | None


class BeadCancelled(StatusChanged, kind="cancelled"):
    """A bead was cancelled (by hand, or with its convoy)."""

    reason: str | None


class BeadReopened(StatusChanged, kind="reopened"):
    """A final bead was opened again."""


class BeadSlung(Event, kind="slung"):
    """A bead was handed to the scheduler (gt sling, or its convoy launched)."""


class DependencyAdded(Event, kind="dep_added"):
    """A dependency was added to a bead."""

    depends_on: str | None
    type: str | None


class DependencyRemoved(Event, kind="dep_removed"):
    """A dependency was removed (by hand, or because an import no longer has it)."""

    depends_on: str | None
    type: str | None
    by: str | None


class BeadImported(Event, kind="imported"):
    """A bead was created from an import file."""

    status: str | None


class BeadReimported(Event, kind="import_updated"):
    """An existing bead was updated from an import file."""

    status: str | None


class BeadParked(Event, kind="parked"):
    """The engine hit an error on a bead and set it aside (the town goes on)."""

    reason: str | None
    stage: str | None


class BeadUnparked(Event, kind="unparked"):
    """A parked bead was changed and is considered again."""

    reason: str | None


class BeadFaulted(StatusChanged, kind="bead_fault"):
    """The bead itself cannot be worked (not the town's fault): it fails at once."""

    reason: str | None


# ---- an attempt's life ----------------------------------------------------------------


class BeadHooked(Event, kind="hooked"):
    """A bead was hooked to a polecat: a new attempt began."""

    agent: str | None
    rig: str | None


class WorkStarted(StatusChanged, kind="started"):
    """The polecat's session was started on its hooked bead."""

    session: str | None
    branch: str | None


class BeadUnhooked(Event, kind="unhooked"):
    """A polecat's hook was released."""

    reason: str | None


class DispatchFailed(Event, kind="dispatch_failed"):
    """A session could not be started for an attempt (counts towards the breaker)."""

    reason: str | None


class AgentDied(Event, kind="agent_died"):
    """A polecat's session vanished mid-attempt (counts towards the breaker)."""

    reason: str | None


class AgentStalledOut(Event, kind="agent_stalled_out"):
    """A polecat made no progress after nudges and restarts (counts towards the breaker)."""

    reason: str | None


class BeadRateLimited(StatusChanged, kind="rate_limited"):
    """Its agent's runtime hit a rate or usage limit: the bead went back to open without
    spending an attempt (its failures unchanged) and waits for the runtime's pause."""

    reason: str | None
    runtime: str | None


class BeadFailed(StatusChanged, kind="failed"):
    """A bead failed: its attempts are used up, or its merge failed for good."""

    reason: str | None


class BeadRequeued(StatusChanged, kind="requeued"):
    """A bead went back to open after a failed attempt (after a back-off delay)."""

    reason: str | None
    retry_in: float | None


class WorkDone(StatusChanged, kind="done", more="<more>"):
    """The polecat ran `gt done`: its work went to review (a merge request)."""

    summary: str | None
    branch: str | None


class WorkEscalated(StatusChanged, kind="escalated"):
    """The polecat ran `gt done --escalate`: a person must decide."""

    summary: str | None
    escalation: str | None


class WorkDeferred(StatusChanged, kind="deferred"):
    """The polecat ran `gt done --defer`: the bead waits."""

    summary: str | None


class HandoffRequested(Event, kind="handoff"):
    """The polecat asked for a fresh session on the same hook."""

    note: str | None


class AgentPrimed(Event, kind="primed"):
    """The polecat ran `gt prime`: it read its hooked work."""


class HeartbeatNoted(Event, kind="heartbeat"):
    """The polecat said it is alive (`gt heartbeat`)."""


class CheckpointNoted(Event, kind="checkpoint"):
    """The polecat recorded a checkpoint (`gt checkpoint`)."""

    text: str | None


class ChecklistAttached(Event, kind="checklist_attached"):
    """A checklist formula's steps were attached to the bead (`gt sling --formula`)."""

    formula: str | None
    steps: list[str] | None


class ChecklistStepDone(Event, kind="step_done"):
    """The polecat ticked a step of its bead's checklist (`gt step done`)."""

    step: str | None
    formula: str | None


class MoleculePoured(Event, kind="molecule_poured"):
    """A workflow formula was poured: this molecule bead tracks one bead per step."""

    formula: str | None
    steps: dict[str, str] | None  # step id -> its bead
    vars: dict[str, str] | None
