"""The demo town: two small rigs with real git history and a real test gate, and a convoy
whose beads form a DAG across both, worked by the built-in `script` runtime. No LLM, no
set-up: a new user sees agents working, logs streaming, the merge queue filling, a batch
bisected and its bad request sent back, a question in the mayor's mail and a stuck polecat
nudged by the witness (the beads: engine/demo_scripts.py).

`gastown --demo --speed X` paces it: the convoy's scripts are written at that speed, and
the gates read theirs from GATE_PACE_VAR in the engine's environment (town.toml's
`gate_env` passes it on), so a later run at another speed needs no edit of town.toml.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from engine.adapters import git
from engine.demo_scripts import (
    DEFAULT_SPEED,
    GATE_SECONDS,
    STALL_SECONDS,
    Pace,
    check_speed,
    demo_plan,
)
from engine.errors import GtError

__all__ = ["DEFAULT_SPEED", "GATE_PACE_VAR", "demo_plan", "ensure_demo_town", "pace_gates"]

# The variable the demo's gates read their pace from (see pace_gates).
GATE_PACE_VAR = "GASTOWN_DEMO_GATE_SECONDS"

CALC_FILES = {
    "README.md": "# calc\n\nA tiny calculator, built by polecats.\n",
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test.sh": (
        "#!/bin/sh\n# the rig's gate: every check_*.py must pass\nset -e\n"
        'for t in check_*.py; do [ -e "$t" ] && python3 "$t"; done\necho ok\n'
    ),
    "check_add.py": "import calc\nassert calc.add(2, 2) == 4\n",
}
WEB_FILES = {
    "README.md": "# web\n\nThe calculator's web page.\n",
    "index.html": "<h1>calc</h1>\n",
    "test.sh": (
        "#!/bin/sh\n# the rig's gate: the page must still have its heading\n"
        "grep -q '<h1>' index.html && echo ok\n"
    ),
}


def default_demo_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "gastown-demo")


def _source_repo(path: str, files: dict[str, str], history: list[tuple[str, str, str]]) -> None:
    """A small repository with a few commits of real history."""
    os.makedirs(path, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(path, name), "w", encoding="utf-8") as fh:
            fh.write(text)
    with git.init(path, branch="main") as r:
        r.commit_all("initial import", name="Demo", email="demo@gastown.local")
        for name, text, message in history:
            with open(os.path.join(path, name), "a", encoding="utf-8") as fh:
                fh.write(text)
            r.commit_all(message, name="Demo", email="demo@gastown.local")


def pace_gates(speed: float) -> None:
    """Pace the demo's gates for the engine this process runs (they read the variable)."""
    os.environ[GATE_PACE_VAR] = f"{Pace(check_speed(speed)).gate_seconds:g}"


def ensure_demo_town(
    path: str | None = None,
    *,
    announce: Callable[[str], None] = print,
    speed: float = DEFAULT_SPEED,
):
    """Create the demo town (or reuse it) and make sure a demo convoy is on its way; its
    scripts and this process's gates go at `speed` (an open convoy keeps its own pace)."""
    pace_gates(speed)
    from engine.plans import validate_plan
    from engine.rig_setup import add_rig
    from engine.town import TOWN_FILE, Town, init_town

    root = os.path.abspath(os.path.expanduser(path or default_demo_dir()))
    if os.path.isfile(os.path.join(root, TOWN_FILE)):
        town = Town(root)
        announce(f"Using the demo town at {root}")
    else:
        if os.path.exists(root) and not os.path.isdir(root):
            raise GtError(f"{root} is not a directory; choose another demo path")
        if os.path.exists(root) and os.listdir(root):
            raise GtError(f"{root} exists and is not a town; choose another demo path")
        os.makedirs(os.path.dirname(root), exist_ok=True)
        announce(f"Creating a demo town at {root}")
        town = init_town(root)
        with open(town.config_path, "a", encoding="utf-8") as fh:
            fh.write(DEMO_CONFIG)
        sources = os.path.join(root, "sources")
        _source_repo(
            os.path.join(sources, "calc"),
            CALC_FILES,
            [("calc.py", "\n# keep it small\n", "calc: a note on size")],
        )
        _source_repo(
            os.path.join(sources, "web"),
            WEB_FILES,
            [("index.html", "<p>made by polecats</p>\n", "web: tagline")],
        )
        ledger = town.open_ledger()
        try:
            add_rig(
                town,
                ledger,
                "calc",
                os.path.join(sources, "calc"),
                prefix="calc",
                capabilities=["python"],
                gates=[],
            )
            add_rig(
                town,
                ledger,
                "web",
                os.path.join(sources, "web"),
                prefix="web",
                capabilities=["frontend"],
                gates=[],
            )
        finally:
            ledger.close()
    ledger = town.open_ledger()
    try:
        if not any(c["status"] in ("open", "staged") for c in ledger.convoys.list()):
            n = len(ledger.convoys.list()) + 1
            planned = validate_plan(ledger, demo_plan(n, speed), "demo plan")
            convoy = ledger.convoys.create_planned(
                f"Calculator 1.0 (demo run {n})", planned, staged=False, actor="mayor"
            )
            announce(f"Launched demo convoy {convoy['id']} with {len(planned)} beads")
    finally:
        ledger.close()
    return town


# The witness's stall window is short so the stuck polecat is nudged within seconds (the
# default, 300 s, suits real agents); the next rung waits long enough for it to recover.
# A setup gate stands in for the time a real suite takes (installing, building), so the
# merge queue fills behind it; the test gate's failures then read as the test's own.
_GATES = (
    f'gates = {{ setup = "sleep ${{{GATE_PACE_VAR}:-{GATE_SECONDS:g}}}", test = "sh test.sh" }}\n'
    f'gate_env = ["{GATE_PACE_VAR}"]\n'
)
DEMO_CONFIG = f"""
# --- demo settings ---
# The stuck polecat is nudged within seconds (real agents: the default, 300).
[witness]
stall_seconds = {STALL_SECONDS:g}
ladder_seconds = 60

# setup stands in for a real suite's install time; `gastown --demo --speed X` paces it.
[rigs.calc]
{_GATES}
[rigs.web]
{_GATES}"""
