"""The architecture's rules, checked by machine: a headless engine, SQL only in the ledger,
git and tmux only in their adapters."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parent.parent


def test_engine_imports_without_textual_or_rich():
    modules = [
        m.name
        for m in pkgutil.walk_packages(engine.__path__, "engine.")
        if not m.name.endswith("__main__")
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert out == "", f"engine pulled in {out}"
    assert len(modules) > 30


def test_gt_hot_path_imports_neither_pydantic_nor_asyncio():
    code = (
        "import sys, runpy\nsys.argv = ['gt', '--help']\n"
        "try:\n    runpy.run_module('engine.cli.main', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED=' + ','.join(m for m in ('pydantic', 'asyncio', 'textual')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    ).stdout
    assert "LOADED=\n" in out


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


SQL = re.compile(r"""["'](\s*)(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|BEGIN)\s""")


def test_sql_lives_only_in_the_ledger_layer():
    offenders = [
        str(p.relative_to(ROOT))
        for p in sources("engine") + sources("gastown_tui")
        if "ledger" not in p.parts and SQL.search(p.read_text())
    ]
    assert offenders == []


def test_git_and_tmux_are_called_only_from_their_adapters():
    # The script agent is an agent (a separate program working in its worktree), and gates
    # run the rig's own commands: neither is the engine calling git or tmux.
    allowed = {
        "engine/polecats/git.py",
        "engine/polecats/tmux.py",
        "engine/polecats/script_agent.py",
        "engine/refinery/gates.py",
    }
    offenders = []
    for p in sources("engine") + sources("gastown_tui"):
        rel = str(p.relative_to(ROOT))
        text = p.read_text()
        if rel in allowed:
            continue
        if (
            re.search(r"\bimport subprocess\b|\bfrom subprocess\b|import sqlite3", text)
            and "ledger" not in p.parts
        ):
            offenders.append(rel)
    assert offenders == []


def test_the_app_never_touches_the_database_git_or_tmux_directly():
    pattern = re.compile(r"(aiosqlite|sqlite3|subprocess|libtmux|import git\b)")
    offenders = [
        str(p.relative_to(ROOT)) for p in sources("gastown_tui") if pattern.search(p.read_text())
    ]
    assert offenders == []


def test_the_witness_does_not_import_the_scheduler():
    # The witness judges and the scheduler acts: an import back would make a circle.
    import ast

    tree = ast.parse((ROOT / "engine/polecats/witness.py").read_text())
    named = [
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, ast.Import | ast.ImportFrom)
        for a in n.names
    ]
    assert [m for m in named if m and m.startswith("engine.scheduler")] == []
    code = (
        "import sys, engine.polecats.witness\n"
        "print(','.join(m for m in sys.modules if m.startswith('engine.scheduler')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert out == "", f"importing the witness pulled in {out}"


def test_every_dispatcher_hook_the_engine_calls_is_declared_in_the_protocol():
    # No hook is looked up with getattr: the protocol is the whole contract.
    from engine.polecats.dispatcher import Dispatcher, DispatcherHooks
    from engine.polecats.fleet import TmuxFleet
    from tests.recording import RecordingDispatcher

    declared = {
        name for name, v in vars(Dispatcher).items() if callable(v) and not name.startswith("_")
    }
    called: set[str] = set()
    looked_up = []
    for p in sources("engine"):
        text = p.read_text()
        called |= set(re.findall(r"\bdispatcher\.(\w+)\(", text))
        if re.search(r"getattr\((self\.)?dispatcher\b", text):
            looked_up.append(str(p.relative_to(ROOT)))
    assert looked_up == []
    assert {"start", "stop", "alive", "describe", "progress_marker"} <= called
    assert called - declared == set(), "hooks called but not declared"
    optional = {n for n in vars(DispatcherHooks) if not n.startswith("_")}
    assert declared - optional == {"start", "stop", "alive"}
    for cls in (TmuxFleet, RecordingDispatcher):
        assert all(callable(getattr(cls, name, None)) for name in declared), cls
