"""gt rig add | list | show | remove."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.cli.output import emit_json, glyph, say, table


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    rig = sub.add_parser("rig", help="add, list, show and remove rigs", parents=[common])
    rs = rig.add_subparsers(
        dest="rig_command", metavar="ACTION", parser_class=type(rig), required=True
    )

    p = rs.add_parser("add", help="clone a repository into the town as a rig", parents=[common])
    p.add_argument("name", help="rig name (letters, digits, - and _)")
    p.add_argument("source", help="a path or URL of a git repository")
    p.add_argument("--prefix", help="bead id prefix for this rig (default: from the name)")
    p.add_argument(
        "--capability",
        action="append",
        default=[],
        metavar="LABEL",
        help="a capability label used to place rig-less beads (repeatable)",
    )
    p.add_argument(
        "--gate",
        action="append",
        default=[],
        metavar="CMD",
        help="a gate command the refinery runs before landing (repeatable)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_add)

    p = rs.add_parser("list", help="the town's rigs", parents=[common])
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_list)

    p = rs.add_parser(
        "show", help="one rig: source, prefix, gates, agents, beads", parents=[common]
    )
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    p = rs.add_parser(
        "remove", help="unregister a rig (refuses while agents work there)", parents=[common]
    )
    p.add_argument("name")
    p.add_argument("--force", action="store_true", help="stop the rig's agents and remove anyway")
    p.add_argument(
        "--purge", action="store_true", help="also delete the rig's directory (clone and worktrees)"
    )
    p.set_defaults(handler=cmd_remove)


def cmd_add(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import rig_actions as rigs

    new = rigs.NewRig(
        args.name,
        args.source,
        prefix=args.prefix,
        capabilities=tuple(args.capability),
        gates=tuple(args.gate),
    )
    added = rigs.add(
        ctx.town,
        ctx.ledger,
        new,
        progress=sys.stderr.isatty() and not args.json,
        announce=None if args.json else say,
    )
    rig = added.as_dict()
    if args.json:
        emit_json(rig)
    else:
        say(f"Added rig {rig['name']} (beads {rig['prefix']}-…) at {rig['path']}")
    return 0


def cmd_list(args: argparse.Namespace, ctx: Any) -> int:
    rigs = ctx.ledger.rigs.list()
    if args.json:
        emit_json(rigs)
        return 0
    if not rigs:
        say("No rigs yet. Add one with: gt rig add NAME SOURCE")
        return 0
    table(
        [
            [
                r["name"],
                r["prefix"] + "-",
                ",".join(r["capabilities"]) or "-",
                str(len(r["gates"])),
                r["source"],
            ]
            for r in rigs
        ],
        ["NAME", "PREFIX", "CAPABILITIES", "GATES", "SOURCE"],
    )
    return 0


def cmd_show(args: argparse.Namespace, ctx: Any) -> int:
    ledger = ctx.ledger
    rig = ledger.rigs.require(args.name)
    rig["beads"] = ledger.rigs.counts(args.name)
    rig["agents"] = ledger.agents.list(rig=args.name)
    if args.json:
        emit_json(rig)
        return 0
    say(f"Rig {rig['name']}  (beads {rig['prefix']}-…)")
    say(f"  source:       {rig['source']}")
    say(f"  clone:        {rig['path']}")
    say(f"  capabilities: {', '.join(rig['capabilities']) or '-'}")
    say(f"  gates:        {'; '.join(rig['gates']) or '-'}")
    say(
        "  beads:        "
        + (", ".join(f"{k} {v}" for k, v in sorted(rig["beads"].items())) or "none")
    )
    if rig["agents"]:
        say("  agents:")
        for a in rig["agents"]:
            say(f"    {a['name']:<10} {glyph(a['status']):<12} {a['hook'] or '-'}")
    return 0


def cmd_remove(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import rig_actions as rigs

    removed = rigs.remove(ctx.town, ctx.ledger, args.name, force=args.force, purge=args.purge)
    if removed.purged:
        say(f"Removed rig {args.name} and deleted {removed.directory}")
    else:
        say(
            f"Removed rig {removed.rig['name']}; its files are kept at {removed.directory} "
            "(--purge deletes them)"
        )
    return 0
