"""gt import, gt export (Beads JSONL, both layouts)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.cli.output import emit_json, error_line, say

# Records kept as the ledger has them are listed one a line up to this many (all in --json).
_SHOWN_KEPT = 20


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "import",
        help="import Beads JSONL",
        parents=[common],
        description="Import a Beads ledger: an issues.jsonl with embedded "
        "dependencies, or a backup directory (issues.jsonl + "
        "dependencies.jsonl + labels.jsonl + comments.jsonl). "
        "All or nothing unless --skip-bad; re-importing the same "
        "file changes nothing. The newer record wins (by updated_at) "
        "and live work (hooked, in progress, in review) is never "
        "changed: such records are skipped, with the reason. The "
        "dependencies of the records applied follow the file. "
        "Imported beads are not dispatched until slung.",
    )
    p.add_argument("file", metavar="FILE", help="a .jsonl file or a backup directory")
    p.add_argument("--rig", help="put every imported bead in this rig (default: by id prefix)")
    p.add_argument(
        "--skip-bad", action="store_true", help="import the good lines and report the bad ones"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("export", help="export Beads JSONL", parents=[common])
    p.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="where (default: stdout); a directory with --layout backup",
    )
    p.add_argument("--rig", help="only this rig's beads")
    p.add_argument("--layout", choices=["embedded", "backup"], default="embedded")
    p.set_defaults(handler=cmd_export)


def cmd_import(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.import_export import ImportRequest, import_beads

    request = ImportRequest(args.file, rig=args.rig, skip_bad=args.skip_bad)
    result = import_beads(ctx.ledger, request, actor=ctx.actor)
    if args.json:
        emit_json(result.as_dict())
        return 0
    stats, kept = result.stats, result.kept
    say(
        f"Imported {args.file} ({result.layout} layout): {stats['created']} new, "
        f"{stats['updated']} updated, {stats['unchanged']} unchanged, "
        f"{len(kept)} skipped, {stats['deps_added']} dependencies added, "
        f"{stats['deps_removed']} removed"
    )
    for k in kept[:_SHOWN_KEPT]:
        say(f"skipped {k['id']}: {k['reason']}")
    if len(kept) > _SHOWN_KEPT:
        say(f"... and {len(kept) - _SHOWN_KEPT} more skipped (all of them with --json)")
    for s in result.bad_lines:
        sys.stderr.write(error_line(f"skipped {s.file} line {s.line}: {s.error}"))
    return 0


def cmd_export(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.import_export import ExportRequest, export_beads

    request = ExportRequest(args.file or sys.stdout, rig=args.rig, layout=args.layout)
    result = export_beads(ctx.ledger, request)
    if args.file:
        say(f"Exported {result.beads} beads to {args.file}")
    return 0
