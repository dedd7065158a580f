"""Old session logs, rotated out: a session's log (logs/<rig>+<agent>+<bead>+<n>.log)
older than `logs_keep_days` is deleted, unless it is the log of an attempt still running.

The deletion runs on the adapters' thread (files only); the ledger is read first for the
attempts still running, so a long-lived session's log is never cut from under it.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, NamedTuple

from engine.deacon.patrol import Finding, Patrol, PatrolContext

if TYPE_CHECKING:
    from engine.deacon.settings import DeaconSettings

DAY = 86_400.0


class Rotated(NamedTuple):
    deleted: list[str]
    kept_live: int


class LogsPatrol(Patrol):
    name = "logs"
    title = "old session logs"

    def interval(self, settings: DeaconSettings) -> float:
        return settings.logs_every_seconds

    def look(self, ctx: PatrolContext) -> set[str]:
        """The logs of attempts still running: never deleted, however old."""
        from engine.polecats.seance import log_path

        logs = ctx.town.logs_dir
        return {
            log_path(logs, a["rig"], a["name"], a["hook"], a["attempt"])
            for a in ctx.ledger.agents.list()
            if a["hook"]
        }

    def work(self, ctx: PatrolContext, looked: set[str]) -> Rotated:
        from engine.polecats.seance import find_logs

        # a file's time is the wall clock's, whatever clock the ledger keeps
        cutoff = time.time() - ctx.settings.logs_keep_days * DAY
        deleted, kept = [], 0
        for log in find_logs(ctx.town.logs_dir):
            if log.mtime >= cutoff:
                continue
            if log.path in looked:
                kept += 1
                continue
            try:
                os.unlink(log.path)
            except FileNotFoundError:
                continue
            deleted.append(os.path.basename(log.path))
        return Rotated(deleted, kept)

    def act(self, ctx: PatrolContext, worked: Rotated) -> list[Finding]:
        if not worked.deleted:
            return []
        days = ctx.settings.logs_keep_days
        return [
            Finding("logs", f"{len(worked.deleted)} session logs older than {days:g} days deleted")
        ]


PATROL = LogsPatrol()
