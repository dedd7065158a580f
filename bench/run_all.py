"""Run every benchmark in turn: python bench/run_all.py [--quick] [--profile] [--tui-minutes N]

--profile goes to bench_ready.py only (a cProfile of one reconcile). bench_tui.py's loaded
phase lasts 10 minutes in a full run (memory over time); --tui-minutes N shortens it.

Each benchmark is a separate process (the same interpreter), so one's caches and imports
do not flatter the next. Exit status 1 only when a benchmark crashed; timings never fail.
"""

from __future__ import annotations

import subprocess
import sys
import time

from common import PYTHON, REPO

BENCHES = (
    "bench_ready.py",
    "bench_wake.py",
    "bench_cli.py",
    "bench_refinery.py",
    "bench_tui.py",
    "bench_agents.py",
)


def main() -> int:
    argv = sys.argv[1:]
    flags = [a for a in argv if a in ("--quick", "--profile")]
    minutes = argv[argv.index("--tui-minutes") + 1] if "--tui-minutes" in argv[:-1] else None
    failed = []
    for name in BENCHES:
        mine = [f for f in flags if f == "--quick" or name == "bench_ready.py"]
        if name == "bench_tui.py" and "--quick" not in flags and minutes is not None:
            mine += ["--minutes", minutes]
        print(f"\n# {name} {' '.join(mine)}".rstrip(), flush=True)
        t0 = time.perf_counter()
        code = subprocess.call([PYTHON, str(REPO / "bench" / name), *mine], cwd=REPO)
        print(f"({name}: {time.perf_counter() - t0:.1f} s, exit {code})", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\ncrashed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
