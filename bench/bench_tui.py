"""The app under load: keypress-to-frame latency, screen updates, CPU and memory.

A town with 50 working polecats (5 rigs x 10; ledger state built through the API and
dispatched by a RecordingDispatcher: no tmux, no LLM), ~290 beads in the table and a
30-bead convoy in the DAG. The app (GasTownApp with an Engine on that dispatcher,
refinery off) runs headless via `app.run_test(size=(200, 50))` and is driven by keys the
way a person reads the town: down/up through the bead table, tab to the log pane and
back, the five filters in turn, enter on a bead (its detail screen) and escape, 20-80 ms
apart.

Latency runs from just before the key is handed to the app (as the terminal driver
hands it: `driver.send_message(Key)`; Pilot.press would also wait for every queue to
drain) to the end of the first compositor frame rendered once the key's effect is in the
app's state: `App._display` is wrapped, and at each frame the key's check runs (the cursor
row moved, focus moved, the next filter's rows are in the table, the detail screen is
current or gone). Headless, `_display` renders the frame's segments but does not write
them to a terminal, so a real terminal adds its own write time on top.

Phases, in one process (the app's):
  idle, at rest     no keys, nothing writing: what watching a quiet town costs
  idle              keys; the polecats' session logs exist, nothing writes (the floor)
  loaded, at rest   no keys; a writer process appends 50 lines/s (ANSI colour) to each of
                    the 50 logs and records 25 checkpoints/s in the ledger (events: the
                    app refreshes at its cap of 10/s)
  loaded            keys, under that load (--minutes, default 10)
  loaded, tiled     keys, with the tiled log view on (v): 50 live panes
Then a second town, in a second app in the same process, with the real dispatcher:
  dispatch town, idle   keys; one real rig (a git repository made here), 20 ready beads
  dispatching           keys; the 20 beads are slung as the phase starts, so the embedded
                        engine runs 20 `git worktree add` + 20 tmux sessions (script
                        runtime, each agent logs for the whole phase) while keys are pressed
The second town's tmux server is private (its own socket, TMUX_TMPDIR in the temp dir) and
is killed at the end.

Reported: latency median / p95 per phase and per key; frames/s (compositor updates) and
town refreshes/s (snapshot + widget updates, capped at 10/s by design); the app process's
CPU (process time / wall: the writer is another process, the engine's ledger thread is in
this one) and its RSS over time.

The app runs with calm_gc on, as the `gastown` command runs it; --default-gc leaves
Python's collector as it is, to compare.

Usage: python bench/bench_tui.py [--quick] [--minutes N] [--rest S] [--profile [rest]]
                                [--default-gc] [--no-dispatch]
  --quick       ~60 s in all (loaded phase ~12 s, dispatching ~6 s)
  --minutes N   length of the loaded phase (default 10)
  --rest S      length of the two at-rest phases (quick 3 s, else 30 s)
  --profile     cProfile the loaded phase (--profile rest: the loaded, at rest phase);
                print the top functions
  --no-dispatch skip the second town (its dispatching phase needs git and tmux)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from common import PYTHON, REPO, median, ms, p95, print_table

RIGS = 5
PER_RIG = 10
WORKING = RIGS * PER_RIG
LINES_PER_SECOND = 50
EVENTS_PER_SECOND = 25  # each polecat checkpoints every 2 s: ledger events for the app
CLOSED, OPEN, BLOCKED, CONVOY = 150, 40, 20, 30
DISPATCH = 20  # polecats the dispatching phase starts for real
SIZE = (200, 50)
AIM_P95 = 0.100
AIM_REST_CPU = 0.25  # watching the loaded town, no keys: a quarter of a core at most


# ---- the town ----------------------------------------------------------------------------


def build_town(root: str) -> tuple[Any, Any, Any, list[str]]:
    """A town with WORKING polecats at work. Returns (town, config, dispatcher, log paths)."""
    from engine.config import SchedulerSettings, TownConfig, WitnessSettings
    from engine.ledger import Ledger
    from engine.polecats import seance
    from engine.scheduler.reconciler import Scheduler
    from engine.town import init_town
    from engine.views.town_snapshot import current_log
    from tests.recording import RecordingDispatcher

    town = init_town(os.path.join(root, "town"))
    config = TownConfig(
        scheduler=SchedulerSettings(
            max_polecats=WORKING, max_polecats_per_rig=PER_RIG, idle_retire_seconds=86_400
        ),
        # no session exists to show progress: keep the witness from calling them stalled
        witness=WitnessSettings(stall_seconds=1e7, gupp_seconds=1e7),
    )
    dispatcher = RecordingDispatcher()
    rng = random.Random(3)
    ledger = Ledger(town.ledger_path)
    try:
        rigs = [f"rig{i}" for i in range(RIGS)]
        for i, name in enumerate(rigs):
            ledger.rigs.add(
                name,
                prefix=f"r{i}",
                source="/dev/null",
                path=f"/nowhere/{name}",
                capabilities=[],
                gates=[],
            )
        plan = []
        for i in range(CONVOY):
            needs = [f"k{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 2)))]
            plan.append(
                {
                    "key": f"k{i}",
                    "title": f"Convoy step {i}: {rng.choice(WORDS)} the {rng.choice(NOUNS)}",
                    "rig": rigs[i % RIGS],
                    "priority": rng.randint(0, 3),
                    "type": "task",
                    "needs": needs,
                }
            )
        ledger.convoys.create_planned("Release 2.0", plan, staged=False, actor="mayor")
        for i in range(WORKING):
            ledger.beads.create(
                f"Work item {i}: {rng.choice(WORDS)} the {rng.choice(NOUNS)}",
                rig=rigs[i % RIGS],
                priority=rng.randint(0, 4),
                slung=True,
                created_by="mayor",
            )
        first_open = None
        for i in range(OPEN):
            bead = ledger.beads.create(
                f"Backlog {i}: {rng.choice(WORDS)} the {rng.choice(NOUNS)}",
                rig=rigs[i % RIGS],
                priority=rng.randint(0, 4),
            )
            first_open = first_open or bead["id"]
        for i in range(BLOCKED):
            ledger.beads.create(
                f"Later {i}: {rng.choice(WORDS)} the {rng.choice(NOUNS)}",
                rig=rigs[i % RIGS],
                deps=[(first_open, "blocks")] if first_open else [],
            )
        for i in range(CLOSED):
            bead = ledger.beads.create(
                f"Done {i}: {rng.choice(WORDS)} the {rng.choice(NOUNS)}", rig=rigs[i % RIGS]
            )
            ledger.beads.close(bead["id"], reason="done", actor="mayor")
        Scheduler(ledger, config).reconcile(dispatcher)
        agents = [a for a in ledger.agents.list() if a["hook"]]
        assert len(agents) == WORKING, f"{len(agents)} polecats at work, wanted {WORKING}"
        paths = []
        os.makedirs(town.logs_dir, exist_ok=True)
        for a in agents:
            path = seance.log_path(town.logs_dir, a["rig"], a["name"], str(a["hook"]), a["attempt"])
            with open(path, "w", encoding="utf-8") as fh:
                for n in range(100):
                    fh.write(log_line(a["name"], n) + "\n")
            assert current_log(town, a) == path
            paths.append(path)
    finally:
        ledger.close()
    return town, config, dispatcher, paths


WORDS = ("fix", "add", "refactor", "document", "speed up", "test", "wire", "split")
NOUNS = ("parser", "cache", "login page", "scheduler", "exporter", "CLI", "API", "report")
COLOURS = ("\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[1;35m", "\x1b[31m")


def log_line(agent: str, n: int) -> str:
    c = COLOURS[n % len(COLOURS)]
    return (
        f"{c}[{agent}]\x1b[0m step {n}: \x1b[1m{WORDS[n % len(WORDS)]}\x1b[0m the "
        f"{NOUNS[n % len(NOUNS)]} … {'ok' if n % 7 else chr(27) + '[31mretry' + chr(27) + '[0m'}"
    )


def git(cwd: str, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def build_dispatch_town(root: str, agent_seconds: float) -> tuple[Any, list[str]]:
    """A town with one real rig (a git repository made here, cloned by add_rig) and
    DISPATCH ready, unslung beads whose script keeps its agent alive `agent_seconds`.
    Capacity comes from its town.toml, as a person would set it. Returns (town, bead ids)."""
    from engine.ledger import Ledger
    from engine.rig_setup import add_rig
    from engine.town import init_town

    src = os.path.join(root, "src")
    os.makedirs(src)
    git(src, "init", "-q", "-b", "main")
    with open(os.path.join(src, "README.md"), "w", encoding="utf-8") as fh:
        fh.write("# demo\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "initial")

    town = init_town(os.path.join(root, "dtown"))
    with open(town.config_path, encoding="utf-8") as fh:
        toml = fh.read()
    for key in ("max_polecats", "max_polecats_per_rig"):
        toml, n = re.subn(rf"(?m)^{key} = \d+", f"{key} = {DISPATCH}", toml)
        assert n == 1, f"town.toml has no {key} line to set"
    with open(town.config_path, "w", encoding="utf-8") as fh:
        fh.write(toml)
    assert town.config().scheduler.max_polecats_per_rig == DISPATCH

    # `log` writes a line every 0.1 s to the session log: live agents, a live log pane
    body = f'```gt-script\nlog {round(agent_seconds * 10)} 0.1\nwrite x.txt x\ncommit "x"\n```\n'
    ledger = Ledger(town.ledger_path)
    try:
        add_rig(town, ledger, "web", src, prefix="gt", capabilities=[], gates=[])
        ids = [
            ledger.beads.create(
                f"Dispatch {i}: {WORDS[i % len(WORDS)]} the {NOUNS[i % len(NOUNS)]}",
                rig="web",
                priority=2,
                body=body,
            )["id"]
            for i in range(DISPATCH)
        ]
    finally:
        ledger.close()
    return town, ids


def writer_main(paths_file: str, rate: float, events: float, town_root: str) -> int:
    """The writer process: append `rate` lines a second to every log, and record `events`
    checkpoints a second in the ledger (random polecats at work), until killed."""
    from engine.ledger import Ledger
    from engine.town import Town

    with open(paths_file, encoding="utf-8") as fh:
        paths = [p for p in fh.read().split("\n") if p]
    files = [open(p, "a", encoding="utf-8") for p in paths]  # noqa: SIM115
    names = [os.path.basename(p).split("+")[1] for p in paths]
    ledger = Ledger(Town(town_root).ledger_path)
    agents = [(a["id"], a["attempt"]) for a in ledger.agents.list() if a["hook"]]
    rng = random.Random(5)
    n = 100
    period = 1.0 / rate
    every = max(1, round(rate / events)) if events else 0
    next_t = time.monotonic()
    while True:
        for fh, name in zip(files, names, strict=True):
            fh.write(log_line(name, n) + "\n")
            fh.flush()
        if every and n % every == 0:
            for _ in range(max(1, round(events / rate))):
                agent, attempt = rng.choice(agents)
                ledger.agents.record(
                    agent, "checkpoint", attempt=attempt, data={"text": f"step {n}"}
                )
        n += 1
        next_t += period
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def at_row(table: Any, row: int) -> bool:
    return bool(table.cursor_row == row)


def filtered(app: Any, table: Any, name: str) -> bool:
    """The filter is chosen and the table says so (its rows are that filter's)."""
    return bool(app.bead_filter == name and str(table.border_title).startswith(f"Beads · {name} "))


# ---- the measurements --------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    keys: bool = True
    latencies: dict[str, list[float]] = field(default_factory=dict)
    timeouts: int = 0
    missed: dict[str, int] = field(default_factory=dict)  # key -> presses never shown
    wall: float = 0.0
    cpu: float = 0.0
    frames: int = 0
    refreshes: int = 0
    rss: list[tuple[float, int]] = field(default_factory=list)

    def all(self) -> list[float]:
        return [x for xs in self.latencies.values() for x in xs]


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class FrameClock:
    """Wraps App._display: counts frames, and resolves a pending keypress at the first
    frame rendered once its effect is in the app's state."""

    def __init__(self, app: Any) -> None:
        self.frames = 0
        self._pending: tuple[Callable[[], bool], asyncio.Future[float]] | None = None
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            self.frames += 1
            if self._pending is not None:
                done, fut = self._pending
                try:
                    shown = done()
                except Exception:
                    shown = False
                if shown and not fut.done():
                    fut.set_result(time.perf_counter())
                    self._pending = None

        app._display = display

    def expect(self, done: Callable[[], bool]) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pending = (done, fut)
        return fut


class Driver:
    """The key script: each step is (key, the app state that shows it took effect)."""

    def __init__(self, app: Any, pilot: Any, clock: FrameClock, rng: random.Random) -> None:
        self.app, self.pilot, self.clock, self.rng = app, pilot, clock, rng

    def send_key(self, key: str) -> None:
        """Hand a key to the app as its terminal driver does, without Pilot.press's
        waits for every queue to drain (the frame clock sees when the key took effect)."""
        import unicodedata

        from textual import events
        from textual.keys import REPLACED_KEYS, _get_unicode_name_from_key

        char: str | None
        try:
            char = unicodedata.lookup(_get_unicode_name_from_key(REPLACED_KEYS.get(key, key)))
        except KeyError:
            char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(self.app)
        self.app._driver.send_message(event)

    def table(self) -> Any:
        return self.app.query_one("#beads")

    async def press(self, phase: Phase, label: str, key: str, done: Callable[[], bool]) -> None:
        fut = self.clock.expect(done)
        t0 = time.perf_counter()
        self.send_key(key)
        try:
            t1 = await asyncio.wait_for(fut, timeout=5.0)
        except TimeoutError:
            phase.timeouts += 1
            phase.missed[label] = phase.missed.get(label, 0) + 1
            self.clock._pending = None
            if os.environ.get("BENCH_TUI_DEBUG"):
                app, table = self.app, self.table()
                print(
                    f"missed {label}: screen={type(app.screen).__name__} "
                    f"focused={getattr(app.focused, 'id', None)} rows={table.row_count} "
                    f"cursor={table.cursor_row} filter={app.bead_filter} "
                    f"workers={[(w.name, w.state.name) for w in app.workers]}",
                    flush=True,
                )
            return
        phase.latencies.setdefault(label, []).append(t1 - t0)
        await asyncio.sleep(self.rng.uniform(0.02, 0.08))  # a person's pace, keys apart

    async def cycle(self, phase: Phase) -> None:
        from gastown_tui.screens.detail import DetailScreen
        from gastown_tui.widgets.bead_table import FILTERS

        app, table = self.app, self.table()
        if app.focused is not table:
            table.focus()
            await self.pilot.pause()
        for key, step in (("down", 1), ("up", -1)):
            for _ in range(4):
                want: int = table.cursor_row + step
                await self.press(phase, f"{key} (bead table)", key, partial(at_row, table, want))
        await self.press(phase, "tab (to the log)", "tab", lambda: app.focused is not table)
        await self.press(phase, "shift+tab (back)", "shift+tab", lambda: app.focused is table)
        for _ in FILTERS:
            nxt = FILTERS[(FILTERS.index(app.bead_filter) + 1) % len(FILTERS)]
            await self.press(
                phase,
                "f (next filter)",
                "f",
                partial(filtered, app, table, nxt),
            )
        await self.press(
            phase, "enter (bead detail)", "enter", lambda: isinstance(app.screen, DetailScreen)
        )
        await self.press(
            phase,
            "escape (close detail)",
            "escape",
            lambda: not isinstance(app.screen, DetailScreen),
        )

    async def run(self, phase: Phase, seconds: float, rss_every: float) -> None:
        app = self.app
        t_start, cpu0 = time.perf_counter(), time.process_time()
        frames0, refreshes0 = self.clock.frames, app.refreshes
        phase.rss.append((0.0, rss_kib()))
        next_rss = rss_every
        while True:
            if phase.keys:
                await self.cycle(phase)
            else:
                await asyncio.sleep(0.25)
            now = time.perf_counter() - t_start
            if now >= next_rss:
                phase.rss.append((now, rss_kib()))
                next_rss += rss_every
            if now >= seconds:
                break
        phase.wall = time.perf_counter() - t_start
        phase.cpu = time.process_time() - cpu0
        phase.frames = self.clock.frames - frames0
        phase.refreshes = app.refreshes - refreshes0
        phase.rss.append((phase.wall, rss_kib()))


async def scenario(args: argparse.Namespace, tmp: str) -> list[Phase]:
    from engine.engine import Engine
    from gastown_tui.app import GasTownApp

    t0 = time.perf_counter()
    town, config, dispatcher, paths = build_town(tmp)
    print(
        f"town: {WORKING} polecats at work in {RIGS} rigs, "
        f"{CLOSED + OPEN + BLOCKED + CONVOY + WORKING} beads; built in "
        f"{time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    paths_file = os.path.join(tmp, "paths.txt")
    with open(paths_file, "w", encoding="utf-8") as fh:
        fh.write("\n".join(paths))

    quick = args.quick
    rest_s = args.rest if args.rest is not None else (3.0 if quick else 30.0)
    idle_s = 6.0 if quick else 60.0
    loaded_s = 12.0 if quick else args.minutes * 60.0
    tiled_s = 5.0 if quick else 60.0
    rss_every = 3.0 if quick else 30.0

    engine = Engine(town, dispatcher=dispatcher, config=config, refinery=False)
    # calm_gc as the `gastown` command runs the app (see gastown_tui.app.calm_gc)
    app = GasTownApp(town, engine=engine, calm_gc=not args.default_gc)
    phases = []
    rng = random.Random(11)
    prof = cProfile.Profile() if args.profile else None
    async with app.run_test(size=SIZE) as pilot:
        clock = FrameClock(app)
        while app.refreshes < 1:
            await pilot.pause(0.05)
        driver = Driver(app, pilot, clock, rng)
        await driver.run(Phase("warm-up"), 2.0, 60.0)

        async def phase(name: str, seconds: float, keys: bool = True) -> None:
            ph = Phase(name, keys=keys)
            print(f"{name}: {seconds:.0f} s ...", flush=True)
            await driver.run(ph, seconds, rss_every)
            phases.append(ph)

        await phase("idle, at rest", rest_s, keys=False)
        await phase("idle", idle_s)
        argv = [PYTHON, __file__, "--writer", paths_file]
        argv += [str(LINES_PER_SECOND), str(EVENTS_PER_SECOND), town.root]
        writer = subprocess.Popen(argv, cwd=REPO)
        try:
            await asyncio.sleep(2.0)
            if prof and args.profile == "rest":
                prof.enable()
            await phase("loaded, at rest", rest_s, keys=False)
            if prof and args.profile == "rest":
                prof.disable()
            if prof and args.profile == "loaded":
                prof.enable()
            await phase("loaded", loaded_s)
            if prof and args.profile == "loaded":
                prof.disable()
            await pilot.press("v")
            await pilot.pause(1.0)
            await phase("loaded, tiled logs", tiled_s)
            await pilot.press("v")
        finally:
            writer.kill()
            writer.wait()
    if not args.no_dispatch:
        phases += await dispatch_scenario(args, tmp, rng)
    if args.profile and prof:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
        stats.print_stats(30)
        print(f"\n## cProfile of the {args.profile} phase (top 30 by cumulative time)")
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
        print(f"\n## cProfile of the {args.profile} phase (top 20 by own time)")
        print(out.getvalue())
    return phases


async def dispatch_scenario(args: argparse.Namespace, tmp: str, rng: random.Random) -> list[Phase]:
    """The second town: its idle floor, then 20 real dispatches while keys are pressed."""
    from engine.adapters.tmux import Tmux, socket_name
    from engine.engine import Engine
    from gastown_tui.app import GasTownApp

    if shutil.which("tmux") is None or shutil.which("git") is None:
        print("dispatching: skipped (needs tmux and git)", flush=True)
        return []
    quick = args.quick
    idle_s = 4.0 if quick else 30.0
    dispatch_s = 6.0 if quick else 30.0
    # The town's tmux server and its socket live in the temp dir, never the person's
    # tmux; the agents find `gt` next to this interpreter; /bin/sh keeps shells plain.
    os.environ["TMUX_TMPDIR"] = os.path.join(tmp, "tmux")
    os.makedirs(os.environ["TMUX_TMPDIR"], mode=0o700)
    os.environ["PATH"] = os.path.dirname(PYTHON) + os.pathsep + os.environ.get("PATH", "")
    os.environ["SHELL"] = "/bin/sh"
    town, ids = build_dispatch_town(tmp, agent_seconds=dispatch_s + 10.0)
    tmux = Tmux(socket_name(town.root))
    phases: list[Phase] = []
    engine = Engine(town, refinery=False)  # the real dispatcher, from its town.toml
    app = GasTownApp(town, engine=engine, calm_gc=not args.default_gc)
    try:
        async with app.run_test(size=SIZE) as pilot:
            clock = FrameClock(app)
            while app.refreshes < 1:
                await pilot.pause(0.05)
            driver = Driver(app, pilot, clock, rng)
            await driver.run(Phase("warm-up"), 2.0, 60.0)
            ph = Phase("dispatch town, idle")
            print(f"{ph.name}: {idle_s:.0f} s ...", flush=True)
            await driver.run(ph, idle_s, 3.0)
            phases.append(ph)

            started: list[float] = []

            async def sling_all() -> None:
                t0 = time.perf_counter()
                for bead in ids:  # as the app slings: one bead at a time
                    await engine.sling(bead)
                # sessions up, as tmux itself lists them
                while len(await asyncio.to_thread(tmux.panes)) < DISPATCH:
                    if time.perf_counter() - t0 > 60:
                        return
                    await asyncio.sleep(0.1)
                started.append(time.perf_counter() - t0)

            ph = Phase("dispatching")
            print(f"{ph.name}: {dispatch_s:.0f} s, {DISPATCH} polecats ...", flush=True)
            slinging = asyncio.create_task(sling_all())
            await driver.run(ph, dispatch_s, 3.0)
            phases.append(ph)
            live = len(await asyncio.to_thread(tmux.panes))
            if not slinging.done():
                slinging.cancel()
            elif slinging.exception() is not None:
                print(f"dispatching: slinging failed: {slinging.exception()!r}", flush=True)
            worktrees = (
                git(os.path.join(town.rig_dir("web"), "repo"), "worktree", "list").count("\n") + 1
            )
            print(
                f"dispatching: {live} tmux sessions live at the end, {worktrees - 1} polecat "
                f"worktrees; all {DISPATCH} sessions up "
                + (f"{started[0]:.1f} s after the first sling" if started else "NOT in time"),
                flush=True,
            )
    finally:
        tmux.kill_server()  # sessions outlive an engine on purpose: this town is gone
    return phases


def report(all_phases: list[Phase]) -> None:
    phases = [ph for ph in all_phases if ph.keys]
    idle = phases[0]
    floor = {k: median(v) for k, v in idle.latencies.items()}
    floor_all_med, floor_all_p95 = median(idle.all()), p95(idle.all())
    rows = []
    for ph in phases:
        xs = ph.all()
        rows.append(
            [
                ph.name,
                len(xs),
                ms(median(xs)),
                ms(p95(xs)),
                ms(max(xs)),
                f"{median(xs) / floor_all_med:.2f}x",
                f"{p95(xs) / floor_all_p95:.2f}x",
                ph.timeouts,
            ]
        )
    print_table(
        "keypress -> frame latency, all keys (ms); floor = the idle town",
        ["phase", "keys", "median", "p95", "max", "median vs idle", "p95 vs idle", "timeouts"],
        rows,
    )
    for ph in phases[1:]:
        rows = []
        for label, xs in ph.latencies.items():
            base = idle.latencies.get(label) or [float("nan")]
            rows.append(
                [
                    label,
                    len(xs),
                    ms(median(base)),
                    ms(p95(base)),
                    ms(median(xs)),
                    ms(p95(xs)),
                    f"{median(xs) / floor.get(label, float('nan')):.2f}x",
                ]
            )
        print_table(
            f"by key: {ph.name} vs idle (ms)",
            ["key", "n", "idle median", "idle p95", "median", "p95", "vs idle"],
            rows,
        )
    rows = []
    for ph in all_phases:
        rows.append(
            [
                ph.name + ("" if ph.keys else " (no keys)"),
                f"{ph.wall:.1f}",
                f"{ph.frames / ph.wall:.1f}",
                f"{ph.refreshes / ph.wall:.1f}",
                f"{100 * ph.cpu / ph.wall:.0f}%",
                f"{ph.cpu:.1f}",
                f"{ph.rss[0][1] / 1024:.1f}",
                f"{ph.rss[-1][1] / 1024:.1f}",
            ]
        )
    print_table(
        "screen updates, CPU and memory of the app process",
        [
            "phase",
            "wall s",
            "frames/s",
            "town refreshes/s (cap 10)",
            "CPU (of a core)",
            "CPU s",
            "RSS start MiB",
            "RSS end MiB",
        ],
        rows,
    )
    loaded = next(ph for ph in phases if ph.name == "loaded")
    print_table(
        "RSS of the app process over the loaded phase",
        ["t (s)", "RSS MiB"],
        [[f"{t:.0f}", f"{kib / 1024:.1f}"] for t, kib in loaded.rss],
    )
    dispatching = next((ph for ph in phases if ph.name == "dispatching"), None)
    if dispatching is not None:
        own = next(ph for ph in phases if ph.name == "dispatch town, idle")
        xs = dispatching.all()
        print(
            f"\naims (dispatching {DISPATCH} polecats): p95 {ms(p95(xs))} ms within 2x of "
            f"idle: {p95(xs) / floor_all_p95:.2f}x the idle town "
            f"({'yes' if p95(xs) <= 2 * floor_all_p95 else 'NO'}), "
            f"{p95(xs) / p95(own.all()):.2f}x the same town idle "
            f"({'yes' if p95(xs) <= 2 * p95(own.all()) else 'NO'})"
        )
    xs = loaded.all()
    print(
        f"\naims: p95 {ms(p95(xs))} ms < 100 ms: {'yes' if p95(xs) < AIM_P95 else 'NO'}; "
        f"p95 within 2x of idle ({p95(xs) / floor_all_p95:.2f}x): "
        f"{'yes' if p95(xs) <= 2 * floor_all_p95 else 'NO'}; "
        f"RSS {loaded.rss[0][1] / 1024:.0f} -> {loaded.rss[-1][1] / 1024:.0f} MiB over "
        f"{loaded.wall / 60:.1f} min"
    )
    rest = next((ph for ph in all_phases if ph.name == "loaded, at rest"), None)
    if rest is not None:
        share = rest.cpu / rest.wall
        print(
            f"aims: watching the loaded town at rest costs {100 * share:.0f}% of a core "
            f"({rest.cpu:.1f} CPU s in {rest.wall:.1f} s) <= {100 * AIM_REST_CPU:.0f}%: "
            f"{'yes' if share <= AIM_REST_CPU else 'NO'}"
        )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        return writer_main(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument(
        "--profile",
        nargs="?",
        const="loaded",
        choices=["loaded", "rest"],
        help="cProfile a phase: loaded (the default) or rest (loaded, at rest: no keys)",
    )
    p.add_argument(
        "--rest", type=float, help="length of the two at-rest phases in seconds (quick: 3, else 30)"
    )
    p.add_argument("--no-dispatch", action="store_true", help="skip the dispatching phase")
    p.add_argument(
        "--default-gc",
        action="store_true",
        help="leave Python's garbage collector as it is (no calm_gc), to compare",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tui-") as tmp:
        phases = asyncio.run(scenario(args, tmp))
    report(phases)
    return 0


if __name__ == "__main__":
    sys.exit(main())
