"""Old events, compacted: the ledger's event log would otherwise grow forever.

Kept, always: the newest `events_keep` events, every event younger than
`events_keep_days`, and every event of a bead still open or running (its history is what
`gt bead show`, seance and the app's detail read). The rest — old town-wide events and
those of finished beads — is deleted, a batch per transaction so the ledger's thread
never stalls. Event ids are never reused, so the app (which follows by id) and `gt feed`
carry on; one `events_compacted` event records each run that deleted anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import vocab
from engine.deacon.patrol import Finding, Patrol, PatrolContext
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.deacon.settings import DeaconSettings

BATCH = 5_000  # events deleted per transaction
MAX_BATCHES = 20  # per run: the rest waits for the next run
FINISHED = tuple(sorted(vocab.FINAL_STATUSES))


class CompactionPatrol(Patrol):
    name = "events"
    title = "old events"

    def interval(self, settings: DeaconSettings) -> float:
        return settings.events_every_seconds

    def act(self, ctx: PatrolContext, worked: None) -> list[Finding]:
        state = ctx.ledger.state
        s = ctx.settings
        below = state.last_event_id() - s.events_keep + 1
        before = iso(ctx.now - s.events_keep_days * 86_400)
        deleted = 0
        for _ in range(MAX_BATCHES):
            with ctx.ledger.transaction():
                n = state.delete_events(
                    below_id=below, before_iso=before, bead_statuses=FINISHED, limit=BATCH
                )
                deleted += n
            if n < BATCH:
                break
        if not deleted:
            return []
        with ctx.ledger.transaction():
            state.record_event(
                "events_compacted", actor="deacon", data={"deleted": deleted, "before_id": below}
            )
        return [Finding("events", f"{deleted} old events compacted (ids below {below})")]


PATROL = CompactionPatrol()
