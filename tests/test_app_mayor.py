"""Issue 13 in the app: the Mayor pane (key 6), talking to the mayor (M), attaching (a on
the pane) and the header's mayor chip, with real tmux and a tiny stand-in CLI as the town's
mayor runtime (a custom runtime that echoes each line it reads: no real CLI needed).

The town is tests/app_support.py's (two rigs, a convoy, mail, frozen clocks). Every test
here failed before the change: the app had no pane, no keys and no chip for the mayor.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from engine.adapters.tmux import Tmux
from engine.mayor import session
from engine.polecats import proctree
from gastown_tui.app import GasTownApp
from gastown_tui.screens.dialogs import ConfirmDialog
from gastown_tui.widgets.mayor_pane import MayorPane
from tests.app_support import (
    AppTown,
    ObservedApp,
    build_town,
    open_screen,
    run_async_tests,
    settle,
    until,
)

WIDE = (200, 50)
SMALL = (80, 24)

# A CLI in miniature: a prompt, then each line it reads echoed back (as tests/test_mayor.py's)
STAND_IN = (
    "import sys\n"
    "print('stand-in mayor ready', flush=True)\n"
    "for line in sys.stdin:\n"
    "    print('heard: ' + line.strip(), flush=True)\n"
)
QUIET = STAND_IN.replace("print('stand-in mayor ready', flush=True)\n", "")


@pytest.fixture
def mtown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTown]:
    yield from mayor_town(tmp_path, monkeypatch, STAND_IN)


@pytest.fixture
def quiet_town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTown]:
    """For the snapshots: a stand-in that says nothing before it is spoken to, and a fixed
    time on the log's first line, so the pane reads the same every run."""
    monkeypatch.setattr(session, "iso", lambda: "2027-01-15T09:00:00.000000Z")
    yield from mayor_town(tmp_path, monkeypatch, QUIET)


def mayor_town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: str) -> Iterator[AppTown]:
    """The app's test town whose mayor runtime is `cli`; its tmux server and every process
    the mayor started are gone after the test, whatever happened."""
    monkeypatch.setenv("SHELL", "/bin/sh")
    gtown = build_town(tmp_path, monkeypatch)
    argv = json.dumps([sys.executable, "-c", cli])
    Path(gtown.town.config_path).write_text(
        "[scheduler]\nidle_retire_seconds = 86400\n"
        f'[mayor]\nruntime = "standin"\n[runtime.standin]\nargv = {argv}\nready_delay = 0.0\n'
    )
    gtown.config = gtown.town.config()
    try:
        yield gtown
    finally:
        session.tmux_of(gtown.town).kill_server()
        left = proctree.terminate(proctree.with_env({"GT_TOWN": gtown.town.root}), grace=1.0)
        assert not left, f"processes of the mayor survived: {left}"


@contextlib.asynccontextmanager
async def running(app: GasTownApp, size: tuple[int, int] = WIDE) -> AsyncIterator[Pilot[Any]]:
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        yield pilot


def pane(app: GasTownApp) -> MayorPane:
    return app.query_one("#mayor", MayorPane)


def chip(app: GasTownApp) -> str | None:
    widget = app.query_one("#mayor-chip", Static)
    return str(widget.render()) if widget.display else None


def heard(app: GasTownApp, text: str) -> bool:
    return any(text in line for line in pane(app).lines_shown())


async def start_mayor(pilot: Pilot[Any]) -> None:
    """M with no mayor running starts it; the pane shows its screen, the line takes keys."""
    app = pilot.app
    assert isinstance(app, GasTownApp)
    await pilot.press("M")
    await until(pilot, lambda: chip(app) == "mayor: running")
    # the log's own first line (the CLI's first words may come before tmux pipes its pane
    # to the log: they are on its screen)
    await until(pilot, lambda: heard(app, "session mayor (standin)"))
    tmux = session.tmux_of(app.town)
    await until(pilot, lambda: "stand-in mayor ready" in tmux.capture(session.SESSION, 20))
    await until(pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "mayor-input")


async def test_not_running_the_pane_says_M_starts_it_and_M_does(mtown: AppTown) -> None:
    app = mtown.app()
    async with running(app) as pilot:
        assert chip(app) is None  # no mayor, no chip
        await pilot.press("6")
        await until(pilot, lambda: app.screen.maximized is pane(app))
        await until(pilot, lambda: "not running — M to start" in str(pane(app).border_title))
        assert heard(app, "M starts it")
        assert app.query_one("#mayor-input", Input).disabled
        await pilot.press("6")  # again: the other panes come back
        await until(pilot, lambda: app.screen.maximized is None)
        await start_mayor(pilot)
        assert app.screen.maximized is pane(app)
        assert str(pane(app).border_title) == "Mayor · running · M talk · a attach"
        status = session.status(mtown.town, mtown.config)
        assert status.running and status.wanted and status.runtime == "standin"
        assert isinstance(app, ObservedApp) and app.noticed("The mayor is running")
        # the start is recorded, as `gt mayor start`'s
        with mtown.ledger() as led:
            kinds = [e["kind"] for e in led.state.events_after(0)]
        assert "mayor_started" in kinds


async def test_M_focuses_the_line_even_when_a_look_was_already_under_way(
    mtown: AppTown,
) -> None:
    """M's own look at the mayor's state returns at once while the pane's periodic look is
    still running (on a loaded machine, often): the focus follows the next look that sees
    the mayor running, instead of never coming."""
    app = mtown.app()
    async with running(app) as pilot:
        p = pane(app)
        p._polling = True  # a look under way, as the pane's timer may have started one
        await pilot.press("M")
        await until(pilot, lambda: session.status(mtown.town, mtown.config).running)
        await pilot.pause(0.3)
        p._polling = False  # that look ends; the next periodic one sees it running
        await until(
            pilot, lambda: isinstance(app.focused, Input) and app.focused.id == "mayor-input"
        )


async def test_a_line_typed_reaches_the_session_and_its_pane(mtown: AppTown) -> None:
    app = mtown.app()
    async with running(app) as pilot:
        await start_mayor(pilot)
        await pilot.press(*"add a health endpoint", "enter")
        await until(pilot, lambda: heard(app, "heard: add a health endpoint"))
        screen = session.tmux_of(mtown.town).capture(session.SESSION, 50)
        assert "heard: add a health endpoint" in screen
        assert app.query_one("#mayor-input", Input).value == ""  # ready for the next line


async def test_control_characters_are_refused_in_one_line(mtown: AppTown) -> None:
    app = mtown.app()
    assert isinstance(app, ObservedApp)
    async with running(app) as pilot:
        await start_mayor(pilot)
        line = app.query_one("#mayor-input", Input)
        line.value = "stop\x03 now\x1b[2J"
        await pilot.press("enter")
        await until(pilot, lambda: app.noticed("control character"))
        notice = next(m for _, m, _ in app.notices if "control character" in m)
        assert "\n" not in notice and "\x1b" not in notice
        assert line.value == "stop\x03 now\x1b[2J"  # kept, to be corrected
        await pilot.pause(0.3)
        screen = session.tmux_of(mtown.town).capture(session.SESSION, 50)
        assert "stop" not in screen and not heard(app, "heard: stop")


async def test_a_on_the_mayor_pane_attaches_to_the_mayor(
    mtown: AppTown, monkeypatch: pytest.MonkeyPatch
) -> None:
    attached: list[str] = []

    def fake_attach(self: Tmux, name: str) -> int:
        attached.append(name)
        return 0

    monkeypatch.setattr(Tmux, "attach", fake_attach)
    # no terminal to hand over under the pilot: the suspension itself is a no-op here
    monkeypatch.setattr(GasTownApp, "suspend", lambda self: contextlib.nullcontext())
    app = mtown.app()
    assert isinstance(app, ObservedApp)
    async with running(app) as pilot:
        await pilot.press("6", "a")
        await until(pilot, lambda: app.noticed("the mayor is not running"))
        assert attached == []
        await start_mayor(pilot)
        app.query_one("#mayor-log").focus()  # out of the line, onto the pane's log
        await pilot.press("a")
        await until(pilot, lambda: app.noticed("back from the mayor's pane"))
        assert attached == [session.SESSION]
        # Esc: back to the town; `a` is a polecat's attach again, not the mayor's
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.maximized is None)
        assert app.focused is app.query_one("#beads")
        await pilot.press("a")
        await pilot.pause(0.2)
        assert attached == [session.SESSION, attached[-1]] and len(attached) == 2
        assert attached[-1] != session.SESSION  # the selected polecat's session


async def test_the_header_chip_follows_the_mayors_state(mtown: AppTown) -> None:
    app = mtown.app()
    async with running(app) as pilot:
        await start_mayor(pilot)
        session.stop(mtown.town, mtown.config)  # `gt mayor stop` from a shell
        await until(pilot, lambda: chip(app) is None)
        await until(pilot, lambda: "not running" in str(pane(app).border_title))
        # the last words stay on the pane
        assert heard(app, "session mayor (standin)")
        state = session.read_state(mtown.town)
        session.write_state(mtown.town, {**state, "wanted": True})  # gone while wanted
        await until(pilot, lambda: chip(app) == "mayor: restarting")


async def test_K_stops_the_mayor_after_a_yes_as_gt_mayor_stop_does(mtown: AppTown) -> None:
    app = mtown.app()
    async with running(app) as pilot:
        await pilot.press("K")  # nothing to stop: said so, nothing asked
        await until(pilot, lambda: isinstance(app, ObservedApp) and app.noticed("not running"))
        await start_mayor(pilot)
        app.query_one("#mayor-log").focus()
        await open_screen(pilot, "K", ConfirmDialog)
        await pilot.press("escape")  # changed my mind: it keeps running
        await until(pilot, lambda: not isinstance(app.screen, ConfirmDialog))
        assert session.status(mtown.town, mtown.config).running
        await open_screen(pilot, "K", ConfirmDialog)
        await pilot.click("#ok")
        await until(pilot, lambda: not session.status(mtown.town, mtown.config).running)
        status = session.status(mtown.town, mtown.config)
        assert not status.wanted  # a person's stop: the witness does not bring it back
        with mtown.ledger() as led:
            kinds = [e["kind"] for e in led.state.events_after(0)]
        assert "mayor_stopped" in kinds


# ---- what it looks like ------------------------------------------------------------------


@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["200x50", "80x24"])
def test_snapshot_mayor_pane(snap_compare: Any, quiet_town: AppTown, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, GasTownApp)
        await pilot.press("M")
        await until(pilot, lambda: heard(app, "session mayor (standin)"))
        await until(pilot, lambda: isinstance(app.focused, Input))
        await pilot.press(*"hello", "enter")
        await until(pilot, lambda: heard(app, "heard: hello"))
        app.query_one("#mayor-log").focus()  # the footer shows the app's keys again
        # the state is polled once a second: wait for it to say running, in title and header
        await until(pilot, lambda: str(pane(app).border_title).startswith("Mayor · running"))
        await until(pilot, lambda: chip(app) == "mayor: running")
        app.clear_notifications()  # toasts come and go with the time: not in the picture
        await pilot.pause()

    assert snap_compare(quiet_town.app(), terminal_size=size, run_before=run_before)


run_async_tests(globals())
