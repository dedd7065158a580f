"""gt ledger migrate --to TARGET: move the town's ledger to PostgreSQL (or back to a file)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.cli.output import emit_json, error_line, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("ledger", help="the town's ledger: move it to PostgreSQL or back")
    ls = p.add_subparsers(dest="ledger_command", metavar="ACTION", parser_class=type(p))
    ls.required = True
    q = ls.add_parser(
        "migrate",
        help="copy the ledger into an empty one and switch the town to it",
        parents=[common],
        description="Copy every table of the town's ledger into an empty ledger (a "
        "PostgreSQL database, or a SQLite file), in one transaction, and switch the town "
        "to it: town.toml's [ledger] url names the new one. The copy is committed only "
        "when every table's rows and contents, the id counters, the ready queue and the "
        "blocked beads read the same on both sides; else nothing changes. Refused while "
        "an engine runs the town (no engine starts meanwhile either). The old ledger is "
        "kept as it was. A password is better kept in ~/.pgpass (or give the URL on "
        "stdin with --to -: a command line is visible to every user of the machine).",
    )
    q.add_argument(
        "--to",
        required=True,
        metavar="TARGET",
        help="postgresql://USER@HOST:PORT/DB, sqlite:PATH or a file path; - reads it from stdin",
    )
    q.add_argument("--json", action="store_true", help="the result as one JSON document")
    q.set_defaults(handler=cmd_migrate)


def cmd_migrate(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.ledger_move import MigrateRequest, migrate_ledger
    from engine.errors import UsageError
    from engine.ledger.pg_db import redact

    target = args.to
    if target == "-":
        target = sys.stdin.readline().strip()
        if not target:
            raise UsageError("--to -: stdin held no URL or path")
    elif redact(target) != target:
        # argv is readable by every user of the machine (ps, /proc) while this runs
        sys.stderr.write(
            error_line(
                "gt: warning: a password on the command line is visible to other users; "
                "next time give the URL on stdin (--to -) or keep the password in ~/.pgpass"
            )
        )
    town = ctx.town
    say_err = sys.stderr.write

    started: list[bool] = []

    def progress(table: str, rows: int, finished: bool) -> None:
        if not started:  # once the target is open and checked: a refusal stays one line
            say_err(error_line(f"Copying the ledger of {town.root} to {redact(target)}"))
            started.append(True)
        say_err(error_line(f"  {table}: {rows} rows{'' if finished else ' …'}"))
        sys.stderr.flush()

    moved = migrate_ledger(town, MigrateRequest(target), progress=progress)
    if args.json:
        emit_json(moved.as_dict())
        return 0
    rate = f", {moved.rows / moved.seconds:,.0f} rows/s" if moved.seconds > 0 else ""
    say(
        f"Moved the ledger to {moved.target}: {len(moved.tables)} tables, {moved.rows} rows "
        f"in {moved.seconds:.1f}s{rate}. Rows, contents, id counters, the ready queue "
        f"({moved.ready} ready) and the blocked beads ({moved.blocked}) match."
    )
    if moved.config:
        say(f"town.toml now says {moved.config}")
    else:
        say("town.toml names no ledger: the town uses its own ledger.db again")
    say(
        f"The old ledger {moved.kept} is kept untouched (the town as it was before the "
        "move); delete it once you no longer need it."
    )
    return 0
