"""gt patrol list | run: the deacon's patrols (engine/deacon/), their last run, findings
and next run; `run` makes them run now, here, whatever their schedule."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.cli.output import emit_json, say, table

if TYPE_CHECKING:
    from engine.deacon.rounds import PatrolRow


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("patrol", help="the deacon's patrols", parents=[common])
    ps = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = ps.add_parser(
        "list", help="each patrol's last run, findings and next run", parents=[common]
    )
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_patrol_list)
    q = ps.add_parser("run", help="run the patrols now (all, or those named)", parents=[common])
    q.add_argument("names", nargs="*", metavar="NAME", help="a patrol (as in `gt patrol list`)")
    q.set_defaults(handler=cmd_patrol_run)


def cmd_patrol_list(args: argparse.Namespace, ctx: Any) -> int:
    from engine.deacon.rounds import rows

    found = rows(ctx.ledger, ctx.config.deacon)
    if args.json:
        emit_json(found)
        return 0
    from engine.timeutil import relative

    table(
        [
            [
                r["name"],
                relative(r["last_run"]) if r["last_run"] else "never",
                relative(r["next_run"]) if r["next_run"] else "next tick",
                f"error: {r['error']}" if r["error"] else str(r["found"]),
            ]
            for r in found
        ],
        ["PATROL", "LAST RUN", "NEXT RUN", "FOUND"],
    )
    for r in found:
        for f in r["findings"]:
            say(f"  {r['name']}: {f['text']}")
    return 0


def cmd_patrol_run(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.patrols import run_patrols

    done = run_patrols(ctx.ledger, ctx.config, ctx.town, args.names or None)
    for name, findings in done.findings.items():
        say(f"{name}: " + ("nothing found" if not findings else f"{len(findings)} found"))
        for f in findings:
            say(f"  {f.text}")
    for name in done.failed:
        say(f"{name}: failed (`gt patrol list` says why)")
    return 1 if done.failed else 0


def status_lines(found: list[PatrolRow]) -> list[str]:
    """`gt status`'s lines about the patrols: one each, with what its last run found."""
    from engine.timeutil import relative

    out = []
    for r in found:
        when = f"ran {relative(r['last_run'])}" if r["last_run"] else "not run yet"
        what = f"error: {r['error']}" if r["error"] else f"{r['found']} found"
        nxt = f"next {relative(r['next_run'])}" if r["next_run"] else "next at the engine's tick"
        out.append(f"  {r['name']:<12} {when}, {what}; {nxt}")
        out += [f"    {f['text']}" for f in r["findings"][:5]]
    return out
