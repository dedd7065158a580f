"""`gt` entry point: a lean start (agents call it constantly), one-line errors, exit codes.

Exit codes: 0 success, 1 a refused or failed operation, 2 a usage error.
Only the invoked command's module is imported, so `gt bead show` pays for beads alone.
"""

from __future__ import annotations

import argparse
import os
import sys

# command -> (module, one-line help). Modules define register(subparsers) and handlers.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("engine.cli.town_cmds", "create a town"),
    "status": ("engine.cli.town_cmds", "the town at a glance: engine, capacity, breaker"),
    "breaker": ("engine.cli.town_cmds", "show or reset the dispatch circuit breaker"),
    "events": ("engine.cli.town_cmds", "the event history of the town"),
    "feed": ("engine.cli.feed_cmds", "follow the town's events as they happen (like tail -f)"),
    "rig": ("engine.cli.rig_cmds", "add, list, show and remove rigs"),
    "bead": ("engine.cli.bead_cmds", "create, show, list, update, close beads"),
    "dep": ("engine.cli.dep_cmds", "add, remove and show dependencies"),
    "ready": ("engine.cli.dep_cmds", "beads ready to be worked on"),
    "blocked": ("engine.cli.dep_cmds", "blocked beads and what blocks them"),
    "import": ("engine.cli.interop_cmds", "import Beads JSONL"),
    "export": ("engine.cli.interop_cmds", "export Beads JSONL"),
    "convoy": ("engine.cli.convoy_cmds", "bundle beads and track them to landing"),
    "formula": ("engine.cli.formula_cmds", "workflow templates: list, show, cook a molecule"),
    "mol": ("engine.cli.formula_cmds", "a molecule's or checklist's progress"),
    "step": ("engine.cli.formula_cmds", "(agents) tick a step of my hook's checklist"),
    "sling": ("engine.cli.sling_cmds", "put work in motion: a bead, a new bead, or a convoy"),
    "agents": ("engine.cli.sling_cmds", "list agents: name, rig, status, hook, attempt"),
    "mail": ("engine.cli.mail_cmds", "send and read mail"),
    "mayor": ("engine.cli.mayor_cmds", "the mayor, the agent you talk to: start, stop, status"),
    "prime": ("engine.cli.agent_cmds", "(agents) who am I, my hook, my mail"),
    "done": ("engine.cli.agent_cmds", "(agents) submit my branch and free me"),
    "heartbeat": ("engine.cli.agent_cmds", "(agents) I am alive"),
    "checkpoint": ("engine.cli.agent_cmds", "(agents) record progress"),
    "escalate": ("engine.cli.agent_cmds", "raise a problem to the mayor"),
    "nudge": ("engine.cli.agent_cmds", "type a short message into an agent's session"),
    "handoff": ("engine.cli.agent_cmds", "(agents) restart my session, hook intact"),
    "peek": ("engine.cli.agent_cmds", "an agent's recent output"),
    "attach": ("engine.cli.agent_cmds", "attach the terminal to an agent's session"),
    "hosts": ("engine.cli.host_cmds", "the hosts sharing this town's ledger: state, load"),
    "runtime": ("engine.cli.agent_cmds", "agent runtimes"),
    "seance": ("engine.cli.agent_cmds", "what earlier sessions on a bead or agent said"),
    "mq": ("engine.cli.mq_cmds", "the merge queue: list, show, retry, reject, approve"),
    "schema": ("engine.cli.schema_cmds", "the JSON Schema of each --json output"),
    "costs": ("engine.cli.costs_cmds", "token usage and cost per bead, agent, convoy; budgets"),
    "patrol": ("engine.cli.patrol_cmds", "the deacon's patrols: last run, findings, next run"),
    "ledger": ("engine.cli.ledger_cmds", "move the town's ledger to PostgreSQL (or back)"),
}


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        from engine.safetext import visible  # argparse quotes the bad argument back

        self.exit(2, f"gt: usage error: {visible(message)} (see `{self.prog} --help`)\n")


def common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--town",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="the town to use (else $GASTOWN_TOWN, else found from the current dir)",
    )
    return p


def build_parser(only: str | None) -> Parser:
    parser = Parser(
        prog="gt",
        description="Gas Town: run many coding agents on real repos.",
        epilog="Exit codes: 0 ok, 1 refused or failed, 2 usage error. "
        "Every --json output is one JSON document.",
    )
    parser.add_argument(
        "--town",
        metavar="PATH",
        help="the town to use (else $GASTOWN_TOWN, "
        "else found by walking up from the current directory)",
    )
    parser.add_argument("--version", action="version", version="gt 0.1.0")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser, required=True
    )
    import importlib

    wanted = COMMANDS[only][0] if only is not None else None
    registered: set[str] = set()
    for _name, (module, _help) in COMMANDS.items():
        # With a command given, only its module is built (agents call `gt` constantly).
        if wanted is not None and module != wanted:
            continue
        if module in registered:
            continue
        registered.add(module)
        importlib.import_module(module).register(sub, common())
    return parser


def fill_closed_std_streams() -> None:
    """`gt ... >&-`: a closed stdout (or stdin/stderr) becomes /dev/null.

    Python leaves sys.stdout None when fd 1 is closed, so the first print failed as an
    internal error after the work was done. Output nobody can read is discarded, as when
    the reader of a pipe went away; and the fd is taken, so no file we open lands on it.
    """
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            # kept open for the life of the process, as the original streams are
            stream = open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            setattr(sys, name, stream)


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # whatever gt creates in a town is its owner's alone
    fill_closed_std_streams()
    args_list = sys.argv[1:] if argv is None else argv
    for n, arg in enumerate(args_list, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            # argv bytes that are not UTF-8 arrive surrogate-escaped; nothing can store them
            sys.stderr.write(f"gt: usage error: argument {n} is not valid UTF-8 text\n")
            return 2
    # Find the command word to register only its module (help lists all of them).
    only = next((a for a in args_list if not a.startswith("-") and a in COMMANDS), None)
    if only is not None:
        idx = args_list.index(only)
        if idx > 0 and args_list[idx - 1] == "--town":
            only = None
    parser = build_parser(only)
    args = parser.parse_args(args_list)
    if not getattr(args, "handler", None):
        if args.command:
            parser.parse_args([args.command, "--help"])
        parser.print_help()
        return 2
    from engine.cli.context import Context
    from engine.cli.output import error_line
    from engine.errors import GtError

    ctx = Context(args)
    try:
        code = args.handler(args, ctx)
    except GtError as exc:
        sys.stdout.flush()
        # errors quote ids, titles and paths given to us: shown, never acted on
        sys.stderr.write(error_line(f"gt: error: {exc.message}"))
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("gt: interrupted\n")
        return 130
    except BrokenPipeError:
        # `gt ready | head`: the reader went away; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("GT_DEBUG"):
            raise
        sys.stderr.write(
            error_line(
                f"gt: internal error: {exc.__class__.__name__}: {exc} "
                f"(set GT_DEBUG=1 for a traceback)"
            )
        )
        return 1
    finally:
        ctx.close()
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
