"""`gt import` never clobbers live state or wedges the town (issue 8, section 2).

The newer record wins by `updated_at`; a bead that is hooked, in progress or in review is
never changed by an import (reported as skipped, with the reason); the dependencies of the
records the file holds follow the file. Real `gt` subprocesses, a real SQLite ledger, the
scheduler with the suite's recording dispatcher, and the real Beads data where it helps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import vocab
from engine.commands import done as done_cmd
from engine.config import TownConfig
from engine.ledger import Ledger
from engine.records import Agent, Bead
from engine.scheduler.reconciler import Scheduler
from engine.timeutil import iso, parse_iso
from engine.town import Town, init_town
from tests.cli_support import jsonl_rows, ledger_dump, run_gt, run_json
from tests.conftest import DATA, add_rig
from tests.readiness_oracle import blocked_ids, load_embedded, ready_ids
from tests.recording import RecordingDispatcher

EMBEDDED = DATA / "beads-issues.jsonl"


@pytest.fixture
def town(tmp_path: Path) -> Town:
    return init_town(str(tmp_path / "town"))


@pytest.fixture
def led(town: Town):
    ledger = Ledger(town.ledger_target)
    add_rig(ledger, "web", "gt")
    yield ledger
    ledger.close()


def export(town: Town, path: Path) -> list[dict[str, Any]]:
    proc = run_gt("export", str(path), town=town)
    assert proc.returncode == 0, proc.stderr
    return jsonl_rows(path)


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def later(stamp: str, seconds: float = 3600) -> str:
    return iso(parse_iso(stamp) + seconds)


def bead_of(led: Ledger, bead_id: str) -> Bead:
    bead = led.beads.get(bead_id)
    assert bead is not None, bead_id
    return bead


def agent_of(led: Ledger, bead: Bead) -> Agent:
    """The agent a bead is assigned to."""
    assert bead["assignee"] is not None, bead
    agent = led.agents.get(bead["assignee"])
    assert agent is not None, bead["assignee"]
    return agent


def skipped_ids(out: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["reason"] for s in out["skipped_beads"]}


# ---- live work is never changed ----------------------------------------------------------


def test_reimporting_an_older_export_leaves_hooked_work_alone_and_the_town_keeps_going(
    town: Town, led: Ledger, tmp_path: Path
) -> None:
    """The adversarial run: the old export put a held bead back to open, and from then on
    every reconcile failed with `UNIQUE constraint failed: agents.hook`."""
    held = led.beads.create("held by Toast", rig="web", slung=True)["id"]
    old = tmp_path / "old.jsonl"
    export(town, old)
    sched, disp = Scheduler(led, TownConfig()), RecordingDispatcher()
    sched.reconcile(disp)
    before = bead_of(led, held)
    assert before["status"] == vocab.IN_PROGRESS

    out = run_json("import", str(old), "--json", town=town)
    after = bead_of(led, held)
    assert (after["status"], after["assignee"]) == (vocab.IN_PROGRESS, before["assignee"])
    assert held in skipped_ids(out), out
    assert out["updated"] == 0

    # the town is not wedged: new work is dispatched, and no invariant is broken
    other = led.beads.create("new work", rig="web", slung=True)["id"]
    report = sched.reconcile(disp)
    assert [a.bead_id for a in report.started] == [other]
    assert report.violations == []


@pytest.mark.parametrize("status", [vocab.HOOKED, vocab.IN_PROGRESS, vocab.IN_REVIEW])
def test_a_newer_record_still_never_changes_live_work(
    town: Town, led: Ledger, tmp_path: Path, status: str
) -> None:
    bead = led.beads.create("live", rig="web", slung=True)["id"]
    sched, disp = Scheduler(led, TownConfig()), RecordingDispatcher()
    if status == vocab.HOOKED:
        sched.schedule()
    else:
        sched.reconcile(disp)
    if status == vocab.IN_REVIEW:
        agent = agent_of(led, bead_of(led, bead))
        done_cmd.record(
            led,
            done_cmd.DoneRequest(agent["id"], bead, 1, worktree=""),
            branch=f"polecat/Toast/{bead}",
            commit="0" * 40,
        )
    live = bead_of(led, bead)
    assert live["status"] == status
    # an edited export, dated after the live change, that closes the bead and renames it
    rows = export(town, tmp_path / "now.jsonl")
    for r in rows:
        if r["id"] == bead:
            r.update(
                status="closed", title="renamed", assignee="", updated_at=later(r["updated_at"])
            )
    edited = write_rows(tmp_path / "edited.jsonl", rows)

    proc = run_gt("import", str(edited), town=town)
    assert proc.returncode == 0, proc.stderr
    assert led.beads.get(bead) == live
    text = proc.stdout + proc.stderr
    assert f"skipped {bead}" in text and status in text, text
    out = run_json("import", str(edited), "--json", town=town)
    assert status in skipped_ids(out)[bead]


# ---- the newer record wins ---------------------------------------------------------------


def test_an_older_record_never_reopens_a_closed_bead_or_undoes_a_newer_title(
    town: Town, led: Ledger, tmp_path: Path
) -> None:
    closed = led.beads.create("will be closed", rig="web")["id"]
    renamed = led.beads.create("old title", rig="web")["id"]
    untouched = led.beads.create("same in both", rig="web")["id"]
    old = tmp_path / "old.jsonl"
    export(town, old)
    led.beads.close(closed, reason="done")
    led.beads.update(renamed, title="new title")
    kept = {b: led.beads.get(b) for b in (closed, renamed)}

    out = run_json("import", str(old), "--json", town=town)
    assert bead_of(led, closed)["status"] == vocab.CLOSED
    assert bead_of(led, renamed)["title"] == "new title"
    assert {b: led.beads.get(b) for b in kept} == kept
    reasons = skipped_ids(out)
    assert set(reasons) == {closed, renamed}, out
    assert all("newer" in r for r in reasons.values()), reasons
    assert untouched not in reasons


def test_a_newer_record_in_the_file_wins(town: Town, led: Ledger, tmp_path: Path) -> None:
    bead = led.beads.create("old title", rig="web")["id"]
    rows = export(town, tmp_path / "now.jsonl")
    rows[0].update(title="from the file", status="closed", updated_at=later(rows[0]["updated_at"]))
    out = run_json("import", str(write_rows(tmp_path / "new.jsonl", rows)), "--json", town=town)
    assert out["updated"] == 1 and out["skipped_beads"] == []
    got = bead_of(led, bead)
    assert (got["title"], got["status"]) == ("from the file", "closed")


def test_real_data_an_older_copy_changes_nothing_and_live_beads_are_skipped(
    town: Town, tmp_path: Path
) -> None:
    if not EMBEDDED.exists():
        pytest.skip("shared data set not present")
    run_json("import", str(EMBEDDED), "--json", town=town)
    dump = ledger_dump(town.ledger_target)
    rows = jsonl_rows(EMBEDDED)
    live = {r["id"] for r in rows if r.get("status") in ("hooked", "in_progress")}
    assert live, "the real data holds hooked and in-progress beads"
    older, newer_live = [], []
    for r in rows:
        if not r.get("updated_at"):
            continue
        older.append(
            {**r, "title": "stale " + r["title"], "updated_at": later(r["updated_at"], -86400)}
        )
        if r["id"] in live:
            newer_live.append({**r, "status": "closed", "updated_at": later(r["updated_at"])})
    out = run_json("import", str(write_rows(tmp_path / "older.jsonl", older)), "--json", town=town)
    assert (out["created"], out["updated"]) == (0, 0)
    assert len(out["skipped_beads"]) == len(older)
    assert ledger_dump(town.ledger_target) == dump

    out = run_json(
        "import", str(write_rows(tmp_path / "live.jsonl", newer_live)), "--json", town=town
    )
    assert out["updated"] == 0 and set(skipped_ids(out)) == live
    assert ledger_dump(town.ledger_target) == dump


# ---- dependencies follow the file ----------------------------------------------------------


def test_a_dependency_removed_from_the_file_is_removed_and_readiness_follows(
    town: Town, led: Ledger, tmp_path: Path
) -> None:
    blocker = led.beads.create("blocker", rig="web")["id"]
    other = led.beads.create("other", rig="web")["id"]
    child = led.beads.create("child", rig="web", deps=[(blocker, "blocks")])["id"]
    assert bead_of(led, child)["blocked"]
    rows = export(town, tmp_path / "now.jsonl")
    for r in rows:
        if r["id"] == child:
            r["dependencies"] = [
                {**d, "depends_on_id": other, "type": "related"} for d in r["dependencies"]
            ]
    edited = write_rows(tmp_path / "edited.jsonl", rows)

    out = run_json("import", str(edited), "--json", town=town)
    shown = run_json("bead", "show", child, "--json", town=town)
    assert {(d["id"], d["type"]) for d in shown["depends_on"]} == {(other, "related")}, out
    assert not bead_of(led, child)["blocked"]
    assert child in {b["id"] for b in run_json("ready", "--all", "--json", town=town)}
    # and the whole ledger agrees with the readiness oracle run on the file
    issues, deps = load_embedded(edited)
    assert {b["id"] for b in led.beads.list() if b["blocked"]} == blocked_ids(issues, deps)
    assert {b["id"] for b in led.beads.ready()} == ready_ids(issues, deps, led.now())
    # re-importing the same file changes nothing more
    again = run_json("import", str(edited), "--json", town=town)
    assert (again["updated"], again["deps_added"], again["deps_removed"]) == (0, 0, 0)


def test_dependencies_of_skipped_records_keep_the_ledgers_copy(
    town: Town, led: Ledger, tmp_path: Path
) -> None:
    blocker = led.beads.create("blocker", rig="web")["id"]
    child = led.beads.create("child", rig="web")["id"]
    old = tmp_path / "old.jsonl"
    export(town, old)  # child has no dependency yet
    led.graph.add(child, blocker, "blocks")  # a newer change, made in the town
    out = run_json("import", str(old), "--json", town=town)
    assert child in skipped_ids(out)
    assert bead_of(led, child)["blocked"]
    assert [d["id"] for d in led.graph.edges_of(child)["depends_on"]] == [blocker]
