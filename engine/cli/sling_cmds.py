"""gt sling (a bead, a new bead, or a convoy) and gt agents."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.bead_cmds import add_create_args, create_from_args
from engine.cli.output import emit_json, glyph, say, table
from engine.errors import UsageError


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
    from engine.scheduler.reconciler import Scheduler

    ledger = ctx.ledger
    if not args.ids and not args.title:
        raise UsageError("give bead or convoy ids, or --title to create a new bead")
    from engine.ids import check_bead_id

    # An id that can never become a branch is refused before anything changes, so it can
    # neither be hooked nor fail dispatch again and again (ids let in by older versions).
    for ident in args.ids:
        check_bead_id(ident)
        for member in (ledger.convoys.get(ident) or {}).get("beads", []):
            check_bead_id(member)
    scheduler = Scheduler(ledger, ctx.config)
    # All or nothing: every bead is created, launched and slung in one transaction, so a
    # refusal anywhere (a closed bead, an unknown id) leaves the ledger as it was.
    with ledger.db.write(durable=True):
        results = _sling_all(args, ctx, scheduler)
    if args.json:
        emit_json(results)
        return 0
    for r in results:
        if r["agent"]:
            say(f"{r['agent']} is on it! ({r['id']} in rig {r['rig']}, attempt {r['attempt']})")
        else:
            say(f"{r['id']} is queued: {r['reason']}")
    from engine.cli.town_cmds import engine_pid

    if any(r["agent"] for r in results) and not engine_pid(ctx.town.root):
        say("(no engine is running: the work starts when one does — `gastown --engine-only`)")
    return 0


def _sling_all(args: argparse.Namespace, ctx: Any, scheduler: Any) -> list[dict[str, Any]]:
    ledger = ctx.ledger
    targets: list[str] = []
    if args.title:
        targets.append(create_from_args(args, ctx)["id"])
    for ident in args.ids:
        convoy = ledger.convoys.get(ident)
        if convoy is None:
            ledger.beads.require(ident)
            targets.append(ident)
            continue
        if convoy["status"] == "staged":
            ledger.convoys.launch(ident, actor=ctx.actor)
        targets.extend(b for b in convoy["beads"] if ledger.beads.require(b)["status"] == "open")
    results: list[dict[str, Any]] = []
    # a bead named twice (or also in a named convoy) is slung once
    targets = list(dict.fromkeys(targets))
    for bid in targets:
        bead = ledger.beads.require(bid)
        if bead["slung"] and bead["status"] == "open" and len(targets) > 1:
            # Already queued by its convoy; try to place it without complaining.
            res = scheduler.schedule(only=bid)
            if res.assignments:
                a = res.assignments[0]
                results.append(
                    {
                        "id": bid,
                        "agent": a.agent_name,
                        "agent_id": a.agent_id,
                        "rig": a.rig,
                        "attempt": a.attempt,
                        "queued": False,
                        "reason": None,
                    }
                )
            else:
                results.append(
                    {
                        "id": bid,
                        "agent": None,
                        "queued": True,
                        "reason": res.paused or res.reasons.get(bid) or scheduler.why_waiting(bid),
                    }
                )
            continue
        results.append(scheduler.sling(bid, actor=ctx.actor))
    return results


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
