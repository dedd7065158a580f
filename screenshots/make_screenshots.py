"""Regenerate the app's screenshots (SVG, and browser.png) from a live demo town.

    .venv/bin/python screenshots/make_screenshots.py [--out DIR] [--keep] [--no-browser]

Creates the demo town in a temporary directory (engine.demo.ensure_demo_town: two rigs with
real git and a real test gate, the demo convoy worked by the `script` runtime in tmux),
opens the app on it headless (`run_test`, 200x50), waits until polecats are at work and a
bead has landed, adds what a day in town brings (a polecat's escalation, its mail to the
mayor, token usage), then walks the screens by keys and saves each with
`App.save_screenshot`: the main screen, details, dialogs, a merge request's diff, the costs,
the 80x24 forms (the convoy's list form, a pane per digit), and last the header's counts
of what needs a person (an open breaker and a paused runtime, which hold the town up).
Then, where Debian's Chromium is installed, the same town served to it (browser_shot.py).
Names are stable; the content (ids, ages, progress) is whatever the run shows. At the end
the demo's polecats are stopped (the town's private tmux server is killed) and the town
removed (--keep leaves it, and prints where).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIZE = (200, 50)
SMALL = (80, 24)
SHOTS = (
    ("main", "the main screen at 200x50: rigs, convoy DAG, beads, live log, mail"),
    ("main-80x24", "the main screen at 80x24"),
    ("bead-detail", "a landed bead: body, dependencies, timeline, sessions, merge request"),
    ("agent-detail", "a polecat at work: its hook, history and recent output"),
    ("rig", "a rig: its beads, polecats, merge queue and gates"),
    ("sling", "the sling dialog: a new bead, or ready beads to pick"),
    ("mail-compose", "composing mail"),
    ("merge-queue", "the merge queue tab"),
    ("problems", "the problems tab (an escalation)"),
    ("tiled-logs", "every working polecat's log, tiled (v)"),
    ("help", "the keys (?)"),
    ("diff", "a merge request against main: files, stat line, the diff in colour (d)"),
    ("costs", "tokens per bead, agent, convoy, rig or runtime, and budgets ($)"),
    ("escalation", "Enter on a Problems row: the escalation's bead"),
    ("beads-80x24", "at 80x24 a digit gives its pane the whole screen: the beads (3)"),
    ("dag-list-80x24", "at 80x24 the convoy's 3-row pane is a list: each bead, what it needs"),
    ("dag-80x24", "at 80x24 the convoy's pane given the whole screen (2): compact nodes"),
    ("log-80x24", "at 80x24 the live log (4)"),
    ("needs-you", "the header's counts of what needs a person (! opens their list)"),
    ("browser", "the same app in a browser (gastown --serve, headless Chromium)"),
)


async def until(pilot: Any, what: str, cond: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"make_screenshots: gave up waiting for {what}")
        await pilot.pause(0.1)


def working(app: Any) -> list[dict[str, Any]]:
    snap = app.snap or {}
    return [
        {**p, "rig": r["name"]}
        for r in snap.get("rigs", [])
        for p in r["polecats"]
        if p["hook"] and p["status"] == "working"
    ]


def second_wave(app: Any) -> list[dict[str, Any]]:
    """Polecats at work on beads of the demo convoy that had to wait for others."""
    from engine.demo import demo_plan

    waited = {str(b["title"]) for b in demo_plan() if b.get("needs")}
    titles = {b["id"]: b["title"] for b in (app.snap or {}).get("beads", [])}
    return [p for p in working(app) if titles.get(p["hook"]) in waited]


def landed(app: Any) -> list[dict[str, Any]]:
    return [m for m in (app.snap or {}).get("mq", []) if m["state"] == "landed"]


def town_events(town: Any, app: Any) -> None:
    """What a day in town brings: a polecat escalates, writes to the mayor, spends tokens."""
    from engine.commands.costs import RecordUsage, record_usage
    from engine.escalations import escalate
    from engine.ledger import Ledger
    from engine.usage import SessionUsage

    agent = working(app)[0]
    ledger = Ledger(town.ledger_path)
    try:
        escalate(
            ledger,
            title=f"{agent['hook']}: the gate is slow on this machine",
            body="test.sh takes 40 s here; is a smaller check acceptable?",
            severity="medium",
            actor=agent["id"],
            source=agent["hook"],
        )
        ledger.mail.send(
            sender=agent["id"],
            to="mayor",
            subject=f"Started {agent['hook']}",
            body="Reading the hook; will commit in small steps.",
        )
        # the demo's scripted agents spend no tokens: record what a Claude Code session
        # would have, so the costs screen has figures to sum
        for n, polecat in enumerate(working(app)):
            session = SessionUsage(
                "claude",
                f"demo-{polecat['id']}",
                "claude-sonnet-4-5",
                input_tokens=41_000 + 9_000 * n,
                output_tokens=6_500 + 1_200 * n,
                cache_read_tokens=220_000 + 35_000 * n,
                cache_write_tokens=18_000,
            )
            record_usage(ledger, RecordUsage(polecat["id"], (session,)))
    finally:
        ledger.close()


def trouble(town: Any, app: Any) -> None:
    """What the header counts: the circuit breaker tripped by gate failures, and a runtime
    paused by a rate limit (as tests/test_app_layout.py's `needy` town)."""
    from engine.ledger import Ledger
    from engine.scheduler.breaker import KEY
    from engine.scheduler.runtime_pauses import RuntimePauses

    ledger = Ledger(town.ledger_path)
    try:
        with ledger.transaction():
            now = ledger.now()
            # the beads the gates failed on this run (the demo's bisected batch), if any
            failed = [
                m["source_bead"]
                for m in (app.snap or {}).get("mq", [])
                if m["state"] in ("failed", "rejected")
            ]
            reasons = [{"bead": b, "reason": "gate failed", "at": now} for b in failed[:3]]
            ledger.state.put(
                KEY,
                {
                    "state": "open",
                    "until": now + 600,
                    "failures": max(3, len(reasons)),
                    "tripped_at": now,
                    "recent": [],
                    "reasons": reasons,
                },
            )
            RuntimePauses(ledger).pause(
                "codex", shown_until=now + 900, reason="usage limit reached (429)", bead=None
            )
    finally:
        ledger.close()


def problem_keys(table: Any) -> list[str]:
    return [str(row.value) for row in table.rows]


async def make(out: Path, root: str) -> list[Path]:
    from textual.widgets import Footer, OptionList

    from engine.demo import ensure_demo_town
    from gastown_tui.app import GasTownApp
    from gastown_tui.screens.cost_screen import CostsScreen
    from gastown_tui.screens.detail import DetailScreen
    from gastown_tui.screens.dialogs import Dialog
    from gastown_tui.screens.diff_screen import DiffScreen
    from gastown_tui.widgets.bead_table import BeadTable
    from gastown_tui.widgets.panels import MergeQueueTable, ProblemsTable
    from gastown_tui.widgets.rigs_tree import RigsTree
    from gastown_tui.widgets.town_header import TownHeader

    town = ensure_demo_town(os.path.join(root, "demo"), announce=print)
    app = GasTownApp(town)
    saved: list[Path] = []

    async with app.run_test(size=SIZE) as pilot:

        async def shot(name: str) -> None:
            await pilot.pause(0.6)  # the log pane and the table catch up
            path = app.save_screenshot(filename=f"{name}.svg", path=str(out))
            saved.append(Path(path))
            print(f"  {name}.svg", flush=True)

        async def back() -> None:
            await pilot.press("escape")
            await until(pilot, "the main screen", lambda: app.screen is main)

        main = app.screen
        print("waiting for a first landing, then polecats at work ...", flush=True)
        await until(pilot, "a landing", lambda: landed(app), timeout=120)
        await until(pilot, "polecats at work", lambda: working(app), timeout=60)
        town_events(town, app)
        await until(pilot, "the escalation", lambda: (app.snap or {}).get("problems"))
        # the convoy's second wave (beads that waited for others) has ~9 s of work ahead
        await until(pilot, "the second wave at work", lambda: second_wave(app), timeout=60)
        await pilot.pause(1.5)  # some log lines to show
        agent = second_wave(app)[0]

        # first what needs polecats at work: the main screen, its small size, their logs
        table = app.query_one("#beads", BeadTable)
        table.focus()
        await shot("main")
        await pilot.resize_terminal(*SMALL)
        # the footer goes compact at 80 columns (Help and Quit shown): let it redraw first
        await until(pilot, "the compact footer", lambda: app.query_one(Footer).compact)
        await pilot.pause(0.3)
        await shot("main-80x24")
        await pilot.resize_terminal(*SIZE)
        await pilot.pause(0.3)
        await pilot.press("v")
        await shot("tiled-logs")
        await pilot.press("v")

        tree = app.query_one("#rigs", RigsTree)

        def find(kind: str, key: str) -> Any:
            for line in range(tree.last_line + 1):
                node = tree.get_node_at_line(line)
                data = node.data if node else None
                if data and data["kind"] == kind and key in (data.get("id"), data.get("name")):
                    return node
            raise SystemExit(f"make_screenshots: no {kind} {key} in the Rigs tree")

        tree.focus()
        tree.move_cursor(find("agent", agent["id"]))
        await pilot.press("enter")
        await until(pilot, "the agent detail", lambda: isinstance(app.screen, DetailScreen))
        await shot("agent-detail")
        await back()

        tree.move_cursor(find("rig", agent["rig"]))
        await pilot.press("enter")
        await until(pilot, "the rig detail", lambda: isinstance(app.screen, DetailScreen))
        await shot("rig")
        await back()

        bead = landed(app)[0]["source_bead"]
        table.focus()
        table.move_cursor(row=table.get_row_index(bead))
        await pilot.press("enter")
        await until(pilot, "the bead detail", lambda: isinstance(app.screen, DetailScreen))
        await shot("bead-detail")
        await back()

        await pilot.press("s")
        await until(pilot, "the sling dialog", lambda: isinstance(app.screen, Dialog))
        await pilot.press(*"Add a modulo operation")
        await shot("sling")
        await back()

        await pilot.press("m")
        await until(pilot, "the compose dialog", lambda: isinstance(app.screen, Dialog))
        await pilot.press(*agent["name"], "tab", *"How is the gate today?", "tab")
        await pilot.press(*"Is test.sh still slow for you?")
        await shot("mail-compose")
        await back()

        # the demo's story: its powers bead fails the gates and is bisected out of its batch
        def failed_mr() -> bool:
            mq = (app.snap or {}).get("mq", [])
            return any(m["state"] in ("failed", "rejected") for m in mq)

        deadline = time.monotonic() + 90
        while not failed_mr() and time.monotonic() < deadline:
            await pilot.pause(0.2)
        tabs = app.query_one("#bottom")
        tabs.active = "tab-mq"  # type: ignore[attr-defined]
        await shot("merge-queue")
        # a merge request's diff (a polecat at work writes its files only at the end): the
        # one the gates failed if there is one yet, else one that landed
        mrs = sorted(
            (app.snap or {}).get("mq", []), key=lambda m: m["state"] not in ("failed", "rejected")
        )
        mq = app.query_one("#mq", MergeQueueTable)
        mq.focus()
        mq.move_cursor(row=mq.get_row_index(next(m["id"] for m in mrs if m["state"] != "queued")))
        await pilot.press("d")
        await until(pilot, "the diff", lambda: isinstance(app.screen, DiffScreen))
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        await until(pilot, "a file's diff", lambda: diff.shown is not None, timeout=20)
        # the code rather than its check, where the request has both (the demo's powers
        # bug is in power.py)
        paths = [f["path"] for f in diff.summary["files"]]
        code = next((i for i, path in enumerate(paths) if "check" not in path), 0)
        diff.query_one("#diff-files", OptionList).highlighted = code
        await until(pilot, "the code's diff", lambda: diff.shown == paths[code], timeout=20)
        await shot("diff")
        await back()
        tabs.active = "tab-problems"  # type: ignore[attr-defined]
        await shot("problems")
        problems = app.query_one("#problems", ProblemsTable)
        escalation = next((k for k in problem_keys(problems) if k.startswith("escalation:")), None)
        if escalation is None:
            raise SystemExit("make_screenshots: no escalation in the Problems tab")
        problems.focus()
        problems.move_cursor(row=problems.get_row_index(escalation))
        await pilot.press("enter")
        await until(pilot, "the escalation", lambda: isinstance(app.screen, DetailScreen))
        await shot("escalation")
        await back()
        tabs.active = "tab-mail"  # type: ignore[attr-defined]

        await pilot.press("dollar_sign")
        await until(pilot, "the costs", lambda: isinstance(app.screen, CostsScreen))
        await shot("costs")
        await back()

        await pilot.press("question_mark")
        await until(pilot, "the help", lambda: isinstance(app.screen, Dialog))
        await shot("help")
        await back()

        # the small terminal: a digit gives its pane the whole screen
        await pilot.resize_terminal(*SMALL)
        await pilot.pause(0.3)
        # the convoy's pane is 3 rows here: a list, each bead with what it needs
        app.query_one("#dag").focus()
        await pilot.press(*["down"] * 5)
        await shot("dag-list-80x24")
        for key, name in (("3", "beads-80x24"), ("2", "dag-80x24"), ("4", "log-80x24")):
            await pilot.press(key)
            await until(pilot, f"pane {key} zoomed", lambda: main.maximized is not None)
            await shot(name)
        main.minimize()
        await pilot.resize_terminal(*SIZE)
        await pilot.pause(0.3)

        # last, as it holds up the town: an open breaker and a paused runtime
        trouble(town, app)
        header = app.query_one("#town-header", TownHeader)
        await until(pilot, "the header's counts", lambda: len(header.active()) >= 2)
        tabs.active = "tab-problems"  # type: ignore[attr-defined]
        table.focus()
        await shot("needs-you")
    return saved


def main() -> int:
    p = argparse.ArgumentParser(description="Regenerate the app's SVG screenshots.")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent))
    p.add_argument("--keep", action="store_true", help="keep the demo town")
    p.add_argument("--no-browser", action="store_true", help="skip browser.png")
    args = p.parse_args()
    from engine.adapters.tmux import socket_name

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = tempfile.mkdtemp(prefix="gastown-shots-")
    try:
        saved = asyncio.run(make(out, root))
        if not args.no_browser:
            from screenshots.browser_shot import browser_shot

            shot = asyncio.run(browser_shot(out, os.path.join(root, "demo"), root))
            saved += [shot] if shot else []
    finally:
        # polecats outlive the app by design; these belong to a throwaway town
        subprocess.run(
            ["tmux", "-L", socket_name(os.path.join(root, "demo")), "kill-server"],
            capture_output=True,
        )
        if args.keep:
            print(f"the demo town is kept at {root}/demo")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\n{len(saved)} screenshots in {out}:")
    described = dict(SHOTS)
    for path in saved:
        print(f"  {path.name:<18} {described.get(path.stem, '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
