"""`gt ledger migrate`: a town's ledger copied whole into an empty one (SQLite or
PostgreSQL), verified before it commits, refused while an engine holds the town."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from engine.commands import done as done_cmd
from engine.commands.convoy_actions import ConvoyCreate
from engine.commands.convoy_actions import create as create_convoy
from engine.commands.import_export import ImportRequest, import_beads
from engine.commands.ledger_move import MigrateRequest, migrate_ledger
from engine.commands.messages import MailSend, send
from engine.errors import GtError
from engine.ledger import Ledger, transfer
from engine.ledger.checklists import ChecklistStore
from engine.lock import EngineLock
from engine.scheduler.names import next_name
from engine.town import Town, init_town
from engine.usage import SessionUsage
from tests.conftest import DATA, add_rig, gt

needs_data = pytest.mark.skipif(
    not (DATA / "gastown-backup").exists(), reason="shared data set not present"
)


def build_real_town(root: Path) -> Town:
    """A town with rows in every table the work creates: Beads' and Gas Town's own issue
    ledgers imported, a convoy, mail, agents (one working, one done with a merge request),
    token usage, a checklist, an inbox item, and a gap in the event ids (compaction)."""
    town = init_town(str(root))
    with Ledger(town.ledger_target) as led:
        add_rig(led, "gastown", "gt")
        add_rig(led, "beads", "bd")
        import_beads(led, ImportRequest(str(DATA / "gastown-backup")), actor="mayor")
        import_beads(led, ImportRequest(str(DATA / "beads-issues.jsonl")), actor="mayor")
        a = led.beads.create("port the ledger", rig="gastown", slung=True)["id"]
        b = led.beads.create("write the README", rig="gastown", slung=True)["id"]
        c = led.beads.create("after both", rig="beads", slung=True)["id"]
        with led.transaction():
            led.graph.add(c, a, "blocks")
        create_convoy(led, ConvoyCreate("the move", beads=(a, b, c)), actor="mayor")
        send(led, MailSend.of("mayor", "moving day", "the ledger moves"), sender="gastown/witness")
        agents = []
        for bead in (a, b):
            with led.transaction():
                agent = led.agents.allocate("gastown", next_name(led.agents.live_names()), "script")
                attempt = led.agents.assign(agent, bead, rig="gastown")
            led.agents.mark_started(agent["id"], bead, attempt)
            agents.append((agent["id"], bead, attempt))
        agent_id, bead, attempt = agents[1]
        done_cmd.record(
            led,
            done_cmd.DoneRequest(agent_id, bead, attempt, worktree=""),
            branch=f"polecat/x/{bead}",
            commit="c0ffee" * 6 + "abcd",
        )
        agent_id, bead, attempt = agents[0]
        led.usage.record(
            agent_id,
            rig="gastown",
            bead_id=bead,
            attempt=attempt,
            sessions=[SessionUsage("script", "s-1", "m", 1200, 340, 5)],
        )
        with led.transaction():
            ChecklistStore(led).attach(
                bead,
                "work",
                [("read", "Read", "the brief", ""), ("do", "Do", "", "it works")],
                actor="mayor",
            )
        ChecklistStore(led).tick(bead, "read", agent=agent_id, attempt=attempt)
        led.inbox.put("nudge", {"to": agent_id, "text": "hi"}, actor="mayor")
    with sqlite3.connect(town.ledger_path) as raw:  # compaction removed the newest events
        raw.execute("DELETE FROM events WHERE id > (SELECT max(id) - 3 FROM events)")
    return town


def table_rows(path: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read with sqlite3 itself (not through the ledger)."""
    with sqlite3.connect(path) as raw:
        names = [
            r[0]
            for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return {n: sorted(raw.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}


def config_of(town: Town) -> str:
    return Path(town.config_path).read_text()


@pytest.fixture(scope="module")
def real_town_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (DATA / "gastown-backup").exists():
        pytest.skip("shared data set not present")
    root = tmp_path_factory.mktemp("template") / "town"
    build_real_town(root)
    return root


@pytest.fixture
def real_town(real_town_template: Path, tmp_path: Path) -> Town:
    """A fresh copy of the built town (building it takes a few seconds)."""
    import shutil

    root = tmp_path / "town"
    shutil.copytree(real_town_template, root)
    return Town(str(root))


def test_the_tables_copied_are_every_table_the_schema_creates(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "t"))
    with sqlite3.connect(town.ledger_path) as raw:
        created = {
            r[0]
            for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not r[0].startswith("sqlite_")
        }
    shapes = {t.name: t for t in transfer.tables()}
    assert set(shapes) == created
    assert {n for n, t in shapes.items() if t.counter} == {"events", "inbox"}
    assert [n for n, t in shapes.items() if t.seeded] == ["meta"]


@needs_data
def test_a_real_town_moves_to_a_file_with_every_row_and_counter(
    real_town: Town, tmp_path: Path
) -> None:
    before = table_rows(real_town.ledger_path)
    with Ledger(real_town.ledger_target) as led:
        ready = [b["id"] for b in led.beads.ready(include_records=True)]
        last_event = led.state.last_event_id()
    assert len(before["beads"]) > 1300 and before["merge_requests"] and before["usage"]
    assert before["checklist_steps"] and before["mail"] if "mail" in before else True
    target = tmp_path / "moved.db"
    seen: list[tuple[str, int, bool]] = []
    moved = migrate_ledger(
        real_town, MigrateRequest(str(target)), progress=lambda *a: seen.append(a)
    )
    after = table_rows(str(target))
    # every row of every table, every column exactly; the id counters continue
    assert after == before
    assert {t: n for t, n, done in seen if done} == {t.table: t.rows for t in moved.tables}
    assert moved.ready == len(ready) and moved.blocked >= 1 and moved.kept == real_town.ledger_path
    assert table_rows(real_town.ledger_path) == before  # the old ledger untouched
    # town.toml names the new ledger, private; the town opens it
    assert f'url = "{target}"' in config_of(real_town)
    assert stat.S_IMODE(os.stat(real_town.config_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    reopened = Town(real_town.root)
    assert reopened.ledger_target == str(target)
    with reopened.open_ledger() as led:
        assert [b["id"] for b in led.beads.ready(include_records=True)] == ready
        new = led.beads.create("after the move", rig="gastown")["id"]
        # the compacted events' ids are not handed out again
        assert led.beads.history(new)[0]["id"] > last_event + 3
    # and back home: ledger.db still holds the old town, so it is refused ...
    with pytest.raises(GtError, match=r"already holds a ledger.*from before its move"):
        migrate_ledger(reopened, MigrateRequest(real_town.ledger_path))
    # ... and into a new file it goes, with the bead made since
    back = tmp_path / "back.db"
    migrate_ledger(reopened, MigrateRequest(f"sqlite:{back}"))
    assert table_rows(str(back)) == table_rows(str(target))


@needs_data
def test_moving_back_to_the_towns_own_file_drops_the_url(real_town: Town, tmp_path: Path) -> None:
    original = config_of(real_town)
    migrate_ledger(real_town, MigrateRequest(str(tmp_path / "away.db")))
    os.rename(real_town.ledger_path, tmp_path / "old.db")  # the person moves the old one aside
    moved = migrate_ledger(Town(real_town.root), MigrateRequest(real_town.ledger_path))
    assert moved.config == "" and "url =" not in config_of(real_town)
    assert "[ledger]" in config_of(real_town) and config_of(real_town).startswith(original)
    assert Town(real_town.root).ledger_target == real_town.ledger_path


def test_refused_while_an_engine_holds_the_town(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "t"))
    before = config_of(town)
    engine = EngineLock(town.lock_path)
    engine.acquire()  # what a running engine holds (flock: per open file, even in-process)
    try:
        out = gt("ledger", "migrate", "--to", str(tmp_path / "x.db"), town=town)
    finally:
        engine.release()
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("gt: error: an engine is already")
    assert "stop it" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "x.db").exists() and config_of(town) == before
    # and the migration holds the lock itself: no engine starts mid-copy
    taken: list[str] = []

    def progress(table: str, rows: int, done: bool) -> None:
        if table == "beads" and done:
            try:
                EngineLock(town.lock_path).acquire()
            except GtError as exc:
                taken.append(exc.message)

    migrate_ledger(town, MigrateRequest(str(tmp_path / "y.db")), progress=progress)
    assert taken and "already running" in taken[0]


def test_refused_into_a_ledger_that_holds_work(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "t"))
    other = init_town(str(tmp_path / "other"))
    with Ledger(other.ledger_target) as led:
        led.beads.create("someone else's work")
    before, theirs = config_of(town), table_rows(other.ledger_path)
    out = gt("ledger", "migrate", "--to", other.ledger_path, town=town)
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[-1] == (
        f"gt: error: {other.ledger_path} already holds a ledger (1 beads, 1 events); "
        "a town moves only into an empty one; nothing was changed"
    )
    assert config_of(town) == before and table_rows(other.ledger_path) == theirs


def test_a_row_changed_on_the_way_rolls_everything_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = init_town(str(tmp_path / "t"))
    with Ledger(town.ledger_target) as led:
        for n in range(30):
            led.beads.create(f"bead {n}")
    empty = tmp_path / "empty.db"
    Ledger(str(empty), create=True).close()
    empty_rows = table_rows(str(empty))
    before = config_of(town)
    real_insert = transfer._insert_rows

    def corrupting(target: Ledger, insert: str, rows: list[tuple[Any, ...]]) -> None:
        if "INSERT INTO beads" in insert:  # one title changes mid-way, as a bad write would
            rows = [rows[0], (*rows[1][:5], "changed", *rows[1][6:]), *rows[2:]]
        real_insert(target, insert, rows)

    monkeypatch.setattr(transfer, "_insert_rows", corrupting)
    for where in (empty, tmp_path / "new.db"):
        with pytest.raises(GtError) as exc:
            migrate_ledger(town, MigrateRequest(str(where)), progress=lambda *a: None)
        assert exc.value.message == (
            "the copy does not match the town's ledger in beads (the same number of rows, "
            "different contents); it was rolled back and nothing was changed"
        )
        assert config_of(town) == before
    assert table_rows(str(empty)) == empty_rows  # the target as it was: empty
    assert not (tmp_path / "new.db").exists()  # a file made for the copy is removed
    assert not list(tmp_path.glob("new.db*"))


def test_the_ready_queue_is_compared_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.commands import ledger_move

    town = init_town(str(tmp_path / "t"))
    with Ledger(town.ledger_target) as led:
        first = led.beads.create("first")["id"]
        led.beads.create("second")
    real_readiness = ledger_move._readiness
    monkeypatch.setattr(ledger_move, "_compare", lambda *a: None)  # contents unchecked

    def readiness(led: Ledger) -> Any:
        ready, blocked = real_readiness(led)
        return (
            ([b for b in ready if b != first], blocked)
            if led.path.endswith("x.db")
            else (
                ready,
                blocked,
            )
        )

    monkeypatch.setattr(ledger_move, "_readiness", readiness)
    with pytest.raises(GtError, match=r"in the ready queue \(1 ready there, 2 here\)"):
        migrate_ledger(town, MigrateRequest(str(tmp_path / "x.db")))
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("to", "code", "words"),
    [
        ("ftp://example.org/x", 2, "a postgresql:// URL or a SQLite file, not ftp://"),
        ("postgresql://u:hunter2@localhost:notaport/db", 2, "is not a valid PostgreSQL URL"),
        ("", 2, "--to needs a postgresql:// URL or a SQLite file path"),
        ("sqlite:", 2, "needs a file path"),
        ("/no/such/dir/x.db", 2, "the directory /no/such/dir does not exist"),
        ("postgresql://u:hunter2@127.0.0.1:1/db", 1, "cannot reach the ledger at"),
    ],
)
def test_hostile_targets_get_one_line_and_change_nothing(
    tmp_path: Path, to: str, code: int, words: str
) -> None:
    town = init_town(str(tmp_path / "t"))
    before = config_of(town)
    out = gt("ledger", "migrate", "--to", to, town=town)
    assert out.returncode == code, out.stderr
    assert words in out.stderr
    errors = [line for line in out.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in out.stderr
    if "hunter2" in to:  # given on the command line: the person is told where it belongs
        assert "gt: warning: a password on the command line is visible" in out.stderr
    assert "hunter2" not in out.stderr + out.stdout
    assert config_of(town) == before


def test_a_password_given_on_stdin_reaches_only_town_toml(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "t"))
    # nothing listens on port 1: the password must not show in the refusal either
    out = gt(
        "ledger", "migrate", "--to", "-", town=town, input="postgresql://u:s3cret@127.0.0.1:1/d\n"
    )
    assert out.returncode == 1 and "s3cret" not in out.stderr + out.stdout
    assert "warning" not in out.stderr
    assert "postgresql://u:***@127.0.0.1:1/d" in out.stderr


@pytest.mark.slow
@needs_data
def test_a_real_town_goes_to_postgresql_and_back(
    real_town: Town, tmp_path: Path, pg_url: str
) -> None:
    before = table_rows(real_town.ledger_path)
    with Ledger(real_town.ledger_target) as led:
        ready = [b["id"] for b in led.beads.ready(include_records=True)]
        blocked = [b["id"] for b in led.beads.blocked()]
    out = gt("ledger", "migrate", "--to", pg_url, town=real_town)
    assert out.returncode == 0, out.stderr
    assert "  beads: " in out.stderr and "rows/s" in out.stdout and "kept untouched" in out.stdout
    town = Town(real_town.root)
    assert town.ledger_target == pg_url
    with town.open_ledger() as led:
        assert led.backend == "postgresql"
        assert [b["id"] for b in led.beads.ready(include_records=True)] == ready
        assert [b["id"] for b in led.beads.blocked()] == blocked
    moved = migrate_ledger(town, MigrateRequest(str(tmp_path / "home.db")))
    # every row and column back exactly as it was, the counters included
    assert table_rows(str(tmp_path / "home.db")) == before
    import re

    there = re.search(r"(\d+) rows in ([\d.]+)s, ([\d,]+) rows/s", out.stdout)
    assert there is not None
    print(
        f"\nSQLite -> PostgreSQL: {there[1]} rows in {there[2]}s, {there[3]} rows/s; "
        f"PostgreSQL -> SQLite: {moved.rows} rows in {moved.seconds:.2f}s, "
        f"{moved.rows / moved.seconds:,.0f} rows/s (verification included)"
    )


def test_a_file_that_is_not_a_ledger_is_left_alone(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "t"))
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    out = gt("ledger", "migrate", "--to", str(notes), town=town)
    assert out.returncode == 2 and "is a file that is not a ledger" in out.stderr
    assert notes.read_text() == "my notes\n"


def test_the_copy_itself_refuses_a_target_that_filled_meanwhile(tmp_path: Path) -> None:
    # the command checks first; the copy checks again under the target's write lock
    source = Ledger(str(tmp_path / "a.db"), create=True)
    target = Ledger(str(tmp_path / "b.db"), create=True)
    try:
        target.beads.create("got in first")
        with pytest.raises(transfer.TargetOccupied), transfer.copy_into(source, target):
            pass
        assert len(target.beads.list()) == 1
    finally:
        source.close()
        target.close()
