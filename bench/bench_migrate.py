"""`gt ledger migrate` at 10,000 and 100,000 beads: rows per second, against bare copies.

(a) floor, SQLite -> SQLite: ATTACH the target and `INSERT INTO t SELECT * FROM src.t` per
    table in one transaction (plain sqlite3: no rows reach Python, nothing is verified);
(b) migrate_ledger SQLite -> SQLite (copy + fingerprints of both sides + readiness);
(c) floor, SQLite -> PostgreSQL: psycopg executemany of every table's rows into an empty
    ledger's tables, one transaction, nothing verified;
(d) migrate_ledger SQLite -> PostgreSQL; (e) migrate_ledger PostgreSQL -> SQLite.
PostgreSQL is a private throwaway server (tests/pg_server.py). Usage:
    python bench/bench_migrate.py [--quick]
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time

from common import REPO, print_table, quick_flag
from gen import cached_town, copy_town

sys.path.insert(0, str(REPO))


def floor_sqlite(src: str, dest: str) -> int:
    from engine.ledger import Ledger, transfer

    Ledger(dest, create=True).close()
    raw = sqlite3.connect(dest, isolation_level=None)
    raw.execute("ATTACH ? AS src", (src,))
    raw.execute("BEGIN")
    rows = 0
    for t in transfer.tables():
        raw.execute(f"DELETE FROM {t.name}")
        rows += raw.execute(f"INSERT INTO {t.name} SELECT * FROM src.{t.name}").rowcount
    raw.execute("COMMIT")
    raw.close()
    return rows


def floor_pg(src: str, url: str) -> int:
    import psycopg

    from engine.ledger import Ledger, transfer

    Ledger(url, create=True).close()
    rows = 0
    raw = sqlite3.connect(src)
    with psycopg.connect(url) as pg, pg.cursor() as cur:
        cur.execute("DELETE FROM meta")
        for t in transfer.tables():
            data = raw.execute(f"SELECT * FROM {t.name}").fetchall()
            if not data:
                continue
            cols = [d[0] for d in raw.execute(f"SELECT * FROM {t.name}").description]
            over = " OVERRIDING SYSTEM VALUE" if t.counter else ""
            marks = ", ".join("%s" for _ in cols)
            cur.executemany(
                f"INSERT INTO {t.name} ({', '.join(cols)}){over} VALUES ({marks})", data
            )
            rows += len(data)
    raw.close()
    return rows


def main() -> None:
    from engine.commands.ledger_move import MigrateRequest, migrate_ledger
    from engine.ledger import Ledger
    from tests.pg_server import PgServer

    sizes = (10_000,) if quick_flag() else (10_000, 100_000)
    out = []
    with PgServer() as server, tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            town, _info = cached_town(n)
            src = copy_town(town, os.path.join(tmp, f"t{n}"))
            Ledger(src.ledger_path).close()  # a cached town of an older schema: migrated

            t0 = time.perf_counter()
            rows = floor_sqlite(src.ledger_path, os.path.join(tmp, f"floor{n}.db"))
            floor_s = time.perf_counter() - t0
            moved = migrate_ledger(src, MigrateRequest(os.path.join(tmp, f"m{n}.db")))
            out.append(
                [
                    f"{n:,}",
                    "sqlite -> sqlite",
                    rows,
                    f"{rows / floor_s:,.0f}",
                    f"{moved.rows / moved.seconds:,.0f}",
                    f"{floor_s / moved.seconds:.2f}",
                ]
            )

            src = copy_town(town, os.path.join(tmp, f"p{n}"))
            Ledger(src.ledger_path).close()
            with server.database() as url:
                t0 = time.perf_counter()
                rows = floor_pg(src.ledger_path, url)
                floor_s = time.perf_counter() - t0
            with server.database() as url:
                there = migrate_ledger(src, MigrateRequest(url))
                back = migrate_ledger(src, MigrateRequest(os.path.join(tmp, f"b{n}.db")))
            out.append(
                [
                    f"{n:,}",
                    "sqlite -> postgresql",
                    rows,
                    f"{rows / floor_s:,.0f}",
                    f"{there.rows / there.seconds:,.0f}",
                    f"{floor_s / there.seconds:.2f}",
                ]
            )
            out.append(
                [
                    f"{n:,}",
                    "postgresql -> sqlite",
                    back.rows,
                    "",
                    f"{back.rows / back.seconds:,.0f}",
                    "",
                ]
            )
    print_table(
        "gt ledger migrate (rows/s; verified = copy + fingerprints + readiness)",
        ["beads", "direction", "rows", "floor rows/s", "migrate rows/s", "vs floor"],
        out,
    )


if __name__ == "__main__":
    main()
