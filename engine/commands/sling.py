"""Sling: put beads (a new one, named ones, or a convoy's) in motion, all or nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from engine.commands.bead_actions import NewBead  # the bead a sling may create

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.scheduler.reconciler import Scheduler


class SlingRequest(NamedTuple):
    ids: tuple[str, ...] = ()  # bead or convoy ids
    new_bead: NewBead | None = None
    # The runtime every slung bead is to run on (written to each bead: it stays theirs
    # through retries); None leaves each bead's own choice.
    runtime: str | None = None
    # A checklist formula attached to every slung bead (its agent ticks the steps), and
    # its variables as NAME=VALUE
    formula: str | None = None
    formula_vars: tuple[str, ...] = ()


class Placement(NamedTuple):
    """One slung bead: the polecat that took it, or why it waits."""

    bead_id: str
    agent: str | None
    agent_id: str | None = None
    rig: str | None = None
    attempt: int | None = None
    reason: str | None = None
    runtime: str | None = None

    @property
    def queued(self) -> bool:
        return self.agent is None

    @classmethod
    def of(cls, placed: dict[str, Any]) -> Placement:
        return cls(
            bead_id=placed["id"],
            agent=placed["agent"],
            agent_id=placed.get("agent_id"),
            rig=placed.get("rig"),
            attempt=placed.get("attempt"),
            reason=placed.get("reason"),
            runtime=placed.get("runtime"),
        )

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (`gt sling --json`, one per bead)."""
        if self.queued:
            return {"id": self.bead_id, "agent": None, "queued": True, "reason": self.reason}
        return {
            "id": self.bead_id,
            "agent": self.agent,
            "agent_id": self.agent_id,
            "rig": self.rig,
            "attempt": self.attempt,
            "runtime": self.runtime,
            "queued": False,
            "reason": None,
        }


class SlingResult(NamedTuple):
    placements: tuple[Placement, ...]

    @property
    def assigned(self) -> bool:
        return any(not p.queued for p in self.placements)

    def as_json(self) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.placements]


def check_ids(ids: tuple[str, ...]) -> None:
    """Refuse an id that can never become a branch before anything changes, so it can
    neither be hooked nor fail dispatch again and again (ids let in by older versions)."""
    from engine.ids import check_bead_id

    for ident in ids:
        check_bead_id(ident)


def sling(
    ledger: Ledger,
    config: TownConfig,
    request: SlingRequest,
    *,
    actor: str,
    scheduler: Scheduler | None = None,
) -> SlingResult:
    """Create the new bead (if any), launch named staged convoys, and sling every target.

    All or nothing: one durable transaction, so a refusal anywhere (a closed bead, an
    unknown id) leaves the ledger as it was. A bead named twice (or also in a named
    convoy) is slung once.
    """
    from engine.commands.bead_actions import check_runtime
    from engine.ids import check_bead_id

    check_runtime(request.runtime, config)
    for ident in request.ids:
        check_bead_id(ident)
        for member in (ledger.convoys.get(ident) or {}).get("beads", []):  # type: ignore[call-overload]
            check_bead_id(member)
    checklist = None
    if request.formula:  # the formula files are read (and refused) before any write
        from engine.commands.formula_actions import attach_checklist, checklist_for_sling

        new_rig = request.new_bead.rig if request.new_bead else None
        checklist = checklist_for_sling(
            ledger, request.formula, request.formula_vars, request.ids, new_rig
        )
    if scheduler is None:
        from engine.scheduler.reconciler import Scheduler

        scheduler = Scheduler(ledger, config)
    with ledger.transaction(durable=True):
        targets = _targets(ledger, config, request, actor)
        placed = []
        for bid in targets:
            if checklist is not None:
                attach_checklist(ledger, checklist, bid, actor=actor)
            if request.runtime:
                ledger.beads.update(bid, actor=actor, runtime=request.runtime)
            bead = ledger.beads.require(bid)
            if bead["slung"] and bead["status"] == "open" and len(targets) > 1:
                # Already queued by its convoy: try to place it without complaining.
                placed.append(scheduler.place(bid))
            else:
                placed.append(scheduler.sling(bid, actor=actor))
    return SlingResult(tuple(Placement.of(p) for p in placed))


def _targets(ledger: Ledger, config: TownConfig, request: SlingRequest, actor: str) -> list[str]:
    targets: list[str] = []
    new = request.new_bead
    if new is not None:
        from engine.commands.bead_actions import create

        if request.runtime and not new.runtime:
            new = new._replace(runtime=request.runtime)
        targets.append(create(ledger, new, actor=actor, config=config).id)
    for ident in request.ids:
        convoy = ledger.convoys.get(ident)
        if convoy is None:
            ledger.beads.require(ident)
            targets.append(ident)
            continue
        if convoy["status"] == "staged":
            ledger.convoys.launch(ident, actor=actor)
        targets.extend(b for b in convoy["beads"] if ledger.beads.require(b)["status"] == "open")
    return list(dict.fromkeys(targets))
