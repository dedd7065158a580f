"""Run an engine on a town in a subprocess until SIGTERM (tests use it as a real engine).

    python tests/engine_runner.py TOWN_DIR

The engine uses a RecordingDispatcher (no tmux, no git). Once the engine holds the town's
lock and has opened the ledger, one line `ready PID` goes to stdout. SIGTERM (or SIGINT)
stops it cleanly: exit 0, after printing `stopped RECONCILES`. Any failure is printed as
ONE line `engine_runner: error: ...` on stderr, with exit code 1 (the GtError's own code).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.engine import Engine
from engine.errors import GtError
from engine.town import Town
from tests.recording import RecordingDispatcher


async def serve(root: str) -> int:
    engine = Engine(Town(root), dispatcher=RecordingDispatcher())
    await engine.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"ready {os.getpid()}", flush=True)
        await engine.run(stop)
    finally:
        await engine.stop()
    print(f"stopped {engine.reconciles}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("engine_runner: usage error: engine_runner.py TOWN_DIR\n")
        return 2
    try:
        return asyncio.run(serve(argv[0]))
    except GtError as exc:
        sys.stderr.write(f"engine_runner: error: {exc.message}\n")
        return exc.exit_code
    except Exception as exc:  # one line, never a traceback
        text = " ".join(str(exc).split())
        sys.stderr.write(f"engine_runner: error: {exc.__class__.__name__}: {text}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
