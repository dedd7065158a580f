"""`gt` start-up: wall time of everyday agent commands against `python -c pass`.

Same interpreter for all (the repo's .venv), a ~1,000-bead town, stdout to /dev/null,
runs interleaved round-robin after a warm-up. Then `-X importtime` of `gt bead show` to
show what the start-up imports cost, and the agent's own calls (`gt prime`, `gt done`, …)
from inside a session (bench/agent_path.py).
Usage: python bench/bench_cli.py [--quick]
"""

from __future__ import annotations

import subprocess
import sys
import time

from agent_path import agent_hot_path
from common import PYTHON, REPO, median, ms, print_table, quick_flag, subprocess_env
from gen import cached_town

SIZE = 1_000


def importtime(cmd: list[str], env: dict[str, str]) -> list[tuple[int, int, str]]:
    """(self us, cumulative us, module) for every import of one run."""
    res = subprocess.run(
        [PYTHON, "-X", "importtime", *cmd],
        env=env,
        cwd=REPO,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
    )
    out = []
    for line in res.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cum_us, name = (part.strip() for part in line[12:].split("|"))
        out.append((int(self_us), int(cum_us), name))
    return out


def main() -> int:
    reps = 20 if quick_flag() else 40
    town, info = cached_town(SIZE)
    env = subprocess_env(town.root)
    bead = info["show_id"]
    gt_forms = {"python -m engine.cli.main": [PYTHON, "-m", "engine.cli.main"]}
    script = REPO / ".venv" / "bin" / "gt"
    if script.exists():
        gt_forms[".venv/bin/gt"] = [str(script)]
    cmds: dict[str, list[str]] = {
        "python -c pass": [PYTHON, "-c", "pass"],
        "python -S -c pass (no site-packages hooks)": [PYTHON, "-S", "-c", "pass"],
        "python -c 'import argparse, json, sqlite3'": [
            PYTHON,
            "-c",
            "import argparse, json, sqlite3",
        ],
    }
    for form, prefix in gt_forms.items():
        for args in (
            ["bead", "show", bead],
            ["ready"],
            ["mail", "check"],
            ["bead", "list", "-n", "20"],
        ):
            cmds[f"{form} {' '.join(args)}"] = [*prefix, *args]
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for rep in range(reps + 2):  # two warm-up rounds, interleaved so drift hits all alike
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env, cwd=REPO, check=True)
            if rep >= 2:
                times[name].append(time.perf_counter() - t0)
    floor = median(times["python -c pass"])
    print_table(
        f"gt wall time, {SIZE:,}-bead town, {reps} runs each (aim: within 4x of python -c pass)",
        ["command", "median ms", "min ms", "vs python -c pass"],
        [(k, ms(median(v)), ms(min(v)), f"{median(v) / floor:.2f}x") for k, v in times.items()],
    )

    show = ["-m", "engine.cli.main", "bead", "show", bead]
    imports = importtime(show, env)
    total = sum(s for s, _, _ in imports)
    print_table(
        f"python -X importtime -m engine.cli.main bead show {bead}: top 10 cumulative "
        f"(all imports: {total / 1000:.1f} ms self-time)",
        ["module", "cumulative ms", "self ms"],
        [
            (m, f"{c / 1000:.2f}", f"{s / 1000:.2f}")
            for s, c, m in sorted(imports, key=lambda x: -x[1])[:10]
        ],
    )
    print_table(
        "... and top 10 by self time",
        ["module", "self ms", "cumulative ms"],
        [
            (m, f"{s / 1000:.2f}", f"{c / 1000:.2f}")
            for s, c, m in sorted(imports, key=lambda x: -x[0])[:10]
        ],
    )
    engine_mods = sorted(m.strip() for _, _, m in imports if m.strip().startswith("engine"))
    print(f"\nengine modules imported ({len(engine_mods)}): {', '.join(engine_mods)}")
    agent_hot_path(town, bead, reps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
