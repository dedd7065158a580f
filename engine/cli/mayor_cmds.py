"""gt mayor start | stop | status | attach | tell: the town's mayor session
(engine/mayor/)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from engine.cli.output import emit_json, say


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    mayor = sub.add_parser("mayor", help="the mayor: the agent you talk to", parents=[common])
    ms = mayor.add_subparsers(
        dest="mayor_command", metavar="ACTION", parser_class=type(mayor), required=True
    )
    p = ms.add_parser("start", help="start the mayor's session", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_start)

    p = ms.add_parser("stop", help="stop the mayor's session", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_stop)

    p = ms.add_parser("status", help="is the mayor running, and what it is doing", parents=[common])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = ms.add_parser("attach", help="attach this terminal to the mayor", parents=[common])
    p.set_defaults(handler=cmd_attach)

    p = ms.add_parser(
        "tell", help="type one line into the mayor's session (then Enter)", parents=[common]
    )
    p.add_argument("text")
    p.set_defaults(handler=cmd_tell)


def not_the_mayor() -> None:
    """The mayor's own session, or an agent's, does not start or stop the mayor."""
    from engine.errors import UsageError

    if os.environ.get("GT_ROLE"):
        raise UsageError("gt mayor start/stop is for a person, not from inside an agent session")


def show(status: Any, as_json: bool) -> None:
    if as_json:
        emit_json(status.as_dict())
        return
    if status.running:
        screen = f", {status.screen}" if status.screen else ""
        say(f"mayor: running ({status.runtime}{screen}), session {status.session}")
    else:
        say(f"mayor: not running (runtime {status.runtime}; gt mayor start)")
    if status.restarts:
        say(f"  restarted {status.restarts} time(s) by the witness")
    say(f"  desk: {status.desk}")
    say(f"  log:  {status.log}")


def cmd_start(args: argparse.Namespace, ctx: Any) -> int:
    from engine.mayor import control

    not_the_mayor()
    show(control.act(ctx.town, ctx.config, ctx.ledger, "start", actor=ctx.actor), args.json)
    return 0


def cmd_stop(args: argparse.Namespace, ctx: Any) -> int:
    from engine.mayor import control

    not_the_mayor()
    show(control.act(ctx.town, ctx.config, ctx.ledger, "stop", actor=ctx.actor), args.json)
    return 0


def cmd_status(args: argparse.Namespace, ctx: Any) -> int:
    from engine.mayor import session

    show(session.status(ctx.town, ctx.config), args.json)
    return 0


def cmd_attach(args: argparse.Namespace, ctx: Any) -> int:
    from engine.mayor import session

    argv = session.attach_argv(ctx.town)
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}  # nested in the user's tmux
    os.execvpe(argv[0], argv, env)
    return 0  # pragma: no cover


def cmd_tell(args: argparse.Namespace, ctx: Any) -> int:
    from engine.mayor import session

    session.tell(ctx.town, ctx.config, args.text)
    say("typed into the mayor's session")
    return 0
