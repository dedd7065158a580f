"""The refinery with real repositories and real gates: batches, bisection, conflicts,
flakes, protected paths, crash recovery — and main never holds a commit that fails."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from engine import vocab
from engine.refinery.refinery import Refinery
from tests.conftest import RealTown, first_parent_history, git_out, gt, submit_work

CHECK = """#!/bin/sh
# the rig's test gate: no file may contain the word BROKEN
if grep -rl BROKEN --exclude-dir=.git --exclude=check.sh . ; then exit 1; fi
exit 0
"""


@pytest.fixture
def gated(tmp_path, monkeypatch):
    """A town whose rig has a real shell-test gate, and its refinery."""
    from engine.config import TownConfig

    monkeypatch.setenv("SHELL", "/bin/sh")
    made = []

    def make(rig_settings: dict | None = None, gate: str = "sh check.sh") -> tuple:
        data = {
            "scheduler": {"backoff_base_seconds": 0, "max_attempts": 5},
            "rigs": {"web": {"gates": {"test": gate}, **(rig_settings or {})}},
        }
        rt = RealTown(
            tmp_path / f"t{len(made)}",
            TownConfig.model_validate(data),
            files={"README.md": "# demo\n", "check.sh": CHECK, "shared.txt": "one\ntwo\nthree\n"},
        )
        made.append(rt)
        return rt, Refinery(rt.town, rt.ledger, "web", rt.config)

    yield make
    for rt in made:
        rt.close()


def gate_passes_on(repo: str, commit: str, tmp: Path) -> bool:
    wt = tmp / f"check-{commit[:8]}"
    git_out(repo, "worktree", "add", "-q", "--detach", str(wt), commit)
    try:
        return subprocess.run(["sh", "check.sh"], cwd=wt, capture_output=True).returncode == 0
    finally:
        git_out(repo, "worktree", "remove", "--force", str(wt))


def assert_main_always_green(rt: RealTown, tmp: Path) -> None:
    repo = rt.ledger.rigs.require("web")["path"]
    for commit in first_parent_history(repo):
        assert gate_passes_on(repo, commit, tmp), f"main holds a failing commit {commit}"


def drain(refinery: Refinery, limit: int = 20) -> None:
    for _ in range(limit):
        if not refinery.process_once():
            return
    raise AssertionError("the queue never emptied")


def test_batch_of_eight_with_one_breaking_request_lands_seven_and_isolates_one(gated, tmp_path):
    rt, refinery = gated()
    subs = [submit_work(rt, f"feature {i}", {f"f{i}.txt": f"feature {i}\n"}) for i in range(3)]
    bad_bead, bad_mr = submit_work(rt, "the bad one", {"bad.txt": "BROKEN\n"})
    subs.append((bad_bead, bad_mr))
    subs += [submit_work(rt, f"feature {i}", {f"f{i}.txt": f"feature {i}\n"}) for i in range(3, 7)]
    assert len(subs) == 8 and refinery.batch_size() >= 8
    drain(refinery)
    states = {mr: rt.ledger.mq.get(mr)["state"] for _, mr in subs}
    assert states.pop(bad_mr) == "failed"
    assert set(states.values()) == {"landed"}
    assert rt.ledger.beads.get(bad_bead)["status"] == vocab.OPEN
    assert "gate test" in rt.ledger.beads.get(bad_bead)["last_error"]
    for bead, _ in subs:
        if bead != bad_bead:
            assert rt.ledger.beads.get(bead)["status"] == vocab.CLOSED
    assert_main_always_green(rt, tmp_path)
    last = refinery.stats()["last_batch"]
    assert last["gate_runs"] < 8  # fewer gate runs than testing each request alone


@pytest.mark.parametrize("mode", ["assign_back", "auto_rebase"])
def test_two_requests_editing_the_same_lines_land_one_and_send_one_back(gated, mode, tmp_path):
    rt, refinery = gated({"on_conflict": mode})
    _first, mr1 = submit_work(rt, "edit A", {"shared.txt": "one\nTWO (A)\nthree\n"})
    second, mr2 = submit_work(rt, "edit B", {"shared.txt": "one\nTWO (B)\nthree\n"})
    drain(refinery)
    assert rt.ledger.mq.get(mr1)["state"] == "landed"
    assert rt.ledger.mq.get(mr2)["state"] == "conflict"
    rework = [
        b
        for b in rt.ledger.beads.list(bead_type="task")
        if b["metadata"].get("rework_of") == second
    ]
    assert len(rework) == 1
    assert "shared.txt" in rework[0]["title"]
    assert rework[0]["metadata"]["prefer_agent"] == rt.ledger.mq.get(mr2)["agent"]
    assert rework[0]["slung"]
    assert rt.ledger.beads.get(second)["status"] == vocab.IN_REVIEW  # waits for its rework
    assert_main_always_green(rt, tmp_path)


def test_auto_rebase_requeues_a_branch_that_conflicts_on_merge_but_rebases_cleanly(gated, tmp_path):
    rt, refinery = gated({"on_conflict": "auto_rebase"})
    repo = rt.ledger.rigs.require("web")["path"]
    _, mr_a = submit_work(rt, "edit A", {"shared.txt": "one\nTWO (A)\nthree\n"})
    # B carries A's change (picked up early) and then builds on it: a merge sees both sides
    # changing line 2 and conflicts; a rebase drops the already-applied commit and goes on.
    bead_b, mr_b = submit_work(rt, "edit B", {"shared.txt": "one\nTWO (A)\nthree\n"})
    mr = rt.ledger.mq.get(mr_b)
    wt = tmp_path / "b"
    git_out(repo, "worktree", "add", "-q", "-b", "extra", str(wt), mr["commit"])
    (wt / "shared.txt").write_text("one\nTWO (A) and B\nthree\n")
    git_out(str(wt), "-c", "user.name=p", "-c", "user.email=p@p", "commit", "-qam", "B on A")
    newer = git_out(str(wt), "rev-parse", "HEAD")
    git_out(repo, "worktree", "remove", "--force", str(wt))
    with rt.ledger.db.write() as conn:  # the polecat amended its submission
        conn.execute("UPDATE merge_requests SET commit_sha=? WHERE bead_id=?", (newer, mr_b))
    refinery.process_once()  # lands A only (B's retries keep it behind A in the queue)
    assert rt.ledger.mq.get(mr_a)["state"] == "landed"
    drain(refinery)
    assert rt.ledger.mq.get(mr_b)["state"] == "landed"
    assert any(e["kind"] == "mq_rebased" for e in rt.ledger.beads.history(mr_b))
    assert rt.ledger.beads.get(bead_b)["status"] == vocab.CLOSED
    main = git_out(repo, "config", "gastown.main")
    assert git_out(repo, "show", f"{main}:shared.txt") == "one\nTWO (A) and B\nthree"
    assert_main_always_green(rt, tmp_path)


def test_a_flaky_gate_does_not_reject_good_work(gated, tmp_path):
    counter = tmp_path / "runs"
    flaky = f"n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; [ $n -ge 1 ]"
    rt, refinery = gated(gate=flaky)
    bead, mr = submit_work(rt, "good work", {"good.txt": "fine\n"})
    drain(refinery)
    assert rt.ledger.mq.get(mr)["state"] == "landed"
    assert rt.ledger.beads.get(bead)["status"] == vocab.CLOSED
    assert any(e["kind"] == "gate_flake" for e in rt.ledger.beads.history(mr))
    assert refinery.stats()["flakes"]


def test_changes_to_protected_paths_wait_for_approval(gated):
    rt, refinery = gated()
    _bead, mr = submit_work(rt, "touch ci", {".ci/run": "#!/bin/sh\necho hi\n"})
    refinery.process_once()
    assert rt.ledger.mq.get(mr)["state"] == "awaiting_approval"
    assert ".ci/run" in rt.ledger.mq.get(mr)["failure"]
    res = gt("mq", "approve", mr, town=rt.town)
    assert res.returncode == 0, res.stderr
    drain(refinery)
    assert rt.ledger.mq.get(mr)["state"] == "landed"


def test_a_request_whose_bead_was_cancelled_is_dropped(gated):
    rt, refinery = gated()
    bead, mr = submit_work(rt, "soon cancelled", {"x.txt": "x\n"})
    rt.ledger.beads.cancel(bead)
    refinery.process_once()
    assert rt.ledger.mq.get(mr)["state"] == "dropped"
    repo = rt.ledger.rigs.require("web")["path"]
    assert len(first_parent_history(repo)) == 1


def test_mq_commands_list_show_reject_and_retry(gated):
    rt, _refinery = gated()
    bead, mr = submit_work(rt, "to reject", {"r.txt": "r\n"})
    res = gt("mq", "list", town=rt.town)
    assert res.returncode == 0 and "batch size" in res.stdout and mr in res.stdout
    res = gt("mq", "show", mr, town=rt.town)
    assert res.returncode == 0 and "queued" in res.stdout
    res = gt("mq", "reject", mr, "--reason", "not like this", town=rt.town)
    assert res.returncode == 0, res.stderr
    assert rt.ledger.beads.get(bead)["status"] == vocab.OPEN
    assert "not like this" in rt.ledger.beads.get(bead)["last_error"]
    res = gt("mq", "retry", "gt-nope", town=rt.town)
    assert res.returncode == 1 and "no merge request" in res.stderr


def test_restart_mid_landing_confirms_or_requeues_and_never_lands_twice(gated, tmp_path):
    rt, refinery = gated()
    _, mr = submit_work(rt, "w", {"w.txt": "w\n"})
    refinery.ws.ensure()
    base = refinery.ws.tip()
    stacked, _, _ = refinery.ws.stack(base, [refinery_candidate(rt, mr)])
    commit = refinery.ws.landing_commit(base, stacked)
    rt.ledger.mq.begin_landing([mr], commit, "b1")
    assert refinery.ws.advance(commit, base)  # ... and the engine dies right here
    again = Refinery(rt.town, rt.ledger, "web", rt.config)
    assert again.process_once() is False  # recovery confirmed it; nothing left to do
    assert rt.ledger.mq.get(mr)["state"] == "landed"
    repo = rt.ledger.rigs.require("web")["path"]
    assert len(first_parent_history(repo)) == 2


def refinery_candidate(rt, mr_id):
    from engine.refinery.workspace import Candidate

    mr = rt.ledger.mq.get(mr_id)
    return Candidate(mr["id"], mr["commit"], mr["id"])


def test_kill_9_of_the_engine_mid_batch_lands_each_request_exactly_once(gated, tmp_path):
    import signal
    import time

    from tests.test_engine import start_engine, wait_for

    rt, _ = gated(gate="sleep 0.4 && sh check.sh")
    subs = [submit_work(rt, f"w{i}", {f"w{i}.txt": f"{i}\n"}) for i in range(5)]
    subs.append(submit_work(rt, "bad", {"bad.txt": "BROKEN\n"}))
    with open(rt.town.config_path, "a") as fh:
        fh.write('\n[rigs.web]\ngates = { test = "sleep 0.4 && sh check.sh" }\n')
    proc = start_engine(rt.town.root, str(tmp_path / "engine.log"))
    try:
        wait_for(lambda: any(rt.ledger.mq.get(mr)["state"] == "testing" for _, mr in subs))
        time.sleep(0.3)
        proc.kill()
        proc.wait(10)
        proc = start_engine(rt.town.root, str(tmp_path / "engine.log"))
        wait_for(
            lambda: all(rt.ledger.mq.get(mr)["state"] in ("landed", "failed") for _, mr in subs),
            timeout=90,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    repo = rt.ledger.rigs.require("web")["path"]
    messages = git_out(
        repo, "log", "--first-parent", "--format=%s", git_out(repo, "config", "gastown.main")
    )
    for _, mr in subs[:5]:
        assert rt.ledger.mq.get(mr)["state"] == "landed"
        assert sum(mr in line.split() or f"{mr}," in line for line in messages.splitlines()) == 1
    assert rt.ledger.mq.get(subs[5][1])["state"] == "failed"
    assert_main_always_green(rt, tmp_path)
    assert "Traceback" not in (tmp_path / "engine.log").read_text()
    assert not os.path.exists(os.path.join(repo, ".git", "index.lock"))
