"""The Mayor pane: the mayor's live screen (its session log, as a polecat's live log is
read), its state in the title, and a one-line input whose text is typed into its session.

The pane has its own key (`6`) and takes the whole screen when shown: a conversation needs
the room, and the main screen's five panes keep theirs (at 80×24 there is none to spare).
`M` talks to the mayor (the input), or starts it when it is not running; `a` on the pane
attaches to its session. The header's chip shows its state (town_header.py).

Everything that touches tmux or the log runs off the event loop (asyncio.to_thread, as
peek and attach do); starting it runs on the ledger thread (its prompt reads the ledger).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input

from engine.errors import GtError
from engine.mayor import session
from engine.views.logtail import LogTail
from gastown_tui.actions import TownActions
from gastown_tui.screens.dialogs import ConfirmDialog
from gastown_tui.theme import ansi
from gastown_tui.widgets.logs import MAX_LINES, LiveLog
from gastown_tui.widgets.town_header import TownHeader

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.town import Town

POLL_SECONDS = 1.0  # the mayor's state: one tmux look a second, off the event loop

# what the header and the title say for each screen reading (engine/polecats/screens)
WORDS = {
    "working": "working",
    "idle": "idle",
    "needs_you": "needs you",
    "rate_limited": "rate-limited",
    "dialog": "starting",  # a start-up question its rules answer
    "crashed": "crashed",
    "unknown": "running",  # a runtime without screen rules (script, custom)
    "": "running",
}


def state_word(status: session.MayorStatus | None) -> str | None:
    """The mayor's state in a word or two; None when there is no mayor to speak of."""
    if status is None:
        return None
    if status.running:
        return WORDS.get(status.screen, status.screen)
    # wanted but gone: the witness restarts it at its next look (engine/mayor/watch.py)
    return "restarting" if status.wanted else None


def read_status(town: Town, config: TownConfig) -> session.MayorStatus | None:
    """The mayor's status; None (no tmux call) in a town that never started one."""
    if not os.path.exists(session.paths(town).state):
        return None
    return session.status(town, config)


class MayorPane(Vertical):
    BORDER_TITLE = "Mayor"

    class Said(Message):
        """A line the person wrote to the mayor (checked: one line, no control character)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield LiveLog(
            max_lines=MAX_LINES,
            wrap=True,
            markup=False,
            highlight=False,
            auto_scroll=True,
            id="mayor-log",
        )
        yield Input(placeholder="Tell the mayor… (Enter sends it; Esc: back)", id="mayor-input")

    def on_mount(self) -> None:
        self._tail: LogTail | None = None
        self._polling = False
        self.status: session.MayorStatus | None = None
        self._title = ""
        # M started the mayor: its input takes the focus once a look shows it running
        # (a look already under way when M's own look was asked for answers for both)
        self.talk_when_running = False
        self.show_status(None)
        self.set_interval(0.1, self._pump)
        self.set_interval(POLL_SECONDS, self.poll)
        self.watch(self.screen, "maximized", self._shown_or_not, init=False)

    def _shown_or_not(self, maximized: object) -> None:
        """Esc (Textual's minimize), z or 6 hid the pane: the focus must not stay in it,
        unseen, taking keys (`a` would attach to the mayor from the main screen)."""
        focused = self.app.focused
        if maximized is not self and focused is not None and self in focused.ancestors:
            self.app.query_one("#beads").focus()

    async def poll(self) -> None:
        """The mayor's state, for the title and the header (never two looks at once)."""
        engine = getattr(self.app, "engine", None)
        if self._polling or engine is None or engine.config is None:
            return
        self._polling = True
        try:
            status = await asyncio.to_thread(read_status, engine.town, engine.config)
        except GtError:
            status = None
        finally:
            self._polling = False
        if self.is_attached:
            self.show_status(status)

    def show_status(self, status: session.MayorStatus | None) -> None:
        self.status = status
        word = state_word(status)
        running = status is not None and status.running
        if running:
            title = f"Mayor · {word} · M talk · a attach"
        elif word:
            title = f"Mayor · {word}"
        else:
            title = "Mayor · not running — M to start"
        if title != self._title:  # a border title repaints even when the same
            self._title = title
            self.border_title = title
        self.query_one("#mayor-input", Input).disabled = not running
        if running and self.talk_when_running:
            self.talk_when_running = False
            self.query_one("#mayor-input", Input).focus()
        header = self.app.query("#town-header")
        if header:
            header.first(TownHeader).show_mayor(word)
        if status is not None and (self._tail is None or self._tail.path != status.log):
            self._tail = LogTail(status.log)
            self.query_one("#mayor-log", LiveLog).clear()
        if self._tail is None:
            log = self.query_one("#mayor-log", LiveLog)
            if not log.lines:
                log.write(Text("The mayor is not running: M starts it.", style="dim"))

    async def _pump(self) -> None:
        tail = self._tail
        if tail is None:
            return
        lines = await asyncio.to_thread(tail.read)
        if lines:
            # the CLI's colours stay; titles, cursor moves and the like are dropped
            self.query_one("#mayor-log", LiveLog).write(ansi("\n".join(lines)))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "mayor-input":
            return
        event.stop()
        text = event.value.strip()
        if not text:
            return
        try:
            session.check_line(text)
        except GtError as exc:
            self.app.notify(exc.message, severity="error")
            return  # kept in the input, to be corrected
        event.input.value = ""
        self.post_message(self.Said(text))

    def lines_shown(self) -> list[str]:
        return [strip.text for strip in self.query_one("#mayor-log", LiveLog).lines]


class MayorActions(TownActions):
    """The app's mayor keys: `6` shows the pane, `M` talks to (or starts) it, `a` on the
    pane attaches."""

    def mayor_pane(self) -> MayorPane:
        return self.query_one("#mayor", MayorPane)

    def mayor_shown(self) -> bool:
        return self.screen.maximized is self.mayor_pane()

    def show_mayor_pane(self) -> None:
        pane = self.mayor_pane()
        if self.screen.maximized is not pane:
            self.screen.minimize()
            # set, not Screen.maximize(): the pane itself takes no focus (pane_keys.py)
            self.screen.maximized = pane

    def action_pane_mayor(self) -> None:
        pane = self.mayor_pane()
        if self.screen.maximized is pane:
            self.screen.minimize()  # again: the other panes come back (and the focus)
            return
        self.show_mayor_pane()
        pane.query_one("#mayor-log").focus()

    async def action_mayor(self) -> None:
        pane = self.mayor_pane()
        await pane.poll()
        self.show_mayor_pane()
        if pane.status is not None and pane.status.running:
            pane.query_one("#mayor-input", Input).focus()
            return
        pane.query_one("#mayor-log").focus()
        if self.engine.ledger is None or self.engine.config is None:
            return
        self.notify("Starting the mayor…")
        # `gt mayor start`'s own path (engine/mayor/control.py): the session, then its event
        status = await self.run_engine(self.engine.mayor("start"))
        if status is not None:
            self.notify(f"runtime {status.runtime}; M talks to it", title="The mayor is running")
            pane.talk_when_running = True  # the next look that sees it running focuses it
            await pane.poll()

    @work(exclusive=True, group="dialog")
    async def action_mayor_stop(self) -> None:
        """`gt mayor stop` from the app, after a yes: its session and every process it
        started end; the person's stop is never undone by the witness."""
        pane = self.mayor_pane()
        await pane.poll()
        if pane.status is None or not pane.status.running:
            self.notify("The mayor is not running (M starts it).", severity="warning")
            return
        if not await self.push_screen_wait(
            ConfirmDialog("Stop the mayor? Its session ends; M starts a fresh one.")
        ):
            return
        if await self.run_engine(self.engine.mayor("stop")) is not None:
            self.notify("The mayor is stopped", title="Mayor")
            await pane.poll()

    async def on_mayor_pane_said(self, message: MayorPane.Said) -> None:
        config = self.engine.config
        if config is None:
            return
        try:
            # typing waits the runtime's submit delay between the text and Enter: a thread
            await asyncio.to_thread(session.tell, self.town, config, message.text)
        except GtError as exc:
            self.notify(exc.message, severity="error")

    async def action_attach(self) -> None:
        if not self.mayor_shown():
            await super().action_attach()
            return
        await self.attach_mayor()

    async def attach_mayor(self) -> None:
        """As a polecat's attach (actions.py): the app suspends while tmux has the terminal;
        the engine keeps running on the event loop meanwhile."""
        try:
            # refused in one line when it is not running (a tmux look: off the loop)
            await asyncio.to_thread(session.attach_argv, self.town)
        except GtError as exc:
            self.notify(exc.message, severity="error")
            return
        tmux = session.tmux_of(self.town)
        await self.attach_with(lambda: tmux.attach(session.SESSION), "the mayor's")
