"""The witness: the health of every polecat from real signals, and the recovery ladder.

Signals: the session is alive (tmux), its output is growing (the session log), it sends
heartbeats or other `gt` calls, it commits (the worktree's reflog moves). Labels:
working, stalled (no progress for `stall_seconds`), gupp (hooked but no progress for
`gupp_seconds` — GUPP says work on your hook runs), zombie (session gone), idle.

The ladder for an agent making no progress: nudge it, then restart its session (same hook,
fresh context), then kill it and re-dispatch the bead with the next attempt, keeping the
old worktree's work committed on its branch. Each rung waits longer than the last; the
ladder's position lives in the ledger so a restart of the engine does not reset it.

The screen (a real CLI's pane, captured once per tick for each live agent whose runtime has
screen rules: engine.polecats.screens): a known dialog is answered with its rule's keys; a
screen that waits for a person (a login, a question the town does not know) holds the agent
— stalled, never nudged, escalated once; a rate limit is the scheduler's to act on; idle
counts only when read twice in a row. What the screen showed last lives in the agent's info.

The witness only judges: `patrol` returns verdicts (typed, one per decision) and the
scheduler acts on them, so the witness never needs the scheduler.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from engine import vocab
from engine.polecats.screens import RULES, ScreenState, read_screen, screen_lines
from engine.polecats.witness_verdicts import (  # re-exported: the verdicts are the witness's words
    Crashed,
    DialogDue,
    HealthChanged,
    NeedsYou,
    NudgeDue,
    RateLimited,
    RedispatchDue,
    RestartDue,
    ScreenSeen,
    SessionFinished,
    Verdict,
)
from engine.policy import ladder_wait
from engine.safetext import visible

if TYPE_CHECKING:
    from engine.config import WitnessSettings
    from engine.ledger import Ledger
    from engine.polecats.dispatcher import Dispatcher
    from engine.records import Agent

log = logging.getLogger("gastown.witness")

ECHO_GRACE = 1.5
NUDGE_TEXT = (
    "Gas Town witness: you have work on your hook ({bead}). Keep going, or run "
    "`gt done` when finished / `gt escalate` if stuck."
)
# GUPP for a CLI that sits at its prompt with work on its hook: finish it or hand it back.
IDLE_NUDGE_TEXT = (
    "Gas Town witness: you are waiting at your prompt, but {bead} is still on your hook. "
    "If it is finished, commit your work and run `gt done`; if you cannot finish it, hand it "
    "back with `gt done --status deferred` (or `gt escalate` if you are stuck)."
)


class Witness:
    def __init__(
        self,
        ledger: Ledger,
        settings: WitnessSettings,
        dispatcher: Dispatcher,
        host: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.dispatcher = dispatcher
        self.host = host  # one host of several: it watches the agents it runs

    def progress_at(self, agent: Agent) -> float:
        marks = [
            agent.get("last_heartbeat") or 0.0,
            agent.get("last_activity") or 0.0,
            self.dispatcher.progress_marker(agent) or 0.0,
        ]
        return max(marks)

    def label(
        self,
        agent: Agent,
        alive: set[str] | None,
        now: float,
        since: float | None = None,
        before: float | None = None,
    ) -> str:
        if not agent["hook"]:
            return vocab.AGENT_IDLE
        if alive is not None and agent["id"] not in alive:
            return vocab.AGENT_ZOMBIE
        progress = self.progress_at(agent)
        if since is not None and before is not None:
            # Output right after our own nudge is the nudge's echo, not progress: counted
            # from when it was typed, which may be a tick or more after it was asked for.
            typed = self.dispatcher.nudged_at(agent)
            if typed is not None and typed >= since:
                since = typed
            if progress < since + ECHO_GRACE:
                progress = before
        quiet = now - progress
        if quiet >= self.settings.gupp_seconds:
            return vocab.AGENT_GUPP
        if quiet >= self.settings.stall_seconds:
            return vocab.AGENT_STALLED
        return vocab.AGENT_WORKING

    def patrol(self, alive: set[str] | None) -> list[Verdict]:
        """Label every working agent; climb the ladder for those making no progress.

        Writes nothing: the verdicts, in order, are for the scheduler to act on."""
        now = self.ledger.now()
        agents = self.ledger.agents.list(host=self.host)
        watched = [
            agent
            for agent in agents
            if agent["status"] in (vocab.AGENT_WORKING, vocab.AGENT_STALLED, vocab.AGENT_GUPP)
        ]
        # Finished (`gt done`) with a session still running: read until its CLI is idle.
        finishing = [
            agent
            for agent in agents
            if agent["status"] == vocab.AGENT_IDLE and not agent["hook"] and alive
            and agent["id"] in alive
        ]  # fmt: skip
        verdicts, held, screens = read_screens(self.dispatcher, watched + finishing, alive, now)
        for agent in watched:
            if agent["id"] in held:
                continue  # its screen decided this tick (a dialog, a person, a limit)
            ladder = agent["info"].get("ladder") or {}
            # Its CLI sits at its prompt (idle twice) with work on its hook: GUPP, now, not
            # after the stall window.
            idle = screen_idle(agent, screens.get(agent["id"]))
            health = (
                vocab.AGENT_GUPP
                if idle
                else self.label(
                    agent, alive, now, since=ladder.get("at"), before=ladder.get("progress")
                )
            )
            if health == vocab.AGENT_ZOMBIE:
                continue  # the scheduler recovers dead sessions
            if health == vocab.AGENT_WORKING:
                if ladder.get("idle") and not self.answered(agent, ladder):
                    # It took the nudge (its screen moves) but the ledger has seen nothing
                    # of it since: the ladder stays, or a CLI that answers every nudge and
                    # goes idle again would be nudged forever.
                    if agent["status"] != vocab.AGENT_WORKING:
                        verdicts.append(HealthChanged(agent, vocab.AGENT_WORKING))
                    continue
                if agent["status"] != vocab.AGENT_WORKING or ladder:
                    verdicts.append(HealthChanged(agent, vocab.AGENT_WORKING, {"ladder": {}}))
                continue
            if agent["status"] != health:
                verdicts.append(HealthChanged(agent, health))
            rung = int(ladder.get("rung", 0))
            if ladder.get("attempt") != agent["attempt"]:
                rung = 0
            last = float(ladder.get("at", 0.0))
            if rung and now - last < ladder_wait(self.settings.ladder_seconds, rung):
                continue
            verdicts.append(self.climb(agent, rung, now, idle=idle))
        return verdicts

    def answered(self, agent: Agent, ladder: dict[str, Any]) -> bool:
        """The agent did something the ledger sees (a `gt` call) since the last rung."""
        seen = max(agent.get("last_activity") or 0.0, agent.get("last_heartbeat") or 0.0)
        return seen > float(ladder.get("at", 0.0))

    def climb(self, agent: Agent, rung: int, now: float, *, idle: bool = False) -> Verdict:
        step = {
            "attempt": agent["attempt"],
            "rung": rung + 1,
            "at": now,
            "progress": self.progress_at(agent),
            "idle": idle,  # climbed because its CLI sat at its prompt
        }
        if rung == 0:
            return NudgeDue(
                agent,
                message=(IDLE_NUDGE_TEXT if idle else NUDGE_TEXT).format(bead=agent["hook"]),
                expires_at=now + self.settings.ladder_seconds,
                step=step,
            )
        restarts = int(agent["info"].get("restarts", 0))
        if rung == 1 and restarts < self.settings.max_restarts:
            return RestartDue(agent, restarts=restarts + 1, step=step)
        return RedispatchDue(
            agent,
            reason=(
                f"{agent['name']} made no progress for {int(now - self.progress_at(agent))}s "
                f"(nudged and restarted)"
            ),
        )


# ---- the screen ---------------------------------------------------------------------------

# An unknown screen that stays exactly the same this long waits for someone (a CLI starting
# up or streaming changes its screen; a question does not).
NEEDS_YOU_AFTER = 20.0
# Seconds between the first and the second reading of one screen (the ledger's clock).
READING_SPACING = 1.0
# A dialog still there after this many answers is not the dialog its rule thinks it is.
MAX_ANSWERS = 3
# How much of a screen an escalation quotes.
QUOTED_LINES = 6


def read_screens(
    dispatcher: Dispatcher, agents: list[Agent], alive: set[str] | None, now: float
) -> tuple[list[Verdict], set[str], dict[str, dict[str, Any]]]:
    """One capture per live agent (hooked, or finishing after `gt done`) whose runtime has
    screen rules, read; returns the verdicts, the agents whose screen holds them from the
    ladder this tick, and what each captured screen reads now (by agent id)."""
    readable = [
        agent
        for agent in agents
        if (agent.get("runtime") or "") in RULES and (alive is None or agent["id"] in alive)
    ]
    if not readable:
        return [], set(), {}
    captured = dispatcher.screens(readable)
    verdicts: list[Verdict] = []
    held = set()
    screens = {}
    for agent in readable:
        text = captured.get(agent["id"])
        if text is None:
            continue
        judged = judge_screen(agent, text, now)
        verdicts += judged
        remembered = agent["info"].get("screen") or {}
        for verdict in judged:
            if isinstance(verdict, ScreenSeen | DialogDue | NeedsYou):
                remembered = verdict.screen
            elif isinstance(verdict, HealthChanged):
                remembered = (verdict.info or {}).get("screen") or remembered
            if not isinstance(verdict, ScreenSeen | HealthChanged):
                held.add(agent["id"])  # a dialog answered, a person asked, a limit
        if remembered.get("needs_you"):
            held.add(agent["id"])  # never nudged while it waits for a person
        screens[agent["id"]] = remembered
    return verdicts, held, screens


def judge_screen(agent: Agent, text: str, now: float) -> list[Verdict]:
    """What one capture means for one agent, against what its screen showed last tick."""
    reading = read_screen(agent["runtime"] or "", text, now)
    state = reading.state
    before = agent["info"].get("screen") or {}
    if before.get("attempt") != agent["attempt"]:
        before = {}  # a new attempt: a new session, a new screen
    # An unknown screen is the same only if not one character moved (Codex streaming text).
    digest = hashlib.sha1(text.encode()).hexdigest()[:12] if state == ScreenState.UNKNOWN else ""
    same = (before.get("state"), before.get("rule"), before.get("digest")) == (
        state,
        reading.rule,
        digest,
    )
    was_held = bool(before.get("needs_you")) and bool(agent["hook"])
    screen: dict[str, Any] = {
        "state": str(state),
        "rule": reading.rule,
        "digest": digest,
        "attempt": agent["attempt"],
        "since": before["since"] if same else now,
        # two in a row are enough to know (idle twice is idle), so it stops counting there;
        # a second reading counts only READING_SPACING after the first: ticks can follow
        # each other within milliseconds (commits wake the engine), and two captures that
        # close are one frame, taken before a CLI just typed into draws its busy marker
        "readings": (
            min(int(before.get("readings", 0)) + 1, 2)
            if same and now - float(before.get("since", now)) >= READING_SPACING
            else int(before.get("readings", 1))
            if same
            else 1
        ),
        "answered": int(before.get("answered", 0)) if same else 0,
        # held until the screen shows the CLI going on by itself again
        "needs_you": was_held and state not in (ScreenState.WORKING, ScreenState.IDLE),
    }
    if not agent["hook"]:
        # Finished (`gt done`): only whether its CLI is back at its prompt matters now.
        seen: list[Verdict] = [] if screen == before else [ScreenSeen(agent, screen)]
        if state == ScreenState.IDLE and screen["readings"] >= 2:
            seen.append(SessionFinished(agent))
        return seen
    why = ""
    if state == ScreenState.DIALOG:
        if screen["answered"] < MAX_ANSWERS:
            screen["answered"] += 1
            return [DialogDue(agent, reading.rule, reading.keys, screen)]
        why = f"its {reading.rule} dialog is still there after {MAX_ANSWERS} answers"
    elif state == ScreenState.NEEDS_YOU:
        why = f"its screen asks for a person ({reading.rule})"
    elif state == ScreenState.UNKNOWN and screen["readings"] >= 2:
        if now - screen["since"] >= NEEDS_YOU_AFTER:
            why = f"its screen has waited {int(now - screen['since'])}s on something unknown"
    elif state == ScreenState.RATE_LIMITED and not same:
        return [ScreenSeen(agent, screen), RateLimited(agent, reading.until, reading.line)]
    elif state == ScreenState.CRASHED and same and before.get("readings") == 1:
        # read twice in a row (a CLI may print an error and retry): it gave up
        return [ScreenSeen(agent, screen), Crashed(agent, reading.line, quote(text))]
    if why and not screen["needs_you"]:
        screen["needs_you"] = True
        return [NeedsYou(agent, why, quote(text), screen)]
    if was_held and not screen["needs_you"]:
        # The person answered it: the CLI goes on, and so does the ladder, from scratch.
        return [HealthChanged(agent, vocab.AGENT_WORKING, {"screen": screen, "ladder": {}})]
    return [] if screen == before else [ScreenSeen(agent, screen)]


def quote(text: str) -> str:
    """The last lines of a screen, safe to show and to store."""
    return "\n".join(visible(line) for line in screen_lines(text)[-QUOTED_LINES:])


def screen_idle(agent: Agent, screen: dict[str, Any] | None = None) -> bool:
    """The agent's screen (`screen`, else the one its info remembers) read idle twice in a
    row (a marker gone for one capture, as Codex's is while it streams, is not idle)."""
    if screen is None:
        screen = agent["info"].get("screen") or {}
    return (
        screen.get("state") == ScreenState.IDLE
        and screen.get("attempt") == agent["attempt"]
        and int(screen.get("readings", 0)) >= 2
    )
