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


async def serve(town: Town) -> None:
    from engine.engine import Engine

    engine = Engine(town)
    await engine.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await engine.run(stop)
    finally:
        await engine.stop()


def run_engine(town: Town, *, verbose: bool = False) -> int:
    setup_logging(verbose)
    log = logging.getLogger("gastown")
    try:
        asyncio.run(serve(town))
    except GtError as exc:
        sys.stderr.write(f"gastown: error: {exc.message}\n")
        return exc.exit_code
    log.info("bye")
    return 0
