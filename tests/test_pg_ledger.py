"""The ledger on PostgreSQL, where it differs from SQLite (issue 14 item 1).

The stores' own behaviour runs on both backends through the `ledger` fixture (every test
that uses it runs twice); these are the PostgreSQL-only parts: wake-ups by LISTEN/NOTIFY,
a server restart under a running engine, the password in a URL, and bad URLs.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from engine.config import SchedulerSettings, TownConfig
from engine.engine import Engine
from engine.ledger import Ledger
from engine.ledger.pg_db import redact, translate
from engine.town import init_town
from tests.cli_support import assert_one_line_error
from tests.conftest import add_rig, gt
from tests.pg_server import PgServer
from tests.recording import RecordingDispatcher


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_placeholders_become_psycopgs_and_quoted_text_is_left_alone() -> None:
    assert translate("SELECT * FROM t WHERE a=? AND b LIKE 'x?%' AND c=?") == (
        "SELECT * FROM t WHERE a=%s AND b LIKE 'x?%%' AND c=%s"
    )
    assert translate("SELECT 10 % 3") == "SELECT 10 %% 3"


def test_a_password_is_redacted_from_every_message() -> None:
    assert redact("postgresql://gt:s3cret@db:5432/town") == "postgresql://gt:***@db:5432/town"
    assert "s3cret" not in redact("connection failed: password=s3cret host=db")


def test_the_engine_wakes_on_a_commit_by_notify_not_by_polling(pg_url: str, tmp_path: Path):
    """A one-minute tick and a 30 s safety poll: only LISTEN/NOTIFY explains a quick start
    of the dependent after another process closes its blocker."""
    town = init_town(str(tmp_path / "town"), ledger_url=pg_url)
    with town.open_ledger() as ledger:
        add_rig(ledger, "web", "gt")
        a = ledger.beads.create("a", rig="web")["id"]
        b = ledger.beads.create("b", rig="web", deps=[(a, "blocks")])["id"]
        ledger.convoys.create("c", [a, b])
    dispatcher = RecordingDispatcher()
    config = TownConfig(scheduler=SchedulerSettings(tick_seconds=60))

    async def scenario() -> float:
        engine = Engine(town, dispatcher=dispatcher, config=config)
        engine.poll_seconds = 30.0
        await engine.start()
        stop = asyncio.Event()
        task = asyncio.create_task(engine.run(stop))
        try:
            while len(dispatcher.started) < 1:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # the loop is asleep now, for up to 30 s
            res = await asyncio.to_thread(gt, "bead", "close", a, town=town)
            assert res.returncode == 0, res.stderr
            t0 = time.monotonic()
            while len(dispatcher.started) < 2:
                await asyncio.sleep(0.005)
                assert time.monotonic() - t0 < 10, "not woken"
            return time.monotonic() - t0
        finally:
            stop.set()
            await task
            await engine.stop()

    assert run(scenario()) < 5
    assert [x.bead_id for x in dispatcher.started] == [a, b]


@pytest.mark.slow
def test_an_engine_rides_out_a_restart_of_the_ledgers_server(tmp_path: Path) -> None:
    """The server goes away under a running engine and comes back: the engine says so once,
    reconnects (its ledger connection and its LISTEN), and dispatches work filed after."""
    with PgServer().start() as server, server.database() as db:
        url = db
        town = init_town(str(tmp_path / "town"), ledger_url=url)
        with town.open_ledger() as ledger:
            add_rig(ledger, "web", "gt")
            first = ledger.beads.create("before", rig="web", slung=True)["id"]
        dispatcher = RecordingDispatcher()
        config = TownConfig(scheduler=SchedulerSettings(tick_seconds=60))

        async def scenario() -> list[str]:
            engine = Engine(town, dispatcher=dispatcher, config=config)
            await engine.start()
            stop = asyncio.Event()
            task = asyncio.create_task(engine.run(stop))
            try:
                while len(dispatcher.started) < 1:
                    await asyncio.sleep(0.01)
                await asyncio.to_thread(server.bounce, 2.0)
                # a writer from another process, once the server is back
                with Ledger(url) as other:
                    after = other.beads.create("after", rig="web", slung=True)["id"]
                t0 = time.monotonic()
                while len(dispatcher.started) < 2:
                    await asyncio.sleep(0.02)
                    assert time.monotonic() - t0 < 20, "the engine never came back"
                assert not task.done(), "the engine's loop died with the server"
                return [first, after]
            finally:
                stop.set()
                await task
                await engine.stop()

        expected = run(scenario())
        assert [x.bead_id for x in dispatcher.started] == expected, dispatcher.started


def test_a_town_on_an_unreachable_server_gives_one_line_and_no_password(tmp_path: Path) -> None:
    town = init_town(str(tmp_path / "town"))
    # a ledger url pointing at a closed port, with a password in it
    with open(town.config_path, "a") as fh:
        fh.write('\n[ledger]\nurl = "postgresql://gt:s3cret@127.0.0.1:1/town"\n')
    out = gt("bead", "list", town=town)
    line = assert_one_line_error(out, 1, "cannot reach the ledger", "127.0.0.1:1")
    assert "s3cret" not in out.stderr + out.stdout and "***" in line


def test_init_refuses_a_url_that_is_not_postgresql_and_creates_nothing(tmp_path: Path) -> None:
    out = gt("init", str(tmp_path / "t"), "--ledger-url", "mysql://root:pw@db/x")
    assert_one_line_error(out, 2, "postgresql://")
    assert "pw" not in out.stderr
    assert not (tmp_path / "t" / "town.toml").exists()


def test_a_second_town_joins_a_shared_ledger_and_town_toml_is_private(
    pg_url: str, tmp_path: Path
) -> None:
    first = gt("init", str(tmp_path / "one"), "--ledger-url", pg_url)
    assert first.returncode == 0, first.stderr
    made = gt("bead", "create", "shared work", "--json", town=init_town_at(tmp_path / "one"))
    assert made.returncode == 0, made.stderr
    from tests.conftest import make_source_repo

    src = make_source_repo(tmp_path / "src")
    added = gt("rig", "add", "web", str(src), town=init_town_at(tmp_path / "one"))
    assert added.returncode == 0, added.stderr
    second = gt("init", str(tmp_path / "two"), "--ledger-url", pg_url)
    assert second.returncode == 0, second.stderr
    assert "joins a town of 1 rig(s): web" in second.stdout
    assert "--host NAME" in second.stdout
    listed = gt("bead", "list", town=init_town_at(tmp_path / "two"))
    assert "shared work" in listed.stdout
    for root in ("one", "two"):
        config = tmp_path / root / "town.toml"
        assert config.stat().st_mode & 0o077 == 0
        assert not (tmp_path / root / "ledger.db").exists()


def init_town_at(path: Path):  # type: ignore[no-untyped-def]
    from engine.town import Town

    return Town(str(path))


def test_writers_on_postgresql_take_turns_like_sqlites_single_writer(pg_url: str) -> None:
    """Two connections: the second writer waits for the first's commit, then sees it (the
    read-then-write rules of the stores hold across hosts as across processes)."""
    import threading

    one, two = Ledger(pg_url, create=True), Ledger(pg_url)
    try:
        order: list[str] = []
        entered = threading.Event()

        def second() -> None:
            entered.wait(5)
            with two.transaction():
                order.append(f"two sees {len(two.beads.list())}")

        t = threading.Thread(target=second)
        t.start()
        with one.transaction():
            one.beads.create("first")
            entered.set()
            time.sleep(0.3)  # the second writer is waiting on the lock now
            order.append("one commits")
        t.join(10)
        assert order == ["one commits", "two sees 1"]
    finally:
        one.close()
        two.close()


def test_the_schema_is_migrated_forward_on_postgresql_too(pg_url: str) -> None:
    import re

    from engine.ledger import schema

    newest = schema.MIGRATIONS[schema.SCHEMA_VERSION]
    tables = re.findall(r"CREATE TABLE (\w+)", newest)
    assert tables, "the newest migration creates a table"
    with Ledger(pg_url, create=True) as led, led.transaction():  # as the version before was
        for table in tables:
            led.db.conn.execute(f"DROP TABLE {table}")
        led.db.conn.execute(
            "UPDATE meta SET value=? WHERE key='schema_version'", (str(schema.SCHEMA_VERSION - 1),)
        )
    with Ledger(pg_url) as led:  # opens, sees the older version, migrates forward
        assert schema.version_of(led.db) == schema.SCHEMA_VERSION
        for table in tables:
            assert led.db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0


def test_a_ledger_from_a_newer_gastown_is_refused(pg_url: str) -> None:
    from engine.errors import LedgerError

    with Ledger(pg_url, create=True) as led, led.transaction():
        led.db.conn.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    with pytest.raises(LedgerError, match="newer Gas Town"):
        Ledger(pg_url)


def test_env_url_is_used_by_gt_init(pg_url: str, tmp_path: Path) -> None:
    env = {"GASTOWN_LEDGER_URL": pg_url}
    out = gt("init", str(tmp_path / "t"), env=env)
    assert out.returncode == 0, out.stderr
    assert "[ledger]" in (tmp_path / "t" / "town.toml").read_text()
    assert os.stat(tmp_path / "t" / "town.toml").st_mode & 0o077 == 0


@pytest.mark.slow
def test_a_password_in_the_ledger_url_reaches_no_command_line_environment_or_log(
    pg_url: str, tmp_path: Path
) -> None:
    """The test server trusts 127.0.0.1, so a URL with a password works as one would: the
    password may be in town.toml (0600) and nowhere else — not in a process's command line
    or environment (the engine's, a polecat's, its CLI's, a gate's), not in a log."""
    import subprocess

    from engine.adapters import procfs
    from engine.adapters.tmux import Tmux, socket_name
    from engine.polecats import proctree
    from tests.cli_support import gastown_argv
    from tests.conftest import make_source_repo, script_body

    secret = "pw-Zq81xK"
    url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{secret}@")
    town = init_town(str(tmp_path / "town"), ledger_url=url)
    with open(town.config_path, "a") as fh:
        fh.write('\n[rigs.web]\ngates = { env = "env" }\n')  # a gate that prints its env
    src = make_source_repo(tmp_path / "src")
    assert gt("rig", "add", "web", str(src), "--prefix", "gt", town=town).returncode == 0
    body = script_body("run env", "write a.txt a", "commit 'a'")
    with town.open_ledger() as ledger:  # its session prints its whole environment
        ledger.beads.create("env", rig="web", slung=True, body=body)
    log = open(tmp_path / "engine.log", "wb")  # noqa: SIM115 - closed below
    engine = subprocess.Popen(
        [*gastown_argv(), "--engine-only", "--town", town.root], stdout=log, stderr=log
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 90
        with town.open_ledger() as ledger:
            while time.monotonic() < deadline:
                for pid in proctree.with_env({"GT_TOWN": town.root}) | {engine.pid}:
                    cmdline = procfs.cmdline(pid) or ""
                    env = b"\0".join(procfs.environ(pid) or set())
                    if secret in cmdline or secret.encode() in env:
                        seen.append(f"{pid}: {cmdline[:80]}")
                if ledger.mq.list(rig="web", states=("landed",)):
                    break
                time.sleep(0.1)
            assert ledger.mq.list(rig="web", states=("landed",)), "the work never landed"
    finally:
        engine.terminate()
        engine.wait(30)
        log.close()
        Tmux(socket_name(town.root)).kill_server()
        proctree.terminate(proctree.with_env({"GT_TOWN": town.root}), grace=1.0)
    assert seen == []
    leaks = [
        str(path)
        for path in Path(town.root).rglob("*")
        if path.is_file() and path.name != "town.toml" and secret.encode() in path.read_bytes()
    ]
    assert leaks == [] and secret not in (tmp_path / "engine.log").read_text()
    # ...and the one place it is kept is its owner's alone
    assert os.stat(town.config_path).st_mode & 0o077 == 0
