"""Helpers for tests that run the real `gt` command line and check what it left behind.

`run_gt` controls the child's environment completely: the town variables, agent identity
and debug switches of whoever runs the tests never leak in, and PYTHONPATH points at the
repository so the CLI also runs from a cwd outside it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# Variables that change which town or identity `gt` uses, or how it reports errors.
_SCRUBBED = (
    "GASTOWN_TOWN",
    "GT_TOWN",
    "GT_AGENT",
    "GT_AGENT_ID",
    "GT_ATTEMPT",
    "GT_DEBUG",
    "GT_BUSY_TIMEOUT_MS",
    "GT_RIG",
    # an agent session's identity: a test run inside one must still act as a person
    "GT_ROLE",
    "GT_BEAD",
    "GT_SESSION",
    "GT_AGENT_TOKEN",
)


def gt_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.update(extra or {})
    return env


def gt_argv(*args: str, town: Any = None) -> list[str]:
    cmd = [sys.executable, "-m", "engine.cli.main"]
    if town is not None:
        path = os.fspath(town) if isinstance(town, str | os.PathLike) else town.root
        cmd += ["--town", path]
    return [*cmd, *args]


def run_gt(
    *args: str,
    town: Any = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `gt ARGS` (with --town when given) and capture everything."""
    return subprocess.run(
        gt_argv(*args, town=town),
        capture_output=True,
        text=True,
        env=gt_env(env),
        cwd=str(cwd or REPO),
        input=input,
        timeout=timeout,
    )


def run_json(*args: str, town: Any = None, env: dict[str, str] | None = None) -> Any:
    """Run a `--json` command that must succeed; return its one JSON document."""
    proc = run_gt(*args, town=town, env=env)
    assert proc.returncode == 0, (args, proc.returncode, proc.stderr)
    return json.loads(proc.stdout)


def stderr_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln for ln in proc.stderr.splitlines() if ln.strip()]


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Exit `code`, exactly one non-empty stderr line, a `gt:` error, no traceback.

    Returns the line; every needle must appear in it (case-insensitive).
    """
    lines = stderr_lines(proc)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith(("gt: error:", "gt: usage error:")), line
    for needle in needles:
        assert needle.lower() in line.lower(), (needle, line)
    return line


def _pg_tables(conn: Any) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY table_name"
        )
    ]


def ledger_dump(path: str | os.PathLike[str]) -> list[str]:
    """The whole ledger as SQL text, read through a read-only connection (nothing excluded).

    For a PostgreSQL ledger (a URL): every row of every table, in a stable order, and the
    commit counter left out (it counts reads' neighbours too: a refused command's own
    connection may still have counted nothing, but other tests' writers do)."""
    if str(path).startswith("postgresql://"):
        import psycopg

        with psycopg.connect(str(path), autocommit=True) as pg:
            out: list[str] = []
            for table in _pg_tables(pg):
                rows = pg.execute(f'SELECT * FROM "{table}"').fetchall()
                out.extend(f"{table}: {row!r}" for row in sorted(rows, key=repr))
            return out
    conn = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def table_count(path: str | os.PathLike[str], table: str) -> int:
    if str(path).startswith("postgresql://"):
        import psycopg

        with psycopg.connect(str(path), autocommit=True) as pg:
            return int(pg.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
    conn = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def jsonl_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh.read().split("\n") if line.strip()]


def strict(obj: Any) -> str:
    """A comparable form that tells 0 from false and 1 from 1.0 (dict == does not)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def gastown_argv() -> list[str]:
    """The installed `gastown` command, else the module (a checkout without an install)."""
    exe = os.path.join(os.path.dirname(sys.executable), "gastown")
    return [exe] if os.access(exe, os.X_OK) else [sys.executable, "-m", "gastown_tui.start"]


def hooked_agent(ledger: Any, rig: str = "web") -> tuple[str, str, int]:
    """A bead hooked to a started polecat Toast: (agent id, bead id, attempt)."""
    bead = ledger.beads.create("work", rig=rig)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate(rig, "Toast", "script")
        attempt = ledger.agents.assign(agent, bead, rig=rig)
    ledger.agents.mark_started(agent["id"], bead, attempt)
    return agent["id"], bead, attempt
