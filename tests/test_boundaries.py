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


def test_gt_commands_that_do_not_touch_git_never_import_gitpython(tmp_path):
    # GitPython costs ~60 ms to import: `gt done`'s git reads take the adapter's plain path
    import os

    from engine.adapters import git as git_adapter

    repo = tmp_path / "repo"
    repo.mkdir()
    git_adapter.run(["init", "-q", "-b", "main"], cwd=str(repo))
    (repo / "f").write_text("x")
    git_adapter.run(["add", "f"], cwd=str(repo))
    git_adapter.run(
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"], cwd=str(repo)
    )
    code = (
        "import sys\n"
        "import engine.cli.main, engine.commands.done, engine.polecats.worktrees as w\n"
        f"w.current_branch({str(repo)!r}); w.head({str(repo)!r}); w.commits_ahead({str(repo)!r})\n"
        "print('LOADED=' + ','.join(m for m in ('git', 'gitdb', 'libtmux') if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert "LOADED=\n" in out.stdout, out.stderr
    # and the GitPython path does load it: the check above can see it
    code = code.replace("w.current_branch(", "w.recorded_bases(")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert "LOADED=git,gitdb\n" in out.stdout, out.stderr


def test_gt_hot_path_imports_neither_pydantic_nor_asyncio():
    code = (
        "import sys, runpy\nsys.argv = ['gt', '--help']\n"
        "try:\n    runpy.run_module('engine.cli.main', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('LOADED=' + ','.join(m for m in ('pydantic', 'asyncio', 'textual', 'git')"
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
        "engine/adapters/git.py",
        "engine/adapters/tmux.py",
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


def test_gitpython_and_libtmux_are_imported_only_by_their_adapters():
    import ast

    owner = {"git": "engine/adapters/git.py", "libtmux": "engine/adapters/tmux.py"}
    offenders = []
    for p in sources("engine") + sources("gastown_tui"):
        rel = str(p.relative_to(ROOT))
        for name in imported_names(ast.parse(p.read_text())):
            top = name.split(".")[0]
            if top in owner and owner[top] != rel:
                offenders.append(f"{rel}: {name}")
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
    assert {"prepare", "launch", "stop", "alive", "describe", "progress_marker"} <= called
    assert called - declared == set(), "hooks called but not declared"
    optional = {n for n in vars(DispatcherHooks) if not n.startswith("_")}
    assert declared - optional == {"start", "stop", "alive"}
    for cls in (TmuxFleet, RecordingDispatcher):
        assert all(callable(getattr(cls, name, None)) for name in declared), cls


# Same file name in two rooms: none left (the app's launcher is gastown_tui/start.py, its
# palette gastown_tui/palette.py, the town snapshot engine/views/town_snapshot.py).
SHARED_FILE_NAMES: dict[str, set[str]] = {}


def test_no_two_modules_share_a_file_name():
    # A reader who finds `rigs.py` in a traceback or a grep must know which room it is in.
    by_name: dict[str, set[str]] = {}
    for p in sources("engine") + sources("gastown_tui"):
        if p.name != "__init__.py":
            by_name.setdefault(p.name, set()).add(str(p.relative_to(ROOT)))
    shared = {name: paths for name, paths in by_name.items() if len(paths) > 1}
    unexpected = {
        name: sorted(paths)
        for name, paths in shared.items()
        if not paths <= SHARED_FILE_NAMES.get(name, set())
    }
    assert unexpected == {}


def test_no_module_of_the_engine_or_the_app_is_over_450_lines():
    # The aim is ~400 (a room a reader can hold); 450 is where a module must be split.
    lengths = {
        str(p.relative_to(ROOT)): len(p.read_text().splitlines())
        for p in sources("engine") + sources("gastown_tui")
    }
    too_long = {path: n for path, n in lengths.items() if n > 450}
    assert too_long == {}


# ---- one application layer: the rules live in engine/commands/, not in `gt`'s handlers ----


def imported_names(tree) -> list[str]:
    """Every module and name an AST imports (`from a.b import c` gives a.b and a.b.c)."""
    import ast

    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            out += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.module:
            out += [n.module] + [f"{n.module}.{a.name}" for a in n.names]
    return out


def handler_source(path: str, name: str) -> str:
    import ast

    text = (ROOT / path).read_text()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(text, node) or ""
    raise AssertionError(f"{path} has no {name}")


def test_the_cli_handlers_leave_the_rules_to_the_commands():
    import ast

    def imports(path: str) -> list[str]:
        return imported_names(ast.parse((ROOT / path).read_text()))

    # sling: the scheduler (and the rebuilt placement) belong to engine.commands.sling
    assert [m for m in imports("engine/cli/sling_cmds.py") if "scheduler" in m] == []
    assert "schedule(" not in (ROOT / "engine/cli/sling_cmds.py").read_text()
    # the batch size: computed by engine.commands.merge_requests, not in `gt mq list`
    assert [m for m in imports("engine/cli/mq_cmds.py") if "bisect" in m] == []
    assert "refinery:" not in (ROOT / "engine/cli/mq_cmds.py").read_text()
    # done: the commits-ahead rule; nudge: the inbox payload
    done = handler_source("engine/cli/agent_cmds.py", "cmd_done")
    assert "commits_ahead" not in done and "worktrees" not in done
    nudge = handler_source("engine/cli/agent_cmds.py", "cmd_nudge")
    assert "inbox" not in nudge and "expires_at" not in nudge and "check_typed" not in nudge


def test_the_app_facade_calls_the_same_commands():
    import ast

    tree = ast.parse((ROOT / "engine/engine.py").read_text())
    engine_cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Engine")
    methods = {n.name: n for n in engine_cls.body if isinstance(n, ast.AsyncFunctionDef)}
    for name, command in (
        ("_sling", "engine.commands.sling"),
        ("nudge", "engine.commands.nudge"),
        ("mq_retry", "engine.commands.merge_requests"),
        ("mq_reject", "engine.commands.merge_requests"),
    ):
        assert any(m.startswith(command) for m in imported_names(methods[name])), name
    assert "_sling" in ast.unparse(methods["sling"]) and "_sling" in ast.unparse(
        methods["create_and_sling"]
    )


def test_commands_never_import_a_front_end():
    import ast

    offenders = {
        str(p.relative_to(ROOT)): bad
        for p in sources("engine/commands")
        if (
            bad := [
                m
                for m in imported_names(ast.parse(p.read_text()))
                if m.startswith(("engine.cli", "gastown_tui", "textual", "rich"))
            ]
        )
    }
    assert offenders == {}
    assert len(sources("engine/commands")) >= 5


# What a front end may ask the ledger directly: reads. Every write goes through a command
# (engine/commands/), where its rule is written once for `gt` and the app alike.
FRONT_END_READS: dict[str, set[str]] = {
    "beads": {"get", "require", "list", "ready", "blocked", "history", "status_counts"},
    "graph": {"edges_of", "tree", "blockers"},
    "rigs": {"get", "require", "list", "counts"},
    "agents": {
        "get",
        "require",
        "list",
        "busy_counts",
        "invariant_violations",
        "fence",  # a read: refuses a stale attempt, changes nothing
        "authenticate",  # a read: checks the session's token against its hash
    },
    "convoys": {"get", "list", "status"},
    "mail": {"inbox", "unread_count"},
    "inbox": {"parked"},
    "state": {"get", "recent", "events_after", "last_event_id", "last_event_id_before"},
    "mq": {"get", "require", "list"},
}


def ledger_writes(source: str) -> list[str]:
    """Every use of a ledger store that is not an allowed read, and every transaction:
    `x.ledger.<store>.<method>` chains, and a store held in a name (which would hide the
    chain)."""
    import ast

    def is_ledger(node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id in ("ledger", "led")) or (
            isinstance(node, ast.Attribute) and node.attr == "ledger"
        )

    def store_of(node: ast.expr) -> str | None:
        """`<store>` when NODE is `x.ledger.<store>`."""
        if isinstance(node, ast.Attribute) and is_ledger(node.value):
            return node.attr if node.attr in FRONT_END_READS else None
        return None

    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            store = store_of(node.value)
            if store and node.attr not in FRONT_END_READS[store]:
                found.append(f"{store}.{node.attr}")
            if is_ledger(node.value) and node.attr in ("transaction", "savepoint", "db"):
                found.append(node.attr)
        if isinstance(node, ast.Assign) and (store := store_of(node.value)):
            found.append(f"{store} held in a name")
    return found


def test_the_write_check_sees_writes_and_hidden_stores():
    assert ledger_writes("ctx.ledger.beads.create('x')") == ["beads.create"]
    assert ledger_writes("self.ledger.mail.send(to='mayor')") == ["mail.send"]
    assert ledger_writes("with ledger.transaction(durable=True):\n    pass") == ["transaction"]
    assert ledger_writes("b = ctx.ledger.beads\nb.close('x')") == ["beads held in a name"]
    assert ledger_writes("ctx.ledger.beads.get('x'); ledger.mq.list()") == []


def test_front_ends_write_only_through_commands():
    front_ends = [*sources("engine/cli"), *sources("gastown_tui"), ROOT / "engine/engine.py"]
    offenders = {
        str(p.relative_to(ROOT)): found
        for p in front_ends
        if (found := ledger_writes(p.read_text()))
    }
    assert offenders == {}, "call a command in engine/commands/ for these"
