"""The keys for what needs a person (retry / cancel a bead, reset the breaker, resume a
runtime) and the diff view (from the merge queue and from an agent's detail screen).

The keys run on tests/app_support.py's town (recording dispatcher, frozen clock) and check
the ledger; the diff view runs on a real clone with real polecat work (tests/conftest.py
RealTown), and its snapshots on a small real repository with fixed commit dates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.command import CommandPalette
from textual.widgets import OptionList, Static

from engine import vocab
from engine.engine import Engine
from engine.scheduler.runtime_pauses import RuntimePauses
from engine.views import diffs
from gastown_tui.screens.dialogs import ConfirmDialog, HelpDialog
from gastown_tui.screens.diff_screen import AgentDetailScreen, DiffScreen
from styles import APP_TCSS
from tests.app_support import (
    AppDispatcher,
    AppTown,
    ObservedApp,
    back_to_main,
    build_town,
    open_screen,
    read_ledger,
    run_async_tests,
    running,
    select_bead,
    select_in_tree,
    select_row,
    type_text,
    until,
)
from tests.conftest import submit_work
from tests.test_diffs import polecat_worktree

SIZE = (200, 50)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


# ---- keys for what needs a person ----------------------------------------------------------


async def test_R_on_a_failed_beads_problem_row_sends_it_back_to_work(gtown):
    style = gtown.ids["style"]
    app = gtown.app()
    async with running(app) as pilot:
        assert (await read_ledger(app, lambda led: led.beads.require(style)))["status"] == (
            vocab.FAILED
        )
        await select_row(pilot, "tab-problems", "#problems", f"failed:{style}")
        await pilot.press("R")
        await until(pilot, lambda: app.noticed(f"{style} reopened"))
        await asyncio.wait_for(app.workers.wait_for_complete(), timeout=5)
        # reopened and slung: a polecat has it again, as a new attempt
        await until(pilot, lambda: style in [a.bead_id for a in gtown.dispatcher.started])
        bead = await read_ledger(app, lambda led: led.beads.require(style))
        assert bead["status"] == vocab.IN_PROGRESS and bead["assignee"]


async def test_R_refuses_a_bead_that_has_not_failed(gtown):
    readme = gtown.ids["readme"]
    app = gtown.app()
    async with running(app) as pilot:
        await select_bead(pilot, readme)
        await pilot.press("R")
        await until(pilot, lambda: app.noticed("only a failed or cancelled bead is retried"))
        bead = await read_ledger(app, lambda led: led.beads.require(readme))
        assert bead["status"] == vocab.OPEN and not bead["slung"]


async def test_x_cancels_the_selected_bead_after_asking(gtown):
    readme = gtown.ids["readme"]
    app = gtown.app()
    async with running(app) as pilot:
        await select_bead(pilot, readme)
        await open_screen(pilot, "x", ConfirmDialog)
        await pilot.press("escape")  # changed my mind: nothing happens
        await back_to_main(pilot)
        assert (await read_ledger(app, lambda led: led.beads.require(readme)))["status"] == (
            vocab.OPEN
        )
        await select_bead(pilot, readme)
        await open_screen(pilot, "x", ConfirmDialog)
        await pilot.press("enter")  # "Yes" has the focus
        await back_to_main(pilot)
        bead = await read_ledger(app, lambda led: led.beads.require(readme))
        assert bead["status"] == vocab.CANCELLED


async def test_B_resets_a_tripped_breaker(gtown):
    ledger = gtown.ledger()
    try:
        with ledger.transaction():
            ledger.state.put(
                "breaker",
                {
                    "state": "open",
                    "until": ledger.now() + 300,
                    "recent": [{"bead": "x", "reason": "boom", "at": ledger.now()}],
                },
            )
    finally:
        ledger.close()
    app = gtown.app()
    async with running(app) as pilot:
        assert any(p["kind"] == "breaker" for p in app.snap["problems"])  # type: ignore[index]
        await pilot.press("B")
        await until(pilot, lambda: app.noticed("Breaker reset"))
        state = await read_ledger(app, lambda led: led.state.get("breaker"))
        assert state["state"] == "closed"
        await until(pilot, lambda: not any(p["kind"] == "breaker" for p in app.snap["problems"]))  # type: ignore[index]
        await pilot.press("B")  # nothing left to reset: said so, no error
        await until(pilot, lambda: app.noticed("The circuit breaker is closed"))


async def test_u_resumes_the_paused_runtime(gtown):
    ledger = gtown.ledger()
    try:
        with ledger.transaction():
            RuntimePauses(ledger).pause(
                "claude", shown_until=ledger.now() + 3600, reason="usage limit", bead=None
            )
    finally:
        ledger.close()
    app = gtown.app()
    async with running(app) as pilot:
        await pilot.press("u")
        await until(pilot, lambda: app.noticed("Runtime claude resumed"))
        active = await read_ledger(app, lambda led: RuntimePauses(led).active())
        assert "claude" not in active
        await until(pilot, lambda: not any(p["kind"] == "paused" for p in app.snap["problems"]))  # type: ignore[index]
        await pilot.press("u")
        await until(pilot, lambda: app.noticed("No runtime is paused"))


async def test_the_new_keys_are_in_help_and_the_palette(gtown):
    app = gtown.app()
    new = {"diff": "d", "retry_bead": "R", "cancel_bead": "x", "reset_breaker": "B"}
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "question_mark", HelpDialog)
        keys = {ident: key for key, _, ident in dialog.rows}
        assert {k: keys.get(k) for k in new} == new and keys["resume_runtime"] == "u"
        await pilot.press("escape")
        await back_to_main(pilot)
        await open_screen(pilot, "ctrl+p", CommandPalette)
        await type_text(pilot, "breaker")
        options = app.screen.query_one(OptionList)
        await until(pilot, lambda: options.option_count >= 1)
        prompt = str(options.get_option_at_index(0).prompt)
        assert "Reset the dispatch circuit breaker" in prompt


# ---- the diff view on real work ------------------------------------------------------------


@contextlib.asynccontextmanager
async def real_app(rt, dispatcher: AppDispatcher):
    app = ObservedApp(
        rt.town, engine=Engine(rt.town, dispatcher=dispatcher, config=rt.config, refinery=False)
    )
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.refreshes >= 1)
        yield app, pilot


def shown_files(screen: DiffScreen) -> list[str]:
    options = screen.query_one("#diff-files", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_d_on_a_merge_request_opens_its_diff(real_town):
    rt = real_town
    _, mr = submit_work(rt, "add calc", {"calc.py": "def add(a, b):\n    return a + b\n"})
    async with real_app(rt, AppDispatcher()) as (app, pilot):
        await until(pilot, lambda: any(m["id"] == mr for m in app.snap["mq"]))  # type: ignore[index]
        await select_row(pilot, "tab-mq", "#mq", mr)
        screen = await open_screen(pilot, "d", DiffScreen)
        await until(pilot, lambda: screen.shown == "calc.py")
        assert shown_files(screen) == ["    +2    -0 calc.py"]
        assert "1 file changed, +2 -0 against main" in str(screen.query_one("#diff-stat").render())
        patch = screen.query_one("#diff-patch", Static).content
        assert "+def add(a, b):" in str(patch)
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)


async def test_d_on_an_agents_detail_opens_the_diff_of_its_worktree(real_town, tmp_path):
    rt = real_town
    dispatcher = AppDispatcher()
    agent, _ = polecat_worktree(rt, tmp_path)
    dispatcher.sessions.add(agent)  # its session is alive: the engine leaves it at work
    name = rt.ledger.agents.require(agent)["name"]
    async with real_app(rt, dispatcher) as (app, pilot):
        await select_in_tree(pilot, name)
        await open_screen(pilot, "enter", AgentDetailScreen)
        screen = await open_screen(pilot, "d", DiffScreen)
        await until(pilot, lambda: screen.shown == "README.md")
        files = shown_files(screen)
        # Rich markup in a file name is shown as written, not interpreted
        assert files == ["    +1    -0 README.md", "    +3    -0 notes [red]x.txt (new)",
                         "    +1    -0 page.html"]  # fmt: skip
        await pilot.press("escape")  # back to the agent's detail, then the town
        await until(pilot, lambda: isinstance(app.screen, AgentDetailScreen))
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)


async def test_a_diff_whose_work_is_gone_is_a_one_line_notice(real_town):
    rt = real_town
    repo = rt.ledger.rigs.require("web")["path"]
    _, mr = submit_work(rt, "gone", {"x.txt": "x\n"})
    with rt.ledger.transaction():
        pass
    commit = rt.ledger.mq.require(mr)["commit"]
    subprocess.run(["git", "branch", "-D", rt.ledger.mq.require(mr)["branch"]], cwd=repo)
    subprocess.run(["git", "reflog", "expire", "--expire=now", "--all"], cwd=repo, check=True)
    subprocess.run(["git", "gc", "-q", "--prune=now"], cwd=repo, check=True)
    async with real_app(rt, AppDispatcher()) as (app, pilot):
        await until(pilot, lambda: any(m["id"] == mr for m in app.snap["mq"]))  # type: ignore[index]
        await select_row(pilot, "tab-mq", "#mq", mr)
        await pilot.press("d")
        await until(pilot, lambda: app.noticed("is gone from the rig's clone"))
        assert len(app.screen_stack) == 1
        notice = next(m for _, m, _ in app.notices if "is gone" in m)
        assert commit in notice and "\n" not in notice


# ---- snapshots ------------------------------------------------------------------------------

FIXED_DATES = {
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def sample_repo(root: Path) -> str:
    """A repository whose commit ids are the same every run: a branch `work` that edits a
    Python file, adds one with markup and an escape sequence in it, and removes one."""
    env = {**os.environ, **FIXED_DATES}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    root.mkdir()
    git("init", "-q", "-b", "main")
    (root / "calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
    )
    (root / "old.txt").write_text("obsolete\n")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")
    git("checkout", "-q", "-b", "work")
    (root / "calc.py").write_text(
        '"""A calculator."""\n\n\ndef add(a: float, b: float) -> float:\n    return a + b\n\n\n'
        "def sub(a: float, b: float) -> float:\n    return a - b\n\n\n"
        "def mul(a: float, b: float) -> float:\n    return a * b\n"
    )
    (root / "notes [bold]x.md").write_text("[red]not markup[/red]\n\x1b[31mnot red\x1b[0m\n")
    (root / "old.txt").unlink()
    git("add", "-A")
    git("commit", "-q", "-m", "work")
    git("checkout", "-q", "main")  # the rig's main is its checked-out branch here
    return str(root)


class DiffApp(App[None]):
    """The diff screen alone, on a fixed summary, with the app's own styles."""

    CSS_PATH = str(APP_TCSS)

    def __init__(self, summary: diffs.DiffSummary) -> None:
        super().__init__()
        self.summary = summary

    def on_mount(self) -> None:
        async def load(file: diffs.FileStat) -> diffs.FilePatch:
            return await asyncio.to_thread(diffs.patch, self.summary["target"], file)

        self.push_screen(DiffScreen(self.summary, load))


@pytest.fixture
def diff_app(tmp_path) -> DiffApp:
    repo = sample_repo(tmp_path / "repo")
    source = diffs.DiffSource(
        title="merge request gt-m1 (gt-a1, polecat/Toast/gt-a1)",
        repo=repo,
        worktree=None,
        ref="work",
    )
    return DiffApp(diffs.summarize(source))


async def test_a_diff_shows_markup_and_escapes_as_text(diff_app):
    async with diff_app.run_test(size=SIZE) as pilot:
        screen = diff_app.screen
        assert isinstance(screen, DiffScreen)
        await until(pilot, lambda: screen.shown == "calc.py")
        options = screen.query_one("#diff-files", OptionList)
        options.highlighted = 1
        await until(pilot, lambda: screen.shown == "notes [bold]x.md")
        code = str(screen.query_one("#diff-patch", Static).content)
        assert "+[red]not markup[/red]" in code and "\x1b" not in code and "^[" in code
        await pilot.press("tab")  # from the file list to the diff, to scroll it
        assert diff_app.focused is screen.query_one("#diff-scroll")


@pytest.mark.parametrize("size", [(200, 50), (80, 24)], ids=["200x50", "80x24"])
def test_diff_screen_snapshot(snap_compare, diff_app, size):
    async def run_before(pilot: Any) -> None:
        screen = pilot.app.screen
        await until(pilot, lambda: isinstance(screen, DiffScreen) and screen.shown == "calc.py")
        await pilot.pause()

    assert snap_compare(diff_app, terminal_size=size, run_before=run_before)


run_async_tests(globals())
