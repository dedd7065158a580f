"""gt escalate: raise a problem, and deal with the ones raised (list, show, ack, close).

`gt escalate "message"` files one, as it always has; a first word that is exactly `list`,
`show`, `ack` or `close` is that subcommand instead (a message of several words is one
argument, so it never collides; to file one titled exactly "list", use --title).
Registered from engine/cli/agent_cmds.py, where `gt escalate` has always lived.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from engine.cli.output import emit_json, say, table
from engine.errors import UsageError

SUBCOMMANDS = ("list", "show", "ack", "close")
HELP = """\
gt escalate "MESSAGE" [--severity S] [--body TEXT]   file an escalation (default medium)
gt escalate list [--all]                              open escalations (--all: closed too)
gt escalate show ID                                   one, with its ladder's history
gt escalate ack ID [--note TEXT]                      someone has it: the ladder stops
gt escalate close ID [--reason TEXT]                  done with it

A first word that is exactly list/show/ack/close is the subcommand; to file an escalation
titled exactly one of those words, use --title. Severity routes (who is told, how long it
may wait unacknowledged before it is raised a level, at most twice) are town.toml's
[escalation] table. Every form takes --json.
"""


def add_escalate(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "escalate",
        help="raise a problem; list, show, ack, close escalations",
        parents=[common],
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("words", nargs="*", metavar="MESSAGE | list | show ID | ack ID | close ID")
    p.add_argument("--title", help="the message, given as an option")
    p.add_argument("--severity", choices=["low", "medium", "high", "critical"], default="medium")
    p.add_argument("--body", default="")
    p.add_argument("--all", action="store_true", help="(list) closed ones too")
    p.add_argument("--note", default="", help="(ack) what you are doing about it")
    p.add_argument("--reason", default="", help="(close) how it was resolved")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_escalate)


def cmd_escalate(args: argparse.Namespace, ctx: Any) -> int:
    words: list[str] = args.words
    if args.title is None and words and words[0] in SUBCOMMANDS:
        return manage(args, ctx, words[0], words[1:])
    if args.title is not None and words:
        raise UsageError("give the message once: as an argument or with --title")
    title = args.title if args.title is not None else " ".join(words)
    if not title.strip():
        raise UsageError("gt escalate needs a message (or: list, show ID, ack ID, close ID)")
    return file(args, ctx, title)


def file(args: argparse.Namespace, ctx: Any, title: str) -> int:
    from engine.commands.reports import Escalation, escalate

    ctx.check_fence()
    request = Escalation(
        title, body=args.body, severity=args.severity, source=os.environ.get("GT_BEAD")
    )
    esc = escalate(ctx.ledger, request, actor=ctx.actor, routes=ctx.config.escalation)
    if args.json:
        emit_json(esc.as_dict())
    elif not esc.told:
        count = esc.record["metadata"].get("count")
        say(f"Already escalated as {esc.id} (raised {count} times); counted, nobody told again.")
    else:
        say(f"Escalated as {esc.id} ({args.severity}); told: {', '.join(esc.told)}.")
    return 0


def manage(args: argparse.Namespace, ctx: Any, verb: str, rest: list[str]) -> int:
    from engine.commands import escalation_actions as actions

    if verb == "list":
        if rest:
            raise UsageError("gt escalate list takes no arguments (--all for closed ones too)")
        rows = actions.listing(ctx.ledger, include_closed=args.all)
        if args.json:
            emit_json(rows)
        elif not rows:
            say("No open escalations." if not args.all else "No escalations.")
        else:
            table([_row(r) for r in rows], ["ID", "SEVERITY", "STATUS", "COUNT", "RAISED", "TITLE"])
        return 0
    if len(rest) != 1:
        raise UsageError(f"gt escalate {verb} takes one escalation id")
    esc_id = rest[0]
    if verb == "show":
        detail = actions.show(ctx.ledger, esc_id)
        if args.json:
            emit_json(detail)
        else:
            _say_detail(detail)
        return 0
    ctx.check_fence()
    if verb == "ack":
        done = actions.acknowledge(ctx.ledger, esc_id, actor=ctx.actor, note=args.note)
        text = f"Acknowledged {esc_id}: it will not be raised again."
    else:
        done = actions.close(ctx.ledger, esc_id, actor=ctx.actor, reason=args.reason)
        text = f"Closed {esc_id}."
    if args.json:
        emit_json(done.record)
    else:
        say(text)
    return 0


def _row(r: dict[str, Any]) -> list[str]:
    status = r["status"] + (" (acked)" if r["acked_by"] and r["status"] == "open" else "")
    return [r["id"], r["severity"], status, str(r["count"]), str(r["raises"]), r["title"]]


def _say_detail(d: dict[str, Any]) -> None:
    say(f"{d['id']}  [{d['severity']}]  {d['status']}  {d['title']}")
    say(f"  raised {d['count']}x by its cause, up the ladder {d['raises']}x")
    if d["source"]:
        say(f"  about {d['source']}" + (f" (rig {d['rig']})" if d["rig"] else ""))
    if d["acked_by"]:
        say(f"  acknowledged by {d['acked_by']} at {d['acked_at']}")
    if d["body"]:
        say("\n" + d["body"] + "\n")
    for e in d["history"]:
        data = e["data"]
        told = ", ".join(data.get("to") or [])
        what = {
            "escalation_filed": f"filed {data.get('severity')}, told {told}",
            "escalation_repeated": f"its cause again (count {data.get('count')})",
            "escalation_raised": f"raised {data.get('from')} -> {data.get('severity')}, "
            f"told {told}",
            "escalation_acked": "acknowledged" + (f": {data['note']}" if data.get("note") else ""),
            "closed": "closed",
        }.get(e["kind"], e["kind"])
        say(f"  {e['at']}  {e['actor'] or '-'}  {what}")
