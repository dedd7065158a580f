"""The witness's eye on the mayor, once per reconcile (engine.engine.Engine.reconcile):

- its session gone (its CLI died, was killed, or the tmux server went) while it is wanted:
  started again with a fresh context and its prompt (re-primed), an event recorded; not
  more often than RESTART_BACKOFF, so a CLI that dies at once does not spin;
- mail to `mayor` not yet handed to it: typed into its session as a nudge, one message a
  tick, only when its screen reads idle twice in a row (never while it works, shows a
  dialog or waits for a person). A runtime without screen rules (script, custom) reads
  "unknown": its nudge goes once its start-up delay has passed, as polecats' do.

The mail stays unread in the person's inbox: the mayor reading it is not the person reading
it. Which messages were handed over lives in the mayor's state file (engine.mayor.session).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from engine.commands.mayor_actions import MayorChange, record_mayor
from engine.errors import GtError
from engine.mayor import session
from engine.polecats import session_io
from engine.polecats.screens import ScreenState
from engine.safetext import visible

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.records import MailMessage
    from engine.town import Town

log = logging.getLogger("gastown.mayor")

RESTART_BACKOFF = 10.0  # seconds between two restarts of the mayor
MAX_NUDGE = 600  # characters of a mail typed into its session
# Two idle readings of its screen at least this far apart are "idle" (a tick can follow
# another within milliseconds, when commits wake the engine).
IDLE_SPACING = 1.0

# Screens a nudge must not be typed into (as session_io.NOT_NOW for polecats).
NOT_NOW = {ScreenState.WORKING, ScreenState.DIALOG, ScreenState.NEEDS_YOU}


def nudge_text(mail: MailMessage) -> str:
    """One line: who wrote, what, and how to answer. Agent text is shown, never acted on:
    control characters become visible escapes, whitespace runs one space."""
    body = visible(" ".join((mail["body"] or "").split()))  # newlines: one line
    subject = visible(" ".join(mail["subject"].split()))
    sender = visible(mail["from"] or "?")
    text = f"Gas Town mail {mail['id']} from {sender}: {subject}" + (f" — {body}" if body else "")
    text = text[:MAX_NUDGE]
    return f'{text} (answer: gt mail send {sender} "..."; all mail: gt mail inbox)'


class MayorWatch:
    def __init__(self, town: Town, config: TownConfig, ledger: Ledger) -> None:
        self.town, self.config, self.ledger = town, config, ledger
        self.tmux = session.tmux_of(town)
        self._idle_readings = 0  # idle screens read in a row, IDLE_SPACING apart
        self._last_idle = 0.0

    def tick(self) -> None:
        """On the ledger thread (its tmux calls are one or two, and rare beyond a look)."""
        state = session.read_state(self.town)
        if not state.get("wanted"):
            return
        try:
            if not session.alive(self.tmux):
                self._restart(state)
                return
            self._deliver(state)
        except GtError as exc:
            log.warning("the mayor's watch: %s", exc.message)

    def _restart(self, state: dict[str, Any]) -> None:
        if time.time() - float(state.get("restarted_at") or 0.0) < RESTART_BACKOFF:
            return
        restarts = int(state.get("restarts") or 0) + 1
        # marked first: a start that fails is not retried before the backoff either
        session.write_state(self.town, {**state, "restarted_at": time.time()})
        self._idle_readings = 0
        status = session.start(self.town, self.config, self.ledger, restarts=restarts)
        log.warning("the mayor's session was gone; restarted it (%s)", status.runtime)
        record_mayor(
            self.ledger,
            MayorChange(
                "mayor_restarted",
                {"runtime": status.runtime, "reason": "its session was gone", "restarts": restarts},
            ),
            actor="witness",
        )

    def _deliver(self, state: dict[str, Any]) -> None:
        if time.time() < float(state.get("ready_at") or 0.0):
            return  # its CLI is still starting: a key pressed now is lost
        runtime = str(state.get("runtime") or session.runtime_name(self.config))
        reading = session.screen(self.tmux, runtime)
        if reading is not None and reading.state == ScreenState.DIALOG and reading.keys:
            # a known start-up question (its runtime's rules name the keys), as for polecats
            session_io.type_keys(self.tmux, session.SESSION, reading.keys)
            self._idle_readings = 0
            return
        if reading is None or reading.state in NOT_NOW:
            self._idle_readings = 0
            return
        if reading.state == ScreenState.IDLE:
            # Readings count by time, not by call: ticks come as fast as the ledger's
            # commits (a refinery's lease renewal is one), and two reads a few ms apart
            # see the same frame — before a CLI typed into has drawn its busy marker.
            now = time.monotonic()
            if self._idle_readings == 0 or now - self._last_idle >= IDLE_SPACING:
                self._idle_readings += 1
                self._last_idle = now
        delivered = list(state.get("delivered") or [])
        pending = [
            m
            for m in self.ledger.mail.inbox(["mayor"], unread_only=True)
            if m["id"] not in delivered
        ]
        if not pending:
            return
        if reading.state == ScreenState.IDLE and self._idle_readings < 2:
            return  # idle twice is idle (a marker can flicker while it streams)
        if reading.state not in (ScreenState.IDLE, ScreenState.UNKNOWN):
            return  # rate-limited, crashed: nothing typed now
        mail = min(pending, key=lambda m: (m["created_at"], m["id"]))
        session.type_line(self.tmux, nudge_text(mail), session.submit_delay(self.config, state))
        self._idle_readings = 0  # it works on the nudge now; read idle twice again
        delivered.append(mail["id"])
        session.write_state(self.town, {**state, "delivered": delivered[-500:]})
        record_mayor(
            self.ledger,
            MayorChange("mayor_mail_delivered", {"mail": mail["id"], "sender": mail["from"]}),
            actor="witness",
        )
