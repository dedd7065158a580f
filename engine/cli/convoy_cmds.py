"""gt convoy create | launch | add | status | list | cancel."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.output import emit_json, glyph, say, table
from engine.errors import UsageError
from engine.vocab import CONVOY_CANCELLED, CONVOY_LANDED

# A convoy that is over: `gt convoy status` without an id leaves these out
CLOSED_CONVOY = (CONVOY_LANDED, CONVOY_CANCELLED)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    convoy = sub.add_parser(
        "convoy", help="bundle beads and track them to landing", parents=[common]
    )
    cs = convoy.add_subparsers(
        dest="convoy_command", metavar="ACTION", parser_class=type(convoy), required=True
    )

    p = cs.add_parser(
        "create",
        help="a convoy of existing beads, or of a plan file",
        parents=[common],
        description="Create a convoy from --bead IDs or a TOML --plan "
        "(created all or nothing). See the README for the plan format.",
    )
    p.add_argument("title")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--bead", action="append", metavar="ID", help="a bead to track (repeatable)")
    src.add_argument("--plan", metavar="FILE", help="a TOML plan declaring beads and needs")
    p.add_argument("--staged", action="store_true", help="dispatch nothing until launched")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_create)

    p = cs.add_parser("launch", help="launch a staged convoy", parents=[common])
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_launch)

    p = cs.add_parser("add", help="track more beads (reopens a landed convoy)", parents=[common])
    p.add_argument("id")
    p.add_argument("beads", nargs="+", metavar="BEAD")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_add)

    p = cs.add_parser(
        "status", help="progress, per-rig breakdown, what waits on what", parents=[common]
    )
    p.add_argument("id", nargs="?", help="without it: the open convoys")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = cs.add_parser("list", help="all convoys with progress", parents=[common])
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_list)

    p = cs.add_parser(
        "cancel", help="cancel the convoy's beads that have not landed", parents=[common]
    )
    p.add_argument("id")
    p.add_argument("--reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_cancel)


def cmd_create(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.convoy_actions import ConvoyCreate, create

    if not args.plan and not args.bead:
        raise UsageError("give --bead ID (repeatable) or --plan FILE")
    request = ConvoyCreate(
        args.title, beads=tuple(args.bead or ()), plan=args.plan, staged=args.staged
    )
    # the config checks the runtimes a plan names (reading it costs pydantic: plans only)
    convoy = create(ctx.ledger, request, actor=ctx.actor, config=ctx.config if args.plan else None)
    if args.json:
        emit_json(convoy.as_dict())
        return 0
    state = f"staged (launch with: gt convoy launch {convoy.id})" if args.staged else "launched"
    say(f"Convoy {convoy.id} with {len(convoy.beads)} beads, {state}")
    for bid in convoy.beads:
        say(f"  {bid}")
    return 0


def cmd_launch(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.convoy_actions import launch

    convoy = launch(ctx.ledger, args.id, actor=ctx.actor)
    if args.json:
        emit_json(convoy.as_dict())
    else:
        say(f"Launched {convoy.id}: its {len(convoy.beads)} beads dispatch as they become ready")
    return 0


def cmd_add(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.convoy_actions import add

    convoy = add(ctx.ledger, args.id, tuple(args.beads), actor=ctx.actor)
    if args.json:
        emit_json(convoy.as_dict())
    else:
        say(f"{convoy.id} now tracks {len(convoy.beads)} beads ({convoy.status})")
    return 0


def cmd_status(args: argparse.Namespace, ctx: Any) -> int:
    if args.id is None:
        return open_convoys(args, ctx)
    st = ctx.ledger.convoys.status(args.id)
    if args.json:
        emit_json(st)
        return 0
    prog = st["progress"]
    say(
        f"Convoy {st['id']}  {st['title']}  {glyph(st['status'])}  "
        f"{prog['closed']}/{prog['total']} closed"
    )
    for rig, c in sorted(st["rigs"].items()):
        say(f"  {rig:<16} {c['closed']}/{c['total']} closed")
    say("")
    table(
        [
            [
                b["id"],
                glyph(b["status"], b["blocked"]),
                b["rig"] or "-",
                (b["assignee"] or "-").rsplit("/", 1)[-1],
                ", ".join(x["id"] for x in b["blocked_by"]) or "-",
                b["title"],
            ]
            for b in st["tracked"]
        ],
        ["ID", "STATUS", "RIG", "AGENT", "WAITING ON", "TITLE"],
    )
    return 0


def open_convoys(args: argparse.Namespace, ctx: Any) -> int:
    """`gt convoy status` with no id: the convoys still under way, the way `list` shows them
    (a person asking "how are things going" means those, not a usage error)."""
    convoys = [c for c in ctx.ledger.convoys.list() if c["status"] not in CLOSED_CONVOY]
    if args.json:
        emit_json(convoys)
        return 0
    if not convoys:
        say("No open convoys (`gt convoy list` shows them all).")
        return 0
    convoy_table(convoys)
    say("\n`gt convoy status ID` shows one in full.")
    return 0


def cmd_list(args: argparse.Namespace, ctx: Any) -> int:
    convoys = ctx.ledger.convoys.list()
    if args.json:
        emit_json(convoys)
        return 0
    if not convoys:
        say("No convoys.")
        return 0
    convoy_table(convoys)
    return 0


def convoy_table(convoys: list[Any]) -> None:
    table(
        [
            [
                c["id"],
                glyph(c["status"]),
                f"{c['progress']['closed']}/{c['progress']['total']}",
                c["title"],
            ]
            for c in convoys
        ],
        ["ID", "STATUS", "CLOSED", "TITLE"],
    )


def cmd_cancel(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.convoy_actions import cancel

    convoy = cancel(ctx.ledger, args.id, actor=ctx.actor, reason=args.reason)
    if args.json:
        emit_json(convoy.as_dict())
    else:
        cancelled = convoy.cancelled
        say(
            f"Cancelled {convoy.id}"
            + (f" and {len(cancelled)} beads: {', '.join(cancelled)}" if cancelled else "")
        )
    return 0
