"""The ledger's schema and its versioned migrations.

Portable by intent: plain tables, TEXT timestamps, JSON in TEXT columns, no SQLite-only
tricks PostgreSQL could not express. Written once, in SQLite's words; `for_backend` gives
PostgreSQL the same tables in its types, and the same versions migrate both.
"""

from __future__ import annotations

import re
import sqlite3
from typing import TYPE_CHECKING

from engine.errors import LedgerError

if TYPE_CHECKING:
    from engine.ledger.db import AnyDb

SCHEMA_VERSION = 6

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE rigs (
    name TEXT PRIMARY KEY,
    prefix TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    capabilities TEXT NOT NULL DEFAULT '[]',
    gates TEXT NOT NULL DEFAULT '[]',
    config TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);

CREATE TABLE beads (
    id TEXT PRIMARY KEY,
    rig TEXT,
    type TEXT NOT NULL DEFAULT 'task',
    status TEXT NOT NULL DEFAULT 'open',
    priority INTEGER NOT NULL DEFAULT 2,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    extra TEXT NOT NULL DEFAULT '{}',
    assignee TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    close_reason TEXT,
    defer_until TEXT,
    ephemeral INTEGER NOT NULL DEFAULT 0,
    -- scheduling state
    slung INTEGER NOT NULL DEFAULT 0,
    attempt INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    -- readiness, maintained incrementally by the ledger (never a whole-graph scan per write)
    blocked INTEGER NOT NULL DEFAULT 0,
    defer_chain REAL,
    seq INTEGER NOT NULL DEFAULT 0
);
-- the scheduler's and `gt ready`'s query: open, unblocked, by priority then age
CREATE INDEX beads_ready ON beads(status, blocked, priority, created_at, seq);
-- the scheduler's candidates: slung work only, so an imported backlog costs nothing
CREATE INDEX beads_dispatch ON beads(status, blocked, priority, created_at, seq) WHERE slung = 1;
CREATE INDEX beads_rig_status ON beads(rig, status);
CREATE INDEX beads_assignee ON beads(assignee) WHERE assignee IS NOT NULL;
CREATE INDEX beads_type ON beads(type, status);

CREATE TABLE deps (
    bead_id TEXT NOT NULL,
    depends_on TEXT NOT NULL,
    type TEXT NOT NULL,
    created_at TEXT,
    created_by TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bead_id, depends_on, type)
);
CREATE INDEX deps_reverse ON deps(depends_on, type);

CREATE TABLE labels (
    bead_id TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (bead_id, label)
);
CREATE INDEX labels_by_label ON labels(label);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    bead_id TEXT,
    kind TEXT NOT NULL,
    actor TEXT,
    attempt INTEGER,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_bead ON events(bead_id, id);
CREATE INDEX events_kind ON events(kind, at);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    rig TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'polecat',
    status TEXT NOT NULL,
    hook TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    runtime TEXT,
    session TEXT,
    worktree TEXT,
    branch TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    idle_since REAL,
    last_activity REAL,
    last_heartbeat REAL,
    info TEXT NOT NULL DEFAULT '{}'
);
-- names are unique among live agents town-wide; a bead has at most one live agent
CREATE UNIQUE INDEX agents_live_name ON agents(name) WHERE status != 'retired';
CREATE UNIQUE INDEX agents_one_per_hook ON agents(hook) WHERE hook IS NOT NULL;
CREATE INDEX agents_rig_status ON agents(rig, status);

CREATE TABLE convoys (
    bead_id TEXT PRIMARY KEY,
    staged INTEGER NOT NULL DEFAULT 0,
    launched_at TEXT,
    landed_at TEXT
);

CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    attempt INTEGER,
    payload TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending',
    tries INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX inbox_pending ON inbox(state, id);

CREATE TABLE merge_requests (
    bead_id TEXT PRIMARY KEY,
    source_bead TEXT NOT NULL,
    rig TEXT NOT NULL,
    branch TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    agent TEXT,
    attempt INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    priority INTEGER NOT NULL DEFAULT 2,
    retries INTEGER NOT NULL DEFAULT 0,
    batch TEXT,
    gate_log TEXT,
    failure TEXT,
    merged_commit TEXT,
    approved INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX merge_requests_queue ON merge_requests(rig, state);
CREATE INDEX merge_requests_source ON merge_requests(source_bead);

CREATE TABLE town_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Version 2: token usage per agent session, as each CLI recorded it (engine/usage/). One row
# per (agent, session, model): a session's figures are the CLI's running totals, so
# collecting again overwrites them and never adds twice; bead and attempt are the agent's
# assignment the session started in (engine/usage/attribution.py).
_V2 = """
CREATE TABLE usage (
    agent TEXT NOT NULL,
    session TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    runtime TEXT NOT NULL,
    rig TEXT,
    bead_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (agent, session, model)
);
CREATE INDEX usage_bead ON usage(bead_id);
"""

# Version 3: a bead may name the runtime that works it (`gt sling --runtime`, a plan's
# `runtime`); NULL leaves the choice to its rig's runtime, else the town's default. The
# index is partial: only beads that name one are in it (the scheduler asks which runtimes
# open work still names).
_V3 = """
ALTER TABLE beads ADD COLUMN runtime TEXT;
CREATE INDEX beads_runtime ON beads(runtime, status) WHERE runtime IS NOT NULL;
"""

# Version 4: a checklist formula's steps, attached to the bead it was slung with
# (`gt sling ID --formula NAME`, or the polecat work checklist at an agent's first tick),
# rendered once so a later edit of the formula file changes no bead already under way;
# a tick records who ticked it and in which attempt, so a restarted session resumes at
# the first unticked step.
_V4 = """
CREATE TABLE checklist_steps (
    bead_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    step_id TEXT NOT NULL,
    formula TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    acceptance TEXT NOT NULL DEFAULT '',
    done_at TEXT,
    done_by TEXT,
    done_attempt INTEGER,
    PRIMARY KEY (bead_id, step_id)
);
"""

# Version 5: hosts — one engine per machine sharing this ledger (`gastown --engine-only
# --host NAME`). `epoch` grows at each (re)join, so a host declared lost that comes back
# under its old epoch is fenced out; `rigs` is a JSON list (empty: every rig). An agent's
# `host` is the host whose engine runs its session (NULL: a single-host town).
_V5 = """
CREATE TABLE hosts (
    name TEXT PRIMARY KEY,
    capacity INTEGER NOT NULL DEFAULT 0,
    rigs TEXT NOT NULL DEFAULT '[]',
    address TEXT NOT NULL DEFAULT '',
    town_root TEXT NOT NULL DEFAULT '',
    epoch INTEGER NOT NULL DEFAULT 0,
    heartbeat_at REAL NOT NULL DEFAULT 0,
    lease_seconds REAL NOT NULL DEFAULT 15,
    state TEXT NOT NULL DEFAULT 'live',
    joined_at REAL NOT NULL DEFAULT 0
);
ALTER TABLE agents ADD COLUMN host TEXT;
CREATE INDEX agents_host ON agents(host, status) WHERE host IS NOT NULL;
"""

# Version 6: one refinery per rig, town-wide (engine/ledger/refinery_leases.py): the engine
# holding a rig's lease runs its merge queue; `token` changes at every take-over and a
# landing is recorded only while its token still holds; `epoch` counts the takes.
_V6 = """
CREATE TABLE refinery_leases (
    rig TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token TEXT NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL DEFAULT 0
);
"""

MIGRATIONS: dict[int, str] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5, 6: _V6}


def create(db: AnyDb) -> None:
    """Create the newest schema in an empty database."""
    with db.write(durable=True) as conn:
        for version in sorted(MIGRATIONS):
            for statement in statements(MIGRATIONS[version], db.backend):
                conn.execute(statement)
        if db.backend == "postgresql":
            from engine.ledger.pg_db import COMMITS_SEQUENCE

            conn.execute(f"CREATE SEQUENCE IF NOT EXISTS {COMMITS_SEQUENCE}")
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )


def is_empty(db: AnyDb) -> bool:
    """No tables at all: a fresh database a town may be created in."""
    if db.backend == "postgresql":
        row = db.conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchone()
    else:
        row = db.conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()
    return int(row[0]) == 0


def version_of(db: AnyDb) -> int:
    """The schema version the ledger says it has; refuses a database that is not one."""
    try:
        row = db.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except (sqlite3.DatabaseError, LedgerError):
        raise LedgerError(f"{db.path} is not a Gas Town ledger (no schema version)") from None
    return int(row[0]) if row else 0


def check(db: AnyDb) -> None:
    """Refuse a ledger we cannot read; migrate an older one forward."""
    version = version_of(db)
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"the ledger {db.path} was written by a newer Gas Town "
            f"(schema {version}, this one knows {SCHEMA_VERSION}); upgrade gastown"
        )
    if version < SCHEMA_VERSION:
        with db.write(durable=True) as conn:
            # read again under the write lock: another process may have migrated meanwhile
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            for v in range(int(row[0]) + 1, SCHEMA_VERSION + 1):
                for statement in statements(MIGRATIONS[v], db.backend):
                    conn.execute(statement)
            conn.execute(
                "UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),)
            )


# One schema description, two dialects: the DDL above is written in SQLite's words, and
# PostgreSQL gets the same tables with its own types. TEXT compares byte by byte in
# SQLite; COLLATE "C" gives PostgreSQL the same order whatever the server's locale.
_PG_TYPES = (
    (
        re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)


def for_backend(statement: str, backend: str) -> str:
    if backend != "postgresql":
        return statement
    if not statement.lstrip().upper().startswith(("CREATE TABLE", "ALTER TABLE")):
        return statement
    for pattern, replacement in _PG_TYPES:
        statement = pattern.sub(replacement, statement)
    return statement


def statements(script: str, backend: str = "sqlite") -> list[str]:
    return [for_backend(s, backend) for s in _statements(script)]


def _statements(script: str) -> list[str]:
    # executescript() would commit behind our back; split so the DDL stays in our transaction.
    out, buf = [], []
    for line in script.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("--"):
            continue
        buf.append(line)
        if stripped.endswith(";"):
            out.append("\n".join(buf))
            buf = []
    return out
