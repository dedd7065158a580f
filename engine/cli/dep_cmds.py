"""gt dep add | remove | tree, gt ready, gt blocked."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.cli.bead_cmds import BEAD_HEADERS, bead_rows
from engine.cli.output import count, emit_json, glyph, say, table

if TYPE_CHECKING:
    from engine.records import TreeNode

HUMAN_LIMIT = 100
DEP_TYPES = ["blocks", "parent-child", "related", "discovered-from", "tracks"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    dep = sub.add_parser("dep", help="add, remove and show dependencies", parents=[common])
    ds = dep.add_subparsers(
        dest="dep_command", metavar="ACTION", parser_class=type(dep), required=True
    )

    p = ds.add_parser("add", help="ID depends on DEPENDS_ON", parents=[common])
    p.add_argument("id")
    p.add_argument("depends_on")
    p.add_argument("--type", default="blocks", choices=DEP_TYPES)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_add)

    p = ds.add_parser("remove", help="remove a dependency", parents=[common])
    p.add_argument("id")
    p.add_argument("depends_on")
    p.add_argument("--type", choices=DEP_TYPES, help="only this type (default: any)")
    p.set_defaults(handler=cmd_remove)

    p = ds.add_parser("tree", help="what a bead depends on, as a tree", parents=[common])
    p.add_argument("id")
    p.add_argument("--reverse", action="store_true", help="what depends on it instead")
    p.add_argument("--depth", type=count, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_tree)

    p = sub.add_parser(
        "ready", help="beads ready to be worked on (Beads' readiness rule)", parents=[common]
    )
    p.add_argument("--rig")
    p.add_argument(
        "--all",
        action="store_true",
        help="include records (mail, convoys, agents...) as Beads' own view does",
    )
    p.add_argument("-n", "--limit", type=count)
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_ready)

    p = sub.add_parser("blocked", help="blocked beads, each with what blocks it", parents=[common])
    p.add_argument("--rig")
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_blocked)


def cmd_add(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import dep_actions as deps

    added = deps.add(ctx.ledger, deps.DepEdge(args.id, args.depends_on, args.type), actor=ctx.actor)
    if args.json:
        emit_json(added.as_dict())
    else:
        say(f"{args.id} now depends on {args.depends_on} ({args.type})")
    return 0


def cmd_remove(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import dep_actions as deps

    deps.remove(ctx.ledger, args.id, args.depends_on, args.type, actor=ctx.actor)
    say(f"{args.id} no longer depends on {args.depends_on}")
    return 0


def cmd_tree(args: argparse.Namespace, ctx: Any) -> int:
    tree = ctx.ledger.graph.tree(args.id, reverse=args.reverse, max_depth=args.depth)
    if args.json:
        emit_json(tree)
        return 0
    say(f"{tree['id']}  {glyph(tree['status'])}  {tree['title']}")

    def walk(node: TreeNode, prefix: str) -> None:
        kids = node["children"]
        for i, child in enumerate(kids):
            last = i == len(kids) - 1
            mark = (
                " (see above)" if child.get("repeat") else (" …" if child.get("truncated") else "")
            )
            status = glyph(child["status"]) if child["status"] else "? missing"
            say(
                f"{prefix}{'└── ' if last else '├── '}{child['id']}  [{child['type']}]  "
                f"{status}  {child['title'] or ''}{mark}"
            )
            walk(child, prefix + ("    " if last else "│   "))

    walk(tree, "")
    return 0


def cmd_ready(args: argparse.Namespace, ctx: Any) -> int:
    # A person at a terminal sees the first screenful or so; scripts (--json) get all.
    shown = args.limit if args.limit is not None or args.json else HUMAN_LIMIT
    beads = ctx.ledger.beads.ready(
        rig=args.rig, include_records=args.all, limit=shown + 1 if shown else None
    )
    if args.json:
        emit_json(beads)
        return 0
    if not beads:
        say("Nothing is ready.")
        return 0
    more = shown and len(beads) > shown
    table(bead_rows(beads[:shown] if shown else beads), BEAD_HEADERS)
    if more:
        say(f"… and more (showing the first {shown}; `gt ready -n 0` lists all)")
    return 0


def cmd_blocked(args: argparse.Namespace, ctx: Any) -> int:
    beads = ctx.ledger.beads.blocked(rig=args.rig)
    if args.json:
        emit_json(beads)
        return 0
    if not beads:
        say("Nothing is blocked.")
        return 0
    table(
        [
            [
                b["id"],
                f"P{b['priority']}",
                b["title"][:50],
                ", ".join(
                    f"{x['id']} ({x['status']}{', parent' if x['type'] == 'parent-child' else ''})"
                    for x in b["blocked_by"]
                ),
            ]
            for b in beads
        ],
        ["ID", "PRI", "TITLE", "BLOCKED BY"],
    )
    return 0
