"""gt schema [NAME] — the JSON Schema of what a `gt ... --json` prints.

The schemas come from the record shapes (engine/json_schemas.py); pydantic is imported
here only, when this command runs, so every other `gt` command starts as lean as before.
"""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli.output import say, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "schema",
        help="the JSON Schema of a --json output (no NAME: list the outputs)",
        parents=[common],
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="an output name (see `gt schema`)")
    p.add_argument("--json", action="store_true", help="the list of outputs as a JSON array")
    p.set_defaults(handler=cmd_schema)


def cmd_schema(args: argparse.Namespace, ctx: Any) -> int:
    from engine.errors import UsageError
    from engine.json_schemas import OUTPUTS, schema

    if args.name is None:
        if args.json:
            json.dump([{"name": n, "commands": o.commands} for n, o in OUTPUTS.items()], sys.stdout)
            sys.stdout.write("\n")
            return 0
        table([[n, o.commands] for n, o in OUTPUTS.items()], ["NAME", "PRINTED BY"])
        say("\n`gt schema NAME` prints the JSON Schema of one.")
        return 0
    if args.name not in OUTPUTS:
        raise UsageError(f"no output named {args.name!r} (known: {', '.join(OUTPUTS)})")
    # Always indented: a schema is read by people and tools alike, and it is small.
    sys.stdout.write(json.dumps(schema(args.name), indent=2, ensure_ascii=False) + "\n")
    return 0
