"""The Gas Town app: the whole town on one keyboard-driven screen.

The app owns no state the ledger does not have: it asks the engine for snapshots (at most
ten screen updates a second, whatever the event rate) and sends it commands. Everything
slow (SQLite, git, tmux, log files) runs off the event loop.

Its parts: gastown_tui/refresh.py shows the town (snapshots, the event drain, the
selection), gastown_tui/actions.py steers it (one method per action), and
gastown_tui/action_registry.py lists the actions once, for the keys, help and the palette.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from typing import Any, ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from engine.engine import Engine
from engine.errors import GtError
from engine.safetext import visible
from engine.town import Town
from gastown_tui.action_registry import bindings, help_rows
from gastown_tui.palette import GasTownCommands
from gastown_tui.pane_keys import PaneActions
from gastown_tui.refresh import MAX_REFRESH_HZ
from gastown_tui.remedies import Remedies
from gastown_tui.screens.dialogs import HelpDialog
from gastown_tui.screens.search import SearchBar
from gastown_tui.theme import InertText
from gastown_tui.widgets.bead_table import BeadTable
from gastown_tui.widgets.dag_view import DagView
from gastown_tui.widgets.logs import LogPane
from gastown_tui.widgets.mayor_pane import MayorActions, MayorPane
from gastown_tui.widgets.panels import MailTable, MergeQueueTable, ProblemsTable
from gastown_tui.widgets.rigs_tree import RigsTree
from gastown_tui.widgets.town_header import TownHeader
from styles import APP_TCSS

STYLES = str(APP_TCSS)


class GasTownApp(PaneActions, MayorActions, Remedies):
    CSS_PATH = STYLES
    TITLE = "Gas Town"
    # a pane given the whole screen (1-5, z) keeps the header's counts and the footer's keys
    ALLOW_IN_MAXIMIZED_VIEW: ClassVar[str] = "Footer, TownHeader"
    COMMANDS: ClassVar = App.COMMANDS | {GasTownCommands}
    BINDINGS: ClassVar[list[BindingType]] = bindings()

    def __init__(
        self,
        town: Town,
        *,
        engine: Engine | None = None,
        attach_if_running: bool = True,
        calm_gc: bool = False,
    ) -> None:
        super().__init__(town, engine or Engine(town))
        self.calm_gc = calm_gc
        self.attach_if_running = attach_if_running
        self._stop = asyncio.Event()
        self._engine_task: asyncio.Task[None] | None = None
        self.keymap: dict[str, str] = {}  # binding id -> keys, from town.toml [keys]

    # ---- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TownHeader(id="town-header")
        with Horizontal(id="main"):
            yield RigsTree(id="rigs")
            with Vertical(id="center"):
                yield DagView(id="dag")
                yield Static(id="filter-bar")
                yield SearchBar(id="search")
                yield BeadTable(id="beads")
            yield LogPane(id="logs")
        with TabbedContent(id="bottom"):
            with TabPane("Mail", id="tab-mail"):
                yield MailTable(id="mail")
            with TabPane("Merge queue", id="tab-mq"):
                yield MergeQueueTable(id="mq")
            with TabPane("Problems", id="tab-problems"):
                yield ProblemsTable(id="problems")
        yield MayorPane(id="mayor")  # shown by its key (6, M), on the whole screen
        yield Footer(id="footer")

    async def on_mount(self) -> None:
        try:
            await self.engine.start(attach_if_running=self.attach_if_running)
        except GtError as exc:
            self.exit(message=f"gastown: error: {exc.message}")
            return
        if self.engine.mode == "embedded":
            self._engine_task = asyncio.create_task(self.engine.run(self._stop))
            self.sub_title = f"{self.town.root} · engine: embedded"
        else:
            self.sub_title = (
                f"{self.town.root} · attached to the engine (pid {self.engine.holder_pid})"
            )
        self._queue = self.engine.subscribe()
        self.apply_keymap()
        # a screen pushed later (details, costs) gets its footer fitted too, once composed
        self.screen_change_signal.subscribe(
            self, lambda screen: self.call_after_refresh(self.fit_footers, screen)
        )
        self.query_one("#beads", BeadTable).focus()
        self.set_interval(1 / MAX_REFRESH_HZ, self.drain)
        self.set_interval(2.0, self.mark_dirty)
        self.set_interval(2.0, self.sweep_watchers)
        self.set_interval(0.25, self.show_busy)
        self.on_resize()
        await self.refresh_town()
        if self.calm_gc:
            self.call_after_refresh(calm_gc)

    def apply_keymap(self) -> None:
        """Keys are remappable from town.toml: [keys] sling = "S", quit = "ctrl+q" ..."""
        keys = (self.engine.config.model_extra or {}).get("keys") if self.engine.config else None
        if isinstance(keys, dict) and keys:
            self.keymap = {str(k): str(v) for k, v in keys.items()}
            self.set_keymap(self.keymap)

    def on_resize(self, event: Any = None) -> None:
        # The event's size: this handler runs before App's own, which updates self.size.
        size = event.size if event is not None else self.size
        narrow = size.width < 110
        short = size.height < 30
        self.screen.set_class(narrow, "narrow")
        self.screen.set_class(short, "short")
        self.screen.set_class(size.width >= 160, "wide")
        self.fit_footers(self.screen, size.width)

    def fit_footers(self, screen: Screen[Any], width: int | None = None) -> None:
        """At 80 columns a footer's keys fit only compact, without the palette's hint
        (ctrl+p still works, and Help lists it): Help and Quit always show, on the main
        screen and on a detail screen ("^p palett" was all that was left of one)."""
        # on a resize, the new width: self.size is still the old one then
        narrow = (self.size.width if width is None else width) < 110
        for footer in screen.query(Footer):
            footer.compact = narrow
            footer.show_command_palette = not narrow

    async def on_unmount(self) -> None:
        self._stop.set()
        if self._engine_task is not None:
            await self._engine_task
        if self.engine._executor is not None:
            await self.engine.stop()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications quote the ledger (titles, reasons, errors): literal, not markup, and
        control characters shown (an escalation's title is an agent's text)."""
        super().notify(
            visible(message),
            title=visible(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    _inert = InertText()

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Every line drawn passes InertText: no widget can send a raw escape sequence."""
        return [*super().get_line_filters(), self._inert]

    # ---- the app's own actions -----------------------------------------------------------

    @work(exclusive=True, group="dialog")
    async def action_help(self) -> None:
        await self.push_screen_wait(HelpDialog(help_rows(self.keymap, self.get_key_display)))

    async def action_quit(self) -> None:
        # Nothing is lost by quitting: the ledger has everything, and polecats keep working
        # in tmux until the engine comes back and adopts them.
        self.exit()


def calm_gc() -> None:
    """Keep the cyclic garbage collector's pauses off the keyboard (bench/bench_tui.py).

    A full collection walks every tracked object; a Textual screen holds well over 100,000
    (strips, styles, caches), so each one took 50-100 ms, several times a minute, and landed
    on keypresses. Once the screen is built, what exists now (modules, widgets, styles)
    leaves the collector's view for good, and young collections run less often, so few
    objects reach the oldest generation and full passes are rare and shorter. Cycles still
    get collected. A process-wide setting: the `gastown` command turns it on, tests do not.
    """
    gc.freeze()
    gc.set_threshold(5_000, 10, 10)


def run_app(town: Town) -> int:
    app = GasTownApp(town, calm_gc=True)
    app.run()
    if isinstance(app.return_value, str):
        print(app.return_value)
    return 0
