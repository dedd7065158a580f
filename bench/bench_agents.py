"""Real agent CLIs started by the town: python bench/bench_agents.py [--quick]

  first request   `gt sling` of one bead → the real CLI's first model request, as the
                  scripted model server sees it, for claude, codex and gemini (a fresh town
                  and engine each time; the engine is up before the sling)
  10 at once      `gt sling` of 10 beads → all 10 real Claude Code CLIs have made their
                  first model request, against the floor: 10 bare `git worktree add` +
                  `tmux new-session` running the same claude binary by hand, with the same
                  kind of environment (a private config home each, the scripted server)

The CLIs are the pinned ones (agents/install); the servers are the test suite's scripted
ones on 127.0.0.1. Everything is torn down afterwards: each tmux server killed, every
process the CLIs started ended (checked: a survivor is reported and killed).
--quick: one run of each instead of three.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import median, print_table, quick_flag

from engine.cli.town_cmds import engine_pid
from engine.polecats import proctree
from tests.agent_clis import CliName, agent_cli, claude_env
from tests.model_servers import Script, ScriptedModelServer, Turn
from tests.model_servers.base import Reply
from tests.test_real_agents_convoy import RealTown, new_town
from tests.test_real_agents_e2e import CASES

N = 10
MARKER = "GT_BENCH_AGENTS"


class FirstRequests:
    """Wraps a scripted server: the monotonic time of each new conversation's first main
    request (turn 0), as it arrives."""

    def __init__(self, server: ScriptedModelServer) -> None:
        self.server = server
        self.times: list[float] = []
        self.lock = threading.Lock()
        answer = server.answer

        def timed(method: str, raw_path: str, headers: dict[str, str], raw_body: bytes) -> Reply:
            at = time.monotonic()
            reply = answer(method, raw_path, headers, raw_body)
            last = server.requests[-1]
            if last.kind == "main" and last.turn == 0:
                with self.lock:
                    self.times.append(at)
            return reply

        server.answer = timed  # type: ignore[method-assign]

    def wait(self, n: int, timeout: float = 90) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.times) >= n:
                    return sorted(self.times)[n - 1]
            time.sleep(0.01)
        raise SystemExit(f"only {len(self.times)} of {n} CLIs asked their model in {timeout}s")


def waiting() -> Script:
    return Script([Turn("Waiting for instructions.")])


def town_run(cli: CliName, n: int, root: Path) -> float:
    """Seconds from `gt sling` of n beads to the n-th CLI's first model request."""
    probes: dict[str, FirstRequests] = {}

    def server(_rt: RealTown) -> ScriptedModelServer:
        made = CASES[cli].server(waiting())
        probes[cli] = FirstRequests(made)
        return made

    rt = new_town(root, {"web": cli}, {cli: server}, scheduler={"max_polecats_per_rig": max(n, 5)})
    try:
        ids = [
            rt.gt_json("bead", "create", f"task {i}", "--rig", "web", "--body", "Wait.")["id"]
            for i in range(n)
        ]
        rt.start_engine()
        deadline = time.monotonic() + 30
        while engine_pid(rt.town.root) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # its first reconcile done: the sling is what wakes it
        t0 = time.monotonic()
        rt.gt("sling", *ids)
        return probes[cli].wait(n) - t0
    finally:
        rt.stop()
        report_leftovers(rt.leftovers())


def floor_run(n: int, root: Path) -> float:
    """The same n claude CLIs by hand: git worktree add + tmux new-session each."""
    exe = str(agent_cli("claude"))
    repo = root / "repo"
    repo.mkdir(parents=True)
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "calc.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    socket = f"bench-agents-{os.getpid()}"
    with CASES["claude"].server(waiting()) as server:
        probe = FirstRequests(server)
        envs = []
        for i in range(n):  # each its own config home, made before the clock starts
            env = claude_env(root / f"home{i}", server.url, root / "wt")
            env[MARKER] = socket
            # as the town's preset does: no bypass-permissions warning to answer
            settings = Path(env["CLAUDE_CONFIG_DIR"]) / "settings.json"
            settings.write_text(json.dumps({"skipDangerousModePermissionPrompt": True}))
            envs.append(env)
        try:
            t0 = time.monotonic()
            for i, env in enumerate(envs):
                path = root / "wt" / f"p{i}"
                subprocess.run(
                    ["git", "worktree", "add", "-q", "-b", f"p{i}", str(path)],
                    cwd=repo,
                    check=True,
                )
                cmd = ["env", "-i", *(f"{k}={v}" for k, v in env.items())]
                cmd += [exe, "--dangerously-skip-permissions", "Wait for instructions."]
                subprocess.run(
                    ["tmux", "-L", socket, "new-session", "-d", "-s", f"p{i}", "-c", str(path),
                     "-x", "200", "-y", "50", "--", *cmd],
                    check=True,
                )  # fmt: skip
            return probe.wait(n) - t0
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
            marked = proctree.with_env({MARKER: socket})
            proctree.terminate(marked)
            report_leftovers({pid: "" for pid in proctree.alive(marked)})


def report_leftovers(left: dict[int, str]) -> None:
    if left:
        print(f"LEFT RUNNING (killed now): {sorted(left)}", file=sys.stderr)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def fresh(tmp: Path, name: str) -> Path:
    path = tmp / name
    shutil.rmtree(path, ignore_errors=True)
    return path


def main() -> int:
    reps = 1 if quick_flag() else 3
    os.environ.pop("TMUX", None)
    with tempfile.TemporaryDirectory(prefix="gt-bench-agents-") as tmp_name:
        tmp = Path(tmp_name)
        rows = []
        for cli in ("claude", "codex", "gemini"):
            runs = [town_run(cli, 1, fresh(tmp, f"{cli}{r}")) for r in range(reps)]
            rows.append((cli, f"{median(runs):.2f}", f"{min(runs):.2f}", reps))
        print_table(
            "sling → the real CLI's first model request (s)",
            ("runtime", "median", "best", "runs"),
            rows,
        )
        town = [town_run("claude", N, fresh(tmp, f"town{r}")) for r in range(reps)]
        floor = [floor_run(N, fresh(tmp, f"floor{r}")) for r in range(reps)]
        one_floor = [floor_run(1, fresh(tmp, f"floor1-{r}")) for r in range(reps)]
        print_table(
            f"{N} real claude polecats at once: until all {N} made their first request (s)",
            ("what", "town (gt sling)", "floor (worktree + tmux by hand)", "ratio"),
            [
                (f"{N} at once", f"{median(town):.2f}", f"{median(floor):.2f}",
                 f"{median(town) / median(floor):.2f}x"),
                ("1 (claude)", f"{rows[0][1]}", f"{median(one_floor):.2f}",
                 f"{float(rows[0][1]) / median(one_floor):.2f}x"),
            ],
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
