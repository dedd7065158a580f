from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import TownConfig
from engine.ledger import Ledger
from engine.scheduler.reconciler import Scheduler
from engine.town import Town, init_town
from tests.recording import RecordingDispatcher

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
if not DATA.exists():  # CI clones the repo with shared/ beside it
    DATA = Path(os.environ.get("GASTOWN_SHARED", "/work/shared")) / "data"


class Clock:
    """A clock tests move by hand, so backoff and windows are exact."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def town(tmp_path: Path) -> Town:
    return init_town(str(tmp_path / "town"))


@pytest.fixture
def ledger(town: Town, clock: Clock):
    led = Ledger(town.ledger_path, clock=clock)
    yield led
    led.close()


def add_rig(ledger: Ledger, name: str, prefix: str, capabilities: list[str] | None = None
            ) -> dict:
    """A rig row without cloning (scheduler tests need no repository)."""
    return ledger.rigs.add(name, prefix=prefix, source="/dev/null", path=f"/nowhere/{name}",
                           capabilities=capabilities or [], gates=[])


@pytest.fixture
def config() -> TownConfig:
    return TownConfig()


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def scheduler(ledger: Ledger, config: TownConfig) -> Scheduler:
    return Scheduler(ledger, config)


def gt(*args: str, town: Town | None = None, env: dict[str, str] | None = None,
       input: str | None = None, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `gt` command line in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("GASTOWN_TOWN", None)
    cmd = [sys.executable, "-m", "engine.cli.main"]
    if town is not None:
        cmd += ["--town", town.root]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=full_env,
                          input=input, cwd=cwd or str(REPO), timeout=120)
