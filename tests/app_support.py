"""A deterministic town for the app's tests: the same beads, ids, ages and screen every run.

`build_town` makes two rigs without clones (a RecordingDispatcher starts nothing), a convoy
whose beads form a DAG across both rigs in every interesting state, a second polecat at
work, mail for the mayor, an escalation, a landed, a queued and a failed merge request —
all through the ledger API, the way the engine itself gets there. `freeze` pins what would
otherwise change between runs: the view clock (ages), the bead id source, cursor blink.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent, TextArea

import engine.ledger.beads
import engine.timeutil
from engine.commands import done as done_cmd
from engine.config import SchedulerSettings, TownConfig
from engine.engine import Engine
from engine.escalations import escalate
from engine.ledger import Ledger
from engine.polecats import seance
from engine.policy import RetryPolicy
from engine.refinery import send_back
from engine.refinery.refinery import finish_landing
from engine.scheduler.reconciler import Scheduler
from engine.town import Town, init_town
from gastown_tui.app import GasTownApp
from gastown_tui.widgets.bead_table import BeadTable
from gastown_tui.widgets.panels import KeyedTable
from gastown_tui.widgets.rigs_tree import RigsTree
from tests.conftest import Clock, add_rig
from tests.recording import RecordingDispatcher

SEED = 5
START = 1_800_000_000.0  # 2027-01-15 08:00 UTC
SUB_TITLE = "town · engine: embedded"

# The DAG (key, title, rig, priority, needs): sub, mul, form and style are roots; ship, the
# last, needs wire (which needs form, sub and mul) and docs (which needs sub and div).
PLAN = (
    ("sub", "Add subtraction", "calc", 1, ()),
    ("mul", "Add multiplication", "calc", 1, ()),
    ("div", "Add division", "calc", 2, ("mul",)),
    ("form", "Page: input form", "web", 1, ()),
    ("wire", "Page: wire the buttons", "web", 2, ("form", "sub", "mul")),
    ("docs", "Document the operations", "calc", 2, ("sub", "div")),
    ("style", "Page: styles", "web", 3, ()),
    ("ship", "Release notes", "web", 2, ("wire", "docs")),
)
LOG_LINES = {
    "mul": [
        "[script] reading the hook",
        "\x1b[32m✓\x1b[0m mul.py written",
        "running checks: 3 passed",
        "\x1b[33mwarning:\x1b[0m float rounding differs on 0.1 * 3",
        "[script] committing 'calc: multiplication'",
    ],
    "dark": [
        "[script] reading the hook",
        "style.css: added @media (prefers-color-scheme: dark)",
        "\x1b[36minfo:\x1b[0m contrast ratio 7.1 (AA)",
    ],
}


class AppDispatcher(RecordingDispatcher):
    """Records dispatches (as RecordingDispatcher does) and the nudges the engine delivers."""

    def __init__(self) -> None:
        super().__init__()
        self.nudges: list[dict[str, Any]] = []

    def inbox_handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {"nudge": self.nudges.append}


@dataclass
class AppTown:
    """The built town and what the tests need to find in it."""

    town: Town
    clock: Clock
    dispatcher: AppDispatcher
    config: TownConfig
    ids: dict[str, str] = field(default_factory=dict)

    def engine(self, *, town_toml: bool = False) -> Engine:
        """The recording dispatcher, the frozen clock, no refinery; settings from `config`,
        or (`town_toml`) read from the town's town.toml as `gastown` would."""
        return Engine(
            self.town,
            dispatcher=self.dispatcher,
            config=None if town_toml else self.config,
            clock=self.clock,
            refinery=False,
        )

    def app(self, *, town_toml: bool = False) -> ObservedApp:
        return ObservedApp(self.town, engine=self.engine(town_toml=town_toml))

    def ledger(self) -> Ledger:
        """A second connection, as another process would have (close it when done)."""
        return Ledger(self.town.ledger_target, clock=self.clock)


class ObservedApp(GasTownApp):
    """The app, with every notification it raises kept for the test to read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[tuple[str, str, str]] = []  # (title, message, severity)

    def notify(
        self, message: str, *, title: str = "", severity: Any = "information", **kw: Any
    ) -> None:
        self.notices.append((title, str(message), str(severity)))
        super().notify(message, title=title, severity=severity, **kw)

    def noticed(self, text: str) -> bool:
        return any(text in f"{t} {m}" for t, m, _ in self.notices)


def engine_config() -> TownConfig:
    # Idle polecats are never retired under the frozen clock; nothing else differs.
    return TownConfig(scheduler=SchedulerSettings(idle_retire_seconds=86_400))


def freeze(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    """Same ids, same ages, a cursor that does not blink: the same screen every run."""
    monkeypatch.setattr(engine.ledger.beads, "random_bytes", random.Random(SEED).randbytes)
    monkeypatch.setattr(engine.timeutil, "clock", clock)
    # Textual keeps a reactive's default on its descriptor; every Input / TextArea made
    # during the test starts with a steady cursor.
    monkeypatch.setattr(Input.cursor_blink, "_default", False)
    monkeypatch.setattr(TextArea.cursor_blink, "_default", False)


def build_town(root: Path, monkeypatch: pytest.MonkeyPatch) -> AppTown:
    clock = Clock(START)
    freeze(monkeypatch, clock)
    town = init_town(str(root / "town"))
    config = engine_config()
    dispatcher = AppDispatcher()
    ids: dict[str, str] = {}
    ledger = Ledger(town.ledger_target, clock=clock)
    try:
        _populate(town, ledger, clock, dispatcher, ids)
        # settle: the engine's first reconcile must find nothing to do
        Scheduler(ledger, config).reconcile(dispatcher, {"nudge": dispatcher.nudges.append})
    finally:
        ledger.close()
    # what the tests see the dispatcher do starts with the app (its live sessions stay)
    dispatcher.started.clear()
    dispatcher.stopped.clear()
    return AppTown(town, clock, dispatcher, config, ids)


def _populate(
    town: Town, ledger: Ledger, clock: Clock, dispatcher: AppDispatcher, ids: dict[str, str]
) -> None:
    add_rig(ledger, "calc", "calc", ["python"])
    add_rig(ledger, "web", "web", ["frontend"])
    planned = [
        {"key": k, "title": t, "rig": r, "priority": p, "type": "task", "needs": list(n)}
        for k, t, r, p, n in PLAN
    ]
    convoy = ledger.convoys.create_planned("Calculator 1.0", planned, staged=False, actor="mayor")
    ids["convoy"] = convoy["id"]
    by_title = {b["title"]: b["id"] for b in ledger.beads.list(include_records=False)}
    for key, title, *_ in PLAN:
        ids[key] = by_title[title]
    ids["readme"] = ledger.beads.create(
        "Tidy the README", rig="calc", priority=2, created_by="mayor"
    )["id"]
    ids["favicon"] = ledger.beads.create(
        "Add a favicon", rig="web", priority=3, labels=["frontend"], created_by="mayor"
    )["id"]
    ids["dark"] = ledger.beads.create(
        "Page: dark mode", rig="web", priority=2, slung=True, created_by="mayor"
    )["id"]

    clock.advance(600)
    one_try = Scheduler(ledger, TownConfig(scheduler=SchedulerSettings(max_attempts=1)))
    one_try.reconcile(dispatcher)  # sub, mul, form, dark, style go to work
    agents = {a["hook"]: a for a in ledger.agents.list()}
    for key in ("sub", "mul", "form", "dark", "style"):
        ids[f"agent:{key}"] = agents[ids[key]]["id"]

    def submit(key: str, commit: str) -> str:
        agent = agents[ids[key]]
        out = done_cmd.record(
            ledger,
            done_cmd.DoneRequest(
                agent["id"], ids[key], agent["attempt"], worktree="", summary=f"{key}: done"
            ),
            branch=f"polecat/{agent['name']}/{ids[key]}",
            commit=commit,
        )
        return str(out.merge_request)

    clock.advance(1500)
    ids["mr:sub"] = submit("sub", "5a1b0c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b")
    ledger.mq.begin_landing([ids["mr:sub"]], "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", "calc-1")
    finish_landing(ledger, [ids["mr:sub"]], "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432")

    clock.advance(420)
    ids["mr:form"] = submit("form", "1111111111222222222233333333334444444444")
    ids["mr:style"] = submit("style", "aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd")
    send_back.gates_failed(
        ledger,
        ids["mr:style"],
        reason="gate test failed: grep: index.html: no <h1> heading",
        log="$ sh test.sh\nexit 1",
        retry=RetryPolicy(max_attempts=1, backoff_base=0, backoff_max=0),
    )

    clock.advance(300)
    esc = escalate(
        ledger,
        title="Maple: which rounding for multiplication of floats?",
        body="0.1 * 3 gives 0.30000000000000004; round to 2 places or leave it?",
        severity="medium",
        actor=ids["agent:mul"],
        source=ids["mul"],
    )
    ids["escalation"] = esc["id"]
    ids["mail:escalation"] = next(
        m["id"] for m in ledger.mail.inbox(["mayor"]) if m["subject"].startswith("[medium]")
    )
    ids["mail:review"] = ledger.mail.send(
        sender=ids["agent:form"],
        to="mayor",
        subject="Form is up for review",
        body="The input form is in the merge queue.\nIt needs the buttons next.",
    )["id"]
    clock.advance(240)
    ids["mail:hello"] = ledger.mail.send(
        sender="web/witness", to="mayor", subject="Patrol report: all quiet", body="Nothing stuck."
    )["id"]
    ledger.mail.mark_read(ids["mail:hello"], reader="mayor")
    clock.advance(60)

    # the two working polecats have fresh heartbeats and a session log each
    os.makedirs(town.logs_dir, exist_ok=True)
    for n, key in enumerate(("mul", "dark")):
        agent = agents[ids[key]]
        ledger.agents.record(agent["id"], "heartbeat", attempt=agent["attempt"], data={})
        path = seance.log_path(
            town.logs_dir, agent["rig"], agent["name"], ids[key], agent["attempt"]
        )
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(LOG_LINES[key]) + "\n")
        os.utime(path, (START + n, START + n))


# ---- driving the app ---------------------------------------------------------------------


def run_async_tests(namespace: dict[str, Any]) -> None:
    """Let a test module write `async def test_...`: no asyncio plugin is installed, so
    each such test becomes a plain one running in its own event loop (fixtures and marks
    are kept: pytest reads them through `__wrapped__`)."""
    for name, fn in list(namespace.items()):
        if name.startswith("test_") and inspect.iscoroutinefunction(fn):
            namespace[name] = _in_event_loop(fn)


def _in_event_loop(fn: Callable[..., Any]) -> Callable[..., None]:
    @functools.wraps(fn)
    def test(*args: Any, **kwargs: Any) -> None:
        asyncio.run(fn(*args, **kwargs))

    return test


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until the first snapshot is on screen (and the log pane, when shown, has read
    its file), then pin the sub-title, which names the temporary directory."""
    app = pilot.app
    assert isinstance(app, GasTownApp)
    await until(pilot, lambda: app.refreshes >= 1)
    if not app.screen.has_class("narrow"):
        await until(pilot, lambda: app.query_one("#logs").lines_shown() > 0)  # type: ignore[attr-defined]
    app.sub_title = SUB_TITLE
    await pilot.pause()


async def until(pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = 15.0) -> None:
    """Let the app run until `condition()` holds (fails the test after `timeout`)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def until_async(
    pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = 15.0
) -> None:
    """As `until`, for an async condition (e.g. one that reads the ledger)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def read_ledger(app: GasTownApp, fn: Callable[[Ledger], Any]) -> Any:
    """Read through the engine's own connection, on its ledger thread."""
    ledger = app.engine.ledger
    assert ledger is not None
    return await app.engine.call(fn, ledger)


async def open_screen(pilot: Pilot[Any], key: str, kind: type) -> Any:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, kind))
    await pilot.pause()
    return pilot.app.screen


async def back_to_main(pilot: Pilot[Any]) -> None:
    """Wait for the dialogs to close and the action behind them to finish."""
    await until(pilot, lambda: len(pilot.app.screen_stack) == 1)
    await asyncio.wait_for(pilot.app.workers.wait_for_complete(), timeout=5)
    await pilot.pause()


async def select_bead(pilot: Pilot[Any], bead_id: str) -> None:
    table = pilot.app.query_one("#beads", BeadTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(bead_id))
    await pilot.pause()


async def select_in_tree(pilot: Pilot[Any], label: str) -> None:
    tree = pilot.app.query_one("#rigs", RigsTree)
    tree.focus()
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        if node and node.data and label in (node.data.get("name"), node.data.get("id")):
            tree.move_cursor_to_line(line)
            await pilot.pause()
            return
    raise AssertionError(f"{label} is not in the Rigs tree")


async def select_row(pilot: Pilot[Any], tab: str, table_id: str, key: str) -> None:
    pilot.app.query_one("#bottom", TabbedContent).active = tab
    await pilot.pause()
    table = pilot.app.query_one(table_id, KeyedTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()


def shown_beads(app: GasTownApp) -> list[str]:
    table = app.query_one("#beads", BeadTable)
    return [str(row.key.value) for row in table.ordered_rows]


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type into the focused widget, one key at a time, as a person would."""
    await pilot.press(*text)


@contextlib.asynccontextmanager
async def running(app: App[Any], size: tuple[int, int] = (200, 50)) -> AsyncIterator[Pilot[Any]]:
    """The app at `size`, settled (its first snapshot drawn), for a pilot test."""
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        yield pilot
