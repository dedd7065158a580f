"""A private PostgreSQL server for the tests and the benchmarks.

Debian's server binaries (/usr/lib/postgresql/N/bin, installed on first use by
tests/install-postgresql) run a throwaway cluster: initdb into a temporary directory, then
`postgres` listening on 127.0.0.1 only, on a free port, with trust authentication for the
unix socket and loopback only, and durability switched off for speed (a test cluster is
thrown away, never recovered). PostgreSQL refuses to run as root, so under root (CI, the
project's machines) the cluster runs as the `postgres` user the Debian package creates, or
`nobody` where that user is missing; the privilege drop is subprocess's own
(user=/group=/extra_groups=), the same setgid/setuid runuser does, with no tool to find.

Every process of a cluster has its data directory as working directory, which is how
stop() finds and kills them all when a fast shutdown does not finish (each backend is its
own process group, so a group kill of the postmaster would miss them), and how a cluster
left by a test run killed outright is found and ended by the next run (reap_stale).

The tests reach this through tests/pg_fixtures.py; bench scripts use throwaway_server().
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from engine.adapters import procfs

if TYPE_CHECKING:
    import psycopg

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "tests" / "install-postgresql"
HOST = "127.0.0.1"
SUPERUSER = "postgres"  # the cluster's superuser role, whatever OS user runs it
DIR_PREFIX = "gastown-pg-"
START_TIMEOUT = 60.0
STOP_GRACE = 15.0

# A test cluster is disposable: nothing is synced, and 200 connections leave room for three
# engines, twenty concurrent `gt` writers, the apps' readers and the fixtures' own.
TEST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "1GB",
    "shared_buffers": "32MB",
    "max_connections": "200",
    "log_min_messages": "warning",
}


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing and cannot be installed here (the reason is the text)."""


class RunAs(NamedTuple):
    name: str
    uid: int
    gid: int


def server_bindir() -> Path | None:
    """The newest Debian PostgreSQL server's bin directory, or None when none is installed."""
    found = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        if os.access(bindir / "postgres", os.X_OK) and os.access(bindir / "initdb", os.X_OK):
            version = bindir.parent.name
            found.append((int(version) if version.isdigit() else 0, bindir))
    return max(found)[1] if found else None


def ensure_installed() -> Path:
    """The server's bin directory, installing Debian's package first when it is missing.

    PostgresUnavailable when it cannot be installed here (no apt-get, not root); under CI the
    installer fails instead, which surfaces here as a RuntimeError: CI never skips these.
    """
    bindir = server_bindir()
    if bindir is not None:
        return bindir
    done = subprocess.run([str(INSTALLER)], capture_output=True, text=True, timeout=900)
    if done.returncode == 3:
        raise PostgresUnavailable(done.stderr.strip() or "tests/install-postgresql: exit 3")
    if done.returncode != 0:
        raise RuntimeError(f"tests/install-postgresql failed:\n{done.stdout}{done.stderr}")
    bindir = server_bindir()
    if bindir is None:
        raise RuntimeError("tests/install-postgresql succeeded but no server binaries found")
    return bindir


def run_as() -> RunAs | None:
    """Whom the cluster runs as: None for the current user, else an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):  # the package's own account; nobody is everywhere
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return RunAs(name, entry.pw_uid, entry.pw_gid)
    raise PostgresUnavailable("running as root and neither a postgres nor a nobody user exists")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def processes_in(data_dir: Path) -> set[int]:
    """Every live process whose working directory is data_dir: a cluster's whole tree."""
    wanted = {str(data_dir), f"{data_dir} (deleted)"}
    found = set()
    for pid in procfs.pids():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue  # gone, or another user's and we are not root
        if cwd in wanted and procfs.running(pid):
            found.add(pid)
    return found


def _kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _owner_alive(base: Path) -> bool:
    """Whether the process that started a cluster (pid and start time, so a reused pid is
    not mistaken for it) still runs. A directory just made has no owner file yet: young
    ones count as alive, so two test runs starting together do not reap each other."""
    try:
        pid_text, start_text = (base / "owner").read_text().split()
        info = procfs.stat(int(pid_text))
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            return time.time() - base.stat().st_mtime < 60
        return False
    return info is not None and info.running and info.start == int(start_text)


def reap_stale() -> None:
    """End clusters whose starting process died without stopping them (a test run killed
    with SIGKILL runs no finalizer and no atexit), and remove their directories."""
    for base in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        if base.is_dir() and not _owner_alive(base):
            _kill_all(processes_in(base / "data"))
            shutil.rmtree(base, ignore_errors=True)


class PgServer:
    """One private cluster: start(), then url(dbname) / create_database(); stop() ends it."""

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.settings = {**TEST_SETTINGS, **(settings or {})}
        self.bindir: Path | None = None
        self.base: Path | None = None
        self.port = 0
        self.user = run_as()
        self.started_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._admin: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._names = itertools.count(1)

    @property
    def data_dir(self) -> Path:
        assert self.base is not None, "server not started"
        return self.base / "data"

    @property
    def version(self) -> int:
        """The server's major version (the name of its /usr/lib/postgresql directory)."""
        name = self.bindir.parent.name if self.bindir is not None else ""
        return int(name) if name.isdigit() else 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def start(self) -> PgServer:
        began = time.monotonic()
        reap_stale()
        self.bindir = ensure_installed()
        self.base = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
        me = procfs.stat(os.getpid())
        (self.base / "owner").write_text(f"{os.getpid()} {me.start if me else 0}\n")
        try:
            self._initdb()
            for _attempt in range(3):  # another process may take the free port first
                self.port = free_port()
                if self._launch():
                    break
            else:
                raise RuntimeError(f"postgres did not start:\n{self._log_tail()}")
        except BaseException:
            self.stop()
            raise
        self.started_seconds = time.monotonic() - began
        return self

    def _spawn(
        self,
        args: list[str],
        stdout: int | IO[Any],
        stderr: int | IO[Any],
        new_session: bool = False,
    ) -> subprocess.Popen[bytes]:
        """Start a PostgreSQL binary as the cluster's user, in the cluster's directory."""
        assert self.base is not None
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        user = self.user
        return subprocess.Popen(
            args,
            cwd=self.base,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=new_session,
            user=user.uid if user else None,
            group=user.gid if user else None,
            extra_groups=[] if user else None,  # drop root's supplementary groups too
        )

    def _initdb(self) -> None:
        assert self.base is not None and self.bindir is not None
        (self.base / "sock").mkdir()
        if self.user is not None:
            for path in (self.base, self.base / "sock"):
                os.chown(path, self.user.uid, self.user.gid)
        init = self._spawn(
            [
                str(self.bindir / "initdb"),
                f"--pgdata={self.data_dir}",
                f"--username={SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",  # a throwaway cluster: nothing needs to reach the disk
            ],
            subprocess.PIPE,
            subprocess.STDOUT,
        )
        out, _ = init.communicate(timeout=120)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{out.decode(errors='replace')}")
        # Only the unix socket and 127.0.0.1 may connect, whatever listen_addresses says.
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if self.user is not None:
            os.chown(hba, self.user.uid, self.user.gid)

    def _launch(self) -> bool:
        """Start the postmaster on self.port; False when the port was taken meanwhile."""
        assert self.bindir is not None and self.base is not None
        options = {
            **self.settings,
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": str(self.base / "sock"),
        }
        args = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        with open(self.base / "postgres.log", "ab") as log:
            self._proc = self._spawn(args, log, log, new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                if re.search(r"could not (bind|create listen)", self._log_tail()):
                    return False
                raise RuntimeError(f"postgres exited at start:\n{self._log_tail()}")
            if self._ready():
                return True
            time.sleep(0.02)
        raise RuntimeError(f"postgres not ready after {START_TIMEOUT:.0f}s:\n{self._log_tail()}")

    def _ready(self) -> bool:
        """postmaster.pid's status line says "ready" once connections are accepted."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def _log_tail(self, lines: int = 20) -> str:
        assert self.base is not None
        try:
            text = (self.base / "postgres.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def admin(self) -> psycopg.Connection:
        """One autocommit connection to the postgres database, kept for the server's life
        (CREATE/DROP DATABASE cannot run in a transaction)."""
        import psycopg  # here, so a run with no PostgreSQL test never loads it

        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.admin_url, autocommit=True)
        return self._admin

    def create_database(self) -> str:
        """A fresh, empty database; returns its name. template0 holds only what initdb put
        there, so nothing a test adds to template1 leaks into the next. FILE_COPY copies the
        files instead of writing them into the WAL: measured the faster of the two here."""
        name = f"gt_test_{next(self._names)}_{uuid.uuid4().hex[:8]}"
        with self._lock:
            strategy = " STRATEGY FILE_COPY" if self.version >= 15 else ""  # new in 15
            self.admin().execute(f'CREATE DATABASE "{name}" TEMPLATE template0{strategy}')
        return name

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh database's URL for the block, dropped after it however it ends."""
        name = self.create_database()
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)

    def drop_database(self, name: str) -> None:
        """Drop it even while connections linger (a test's ledger left open, a crashed
        engine's pool): WITH (FORCE) ends them first."""
        with self._lock:
            self.admin().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def bounce(self, down_seconds: float = 0.0) -> None:
        """The server goes away and comes back on the same port with the same data, as in a
        restart or a network blip: every session is cut, nothing committed is lost."""
        assert self._proc is not None, "the server is not running"
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None
        self._proc.send_signal(signal.SIGINT)
        self._proc.wait(timeout=STOP_GRACE)
        self._proc = None
        time.sleep(down_seconds)
        if not self._launch():
            raise RuntimeError(f"postgres did not come back on port {self.port}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT: sessions end, no waiting for clients); SIGKILL for every
        process of the cluster if that has not finished within STOP_GRACE; then the files."""
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGINT)
            try:
                self._proc.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                _kill_all({self._proc.pid})
                self._proc.wait(timeout=10)
            self._proc = None
        if self.base is not None:
            data_dir = self.data_dir
            deadline = time.monotonic() + 5.0
            while (left := processes_in(data_dir)) and time.monotonic() < deadline:
                _kill_all(left)  # backends outliving their postmaster
                time.sleep(0.02)
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_session: PgServer | None = None
_session_lock = threading.Lock()


def session_server() -> PgServer:
    """The one server of this process, started on first use and stopped at exit (the pytest
    session's finalizer stops it earlier; atexit covers runs that end another way)."""
    global _session
    with _session_lock:
        if _session is None or not _session.running:
            server = PgServer()
            atexit.register(server.stop)
            _session = server.start()
        return _session


def stop_session_server() -> None:
    global _session
    with _session_lock:
        if _session is not None:
            _session.stop()
            _session = None


@contextlib.contextmanager
def throwaway_server(settings: dict[str, str] | None = None) -> Iterator[PgServer]:
    """A server for one benchmark run, stopped and removed afterwards however the run ends:

    with throwaway_server() as server:
        url = server.url(server.create_database())
    """
    server = PgServer(settings)
    atexit.register(server.stop)
    try:
        yield server.start()
    finally:
        server.stop()
        atexit.unregister(server.stop)
