"""The whole town under load and crashes: a 40-bead convoy on one rig, eight concurrent `gt`
writers, the headless engine killed with SIGKILL twice mid-way. At the end every bead is
closed, main holds every bead's change, nothing landed twice, no process is left behind and
`gt status` shows no invariant violation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import vocab
from engine.adapters.tmux import Tmux, socket_name
from engine.ledger import Ledger
from engine.town import init_town
from tests.conftest import git_out, gt, make_source_repo
from tests.test_engine import start_engine, wait_for

BEADS = 40
WRITERS = 8


def gt_exe() -> list[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "gt")
    return [exe] if os.access(exe, os.X_OK) else [sys.executable, "-m", "engine.cli.main"]


def start_writers(town_root: str, stop: Path) -> list[subprocess.Popen[bytes]]:
    """Eight shell loops filing beads as fast as they can (bounded, stop on a file)."""
    cmd = " ".join(gt_exe())
    loop = (
        f'for i in $(seq 1 60); do [ -e "{stop}" ] && break; '
        f'{cmd} --town "{town_root}" bead create "noise $i" --rig web >/dev/null || exit 1; '
        "done"
    )
    return [
        subprocess.Popen(["sh", "-c", loop], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(WRITERS)
    ]


def processes_touching(root: str) -> list[str]:
    """Live processes whose command line, working directory or environment names the town."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(f"/proc/{pid}/cwd")
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if root in cmdline or cwd.startswith(root) or root.encode() in environ:
            found.append(f"{pid}: {cmdline.strip()} (cwd {cwd})")
    return found


@pytest.mark.slow
@pytest.mark.both_backends
def test_a_40_bead_convoy_under_concurrent_writers_and_two_engine_kills_lands_everything(
    tmp_path, ledger_backend
):
    town = init_town(str(tmp_path / "town"), ledger_url=ledger_backend)
    text = Path(town.config_path).read_text()
    text = text.replace("backoff_base_seconds = 5 ", "backoff_base_seconds = 0.2 ")
    text += '\n[rigs.web]\ngates = { test = "sleep 0.3 && test -f README.md" }\n'
    Path(town.config_path).write_text(text)
    src = make_source_repo(tmp_path / "src")
    assert gt("rig", "add", "web", str(src), "--prefix", "gt", town=town).returncode == 0
    plan = "".join(
        f'[[bead]]\nkey = "b{i}"\ntitle = "bead {i}"\nrig = "web"\n\n' for i in range(BEADS)
    )
    (tmp_path / "plan.toml").write_text(plan)
    res = gt("convoy", "create", "Load", "--plan", str(tmp_path / "plan.toml"), "--json", town=town)
    assert res.returncode == 0, res.stderr
    convoy = json.loads(res.stdout)
    ledger = Ledger(town.ledger_target)
    log = str(tmp_path / "engine.log")
    stop = tmp_path / "stop-writers"
    writers = start_writers(town.root, stop)
    proc = start_engine(town.root, log)

    def closed() -> int:
        assert proc.poll() is None, "the engine died: " + Path(log).read_text()[-2000:]
        return sum(ledger.beads.get(b)["status"] == vocab.CLOSED for b in convoy["beads"])

    try:
        for threshold in (BEADS // 4, BEADS // 2):
            wait_for(lambda t=threshold: closed() >= t, timeout=300)
            proc.kill()  # SIGKILL: no clean-up of any kind
            proc.wait(10)
            proc = start_engine(town.root, log)
        wait_for(
            lambda: ledger.convoys.get(convoy["id"])["status"] == vocab.CONVOY_LANDED, timeout=600
        )
        stop.touch()
        for w in writers:
            assert w.wait(120) == 0, w.stderr.read() if w.stderr else ""
        # Agents finish and their sessions end by themselves once the work is done.
        wait_for(lambda: not Tmux(socket_name(town.root)).panes(), timeout=30)
    finally:
        stop.touch()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()
        Tmux(socket_name(town.root)).kill_server()

    repo = ledger.rigs.require("web")["path"]
    main = git_out(repo, "config", "gastown.main")
    landings = git_out(repo, "log", "--first-parent", "--format=%B", main)
    for bead_id in convoy["beads"]:
        bead = ledger.beads.get(bead_id)
        assert bead["status"] == vocab.CLOSED, bead
        # Every landed bead's change is in the final tree, not just its file name.
        assert git_out(repo, "show", f"{main}:{bead_id}.txt") == bead["title"], bead_id
        mrs = [m for m in ledger.mq.list(rig="web") if m["source_bead"] == bead_id]
        landed = [m for m in mrs if m["state"] == "landed"]
        assert len(landed) == 1, (bead_id, mrs)
        mentions = [ln for ln in landings.splitlines() if ln.startswith(f"{landed[0]['id']}:")]
        assert len(mentions) == 1, f"{landed[0]['id']} landed {len(mentions)} times"
    status = json.loads(gt("status", "--json", town=town).stdout)
    assert status["violations"] == []
    time.sleep(0.5)
    assert processes_touching(town.root) == []
    assert "Traceback" not in Path(log).read_text()
    ledger.close()
