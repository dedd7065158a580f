from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.commands import done as done_cmd
from engine.config import SchedulerSettings, TownConfig
from engine.ledger import Ledger
from engine.records import Rig
from engine.scheduler.reconciler import Scheduler
from engine.town import Town, init_town
from tests.recording import RecordingDispatcher

# the private PostgreSQL server and its per-test databases (pg_server, pg_url)
pytest_plugins = ["tests.pg_fixtures"]

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


# The ledger's backends. Every test that uses the `ledger` fixture (directly or through
# `scheduler`) runs on both: its town's ledger is SQLite in one run and a fresh PostgreSQL
# database in the other. A test that reads the SQLite file itself says so with
# @pytest.mark.sqlite_only.
BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ledger_backend" not in metafunc.fixturenames:
        return
    both = "ledger" in metafunc.fixturenames or metafunc.definition.get_closest_marker(
        "both_backends"
    )
    only_sqlite = metafunc.definition.get_closest_marker("sqlite_only")
    backends = ["sqlite"] if only_sqlite or not both else list(BACKENDS)
    if backends == ["sqlite"]:
        return  # no parameter (and no "[sqlite]" in the test's id): the default fixture
    metafunc.parametrize("ledger_backend", backends, indirect=True)


@pytest.fixture
def ledger_backend(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite (the town's own file), else a fresh PostgreSQL database's URL."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        return None
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def town(tmp_path: Path, ledger_backend: str | None) -> Town:
    return init_town(str(tmp_path / "town"), ledger_url=ledger_backend)


@pytest.fixture
def ledger(town: Town, clock: Clock):
    led = town.open_ledger(clock=clock)
    yield led
    led.close()


def add_rig(ledger: Ledger, name: str, prefix: str, capabilities: list[str] | None = None) -> Rig:
    """A rig row without cloning (scheduler tests need no repository)."""
    return ledger.rigs.add(
        name,
        prefix=prefix,
        source="/dev/null",
        path=f"/nowhere/{name}",
        capabilities=capabilities or [],
        gates=[],
    )


@pytest.fixture
def config() -> TownConfig:
    return TownConfig()


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    return RecordingDispatcher()


@pytest.fixture
def scheduler(ledger: Ledger, config: TownConfig) -> Scheduler:
    return Scheduler(ledger, config)


def gt(
    *args: str,
    town: Town | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `gt` command line in a subprocess."""
    from tests.cli_support import _SCRUBBED

    full_env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED or k == "GT_DEBUG"}
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "engine.cli.main"]
    if town is not None:
        cmd += ["--town", town.root]
    return subprocess.run(
        [*cmd, *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        cwd=cwd or str(REPO),
        timeout=120,
    )


# ---- real git + real tmux ----------------------------------------------------------------


def make_source_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A small git repository with one commit on main."""
    path.mkdir(parents=True)

    def run(*a):
        return subprocess.run(
            ["git", *a],
            cwd=path,
            check=True,
            capture_output=True,
            text=True,
        )

    run("init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "# demo\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "initial")
    return path


class RealTown:
    """A town with one real rig, driven by reconciles with the real tmux fleet."""

    def __init__(self, root: Path, config: TownConfig, files: dict[str, str] | None = None) -> None:
        from engine.polecats.fleet import TmuxFleet
        from engine.rig_setup import add_rig as clone_rig

        root.mkdir(parents=True, exist_ok=True)
        self.town = init_town(str(root / "town"))
        self.ledger = self.town.open_ledger()
        self.source = make_source_repo(root / "src", files)
        clone_rig(
            self.town, self.ledger, "web", str(self.source), prefix="gt", capabilities=[], gates=[]
        )
        self.config = config
        self.fleet = TmuxFleet(self.town, config, self.ledger)
        self.scheduler = Scheduler(self.ledger, config)

    def reconcile(self):
        return self.scheduler.reconcile(
            self.fleet,
            {"nudge": self.fleet._nudge, "stop_agent": lambda p: self.fleet.stop(p["agent_id"])},
        )

    def drive(self, until, timeout: float = 30.0, every: float = 0.05):
        """Reconcile until `until()` is true; fail with the town's state if it never is."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.reconcile()
            if until():
                return
            time.sleep(every)
        raise AssertionError(
            "timed out; beads: "
            + repr([(b["id"], b["status"], b["assignee"]) for b in self.ledger.beads.list()])
            + " agents: "
            + repr([(a["name"], a["status"], a["hook"]) for a in self.ledger.agents.list()])
        )

    def close(self) -> None:
        from engine.polecats import proctree

        self.fleet.tmux.kill_server()
        # a CLI's children outlive a tmux kill; no test leaves them behind
        proctree.terminate(proctree.with_env({"GT_TOWN": self.town.root}), grace=1.0)
        self.ledger.close()


@pytest.fixture
def real_town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from engine.config import WitnessSettings

    monkeypatch.setenv("SHELL", "/bin/sh")
    config = TownConfig(
        scheduler=SchedulerSettings(backoff_base_seconds=0.2, backoff_max_seconds=1),
        witness=WitnessSettings(stall_seconds=60, gupp_seconds=120),
    )
    rt = RealTown(tmp_path, config)
    yield rt
    rt.close()


def script_body(*steps: str) -> str:
    return "```gt-script\n" + "\n".join(steps) + "\n```\n"


@pytest.fixture
def real_town_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Build RealTowns with a config given as town.toml-shaped data."""
    made: list[RealTown] = []
    monkeypatch.setenv("SHELL", "/bin/sh")

    def make(data: dict | None = None) -> RealTown:
        base = {"scheduler": {"backoff_base_seconds": 0.2, "backoff_max_seconds": 1}}
        for key, value in (data or {}).items():
            base[key] = {**base.get(key, {}), **value}
        rt = RealTown(tmp_path / f"t{len(made)}", TownConfig.model_validate(base))
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


def git_out(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def submit_work(
    rt: RealTown, title: str, files: dict[str, str], *, rig: str = "web", base: str | None = None
) -> tuple[str, str]:
    """A bead worked and submitted as a polecat would (`gt done`), without a session:
    its branch gets one commit writing `files`. Returns (bead id, merge request id)."""
    import tempfile

    from engine.scheduler.names import next_name

    ledger = rt.ledger
    repo = ledger.rigs.require(rig)["path"]
    bead = ledger.beads.create(title, rig=rig, slung=True)["id"]
    with ledger.transaction():
        agent = ledger.agents.allocate(rig, next_name(ledger.agents.live_names()), "script")
        attempt = ledger.agents.assign(agent, bead, rig=rig)
    ledger.agents.mark_started(agent["id"], bead, attempt)
    branch = f"polecat/{agent['name']}/{bead}"
    wt = tempfile.mkdtemp(prefix="wt-")
    os.rmdir(wt)
    git_out(
        repo,
        "worktree",
        "add",
        "-q",
        "-b",
        branch,
        wt,
        base or git_out(repo, "config", "gastown.main"),
    )
    for name, text in files.items():
        Path(wt, name).parent.mkdir(parents=True, exist_ok=True)
        Path(wt, name).write_text(text)
    git_out(wt, "add", "-A")
    git_out(wt, "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-q", "-m", title)
    commit = git_out(wt, "rev-parse", "HEAD")
    git_out(repo, "worktree", "remove", "--force", wt)
    out = done_cmd.record(
        ledger,
        done_cmd.DoneRequest(agent["id"], bead, attempt, worktree=""),
        branch=branch,
        commit=commit,
    )
    with ledger.transaction():  # free the name for the next submission
        ledger.agents.retire(agent["id"], reason="test")
    return bead, str(out.merge_request)


def first_parent_history(repo: str) -> list[str]:
    main = git_out(repo, "config", "gastown.main")
    return git_out(repo, "rev-list", "--first-parent", main).split()
