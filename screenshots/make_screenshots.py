"""Regenerate the app's screenshots (SVG) from a live demo town.

    .venv/bin/python screenshots/make_screenshots.py [--out DIR] [--keep]

Creates the demo town in a temporary directory (engine.demo.ensure_demo_town: two rigs with
real git and a real test gate, an 8-bead convoy worked by the `script` runtime in tmux),
opens the app on it headless (`run_test`, 200x50), waits until polecats are at work and a
bead has landed, adds what a day in town brings (a polecat's escalation and its mail to the
mayor), then walks the main screens by keys and saves each with `App.save_screenshot`.
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
    """What a day in town brings: a polecat escalates, and writes to the mayor."""
    from engine.escalations import escalate
    from engine.ledger import Ledger

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
    finally:
        ledger.close()


async def make(out: Path, root: str) -> list[Path]:
    from engine.demo import ensure_demo_town
    from gastown_tui.app import GasTownApp
    from gastown_tui.screens.detail import DetailScreen
    from gastown_tui.screens.dialogs import Dialog
    from gastown_tui.widgets.bead_table import BeadTable
    from gastown_tui.widgets.rigs_tree import RigsTree

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

        tabs = app.query_one("#bottom")
        tabs.active = "tab-mq"  # type: ignore[attr-defined]
        await shot("merge-queue")
        tabs.active = "tab-problems"  # type: ignore[attr-defined]
        await shot("problems")
        tabs.active = "tab-mail"  # type: ignore[attr-defined]

        await pilot.press("question_mark")
        await until(pilot, "the help", lambda: isinstance(app.screen, Dialog))
        await shot("help")
        await back()
    return saved


def main() -> int:
    p = argparse.ArgumentParser(description="Regenerate the app's SVG screenshots.")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent))
    p.add_argument("--keep", action="store_true", help="keep the demo town")
    args = p.parse_args()
    from engine.adapters.tmux import socket_name

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = tempfile.mkdtemp(prefix="gastown-shots-")
    try:
        saved = asyncio.run(make(out, root))
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
