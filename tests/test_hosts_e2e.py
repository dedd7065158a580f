"""Two hosts for real: two `gastown --engine-only --host` processes, each with its own town
directory (its own tmux server), sharing one PostgreSQL ledger; kill -9 of one mid-work,
its work finishing on the other, and its stale sessions stopped when it comes back."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from engine import vocab
from engine.ledger import Ledger
from engine.town import init_town
from tests.cli_support import gastown_argv
from tests.conftest import make_source_repo, script_body
from tests.hosts_support import (
    LEASE,
    cleanup,
    host_town,
    must,
    sessions,
    start_host,
    wait_for,
)

pytestmark = pytest.mark.slow


def test_a_killed_hosts_work_finishes_on_the_other_and_it_stops_its_stale_sessions(
    tmp_path: Path, pg_url: str
):
    from engine.rig_setup import add_rig

    a, b = host_town(tmp_path / "a", pg_url), host_town(tmp_path / "b", pg_url)
    ledger = Ledger(a.ledger_target)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        # the rig's upstream, bare as a hosted one is (a push to a checked-out branch of a
        # working repository is refused by git)
        made = make_source_repo(tmp_path / "src")
        source = tmp_path / "web.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(made), str(source)], check=True)
        add_rig(a, ledger, "web", str(source), prefix="gt", capabilities=[], gates=[])
        procs.append(start_host(a, "a", tmp_path / "a.log"))
        wait_for(lambda: ledger.hosts.get("a") is not None, 30, "host a to join")
        body = script_body("write f.txt x", "commit 'work'", "sleep 12")
        ids = [
            ledger.beads.create(f"task {i}", rig="web", slung=True, body=body)["id"]
            for i in range(2)
        ]
        wait_for(lambda: len(sessions(a)) == 2, 60, "host a to start both polecats")
        first = {i: ledger.beads.require(i)["attempt"] for i in ids}
        procs.append(start_host(b, "b", tmp_path / "b.log"))
        wait_for(lambda: ledger.hosts.get("b") is not None, 30, "host b to join")
        assert ledger.agents.list(host="b") == []  # a is live: its work stays with it
        # an engine without --host on the same ledger refuses, in one line
        c = init_town(str(tmp_path / "c"), ledger_url=pg_url)
        lone = subprocess.run(
            [*gastown_argv(), "--engine-only", "--town", c.root],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert lone.returncode == 1
        assert lone.stderr.count("\n") == 1 and "served by hosts (a, b)" in lone.stderr
        procs[0].send_signal(signal.SIGKILL)  # kill -9 of host a's engine
        procs[0].wait(10)
        wait_for(
            lambda: must(ledger.hosts.get("a"))["state"] == "lost", LEASE * 6, "a declared lost"
        )
        wait_for(lambda: len(sessions(b)) == 2, 60, "host b to take the work")
        for i in ids:
            bead = ledger.beads.require(i)
            assert bead["attempt"] == first[i] + 1
            assert ledger.agents.require(must(bead["assignee"]))["host"] == "b"
        assert len(sessions(a)) == 2  # a's sessions outlived its engine...
        procs[0] = start_host(a, "a", tmp_path / "a2.log")
        wait_for(lambda: not sessions(a), 60, "the returning host a to stop its stale sessions")
        assert must(ledger.hosts.get("a"))["state"] == "live"
        wait_for(
            lambda: all(
                ledger.beads.require(i)["status"] in (vocab.IN_REVIEW, vocab.CLOSED) for i in ids
            ),
            90,
            "host b to finish the work",
        )
        mrs = ledger.beads.list(bead_type="merge-request")
        sources = sorted(m["metadata"]["source"] for m in mrs)
        assert sources == sorted(ids)  # each bead's work was submitted once
        for log in ("a.log", "b.log", "a2.log"):
            assert "Traceback" not in (tmp_path / log).read_text(), log
    finally:
        cleanup(procs, [a, b])
        ledger.close()
