"""Runtime pauses: a runtime (an account: claude, codex, gemini...) that hit a rate or usage
limit takes no new work until its window resets, while every other runtime keeps working.

The signal comes from the witness reading the screen (a RateLimited verdict) or from the
last lines of a session that died (engine.scheduler.agent_checks). The bead that was hit
goes back to open without spending an attempt; its rig's beads wait with a reason
(`gt why`); the pause ends by itself when its time passes (at the reset time the CLI
showed, else after a backoff that grows with each limit in a row), or when a person lifts
it (`gt runtime resume NAME`).

The pauses live in the ledger's town_state, one entry per runtime, so a restart of the
engine does not forget them. An ended pause stays as a record (`ended_at`) so the next
limit soon after it knows it is another strike.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from engine.policy import pause_backoff
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.escalation_routes import EscalationSettings
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher
    from engine.records import Agent
    from engine.scheduler.reconciler import Scheduler

log = logging.getLogger("gastown.scheduler")

KEY = "runtime_pauses"
# The growing backoff when the CLI did not say when its window resets: 1, 2, 4 ... 60 min
# (the defaults of town.toml's [scheduler] runtime_pause_base_seconds / _max_seconds).
BACKOFF_BASE = 60.0
BACKOFF_MAX = 3600.0
# A reset time further off than this is not believed (a misread date): the backoff is used.
LONGEST_SHOWN = 8 * 24 * 3600.0
# A limit within this many longest backoffs of the last pause's end is the next strike.
STRIKE_MEMORY = 2
# Limits in a row before a person is told (one escalation per runtime, counted after):
# one limit is the backoff's to absorb; one that keeps coming back is an account problem.
ESCALATE_STRIKES = 3


class RuntimePauses:
    def __init__(self, ledger: Ledger, routes: EscalationSettings | None = None) -> None:
        self.ledger = ledger
        self.routes = routes  # town.toml [escalation]; None: the defaults

    def all(self) -> dict[str, dict[str, Any]]:
        """Every runtime's pause record, ended ones included."""
        return dict(self.ledger.state.get(KEY, {}))

    def active(self) -> dict[str, dict[str, Any]]:
        """The pauses in force now, by runtime (reading only: ends nothing)."""
        now = self.ledger.now()
        return {k: v for k, v in self.all().items() if not v.get("ended_at") and v["until"] > now}

    def blocks(self, runtime: str | None, pauses: dict[str, dict[str, Any]]) -> str | None:
        """Why a bead for `runtime` waits (given `active()`), or None."""
        pause = pauses.get(runtime or "")
        if pause is None:
            return None
        return (
            f"runtime {runtime} is paused until {iso(pause['until'])} after a "
            f"{'usage' if pause.get('shown') else 'rate'} limit: {pause['reason']} "
            f"(`gt runtime resume {runtime}` lifts it)"
        )

    def pause(
        self,
        runtime: str,
        *,
        shown_until: float | None,
        reason: str,
        bead: str | None,
        base: float = BACKOFF_BASE,
        longest: float = BACKOFF_MAX,
    ) -> dict[str, Any]:
        """Pause dispatch to `runtime`: until the reset time the CLI showed (when it is
        believable), else for the growing backoff (`base` doubling up to `longest`). A pause
        already in force is only ever extended. Joins the caller's transaction."""
        now = self.ledger.now()
        pauses = self.all()
        prev = pauses.get(runtime)
        in_force = prev is not None and not prev.get("ended_at") and prev["until"] > now
        recent = (
            prev is not None and now - float(prev.get("ended_at") or now) < STRIKE_MEMORY * longest
        )
        if in_force and prev is not None:
            strikes = int(prev.get("strikes", 1))  # the same window, seen by another agent
        else:
            strikes = int(prev.get("strikes", 0)) + 1 if prev and recent else 1
        if shown_until is not None and now < shown_until <= now + LONGEST_SHOWN:
            until, shown = shown_until, True
        else:
            until, shown = now + pause_backoff(strikes, base, longest), False
        if in_force and prev is not None and prev["until"] >= until:
            return prev
        entry = {
            "until": until,
            "since": prev["since"] if in_force and prev else now,
            "shown": shown,
            "strikes": strikes,
            "reason": reason,
            "bead": bead,
        }
        with self.ledger.transaction():
            self.ledger.state.put(KEY, {**pauses, runtime: entry})
            self.ledger.state.record_event(
                "runtime_paused",
                bead_id=bead,
                actor="scheduler",
                data={
                    "runtime": runtime,
                    "until": iso(until),
                    "shown": shown,
                    "strikes": strikes,
                    "reason": reason,
                },
            )
            if strikes >= ESCALATE_STRIKES and not in_force:
                from engine.escalations import escalate

                escalate(
                    self.ledger,
                    title=f"runtime {runtime} keeps hitting its limit ({strikes} in a row)",
                    body=f"Last: {reason}\nPaused until {iso(until)}. Check the account's "
                    f"plan or quota; `gt runtime resume {runtime}` lifts the pause.",
                    severity="medium",
                    actor="scheduler",
                    cause=f"rate-limit:{runtime}",
                    routes=self.routes,
                )
        log.warning("runtime %s paused until %s: %s", runtime, iso(until), reason)
        return entry

    def end_passed(self) -> list[str]:
        """Pauses whose time has passed end (recorded once): dispatch resumes by itself."""
        now = self.ledger.now()
        pauses = self.all()
        ended = [k for k, v in pauses.items() if not v.get("ended_at") and v["until"] <= now]
        if ended:
            self._end(pauses, ended, lifted=False, actor="scheduler")
        return ended

    def lift(self, runtime: str, *, actor: str | None) -> bool:
        """A person lifts a pause in force; False when `runtime` has none."""
        pauses = self.all()
        if runtime not in self.active():
            return False
        self._end(pauses, [runtime], lifted=True, actor=actor)
        return True

    def _end(
        self,
        pauses: dict[str, dict[str, Any]],
        names: list[str],
        *,
        lifted: bool,
        actor: str | None,
    ) -> None:
        now = self.ledger.now()
        with self.ledger.transaction():
            for name in names:
                # a person's lift forgets the strikes: they say the account is fine now
                pauses[name] = {**pauses[name], "ended_at": now}
                if lifted:
                    pauses[name]["strikes"] = 0
                self.ledger.state.record_event(
                    "runtime_resumed", actor=actor, data={"runtime": name, "lifted": lifted}
                )
            self.ledger.state.put(KEY, pauses)
        for name in names:
            log.info("runtime %s takes work again (%s)", name, "lifted" if lifted else "timed out")


def pause_rows(pauses: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The pauses in force as rows for `gt status`, `gt runtime pauses` and the app."""
    return [
        {
            "runtime": name,
            "until": iso(p["until"]),
            "since": iso(p["since"]),
            "shown": bool(p.get("shown")),
            "strikes": int(p.get("strikes", 1)),
            "reason": str(p.get("reason") or ""),
            "bead": p.get("bead"),
        }
        for name, p in sorted(pauses.items())
    ]


def limited(
    scheduler: Scheduler,
    agent: Agent,
    dispatcher: Dispatcher,
    *,
    until: float | None,
    text: str,
) -> bool:
    """An agent's runtime hit a limit: pause the runtime, stop the session (keeping its
    work) and put the bead back without spending an attempt. False for a stale report
    (the bead moved on)."""
    from engine.errors import Conflict
    from engine.safetext import clip, visible

    ledger = scheduler.ledger
    hook = agent["hook"]
    runtime = agent["runtime"] or scheduler.config.runtime_for(agent["rig"])
    said = clip(visible(" ".join(text.split())), 200)
    if not hook:
        return False
    dispatcher.preserve_work(agent)
    dispatcher.stop(agent["id"])
    try:
        with ledger.transaction(durable=True):
            scheduler.pauses.pause(
                runtime,
                shown_until=until,
                reason=said,
                bead=hook,
                base=scheduler.settings.runtime_pause_base_seconds,
                longest=scheduler.settings.runtime_pause_max_seconds,
            )
            ledger.agents.requeue_attempt(
                hook, agent["attempt"], reason=f"{runtime} hit a limit: {said}", runtime=runtime
            )
    except Conflict as exc:
        log.info("ignored a stale limit report: %s", exc)
        return False
    log.warning("%s went back to open (no attempt spent): %s hit a limit", hook, runtime)
    return True
