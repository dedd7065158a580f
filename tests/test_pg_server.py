"""The private PostgreSQL server the tests start themselves (tests/pg_server.py) and its
installer (tests/install-postgresql): unprivileged, loopback-only, a fresh database per
test, and nothing left running however it ends."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests import pg_server as pg
from tests.pg_server import PgServer, processes_in

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "tests" / "install-postgresql"


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def _user_tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
    return [row[0] for row in rows]


def _databases(server: PgServer) -> set[str]:
    rows = server.admin().execute("SELECT datname FROM pg_database").fetchall()
    return {row[0] for row in rows}


def _wait_gone(data_dir: Path, timeout: float = 5.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_in(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_server_processes_run_as_an_unprivileged_user(pg_server: PgServer) -> None:
    assert pg_server.pid is not None
    with psycopg.connect(pg_server.admin_url):  # a backend too, not only the postmaster
        pids = processes_in(pg_server.data_dir)
        assert pg_server.pid in pids
        assert len(pids) > 1
        assert all(_uid(pid) != 0 for pid in pids), pids
    if os.geteuid() == 0:
        assert pg_server.user is not None and pg_server.user.name in ("postgres", "nobody")


def test_a_fresh_database_is_empty(pg_url: str) -> None:
    assert pg_url.startswith("postgresql://postgres@127.0.0.1:")
    assert _user_tables(pg_url) == []


def test_databases_of_two_tests_do_not_see_each_other(pg_server: PgServer, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE beads (id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO beads VALUES ('gt-1')")
    with pg_server.database() as other:
        assert other != pg_url
        assert _user_tables(other) == []
    assert _user_tables(pg_url) == ["public.beads"]


def test_a_database_is_dropped_at_teardown_even_with_connections_open(
    pg_server: PgServer,
) -> None:
    with pg_server.database() as url:
        name = url.rsplit("/", 1)[1]
        lingering = psycopg.connect(url)  # a ledger the test forgot to close
        assert name in _databases(pg_server)
    assert name not in _databases(pg_server)
    with pytest.raises(psycopg.OperationalError):
        lingering.execute("SELECT 1")
    lingering.close()


def test_listen_notify_reaches_another_connection(pg_url: str) -> None:
    with (
        psycopg.connect(pg_url, autocommit=True) as listener,
        psycopg.connect(pg_url, autocommit=True) as writer,
    ):
        listener.execute("LISTEN gt_wake")
        writer.execute("SELECT pg_notify('gt_wake', 'bead gt-7 closed')")
        got = [n.payload for n in listener.notifies(timeout=5.0, stop_after=1)]
    assert got == ["bead gt-7 closed"]


def _refused(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2.0)
        try:
            sock.connect((host, port))
        except OSError:
            return True
    return False


def _outward_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(sock.getsockname()[0])
    return None if address.startswith("127.") else address


def test_only_127_0_0_1_is_listened_on_and_trusted(pg_server: PgServer) -> None:
    port = pg_server.port
    assert not _refused("127.0.0.1", port)
    assert _refused("127.0.0.2", port)  # loopback too, but not the one address bound
    outward = _outward_address()
    if outward is not None:
        assert _refused(outward, port)
    conn = pg_server.admin()
    assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    rules = conn.execute("SELECT type, address FROM pg_hba_file_rules ORDER BY line_number")
    assert rules.fetchall() == [("local", None), ("host", "127.0.0.1")]


def test_a_second_server_stops_leaving_no_process_and_no_files() -> None:
    server = PgServer().start()
    data_dir, base = server.data_dir, server.base
    assert base is not None
    conn = psycopg.connect(server.admin_url)  # a backend as well as the postmaster
    try:
        assert len(processes_in(data_dir)) > 1
        server.stop()
    finally:
        conn.close()
    assert _wait_gone(data_dir) == set()
    assert not base.exists()


def test_a_server_that_ignores_fast_shutdown_is_killed_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pg, "STOP_GRACE", 0.5)
    server = PgServer().start()
    data_dir = server.data_dir
    conn = psycopg.connect(server.admin_url)  # its backend must go too
    try:
        assert server.pid is not None
        # A postmaster that never acts on SIGINT, and a backend too stuck to notice its
        # death (a backend is its own process group: a group kill would miss it).
        os.kill(conn.info.backend_pid, signal.SIGSTOP)
        os.kill(server.pid, signal.SIGSTOP)
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 10
        assert _wait_gone(data_dir) == set()
    finally:
        conn.close()
        server.stop()


def test_a_cluster_left_by_a_killed_run_is_ended_by_the_next() -> None:
    script = (
        "import time\n"
        "from tests.pg_server import PgServer\n"
        "s = PgServer().start()\n"
        "print(s.base, flush=True)\n"
        "time.sleep(300)\n"
    )
    run = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert run.stdout is not None
        base = Path(run.stdout.readline().strip())
        assert processes_in(base / "data")
    finally:
        run.kill()  # SIGKILL: no finalizer, no atexit
        run.wait()
    assert processes_in(base / "data")  # the postmaster outlives the run that started it
    pg.reap_stale()
    assert _wait_gone(base / "data") == set()
    assert not base.exists()


def test_the_session_server_is_stopped_at_exit_without_a_finalizer() -> None:
    script = "from tests.pg_server import session_server\nprint(session_server().base)\n"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    base = Path(done.stdout.strip())
    assert _wait_gone(base / "data") == set()
    assert not base.exists()


def test_the_installer_is_quiet_and_quick_when_the_server_is_there() -> None:
    if pg.server_bindir() is None:
        pytest.skip("no PostgreSQL server installed here")
    began = time.monotonic()
    done = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert time.monotonic() - began < 1.0


@pytest.mark.parametrize(("ci", "code"), [("", 3), ("true", 1)])
def test_the_installer_says_why_it_cannot_and_fails_under_ci(
    tmp_path: Path, ci: str, code: int
) -> None:
    """No server and no apt-get: exit 3 and one line (tests skip), but 1 under CI."""
    env = {"PATH": str(tmp_path), "CI": ci, "GASTOWN_PG_LIB": str(tmp_path / "none")}
    done = subprocess.run(
        ["/bin/sh", str(INSTALLER)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == code
    assert done.stderr.count("\n") == 1 and "apt-get not found" in done.stderr


def test_the_installer_will_not_use_apt_get_unless_root() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("needs root (to run the installer as nobody) and apt-get")
    with tempfile.TemporaryDirectory() as scratch:  # pytest's tmp_path is root's alone
        script = Path(scratch) / "install-postgresql"
        shutil.copy(INSTALLER, script)
        os.chmod(scratch, 0o755)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "GASTOWN_PG_LIB": f"{scratch}/none"}
        done = subprocess.run(
            ["/bin/sh", str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            user="nobody",
            cwd=scratch,
        )
    assert done.returncode == 3
    assert done.stderr.startswith("not root: cannot install postgresql")
