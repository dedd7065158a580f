"""`gastown`: open the town (the app), or run its engine headless with --engine-only.

Kept free of textual imports until the app is really wanted, so the headless engine
starts without the UI toolkit.
"""

from __future__ import annotations

import argparse
import sys


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="gastown", description="Run a town of coding agents.")
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
        help="create (or reuse) a demo town and open it",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from engine.errors import GtError

    try:
        if args.demo is not None:
            from engine.demo import ensure_demo_town

            town = ensure_demo_town(args.demo or None, announce=print)
        else:
            from engine.town import find_town

            town = find_town(args.town)
    except GtError as exc:
        sys.stderr.write(f"gastown: error: {exc.message}\n")
        return exc.exit_code
    if args.engine_only:
        from engine.headless import run_engine

        return run_engine(town, verbose=args.verbose)
    from gastown_tui.app import run_app

    return run_app(town)


if __name__ == "__main__":
    sys.exit(main())
