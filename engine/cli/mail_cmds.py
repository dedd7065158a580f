"""gt mail send | check | inbox | read."""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.output import emit_json, say, table


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    mail = sub.add_parser("mail", help="send and read mail", parents=[common])
    ms = mail.add_subparsers(
        dest="mail_command", metavar="ACTION", parser_class=type(mail), required=True
    )

    p = ms.add_parser("send", help="send mail", parents=[common])
    p.add_argument("to", help="mayor, NAME, RIG/witness, RIG/refinery or RIG/polecats/NAME")
    p.add_argument("subject")
    p.add_argument("--body", default="")
    p.add_argument("--reply-to", metavar="ID", help="the message this answers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_send)

    p = ms.add_parser("check", help="how many unread messages", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_check)

    p = ms.add_parser("inbox", help="your messages, newest first", parents=[common])
    p.add_argument("--unread", action="store_true")
    p.add_argument("--json", action="store_true", help="a JSON array")
    p.set_defaults(handler=cmd_inbox)

    p = ms.add_parser("read", help="show a message and mark it read", parents=[common])
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_read)


def me(ctx: Any) -> str:
    return str(ctx.actor)


def cmd_send(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.messages import MailSend, send

    request = MailSend.of(args.to, args.subject, args.body, args.reply_to)  # bad text first
    ctx.check_fence()  # then a zombie hears "stale attempt", before any lookup
    msg = send(ctx.ledger, request, sender=me(ctx))
    if args.json:
        emit_json(msg.as_dict())
    else:
        say(f"Sent {msg.id} to {msg.to}")
    return 0


def cmd_check(args: argparse.Namespace, ctx: Any) -> int:
    n = ctx.ledger.mail.unread_count([me(ctx)])
    if args.json:
        emit_json({"address": me(ctx), "unread": n})
    else:
        say(f"{n} unread message{'s' if n != 1 else ''}" + (" (gt mail inbox)" if n else ""))
    return 0


def cmd_inbox(args: argparse.Namespace, ctx: Any) -> int:
    msgs = ctx.ledger.mail.inbox([me(ctx)], unread_only=args.unread)
    if args.json:
        emit_json(msgs)
        return 0
    if not msgs:
        say("No mail.")
        return 0
    table(
        [
            [
                m["id"],
                " " if m["read"] else "•",
                m["created_at"][:16],
                m["from"] or "-",
                m["subject"],
            ]
            for m in msgs
        ],
        ["ID", "NEW", "AT", "FROM", "SUBJECT"],
    )
    return 0


def cmd_read(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.messages import read

    msg = read(ctx.ledger, args.id, reader=me(ctx)).as_dict()
    if args.json:
        emit_json(msg)
        return 0
    say(f"From:    {msg['from']}")
    say(f"To:      {msg['to']}")
    say(f"Date:    {msg['created_at']}")
    say(f"Subject: {msg['subject']}")
    if msg["reply_to"]:
        say(f"In reply to: {msg['reply_to']}")
    say("")
    say(msg["body"])
    return 0
