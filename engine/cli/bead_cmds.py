"""gt bead create | show | list | update | close | reopen | cancel."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from engine.cli.output import count, emit_json, glyph, say, table
from engine.errors import GtError, UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.commands.bead_actions import NewBead
    from engine.records import Bead


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    bead = sub.add_parser("bead", help="create, show, list, update, close beads", parents=[common])
    bs = bead.add_subparsers(
        dest="bead_command", metavar="ACTION", parser_class=type(bead), required=True
    )

    p = bs.add_parser("create", help="file a new bead (prints its id)", parents=[common])
    add_create_args(p)
    p.add_argument("--json", action="store_true", help="print the whole bead as JSON")
    p.set_defaults(handler=cmd_create)

    p = bs.add_parser(
        "show", help="a bead with its dependencies both ways and its history", parents=[common]
    )
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    p = bs.add_parser("list", help="beads, filtered", parents=[common])
    p.add_argument("--rig")
    p.add_argument("--status")
    p.add_argument("--type")
    p.add_argument("--label")
    p.add_argument("--all", action="store_true", help="include records (mail, convoys, ...)")
    p.add_argument("-n", "--limit", type=count, help="at most this many")
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_list)

    p = bs.add_parser("update", help="change a bead's fields", parents=[common])
    p.add_argument("id")
    p.add_argument("--title")
    p.add_argument("-p", "--priority", help="0-4, 0 is highest")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body")
    body.add_argument("--body-file", metavar="FILE")
    p.add_argument("--type")
    p.add_argument("--rig")
    p.add_argument("--add-label", action="append", default=[], metavar="LABEL")
    p.add_argument("--remove-label", action="append", default=[], metavar="LABEL")
    p.add_argument("--defer-until", metavar="TIME", help="ISO-8601; empty string clears it")
    p.add_argument(
        "--runtime", metavar="NAME", help="the runtime that works it; empty string: its rig's"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_update)

    for name, helptext in (
        ("close", "close a bead (done)"),
        ("cancel", "cancel a bead"),
        ("reopen", "reopen a closed, failed or cancelled bead"),
    ):
        p = bs.add_parser(name, help=helptext, parents=[common])
        p.add_argument("id")
        if name != "reopen":
            p.add_argument("--reason", help="why")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=cmd_status, action=name)


def add_create_args(p: argparse.ArgumentParser, *, title_required: bool = True) -> None:
    if title_required:
        p.add_argument("title")
    p.add_argument("--rig", help="the rig it belongs to (default: town-level, placed at sling)")
    p.add_argument("--type", default="task", help="task, bug, feature, chore, epic, ...")
    p.add_argument("-p", "--priority", default="2", help="0-4, 0 is highest (default 2)")
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body", default="", help="the description")
    body.add_argument(
        "--body-file", metavar="FILE", help="read the description from FILE (- = stdin)"
    )
    p.add_argument("--label", action="append", default=[], metavar="LABEL")
    p.add_argument(
        "--dep",
        action="append",
        default=[],
        metavar="ID[:TYPE]",
        help="a dependency (default type: blocks)",
    )
    p.add_argument(
        "--runtime",
        metavar="NAME",
        help="the runtime that works it (claude, codex, ...; default: its rig's, else the town's)",
    )


def read_body(args: argparse.Namespace) -> str | None:
    if getattr(args, "body_file", None):
        if args.body_file == "-":
            return sys.stdin.read()
        try:
            with open(args.body_file, encoding="utf-8") as fh:
                return fh.read()
        except OSError as exc:
            raise GtError(f"cannot read {args.body_file}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise GtError(f"{args.body_file} is not UTF-8 text") from None
    return args.body


def parse_deps(specs: list[str]) -> tuple[tuple[str, str], ...]:
    """`--dep ID[:TYPE]` specs as (target, type); the command checks the targets."""
    from engine import vocab

    out = []
    for spec in specs:
        # the type is after the last ':' (an external:PROJECT:ID target holds colons too)
        target, sep, dep_type = spec.rpartition(":")
        if not sep or (dep_type not in vocab.DEP_TYPES and target.startswith("external")):
            target, dep_type = spec, ""
        if not target:
            raise UsageError(f"bad --dep {spec!r}: expected ID or ID:TYPE")
        out.append((target, dep_type or "blocks"))
    return tuple(out)


def new_bead_from_args(args: argparse.Namespace) -> NewBead:
    from engine.commands.bead_actions import NewBead

    return NewBead(
        args.title,
        rig=args.rig,
        bead_type=args.type,
        priority=args.priority,
        body=read_body(args) or "",
        labels=tuple(args.label),
        deps=parse_deps(args.dep),
        runtime=args.runtime,
    )


def config_if(ctx: Any, runtime: str | None) -> Any:
    """The town's config, read only when a runtime name must be checked against it (the
    config costs `gt` pydantic's import)."""
    return ctx.config if runtime else None


def cmd_create(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import bead_actions as beads

    new = new_bead_from_args(args)
    bead = beads.create(ctx.ledger, new, actor=ctx.actor, config=config_if(ctx, new.runtime))
    if args.json:
        emit_json(bead.as_dict())
    else:
        say(bead.id)
    return 0


def cmd_show(args: argparse.Namespace, ctx: Any) -> int:
    ledger = ctx.ledger
    with ledger.snapshot():
        bead = ledger.beads.require(args.id, extra=True)
        edges = ledger.graph.edges_of(args.id)
        bead["depends_on"] = edges["depends_on"]
        bead["dependents"] = edges["dependents"]
        bead["blocked_by"] = ledger.graph.blockers(args.id) if bead["blocked"] else []
        bead["history"] = ledger.beads.history(args.id)
    if args.json:
        emit_json(bead)
        return 0
    say(f"{bead['id']}  {bead['title']}")
    say(
        f"  status:   {glyph(bead['status'], bead['blocked'])}   priority P{bead['priority']}   "
        f"type {bead['type']}   rig {bead['rig'] or '(town)'}"
    )
    if bead["runtime"]:
        say(f"  runtime:  {bead['runtime']}")
    if bead["assignee"]:
        say(f"  assignee: {bead['assignee']} (attempt {bead['attempt']})")
    if bead["labels"]:
        say(f"  labels:   {', '.join(bead['labels'])}")
    say(f"  created:  {bead['created_at']} by {bead['created_by'] or '-'}")
    if bead["closed_at"]:
        say(
            f"  closed:   {bead['closed_at']}"
            + (f" ({bead['close_reason']})" if bead["close_reason"] else "")
        )
    if bead["last_error"]:
        say(f"  last error: {bead['last_error']}")
    if bead["body"]:
        say("")
        for line in bead["body"].splitlines():
            say("  " + line)
    for key, label in (("depends_on", "Depends on"), ("dependents", "Depended on by")):
        if bead[key]:
            say(f"\n{label}:")
            for d in bead[key]:
                say(
                    f"  {d['id']:<14} {d['type']:<16} {glyph(d['status'] or 'missing'):<14} "
                    f"{d['title'] or '(not in this town)'}"
                )
    if bead["history"]:
        say("\nHistory:")
        for e in bead["history"]:
            detail = ", ".join(f"{k}={v}" for k, v in e["data"].items() if v not in (None, ""))
            say(f"  {e['at'][:19]}  {e['kind']:<14} {e['actor'] or '-':<20} {detail}")
    return 0


def bead_rows(beads: Sequence[Bead]) -> list[list[str]]:
    return [
        [
            b["id"],
            f"P{b['priority']}",
            glyph(b["status"], b["blocked"]),
            b["type"],
            b["rig"] or "-",
            (b["assignee"] or "-").rsplit("/", 1)[-1],
            b["title"],
        ]
        for b in beads
    ]


BEAD_HEADERS = ["ID", "PRI", "STATUS", "TYPE", "RIG", "AGENT", "TITLE"]


def cmd_list(args: argparse.Namespace, ctx: Any) -> int:
    beads = ctx.ledger.beads.list(
        rig=args.rig,
        status=args.status,
        bead_type=args.type,
        label=args.label,
        include_records=args.all,
        limit=args.limit,
    )
    if args.json:
        emit_json(beads)
        return 0
    if not beads:
        say("No beads match.")
        return 0
    table(bead_rows(beads), BEAD_HEADERS)
    return 0


def cmd_update(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import bead_actions as beads

    changes = beads.BeadChanges(
        args.id,
        title=args.title,
        priority=args.priority,
        body=read_body(args),
        bead_type=args.type,
        rig=args.rig,
        add_labels=tuple(args.add_label),
        remove_labels=tuple(args.remove_label),
        defer_until=args.defer_until,
        runtime=args.runtime,
    )
    bead = beads.update(
        ctx.ledger, changes, actor=ctx.actor, config=config_if(ctx, changes.runtime)
    )
    if args.json:
        emit_json(bead.as_dict())
    else:
        say(f"Updated {bead.id}")
    return 0


def cmd_status(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import bead_actions as beads

    if args.action == "close":
        bead = beads.close(ctx.ledger, args.id, reason=args.reason, actor=ctx.actor)
        msg = f"Closed {bead.id}"
    elif args.action == "cancel":
        bead = beads.cancel(ctx.ledger, args.id, reason=args.reason, actor=ctx.actor)
        msg = f"Cancelled {bead.id}"
    else:
        bead = beads.reopen(ctx.ledger, args.id, actor=ctx.actor)
        msg = f"Reopened {bead.id} (sling it to dispatch: gt sling {bead.id})"
    if args.json:
        emit_json(bead.as_dict())
    else:
        say(msg)
    return 0
