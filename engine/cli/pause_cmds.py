"""gt runtime pauses, gt runtime resume NAME: runtimes paused by a rate or usage limit."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.output import emit_json, say, table


def register(rs: Any, common: argparse.ArgumentParser) -> None:
    """Adds its actions to `gt runtime`'s subcommands (engine/cli/agent_cmds.py)."""
    q = rs.add_parser("pauses", help="runtimes paused by a rate or usage limit", parents=[common])
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_runtime_pauses)
    q = rs.add_parser(
        "resume", help="lift a runtime's pause: its beads are dispatched again", parents=[common]
    )
    q.add_argument("name", help="the runtime (as in `gt runtime pauses`)")
    q.set_defaults(handler=cmd_runtime_resume)


def cmd_runtime_pauses(args: argparse.Namespace, ctx: Any) -> int:
    from engine.safetext import clip, visible
    from engine.scheduler.runtime_pauses import RuntimePauses, pause_rows

    rows = pause_rows(RuntimePauses(ctx.ledger).active())
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        say("No runtime is paused.")
        return 0
    table(
        [
            [
                r["runtime"],
                r["until"] + ("" if r["shown"] else " (backoff)"),
                clip(visible(r["reason"]), 70),
            ]
            for r in rows
        ],
        ["RUNTIME", "UNTIL", "WHY"],
    )
    return 0


def cmd_runtime_resume(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.pause_actions import resume_runtime

    done = resume_runtime(ctx.ledger, args.name, actor=ctx.actor)
    say(f"Runtime {done.runtime} takes work again (its pause ran until {done.was_until}).")
    return 0
