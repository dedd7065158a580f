"""The app's action registry (gastown_tui/action_registry.py) drives the keys, help and palette.

One table lists every action of the main screen; the bindings, the help screen and the
command palette are built from it, so none can offer an action the others lack, and a
key remapped in town.toml shows (and works) everywhere.
"""

from __future__ import annotations

import contextlib

import pytest
from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import OptionList

from gastown_tui.action_registry import DOES, REGISTRY
from gastown_tui.app import GasTownApp
from gastown_tui.screens.dialogs import HelpDialog
from tests.app_support import (
    AppTown,
    back_to_main,
    build_town,
    open_screen,
    run_async_tests,
    settle,
    until,
)

SIZE = (200, 50)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


@contextlib.asynccontextmanager
async def running(app: GasTownApp):
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        yield pilot


def test_every_registered_action_has_a_unique_id_and_key_and_a_method_to_run():
    ids = [a.id for a in REGISTRY]
    keys = [a.key for a in REGISTRY]
    assert len(set(ids)) == len(ids)
    assert len(set(keys)) == len(keys)
    for action in REGISTRY:
        assert callable(getattr(GasTownApp, f"action_{action.action}", None)), action.id
        assert action.label and action.description and action.where


def test_the_apps_bindings_are_the_registry_in_its_order():
    bound = [
        (b.id, b.key, b.action, b.description, b.show)
        for b in GasTownApp.BINDINGS
        if isinstance(b, Binding)
    ]
    assert len(bound) == len(GasTownApp.BINDINGS)
    assert bound == [(a.id, a.key, a.action, a.label, a.footer) for a in REGISTRY]


async def test_help_lists_exactly_the_registered_actions_in_order(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "question_mark", HelpDialog)
        assert [(ident, label) for _, label, ident in dialog.rows] == [
            (a.id, a.label) for a in REGISTRY
        ]
        keys = {ident: key for key, _, ident in dialog.rows}
        assert keys["help"] == "?" and keys["next_convoy"] == "]"
        await pilot.press("escape")
        await back_to_main(pilot)


async def palette_entries(pilot) -> dict[str, str]:
    """The palette's own entries (not Textual's system commands): description -> help."""
    app = pilot.app
    # Textual's own "Quit" is among them: told apart by its help text, not its title
    system = {(c.title, c.help) for c in app.get_system_commands(app.screen)}
    await open_screen(pilot, "ctrl+p", CommandPalette)
    options = app.screen.query_one(OptionList)
    await until(pilot, lambda: options.option_count >= len(REGISTRY) + len(system))
    await pilot.pause(0.2)
    entries = {}
    for i in range(options.option_count):
        title, _, help_text = str(options.get_option_at_index(i).prompt).partition("\n")
        if (title, help_text) not in system:
            assert title not in entries, title
            entries[title] = help_text
    await pilot.press("escape")
    return entries


async def test_the_palette_lists_exactly_the_registered_actions_with_where_and_key(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        entries = await palette_entries(pilot)
        assert sorted(entries) == sorted(a.description for a in REGISTRY)
        # the second line: what the action does, where, and its key
        prev, reply = DOES["prev_convoy"], DOES["reply"]
        assert entries["Show the previous convoy"] == f"{prev} · the convoy graph · key ["
        assert entries["Reply to the selected mail"] == f"{reply} · the Mail tab · key r"


async def test_a_key_remapped_by_id_runs_the_action_and_shows_in_help_and_palette(gtown):
    with open(gtown.town.config_path, "a", encoding="utf-8") as fh:
        fh.write('\n[keys]\ncycle_filter = "F"\n')
    app = gtown.app(town_toml=True)
    async with running(app) as pilot:
        await pilot.press("f")
        await pilot.pause()
        assert app.bead_filter == "all"  # the default key no longer runs it
        await pilot.press("F")
        await until(pilot, lambda: app.bead_filter == "ready")
        dialog = await open_screen(pilot, "question_mark", HelpDialog)
        assert {ident: key for key, _, ident in dialog.rows}["cycle_filter"] == "F"
        await pilot.press("escape")
        await back_to_main(pilot)
        entries = await palette_entries(pilot)
        described = "Filter beads: all / ready / blocked / in progress / in review"
        assert entries[described] == f"{DOES['cycle_filter']} · the bead table · key F"


run_async_tests(globals())
