"""The real dispatcher: a worktree and a tmux session per polecat.

Every session runs the fixed launcher (engine.polecats.launch) with the runtime's argv
template; its output is piped to a log file per session under the town's logs/ (kept
after the session ends, for seance). The whole fleet is observed with one tmux call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.adapters.tmux import Tmux, socket_name
from engine.errors import GtError
from engine.polecats import (
    agent_homes,
    launch,
    proctree,
    prompt,
    runtimes,
    seance,
    session_io,
    worktrees,
)
from engine.polecats.dispatcher import (
    Assignment,
    DispatcherHooks,
    DispatchError,
    Launch,
    Started,
)
from engine.timeutil import iso
from engine.upstream import local_clone

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from engine.config import TownConfig
    from engine.ledger import Ledger
    from engine.records import Agent, Bead, Rig
    from engine.town import Town
    from engine.usage import SessionUsage, UsageReader

log = logging.getLogger("gastown.fleet")


def session_name(rig: str, name: str) -> str:
    # '+' cannot appear in rig or polecat names, so the pair is unambiguous.
    return f"{rig}+{name}"


def agent_of_session(session: str) -> str | None:
    rig, sep, name = session.partition("+")
    return f"{rig}/polecats/{name}" if sep and rig and name else None


def session_of_agent(agent_id: str) -> str:
    rig, _, name = agent_id.partition("/polecats/")
    return session_name(rig, name)


def discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class _Details(NamedTuple):
    """What `prepare` read from the ledger for one start."""

    rig_path: str
    bead: Bead
    token: str
    rig: Rig


class TmuxFleet(DispatcherHooks):
    def __init__(self, town: Town, config: TownConfig, ledger: Ledger) -> None:
        self.town = town
        self.config = config
        self.ledger = ledger
        self.tmux = Tmux(socket_name(town.root))
        # each session's environment file, read and deleted by its launcher
        self.sessions_dir = os.path.join(town.state_dir, "sessions")
        # holds only the `gt` shim the launcher puts first on every agent's PATH
        self.gt_dir = os.path.join(town.state_dir, "bin")
        self.custom_runtimes = config.runtime.custom
        # when each session started (monotonic) and how long its CLI takes to be ready:
        # nothing is typed into it before (a key pressed during start-up is lost or
        # answers a start-up screen). Sessions adopted after a restart count as ready.
        self._ready_at: dict[str, float] = {}
        # when a nudge was last typed into each agent's session (the ledger's clock): its
        # echo in the pane is not the agent's progress (the witness asked a tick earlier)
        self._typed_at: dict[str, float] = {}
        self._usage: UsageReader | None = None

    # ---- Dispatcher ----------------------------------------------------------------------

    def start(self, a: Assignment) -> Started:
        return self.launch(self.prepare(a))

    def prepare(self, a: Assignment) -> Launch:
        """The ledger side, on the ledger thread: the rig, the bead, a fresh token."""
        try:
            rig = self.ledger.rigs.require(a.rig)
            bead = self.ledger.beads.require(a.bead_id)
            # Who this session is, for the ledger: a fresh token per dispatch, stored hashed.
            token = self.ledger.agents.issue_token(a.agent_id, a.attempt)
        except GtError as exc:
            raise DispatchError(exc.message) from None
        # this host's clone (engine/upstream.py), not the path the adding town recorded
        rig_path = local_clone(self.town, rig["name"])
        return Launch(a, _Details(rig_path=rig_path, bead=bead, token=token, rig=rig))

    def launch(self, plan: Launch) -> Started:
        """The git and tmux side, on the adapters' thread: nothing here touches the ledger."""
        try:
            return self._launch(plan.assignment, plan.details)
        except GtError as exc:
            raise DispatchError(exc.message) from None

    def _launch(self, a: Assignment, details: _Details) -> Started:
        bead = details.bead
        if self.town.shared_ledger and not os.path.isdir(os.path.join(details.rig_path, ".git")):
            # a rig added on another host since this one joined: clone it here first
            from engine.upstream import ensure_local_clone

            ensure_local_clone(self.town, details.rig)
        runtime_name = a.runtime or self.config.runtime.default
        runtime = runtimes.resolve(runtime_name, self.custom_runtimes)
        session = session_name(a.rig, a.agent_name)
        logfile = seance.log_path(self.town.logs_dir, a.rig, a.agent_name, a.bead_id, a.attempt)
        identity = {
            "GT_TOWN": self.town.root,
            "GT_RIG": a.rig,
            "GT_AGENT": a.agent_name,
            "GT_AGENT_ID": a.agent_id,
            "GT_BEAD": a.bead_id,
            "GT_ATTEMPT": str(a.attempt),
            "GT_ROLE": "polecat",
            "GT_SESSION": session,
            "GT_LOG": logfile,
            "GT_RUNTIME": runtime_name,
        }
        env = runtimes.agent_env(runtime, identity)
        missing = runtimes.missing_command(runtime, env)
        if missing:
            raise DispatchError(f"runtime {runtime_name!r}: command {missing!r} not found on PATH")
        if self.tmux.has_session(session):
            # A stale session of this agent, or its last one still finishing after `gt done`
            # (agent_checks keeps those a while): new work does not wait for it. Its work is
            # landed and its pane log kept; only a closing remark can be cut short. Ended
            # before the worktree moves: a session still alive after a crash is then always
            # on its own bead's branch, which is what adopting it checks.
            log.info("ending the earlier session %s before new work", session)
            self._end_session(session)
        polecats_dir = os.path.join(self.town.rig_dir(a.rig), "polecats")
        # a rework starts from the previous attempt's work, not from main
        start = bead["metadata"].get("base_commit")
        path, branch = worktrees.ensure(
            details.rig_path, polecats_dir, a.agent_name, a.bead_id, start=start
        )
        env["GT_WORKTREE"] = path
        env["GT_BRANCH"] = branch
        # the CLI's config home is the agent's own, never the person's (agent_homes)
        env.update(
            agent_homes.prepare(
                runtime,
                runtime_name,
                state_dir=self.town.state_dir,
                session=session,
                worktree=path,
                env=env,
            )
        )
        state = os.path.join(path, ".gastown")
        os.makedirs(state, exist_ok=True)
        prompt_file = os.path.join(state, "PROMPT.md")
        with open(prompt_file, "w", encoding="utf-8") as fh:
            fh.write(
                prompt.render(
                    bead,
                    agent=a.agent_name,
                    rig=a.rig,
                    branch=branch,
                    attempt=a.attempt,
                    last_error=bead.get("last_error"),
                )
            )
        os.makedirs(self.town.logs_dir, exist_ok=True)
        with open(logfile, "a", encoding="utf-8") as fh:
            fh.write(
                f"--- {iso()} session {session} on {a.bead_id} attempt {a.attempt} "
                f"({runtime_name}) ---\n"
            )
        self._sweep_env_files()
        env["GT_AGENT_TOKEN"] = details.token
        # The environment goes by a file only we can read, never on tmux's command line.
        env_file = launch.write_env_file(self.sessions_dir, session, env, gt_dir=self.gt_dir)
        argv = [
            sys.executable,
            "-m",
            "engine.polecats.launch",
            env_file,
            prompt_file,
            "--",
            *runtime.argv,
        ]
        try:
            self.tmux.new_session(session, path, argv, {})
        except GtError:
            discard(env_file)
            raise
        self._ready_at[session] = time.monotonic() + runtime.ready_delay
        try:
            self.tmux.pipe_to_file(session, logfile)
        except GtError:
            if self.tmux.has_session(session):
                raise
            # The agent already exited (an instant failure); the witness sees it gone.
            discard(env_file)  # if its launcher never ran, the file still holds the secrets
        log.info("started %s in %s on %s", session, path, branch)
        return Started(session=session, worktree=path, branch=branch)

    def describe(self, a: Assignment) -> Started:
        """Where a session started before a crash lives (for adopting it)."""
        path = os.path.join(self.town.rig_dir(a.rig), "polecats", a.agent_name)
        branch = None
        if os.path.isdir(path):
            try:
                branch = worktrees.current_branch(path)
            except GtError:
                branch = None
        return Started(
            session=session_name(a.rig, a.agent_name),
            worktree=path if os.path.isdir(path) else None,
            branch=branch,
        )

    def stop(self, agent_id: str) -> None:
        self._end_session(session_of_agent(agent_id))

    def _end_session(self, session: str) -> None:
        """The session and every process it started (proctree: a CLI's children outlive
        a tmux kill), found before the kill re-parents them."""
        self._ready_at.pop(session, None)
        pids = set()
        for pane in self.tmux.panes():
            if pane.session == session and pane.pane_pid:
                pids |= proctree.descendants(pane.pane_pid)
        pids |= proctree.with_env({"GT_TOWN": self.town.root, "GT_SESSION": session})
        self.tmux.kill_session(session)
        # confirmed dead: a session that survives kill-session is an invariant breach
        deadline = time.monotonic() + 2.0
        while self.tmux.has_session(session) and time.monotonic() < deadline:
            time.sleep(0.02)
        survivors = proctree.terminate(pids)
        if survivors:
            log.warning("processes of %s survived SIGKILL: %s", session, sorted(survivors))

    def alive(self) -> set[str] | None:
        out = set()
        for pane in self.tmux.panes():
            agent = agent_of_session(pane.session)
            if agent and not pane.dead:
                out.add(agent)
        return out

    # ---- engine hooks --------------------------------------------------------------------

    def on_engine_start(self) -> None:
        self._sweep_env_files()
        for rig in self.ledger.rigs.list():
            repo = local_clone(self.town, rig["name"])
            if os.path.isdir(repo):
                try:
                    worktrees.prune(repo)
                except GtError as exc:
                    log.warning("git worktree prune in %s failed: %s", rig["name"], exc)

    def inbox_handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {"nudge": self._nudge}

    def _nudge(self, payload: dict[str, Any]) -> None:
        """Typed literally into the pane; queued while the CLI's screen says not now (busy,
        a dialog, a person's question: session_io); dropped when stale."""
        session = session_of_agent(payload["agent_id"])
        if self.ledger.now() > payload.get("expires_at", float("inf")):
            log.info("a nudge for %s expired unsent", session)
            return
        if not self.tmux.has_session(session):
            log.info("a nudge for %s was dropped: no session", session)
            return
        agent: Mapping[str, Any] | None = self.ledger.agents.get(payload["agent_id"])
        name = (agent or {}).get("runtime") or ""
        session_io.nudge(
            self.tmux,
            session,
            payload["message"],
            runtime_name=name,
            runtime=runtimes.all_runtimes(self.custom_runtimes).get(name),
            ready_at=self._ready_at.get(session, 0.0),
        )
        self._typed_at[payload["agent_id"]] = self.ledger.now()

    def nudged_at(self, agent: Agent) -> float | None:
        return self._typed_at.get(agent["id"])

    def progress_marker(self, agent: Agent) -> float | None:
        """Latest sign of progress on disk: session output written, or a commit made."""
        marks = []
        logfile = self.session_log(agent)
        if logfile:
            with contextlib.suppress(OSError):
                marks.append(os.path.getmtime(logfile))
        worktree = agent.get("worktree")
        if worktree:
            with contextlib.suppress(OSError, ValueError):
                with open(os.path.join(worktree, ".git"), encoding="utf-8") as fh:
                    gitdir = fh.read().split("gitdir:", 1)[1].strip()
                marks.append(os.path.getmtime(os.path.join(gitdir, "logs", "HEAD")))
        return max(marks) if marks else None

    def session_log(self, agent: Agent) -> str | None:
        """The log file of the agent's session on its current hook and attempt."""
        if not agent.get("hook"):
            return None
        return seance.log_path(
            self.town.logs_dir,
            agent["rig"],
            agent["name"],
            agent["hook"],  # type: ignore[arg-type]  # not None: checked above
            agent["attempt"],
        )

    def usage(self, agent: Agent) -> list[SessionUsage]:
        """What the agent's CLI recorded in its private home (agent_homes), read by the
        home's layout (a custom runtime on a known CLI's layout is read like it)."""
        name = agent.get("runtime") or self.config.runtime_for(agent["rig"])
        runtime = runtimes.all_runtimes(self.custom_runtimes).get(name)
        if runtime is None or not runtime.home_layout:
            return []
        session = session_name(agent["rig"], agent["name"])
        home = agent_homes.home_path(self.town.state_dir, session, name)
        if self._usage is None:
            from engine.usage import UsageReader

            self._usage = UsageReader()  # per fleet: re-reads a home only when it changed
        return self._usage.read(runtime.home_layout, home)

    def screens(self, agents: list[Agent]) -> dict[str, str]:
        """One capture per listed agent, as the witness reads it (once per tick)."""
        return session_io.capture_all(
            self.tmux, {a["id"]: session_name(a["rig"], a["name"]) for a in agents}
        )

    def send_keys(self, agent: Agent, keys: tuple[str, ...]) -> None:
        """A known dialog's answer: each key typed literally, ENTER as the Enter key."""
        session_io.type_keys(self.tmux, session_name(agent["rig"], agent["name"]), keys)

    def preserve_work(self, agent: Agent) -> None:
        """Before a kill: whatever is uncommitted is committed to the agent's branch."""
        if agent.get("worktree") and os.path.isdir(agent["worktree"]):  # type: ignore[arg-type]
            try:
                worktrees.preserve_uncommitted(agent["worktree"], reason="agent stopped")  # type: ignore[arg-type]
            except GtError as exc:
                log.warning("could not preserve work in %s: %s", agent["worktree"], exc)

    def on_retire(self, agent: Agent) -> None:
        """A retired polecat's worktree goes — its work stays on its branch, committed."""
        self.stop(agent["id"])
        path = agent.get("worktree")
        if not path or not os.path.isdir(path):
            return
        rig = self.ledger.rigs.get(agent["rig"])
        if rig is None:
            return
        try:
            worktrees.preserve_uncommitted(path, reason="polecat retired")
            worktrees.remove_if_safe(local_clone(self.town, rig["name"]), path)
        except GtError as exc:
            log.warning("kept the worktree of %s: %s", agent["name"], exc)

    def _sweep_env_files(self, older_than: float = 60.0) -> None:
        """Files of sessions whose launcher never ran (the pane died at once, a crash
        between writing and starting): their secrets must not stay on disk."""
        try:
            names = os.listdir(self.sessions_dir)
        except OSError:
            return
        now = time.time()
        for name in names:
            path = os.path.join(self.sessions_dir, name)
            with contextlib.suppress(OSError):
                if now - os.lstat(path).st_mtime > older_than:
                    os.unlink(path)

    def close(self) -> None:
        """Sessions outlive the engine on purpose: a restart re-adopts them. With none
        left, the server goes and so does its socket file (tmux leaves it behind)."""
        if not self.tmux.panes():
            self.tmux.kill_server()
