"""`gastown`: open the town (the app), or run its engine headless with --engine-only.

Kept free of textual imports until the app is really wanted, so the headless engine
starts without the UI toolkit.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NamedTuple

from engine.demo_scripts import DEFAULT_SPEED, MAX_SPEED, MIN_SPEED, check_speed


class Launch(NamedTuple):
    """What the command line asks for, whatever order its words came in."""

    path: str | None  # the town (or the demo town) named, else None: found / the default
    demo: bool
    engine_only: bool
    verbose: bool
    speed: float = DEFAULT_SPEED  # the demo's pace (--speed)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line, as `gt` does: no usage block above it
        self.exit(2, f"gastown: usage error: {message} (see `gastown --help`)\n")


def _speed(text: str) -> float:
    """--speed's value, or argparse's one-line usage error saying the range."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number: give one from {MIN_SPEED:g} to {MAX_SPEED:g}"
        ) from None
    try:
        return check_speed(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(
        prog="gastown",
        description="Run a town of coding agents.",
        usage=(
            "gastown [PATH] [--town PATH] [--demo [PATH] [--speed X]]"
            " [--engine-only [--host NAME] | --serve [--host H] [--port N]] [-v]"
        ),
    )
    # The path may come before or after the options (`gastown --demo --engine-only PATH`,
    # `gastown PATH --demo`): a positional beside --town and --demo's own optional value.
    p.add_argument("path", nargs="?", metavar="PATH", help="the town (or with --demo: where)")
    p.add_argument(
        "--town",
        metavar="PATH",
        help="the town (else $GASTOWN_TOWN, else found by walking up from the current directory)",
    )
    p.add_argument(
        "--engine-only",
        action="store_true",
        help="run the engine headless in the foreground (logs to stderr)",
    )
    p.add_argument(
        "--demo",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="create (or reuse) a demo town (default ~/.local/share/gastown-demo) and open it",
    )
    p.add_argument(
        "--speed",
        type=_speed,
        metavar="X",
        help=(
            f"with --demo: the pace of the convoy it launches, from {MIN_SPEED:g} (slowest) to "
            f"{MAX_SPEED:g} (fastest; tests use it); default {DEFAULT_SPEED:g}, slow enough to "
            "watch the merge queue fill (the convoy lands in about 90 s)"
        ),
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument(
        "--serve",
        action="store_true",
        help="serve the app to a browser (each tab attaches to the town's one engine)",
    )
    p.add_argument(
        "--host",
        metavar="HOST",
        help=(
            "with --serve: the address to bind (default 127.0.0.1; others warn: no login); "
            "with --engine-only: this machine's name as one host of a town shared across "
            "machines (its town.toml's [ledger] url names the shared ledger)"
        ),
    )
    p.add_argument("--port", metavar="N", type=int, help="with --serve: the port (default 8000)")
    args = p.parse_args(argv)
    if args.serve and args.engine_only:
        p.error("--serve and --engine-only: choose one (--serve runs the engine too)")
    if args.port is not None and not args.serve:
        p.error("--host and --port go with --serve (--host NAME also with --engine-only)")
    if args.host is not None and not (args.serve or args.engine_only):
        p.error("--host goes with --serve (an address) or --engine-only (a host's name)")
    if args.host is not None and args.engine_only:
        from engine.host_membership import host_name_problem

        problem = host_name_problem(args.host)
        if problem:
            p.error(problem)
    if args.speed is not None and args.demo is None:
        p.error("--speed paces the demo: use it with --demo")
    given = [x for x in (args.demo, args.path, args.town) if x]
    if len({os.path.abspath(os.path.expanduser(x)) for x in given}) > 1:
        p.error(f"two different town paths given ({' and '.join(dict.fromkeys(given))}); give one")
    return args


def resolve(args: argparse.Namespace) -> Launch:
    path = args.demo or args.path or args.town or None
    speed = DEFAULT_SPEED if args.speed is None else args.speed
    return Launch(path, args.demo is not None, args.engine_only, args.verbose, speed)


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # the town, its ledger and logs are its owner's alone
    from engine.cli.main import fill_closed_std_streams

    fill_closed_std_streams()  # `gastown ... >&-`: messages go nowhere instead of failing
    args = parse_args(argv)
    launch = resolve(args)
    from engine.errors import GtError

    try:
        if args.serve:  # a bad host or a taken port is refused before a demo launches
            from gastown_tui.serve import check_args

            endpoint = check_args(args.host, args.port)
        if launch.demo:
            from engine.demo import ensure_demo_town

            town = ensure_demo_town(launch.path, announce=print, speed=launch.speed)
        else:
            from engine.town import find_town

            town = find_town(launch.path)
    except GtError as exc:
        sys.stderr.write(f"gastown: error: {exc.message}\n")
        return exc.exit_code
    if launch.engine_only:
        from engine.headless import run_engine

        return run_engine(town, verbose=launch.verbose, host=args.host)
    if args.serve:
        from gastown_tui.serve import run_server

        return run_server(town, endpoint, verbose=launch.verbose)
    from gastown_tui.app import run_app

    return run_app(town)


if __name__ == "__main__":
    sys.exit(main())
