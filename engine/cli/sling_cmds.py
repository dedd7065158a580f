"""gt sling (a bead, a new bead, or a convoy) and gt agents."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.cli.bead_cmds import add_create_args, parse_deps, read_body
from engine.cli.output import emit_json, glyph, say, table
from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.commands.sling import NewBead


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "sling",
        help="put work in motion",
        parents=[common],
        description="Sling beads (or a convoy's beads) to polecats. A ready "
        "bead is assigned at once when capacity allows; otherwise "
        "it queues and the reason is printed. With --title, "
        "create the bead and sling it in one step.",
    )
    p.add_argument("ids", nargs="*", metavar="ID", help="bead or convoy ids")
    p.add_argument("--title", help="create a new bead with this title and sling it")
    add_create_args(p, title_required=False)
    p.add_argument(
        "--formula", metavar="NAME", help="attach a checklist formula: the agent ticks its steps"
    )
    p.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="the formula's variables"
    )
    p.add_argument("--json", action="store_true", help="a JSON array, one result per bead")
    p.set_defaults(handler=cmd_sling)

    p = sub.add_parser(
        "agents", help="agents: name, rig, status, hook, attempt, runtime", parents=[common]
    )
    p.add_argument("--rig")
    p.add_argument("--all", action="store_true", help="include retired agents")
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_agents)


def cmd_sling(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import sling

    if not args.ids and not args.title:
        raise UsageError("give bead or convoy ids, or --title to create a new bead")
    ids = tuple(args.ids)
    sling.check_ids(ids)  # a bad id is refused before the body or deps are even read
    if args.var and not args.formula:
        raise UsageError("--var sets a formula's variables: give --formula NAME")
    request = sling.SlingRequest(
        ids=ids,
        new_bead=_new_bead(args),
        runtime=args.runtime,
        formula=args.formula,
        formula_vars=tuple(args.var),
    )
    result = sling.sling(ctx.ledger, ctx.config, request, actor=ctx.actor)
    if args.json:
        emit_json(result.as_json())
        return 0
    for p in result.placements:
        if p.agent:
            say(
                f"{p.agent} is on it! ({p.bead_id} in rig {p.rig}, attempt {p.attempt}, "
                f"runtime {p.runtime})"
            )
        else:
            say(f"{p.bead_id} is queued: {p.reason}")
    from engine.cli.town_cmds import engine_pid

    if result.assigned and not engine_pid(ctx.town.root):
        say("(no engine is running: the work starts when one does — `gastown --engine-only`)")
    return 0


def _new_bead(args: argparse.Namespace) -> NewBead | None:
    if not args.title:
        return None
    from engine.commands.sling import NewBead

    return NewBead(
        title=args.title,
        rig=args.rig,
        bead_type=args.type,
        priority=args.priority,
        body=read_body(args) or "",
        labels=tuple(args.label),
        deps=tuple(parse_deps(args.dep)),
    )


def cmd_agents(args: argparse.Namespace, ctx: Any) -> int:
    agents = ctx.ledger.agents.list(rig=args.rig, include_retired=args.all)
    out = [
        {
            "name": a["name"],
            "id": a["id"],
            "rig": a["rig"],
            "role": a["role"],
            "status": a["status"],
            "hook": a["hook"],
            "attempt": a["attempt"],
            "runtime": a["runtime"],
            "session": a["session"],
            "worktree": a["worktree"],
            "branch": a["branch"],
            "created_at": a["created_at"],
            "host": a["host"],
        }
        for a in agents
    ]
    if args.json:
        emit_json(out)
        return 0
    if not out:
        say("No agents yet: sling some work (gt sling ID).")
        return 0
    table(
        [
            [
                a["name"],
                a["rig"],
                glyph(a["status"]),
                a["hook"] or "-",
                str(a["attempt"]),
                a["runtime"] or "-",
            ]
            for a in out
        ],
        ["NAME", "RIG", "STATUS", "HOOK", "ATTEMPT", "RUNTIME"],
    )
    return 0
