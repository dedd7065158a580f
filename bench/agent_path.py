"""The agent's own `gt` calls, timed from inside a session (part of bench_cli.py).

`gt prime`, `gt mail check`, `gt bead show` and `gt done` as a hooked polecat calls them:
the agent's identity in the environment, run in its worktree (one commit ahead of main).
Each `gt done` is a fresh hooked polecat's (a done is a write, once per assignment).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from typing import TYPE_CHECKING

from common import PYTHON, median, ms, print_table, subprocess_env
from gen import copy_town

if TYPE_CHECKING:
    from engine.town import Town


def _git(*args: str, cwd: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def agent_hot_path(source_town: Town, show_id: str, reps: int) -> None:
    tmp = tempfile.mkdtemp(prefix="gt-agent-path-")
    town = copy_town(source_town, os.path.join(tmp, "town"))  # dones write: a copy
    ledger = town.open_ledger()
    rig = ledger.rigs.list()[0]["name"]
    repo, wt = os.path.join(tmp, "repo"), os.path.join(tmp, "wt")
    os.makedirs(repo)
    with open(os.path.join(repo, "f"), "w") as fh:
        fh.write("x")
    _git("init", "-q", "-b", "main", cwd=repo)
    _git("add", "f", cwd=repo)
    _git("commit", "-qm", "c", cwd=repo)
    _git("worktree", "add", "-qb", "polecat/x", wt, cwd=repo)
    with open(os.path.join(wt, "g"), "w") as fh:
        fh.write("y")
    _git("add", "g", cwd=wt)
    _git("commit", "-qm", "d", cwd=wt)

    def hooked(i: int) -> dict[str, str]:
        bead = ledger.beads.create(f"hot {i}", rig=rig)["id"]
        with ledger.transaction():
            agent = ledger.agents.allocate(rig, f"Hot{i}", "script")
            attempt = ledger.agents.assign(agent, bead, rig=rig)
        ledger.agents.mark_started(agent["id"], bead, attempt)
        return {"GT_AGENT_ID": agent["id"], "GT_BEAD": bead, "GT_ATTEMPT": str(attempt)}

    base = {k: v for k, v in subprocess_env(town.root).items() if not k.startswith("GIT_")}
    base.update(GT_TOWN=town.root, GT_WORKTREE=wt)
    agents = [hooked(i) for i in range(reps + 3)]
    primer = {**base, **agents[-1]}
    gt = [PYTHON, "-m", "engine.cli.main"]
    names = ["python -c pass", "gt prime", "gt mail check", "gt bead show", "gt done"]
    times: dict[str, list[float]] = {n: [] for n in names}
    for rep in range(reps + 2):  # two warm-up rounds, interleaved
        for name in names:
            cmd, env = {
                "python -c pass": ([PYTHON, "-c", "pass"], base),
                "gt prime": ([*gt, "prime"], primer),
                "gt mail check": ([*gt, "mail", "check"], primer),
                "gt bead show": ([*gt, "bead", "show", show_id], primer),
                "gt done": ([*gt, "done"], {**base, **agents[rep]}),
            }[name]
            t0 = time.perf_counter()
            p = subprocess.run(
                cmd, env=env, cwd=wt, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            took = time.perf_counter() - t0
            # mail check exits 1 when there is no mail; everything else must succeed
            if p.returncode not in (0, 1) or (name == "gt done" and p.returncode):
                raise SystemExit(f"{name}: exit {p.returncode}: {p.stderr[-300:]}")
            if rep >= 2:
                times[name].append(took)
    ledger.close()
    floor = median(times["python -c pass"])
    print_table(
        f"the agent's own calls from inside its session, {reps} runs each "
        "(aim: within 4x of python -c pass)",
        ["command", "median ms", "min ms", "vs python -c pass"],
        [(n, ms(median(t)), ms(min(t)), f"{median(t) / floor:.2f}x") for n, t in times.items()],
    )
