"""gt costs — tokens (and dollars, where town.toml has prices) per bead, agent, convoy, rig
or runtime, read from what each agent's CLI recorded; and the budgets, spent or not."""

from __future__ import annotations

import argparse

from engine.cli.output import emit_json, say, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from engine.commands.costs import CostLine

GROUPS = ("bead", "agent", "convoy", "rig", "runtime", "model")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "costs",
        help="token usage and cost per bead, agent, convoy, rig or runtime; budgets",
        parents=[common],
    )
    p.add_argument("--by", choices=GROUPS, default="bead", help="what to sum by (default bead)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_costs)


def _row(label: str, line: CostLine) -> list[str]:
    return [label, *line.figures()]


def cmd_costs(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.costs import costs

    report = costs(ctx.ledger, ctx.config, args.by)
    if args.json:
        emit_json(report.as_dict())
        return 0
    if not report.total.tokens:
        say("no token usage recorded yet")
    else:
        rows = [_row(line.key or "(none)", line) for line in report.lines]
        rows.append(_row("TOTAL", report.total))
        headers = [args.by.upper(), "INPUT", "OUTPUT", "CACHE READ", "CACHE WRITE", "TOKENS", "$"]
        table(rows, headers)
        if report.total.unpriced:
            say(f"no price for {', '.join(report.total.unpriced)}: not in the dollars")
    for b in report.budgets:
        say(b.describe())
    return 0
