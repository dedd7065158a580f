"""A town is private to its owner: directories 0700, files 0600.

The ledger holds every bead, mail and log line; PROMPT.md files and session logs hold the
work itself. New towns are created private, and a town made by an older version (or under
a loose umask) is tightened when an engine starts on it. The rigs' own git repositories
are the project's files and are left as git made them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
from pathlib import Path

from engine import vocab
from engine.adapters.tmux import Tmux, socket_name
from engine.ledger import Ledger
from engine.town import Town, init_town
from tests.conftest import gt, make_source_repo, script_body
from tests.test_engine import start_engine, wait_for


@contextlib.contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def in_a_git_repo(town: Town, path: Path) -> bool:
    """Inside a rig's canonical clone or one of its worktrees (but a polecat's
    .gastown/ state, PROMPT.md included, is the town's own)."""
    parts = path.relative_to(town.root).parts
    if len(parts) < 3 or parts[0] != "rigs":
        return False
    if parts[2] in ("repo", "refinery"):
        return True
    return parts[2] == "polecats" and len(parts) > 4 and parts[4] != ".gastown"


def loose(town: Town) -> list[str]:
    """Every path of the town (outside the rigs' git repos) others could read or enter."""
    out = []
    for dirpath, dirnames, filenames in os.walk(town.root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            if path.is_symlink() or in_a_git_repo(town, path):
                continue
            if stat.S_IMODE(path.lstat().st_mode) & 0o077:
                out.append(f"{oct(stat.S_IMODE(path.lstat().st_mode))} {path}")
    mode = stat.S_IMODE(os.stat(town.root).st_mode)
    if mode != 0o700:
        out.append(f"{oct(mode)} {town.root}")
    return out


def assert_private(town: Town) -> None:
    assert loose(town) == []
    assert stat.S_IMODE(os.stat(town.root).st_mode) == 0o700
    for d in (town.state_dir, town.logs_dir, town.rigs_dir):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d
    for f in (town.config_path, town.ledger_path):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f


def test_gt_init_makes_a_private_town_whatever_the_umask(tmp_path):
    with umask(0o022):
        res = gt("init", str(tmp_path / "town"))
    assert res.returncode == 0, res.stderr
    assert_private(Town(str(tmp_path / "town")))


def test_init_town_in_process_makes_a_private_town_too(tmp_path):
    """The app's demo and the tests create towns in-process, under the caller's umask."""
    with umask(0o022):
        town = init_town(str(tmp_path / "town"))
    assert_private(town)


def loosen(town: Town) -> list[Path]:
    """What a town made by an older version looks like: everything readable by all."""
    extra = [
        Path(town.ledger_path + "-wal"),
        Path(town.ledger_path + "-shm"),
        Path(town.logs_dir, "web+Toast+gt-1+1.log"),
        Path(town.logs_dir, "refinery", "web", "web-1.log"),
        Path(town.rigs_dir, "web", "polecats", "Toast", ".gastown", "PROMPT.md"),
    ]
    for path in extra:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text("private\n")
    for dirpath, _dirnames, filenames in os.walk(town.root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return extra


def test_an_engine_start_tightens_a_town_made_with_a_loose_umask(tmp_path):
    with umask(0o022):
        town = init_town(str(tmp_path / "town"))
        extra = loosen(town)
    assert loose(town)  # the starting point really is loose
    proc = start_engine(town.root, str(tmp_path / "engine.log"))
    try:
        wait_for(lambda: "engine started" in (tmp_path / "engine.log").read_text())
        assert_private(town)
        for path in extra:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_nothing_a_working_town_writes_is_readable_by_others(tmp_path):
    """gt init, gt rig add, a bead worked in tmux and landed by the refinery: the ledger,
    its WAL, session and refinery logs, PROMPT.md, the engine's state — all private."""
    with umask(0o022):
        assert gt("init", str(tmp_path / "town")).returncode == 0
        town = Town(str(tmp_path / "town"))
        with open(town.config_path, "a") as fh:
            fh.write('\n[rigs.web]\ngates = { test = "test -f README.md" }\n')
        src = make_source_repo(tmp_path / "src")
        res = gt("rig", "add", "web", str(src), "--prefix", "gt", town=town)
        assert res.returncode == 0, res.stderr
        res = gt(
            "bead",
            "create",
            "Write a file",
            "--rig",
            "web",
            "--body",
            script_body("write a.txt hello", "commit 'a file'"),
            "--json",
            town=town,
        )
        assert res.returncode == 0, res.stderr
        import json

        bead = json.loads(res.stdout)["id"]
        assert gt("sling", bead, town=town).returncode == 0
        ledger = Ledger(town.ledger_target)
        tmux = Tmux(socket_name(town.root))
        proc = start_engine(town.root, str(tmp_path / "engine.log"))
        try:
            wait_for(lambda: ledger.beads.get(bead)["status"] == vocab.CLOSED, timeout=60)
            assert list(Path(town.rigs_dir).glob("web/polecats/*/.gastown/PROMPT.md"))
            assert list(Path(town.logs_dir).rglob("*.log"))
            assert_private(town)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            tmux.kill_server()
            ledger.close()
    assert_private(town)
