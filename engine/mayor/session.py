"""The mayor's session: one per town, in the town's tmux server, named `mayor`.

It runs the town's chosen runtime ([mayor] runtime, else the town's default) through the
same launcher as polecats (engine.polecats.launch: the environment by a private file, `gt`
first on PATH), in a desk of its own under the town's state dir (never a rig worktree: it
holds only the mayor's notes), with its own runtime home (agent_homes) and GT_ROLE=mayor,
so its `gt` calls act as the mayor (engine/cli/context.py). Its pane is piped to
logs/mayor.log, as polecats' are, for the app to show.

Whether the mayor should be running lives in a small file next to its desk (state.json),
not in the ledger: the ledger holds work, this is one process the person switched on. The
session outlives the engine and the app; whoever looks next finds it by its name.

This is the API the app uses: start, stop, status, screen, tell (one line typed into the
session), attach_argv, log path (`paths(town).log`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.adapters.tmux import Tmux, socket_name
from engine.errors import GtError, UsageError
from engine.polecats import agent_homes, launch, proctree, runtimes
from engine.polecats.screens import SCREEN_LINES, ScreenReading, read_screen
from engine.timeutil import iso

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.runtime_specs import RuntimeSpec
    from engine.town import Town

log = logging.getLogger("gastown.mayor")

SESSION = "mayor"  # no '+': the fleet never takes it for a polecat's (fleet.agent_of_session)


class MayorPaths(NamedTuple):
    folder: str  # private: state.json, PROMPT.md
    desk: str  # the session's working directory: the mayor's notes, nothing else
    state: str
    prompt: str
    log: str  # the pane's log (appended; one header line per session)


class MayorStatus(NamedTuple):
    running: bool  # its session exists
    wanted: bool  # started and not stopped: the witness restarts it if it dies
    runtime: str
    session: str
    desk: str
    log: str
    screen: str  # what its screen reads (working, idle, ...); "" when not running
    started_at: str | None
    restarts: int

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


def paths(town: Town) -> MayorPaths:
    folder = os.path.join(town.state_dir, "mayor")
    return MayorPaths(
        folder=folder,
        desk=os.path.join(folder, "desk"),
        state=os.path.join(folder, "state.json"),
        prompt=os.path.join(folder, "PROMPT.md"),
        log=os.path.join(town.logs_dir, "mayor.log"),
    )


def runtime_name(config: TownConfig) -> str:
    return config.mayor.runtime or config.runtime.default


def tmux_of(town: Town) -> Tmux:
    return Tmux(socket_name(town.root))


def read_state(town: Town) -> dict[str, Any]:
    try:
        with open(paths(town).state, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(town: Town, state: dict[str, Any]) -> None:
    p = paths(town)
    launch.private_dir(p.folder)
    tmp = f"{p.state}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh)
    os.replace(tmp, p.state)  # whole or not at all: the watch reads it every tick


def alive(tmux: Tmux) -> bool:
    """Its session exists and its pane still runs (a CLI killed leaves nothing behind)."""
    return any(p.session == SESSION and not p.dead for p in tmux.panes())


def status(town: Town, config: TownConfig, tmux: Tmux | None = None) -> MayorStatus:
    tmux = tmux or tmux_of(town)
    state = read_state(town)
    p = paths(town)
    running = alive(tmux)
    name = state.get("runtime") or runtime_name(config)
    reading = screen(tmux, name) if running else None
    return MayorStatus(
        running=running,
        wanted=bool(state.get("wanted")),
        runtime=name,
        session=SESSION,
        desk=p.desk,
        log=p.log,
        screen=str(reading.state) if reading else "",
        started_at=state.get("started_at"),
        restarts=int(state.get("restarts", 0)),
    )


def screen(tmux: Tmux, runtime: str) -> ScreenReading | None:
    """The mayor's screen read by its runtime's rules (as the witness reads polecats')."""
    try:
        text = tmux.capture(SESSION, SCREEN_LINES)
    except GtError:
        return None
    return read_screen(runtime, text)


def start(
    town: Town, config: TownConfig, ledger: Ledger, *, restarts: int | None = None
) -> MayorStatus:
    """Start the mayor's session with a fresh context, its prompt being `gt prime --role
    mayor`. Refused when one is running. `restarts` is given by the witness (a restart);
    None: a person's start, which counts from zero."""
    from engine.mayor.prime import render

    tmux = tmux_of(town)
    if alive(tmux):
        raise GtError("the mayor is already running (gt mayor status; gt mayor stop first)")
    name = runtime_name(config)
    runtime = runtimes.resolve(name, config.runtime.custom)
    p = paths(town)
    launch.private_dir(p.folder)
    launch.private_dir(p.desk)
    identity = {
        "GT_TOWN": town.root,
        "GT_ROLE": "mayor",
        "GT_SESSION": SESSION,
        "GT_LOG": p.log,
        "GT_RUNTIME": name,
    }
    env = runtimes.agent_env(runtime, identity)
    missing = runtimes.missing_command(runtime, env)
    if missing:
        raise GtError(f"runtime {name!r}: command {missing!r} not found on PATH")
    env.update(
        agent_homes.prepare(
            runtime, name, state_dir=town.state_dir, session=SESSION, worktree=p.desk, env=env
        )
    )
    with open(p.prompt, "w", encoding="utf-8") as fh:
        fh.write(render(ledger, config))
    if tmux.has_session(SESSION):
        end_session(town, tmux)  # a dead pane kept by tmux: gone before the new one
    os.makedirs(town.logs_dir, exist_ok=True)
    with open(p.log, "a", encoding="utf-8") as fh:
        fh.write(f"--- {iso()} session {SESSION} ({name}) ---\n")
    sessions_dir = os.path.join(town.state_dir, "sessions")
    env_file = launch.write_env_file(
        sessions_dir, SESSION, env, gt_dir=os.path.join(town.state_dir, "bin")
    )
    argv = [sys.executable, "-m", "engine.polecats.launch", env_file, p.prompt, "--"]
    try:
        tmux.new_session(SESSION, p.desk, [*argv, *runtime.argv], {})
    except GtError:
        with contextlib.suppress(OSError):
            os.unlink(env_file)
        raise
    try:
        tmux.pipe_to_file(SESSION, p.log)
    except GtError:
        if tmux.has_session(SESSION):
            raise
    state = read_state(town)
    # mail already unread is in its prompt: only what arrives from now on is typed to it
    unread = [m["id"] for m in ledger.mail.inbox(["mayor"], unread_only=True)]
    state.update(
        wanted=True,
        runtime=name,
        started_at=iso(),
        ready_at=time.time() + runtime.ready_delay,
        restarts=restarts or 0,
        restarted_at=time.time() if restarts else state.get("restarted_at", 0.0),
        delivered=unread,
    )
    write_state(town, state)
    log.info("started the mayor (%s) in %s", name, p.desk)
    return status(town, config, tmux)


def stop(town: Town, config: TownConfig) -> MayorStatus:
    """End the session and every process it started; the witness no longer restarts it."""
    tmux = tmux_of(town)
    state = read_state(town)
    if not state.get("wanted") and not tmux.has_session(SESSION):
        raise GtError("the mayor is not running (gt mayor start)")
    state["wanted"] = False
    write_state(town, state)  # first: the watch must not restart what we are stopping
    end_session(town, tmux)
    return status(town, config, tmux)


def end_session(town: Town, tmux: Tmux) -> None:
    """The session and every process it started (a CLI's children outlive a tmux kill),
    found before the kill re-parents them (as the fleet ends a polecat's)."""
    pids: set[int] = set()
    for pane in tmux.panes():
        if pane.session == SESSION and pane.pane_pid:
            pids |= proctree.descendants(pane.pane_pid)
    pids |= proctree.with_env({"GT_TOWN": town.root, "GT_SESSION": SESSION})
    tmux.kill_session(SESSION)
    deadline = time.monotonic() + 2.0
    while tmux.has_session(SESSION) and time.monotonic() < deadline:
        time.sleep(0.02)
    survivors = proctree.terminate(pids)
    if survivors:
        log.warning("processes of the mayor survived SIGKILL: %s", sorted(survivors))


def check_line(text: str) -> str:
    """A line for the mayor: refused (one-line UsageError) if empty or it holds a control
    character (it would act on the CLI: Ctrl-C, ESC, an early Enter)."""
    from engine.safetext import check_typed

    return check_typed(text, "a line for the mayor")


def tell(town: Town, config: TownConfig, text: str) -> None:
    """Type one line into the mayor's session, literally, then press Enter separately
    (a CLI may take an Enter glued to a paste as part of it: the runtime's submit delay)."""
    check_line(text)
    tmux = tmux_of(town)
    if not alive(tmux):
        raise UsageError("the mayor is not running (gt mayor start)")
    type_line(tmux, text, submit_delay(config, read_state(town)))


def submit_delay(config: TownConfig, state: dict[str, Any]) -> float:
    name = state.get("runtime") or runtime_name(config)
    spec: RuntimeSpec | None = runtimes.all_runtimes(config.runtime.custom).get(name)
    return max(spec.submit_delay if spec else 0.0, 0.05)


def type_line(tmux: Tmux, text: str, delay: float) -> None:
    tmux.send_literal(SESSION, text, enter=False)
    time.sleep(delay)
    tmux.send_literal(SESSION, "", enter=True)


def attach_argv(town: Town) -> list[str]:
    tmux = tmux_of(town)
    if not alive(tmux):
        raise GtError("the mayor is not running (gt mayor start)")
    return tmux.attach_argv(SESSION)
