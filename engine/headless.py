"""`gastown --engine-only`: the engine in the foreground, readable logs, clean stops."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from engine.errors import GtError

if TYPE_CHECKING:
    from engine.town import Town


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


async def serve(town: Town, host: str | None = None) -> None:
    from engine.engine import Engine

    engine = Engine(town, host=host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # SIGHUP too (the terminal closed): a stop, so the running gates die with the engine.
    # Installed before start: a signal during start-up still ends in a clean stop.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await engine.start()
    try:
        await engine.run(stop)
    finally:
        await engine.stop()


def run_engine(town: Town, *, verbose: bool = False, host: str | None = None) -> int:
    """`host`: this machine's name as one host of a town shared across machines."""
    import os

    os.umask(0o077)  # the town's files are its owner's alone (the ledger, logs, prompts)
    setup_logging(verbose)
    log = logging.getLogger("gastown")
    try:
        asyncio.run(serve(town, host))
    except GtError as exc:
        sys.stderr.write(f"gastown: error: {exc.message}\n")
        return exc.exit_code
    log.info("bye")
    return 0
