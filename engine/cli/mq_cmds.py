"""gt mq list | show | retry | reject | approve — the merge queue, per rig."""

from __future__ import annotations

import argparse
import os

from engine.cli.output import emit_json, say, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    mq = sub.add_parser("mq", help="the merge queue (the refinery)", parents=[common])
    ms = mq.add_subparsers(
        dest="mq_command", metavar="ACTION", parser_class=type(mq), required=True
    )
    p = ms.add_parser(
        "list", help="requests per rig, with the current batch size", parents=[common]
    )
    p.add_argument("--rig")
    p.add_argument("--all", action="store_true", help="include landed and dropped requests")
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_list)

    p = ms.add_parser("show", help="one request: branch, state, gate log", parents=[common])
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    p = ms.add_parser("retry", help="queue a failed or conflicting request again", parents=[common])
    p.add_argument("id")
    p.set_defaults(handler=cmd_retry)

    p = ms.add_parser(
        "reject", help="reject a request; its bead goes back with the reason", parents=[common]
    )
    p.add_argument("id")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=cmd_reject)

    p = ms.add_parser(
        "approve", help="let a request that touches protected paths land", parents=[common]
    )
    p.add_argument("id")
    p.set_defaults(handler=cmd_approve)


def cmd_list(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.merge_requests import list_queue

    listing = list_queue(ctx.ledger, ctx.config, rig=args.rig, include_closed=args.all)
    if args.json:
        emit_json(listing.as_json())
        return 0
    from engine.views.mq_order import failure_gist, needs_person_first

    for b in listing.rigs:
        # a rate is only "observed" once a batch was decided; before that it is the prior
        why = (
            f"observed failure rate {b.failure_rate:.0%}"
            if b.last_batch
            else "no batch decided yet"
        )
        say(f"{b.rig}: batch size {b.batch_size} ({why})")
    mrs = needs_person_first(listing.requests)
    if not mrs:
        say("The queue is empty.")
        return 0
    table(
        [
            [
                m["id"],
                m["rig"],
                m["state"],
                f"P{m['priority']}",
                m["source_bead"],
                m["branch"],
                failure_gist(m["failure"], 70),
            ]
            for m in mrs
        ],
        ["ID", "RIG", "STATE", "PRI", "BEAD", "BRANCH", "NOTE"],
    )
    return 0


def cmd_show(args: argparse.Namespace, ctx: Any) -> int:
    mr = ctx.ledger.mq.require(args.id)
    if args.json:
        emit_json(mr)
        return 0
    for key in (
        "id",
        "rig",
        "state",
        "source_bead",
        "branch",
        "commit",
        "agent",
        "attempt",
        "priority",
        "retries",
        "batch",
        "merged_commit",
        "failure",
        "gate_log",
    ):
        if mr.get(key) not in (None, ""):
            say(f"{key:>14}: {mr[key]}")
    if mr.get("gate_log") and os.path.exists(mr["gate_log"]):
        from engine.refinery.gates import tail

        say("\nEnd of the gate log: " + tail(mr["gate_log"], 15))
    return 0


def cmd_retry(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import merge_requests

    mr = merge_requests.retry(ctx.ledger, args.id, actor=ctx.actor)
    say(f"{mr.mr_id} is queued again")
    return 0


def cmd_reject(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import merge_requests

    mr = merge_requests.reject(ctx.ledger, ctx.config, args.id, reason=args.reason, actor=ctx.actor)
    say(f"Rejected {mr.mr_id}; {mr.source_bead} goes back with the reason")
    return 0


def cmd_approve(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands import merge_requests

    mr = merge_requests.approve(ctx.ledger, args.id, actor=ctx.actor)
    say(f"Approved {mr.mr_id}: it lands once its gates pass")
    return 0
