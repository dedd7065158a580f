"""The demo town: two small rigs with real git history and a real test gate, and a convoy
whose beads form a DAG across both, worked by the built-in `script` runtime. No LLM, no
set-up: a new user sees agents working, logs streaming and branches landing in seconds."""

from __future__ import annotations

import os
from collections.abc import Callable

from engine.adapters import git
from engine.errors import GtError

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


def _script(*steps: str) -> str:
    return "```gt-script\n" + "\n".join(steps) + "\n```\n"


def demo_plan(run: int = 1) -> list[dict[str, object]]:
    """Eight beads across both rigs; `needs` form a DAG with two independent roots.

    Every file a bead writes carries the run's number, so a second (third, tenth) demo
    convoy on the same town changes what the first landed instead of writing the same
    bytes again: each bead's commit is a real change, and its gate still passes.
    """
    tag = f"demo run {run}"
    return [
        {
            "key": "sub",
            "title": "Add subtraction",
            "rig": "calc",
            "priority": 1,
            "body": _script(
                "log 36 0.25",
                f"write sub.py 'def sub(a, b): return a - b  # {tag}'",
                f"write check_sub.py 'import sub; assert sub.sub(5, 3) == 2  # {tag}'",
                f"commit 'calc: subtraction ({tag})'",
            ),
        },
        {
            "key": "mul",
            "title": "Add multiplication",
            "rig": "calc",
            "priority": 1,
            "body": _script(
                "log 45 0.2",
                f"write mul.py 'def mul(a, b): return a * b  # {tag}'",
                f"write check_mul.py 'import mul; assert mul.mul(4, 3) == 12  # {tag}'",
                f"commit 'calc: multiplication ({tag})'",
            ),
        },
        {
            "key": "div",
            "title": "Add division",
            "rig": "calc",
            "needs": ["mul"],
            "body": _script(
                "log 30 0.3",
                f"write div.py 'def div(a, b): return a / b  # {tag}'",
                f"write check_div.py 'import div; assert div.div(8, 2) == 4  # {tag}'",
                f"commit 'calc: division ({tag})'",
            ),
        },
        {
            "key": "form",
            "title": "Page: input form",
            "rig": "web",
            "priority": 1,
            "body": _script(
                "log 42 0.2",
                f"append index.html '<form id=calc></form> <!-- {tag} -->'",
                f"commit 'web: form ({tag})'",
            ),
        },
        {
            "key": "wire",
            "title": "Page: wire the buttons",
            "rig": "web",
            "needs": ["form", "sub", "mul"],
            "body": _script(
                "log 48 0.2",
                f"append index.html '<button>-</button><button>*</button> <!-- {tag} -->'",
                f"commit 'web: buttons ({tag})'",
            ),
        },
        {
            "key": "docs",
            "title": "Document the operations",
            "rig": "calc",
            "needs": ["sub", "div"],
            "body": _script(
                "log 24 0.3",
                f"append README.md 'Supports + - * / ({tag})'",
                f"commit 'calc: docs ({tag})'",
            ),
        },
        {
            "key": "style",
            "title": "Page: styles",
            "rig": "web",
            "priority": 3,
            "body": _script(
                "log 60 0.15",
                f"write style.css 'h1 {{ color: teal; }} /* {tag} */'",
                f"commit 'web: styles ({tag})'",
            ),
        },
        {
            "key": "ship",
            "title": "Release notes",
            "rig": "web",
            "needs": ["wire", "docs"],
            "body": _script(
                "log 18 0.3",
                f"write RELEASE.md 'calc 1.0: + - * / on the web ({tag})'",
                f"commit 'web: release notes ({tag})'",
            ),
        },
    ]


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


def ensure_demo_town(path: str | None = None, *, announce: Callable[[str], None] = print):
    """Create the demo town (or reuse it) and make sure a demo convoy is on its way."""
    from engine.ledger import Ledger
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
        ledger = Ledger(town.ledger_path)
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
    ledger = Ledger(town.ledger_path)
    try:
        if not any(c["status"] in ("open", "staged") for c in ledger.convoys.list()):
            n = len(ledger.convoys.list()) + 1
            planned = validate_plan(ledger, demo_plan(n), "demo plan")
            convoy = ledger.convoys.create_planned(
                f"Calculator 1.0 (demo run {n})", planned, staged=False, actor="mayor"
            )
            announce(f"Launched demo convoy {convoy['id']} with {len(planned)} beads")
    finally:
        ledger.close()
    return town


DEMO_CONFIG = """
# --- demo settings ---
[rigs.calc]
gates = { test = "sh test.sh" }

[rigs.web]
gates = { test = "sh test.sh" }
"""
