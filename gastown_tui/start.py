"""`gastown`: open the town (the app), or run its engine headless with --engine-only.

Kept free of textual imports until the app is really wanted, so the headless engine
starts without the UI toolkit.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NamedTuple


class Launch(NamedTuple):
    """What the command line asks for, whatever order its words came in."""

    path: str | None  # the town (or the demo town) named, else None: found / the default
    demo: bool
    engine_only: bool
    verbose: bool


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line, as `gt` does: no usage block above it
        self.exit(2, f"gastown: usage error: {message} (see `gastown --help`)\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(
        prog="gastown",
        description="Run a town of coding agents.",
        usage="gastown [PATH] [--town PATH] [--demo [PATH]] [--engine-only] [-v]",
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
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = p.parse_args(argv)
    given = [x for x in (args.demo, args.path, args.town) if x]
    if len({os.path.abspath(os.path.expanduser(x)) for x in given}) > 1:
        p.error(f"two different town paths given ({' and '.join(dict.fromkeys(given))}); give one")
    return args


def resolve(args: argparse.Namespace) -> Launch:
    path = args.demo or args.path or args.town or None
    return Launch(path, args.demo is not None, args.engine_only, args.verbose)


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # the town, its ledger and logs are its owner's alone
    from engine.cli.main import fill_closed_std_streams

    fill_closed_std_streams()  # `gastown ... >&-`: messages go nowhere instead of failing
    launch = resolve(parse_args(argv))
    from engine.errors import GtError

    try:
        if launch.demo:
            from engine.demo import ensure_demo_town

            town = ensure_demo_town(launch.path, announce=print)
        else:
            from engine.town import find_town

            town = find_town(launch.path)
    except GtError as exc:
        sys.stderr.write(f"gastown: error: {exc.message}\n")
        return exc.exit_code
    if launch.engine_only:
        from engine.headless import run_engine

        return run_engine(town, verbose=launch.verbose)
    from gastown_tui.app import run_app

    return run_app(town)


if __name__ == "__main__":
    sys.exit(main())
