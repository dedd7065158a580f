"""pytest fixtures for a real PostgreSQL server the tests start themselves.

`pg_server` is the session's private cluster (tests/pg_server.py), started on first use
and installed first if need be (tests/install-postgresql); `pg_url` is a fresh, empty
database on it for one test, dropped afterwards; `pg_admin_url` reaches the server's
`postgres` database as superuser. Where PostgreSQL cannot be installed (no apt-get, not
root) the tests that need it skip saying why — except under CI (CI=true), where they fail:
CI always runs them.

A database per test, not a schema per test: a schema is ~1000x cheaper to make (0.1 ms
against 30-120 ms), but advisory locks and LISTEN/NOTIFY channels belong to a database, so
tests sharing one would share the ledger's write lock and its wake-ups.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.pg_server import PgServer, PostgresUnavailable, session_server, stop_session_server

_unavailable: list[str] = []  # why PostgreSQL cannot run here, once found: not retried


def _start() -> PgServer:
    if not _unavailable:
        try:
            return session_server()
        except PostgresUnavailable as exc:
            _unavailable.append(str(exc))
    reason = _unavailable[0]
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI but cannot run: {reason}")
    pytest.skip(f"PostgreSQL cannot be installed here: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = _start()
    yield server
    stop_session_server()


@pytest.fixture(scope="session")
def pg_admin_url(pg_server: PgServer) -> str:
    return pg_server.admin_url


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """postgresql://postgres@127.0.0.1:PORT/gt_test_N_XXXXXXXX: empty, this test's alone;
    dropped at teardown even while the test's connections linger."""
    with pg_server.database() as url:
        yield url
