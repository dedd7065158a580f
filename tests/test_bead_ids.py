"""One bead id rule (engine/ids.py), enforced at every door an id comes in by.

A bead id ends up in a branch name, a log file name and a worktree's git config: an id that
can never be dispatched (`../../etc`, `s-a..b`) is refused where it enters — `gt import`,
`gt bead create --dep`, `gt dep add`, convoy plan files, `gt sling` — with one line, and
nothing is changed. Real `gt` processes on a real SQLite ledger.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine.errors import UsageError
from engine.ids import check_bead_id, check_dep_target, is_bead_id
from engine.polecats import worktrees
from tests.cli_support import assert_one_line_error, ledger_dump, run_gt
from tests.conftest import DATA, add_rig

HOSTILE_IDS = [
    "../../etc",
    "s-a..b",
    "gt-abc\n",
    "gt-a/b",
    "gt-a b",
    "gt-abc.lock",
    "gt-a.",
    "gt-",
    "-gt-a",
    "GT-abc",
    "gt-a\x1b[2J",
    "gt-@{u}",
    "gt-a~1",
    "gt-" + "a" * 70,
    "",
]
GOOD_IDS = ["gt-a1b2", "hq-zz9k", "bd-kwro", "gt-m5w4g.3", "bd-au0.10", "gt-xx-Txxxx", "bd-a.1.2"]


@pytest.mark.parametrize("ident", HOSTILE_IDS)
def test_hostile_ids_are_refused_by_the_rule(ident):
    assert not is_bead_id(ident)
    with pytest.raises(UsageError, match="not a valid bead id"):
        check_bead_id(ident)
    with pytest.raises(UsageError):
        check_dep_target(ident)


@pytest.mark.parametrize("ident", GOOD_IDS)
def test_good_ids_pass_and_make_valid_branch_names(ident):
    assert check_bead_id(ident) == ident
    assert worktrees.branch_name("Toast", ident) == f"polecat/Toast/{ident}"


def test_external_references_are_dependency_targets_only():
    assert check_dep_target("external:gastown:gt-nek89") == "external:gastown:gt-nek89"
    for bad in ("external:../x:gt-a", "external:gastown:../../etc", "external:gt-a"):
        with pytest.raises(UsageError):
            check_dep_target(bad)
    with pytest.raises(UsageError):
        check_bead_id("external:gastown:gt-nek89")


@pytest.mark.skipif(not (DATA / "beads-issues.jsonl").exists(), reason="shared data not present")
def test_every_id_in_the_real_beads_data_passes():
    for line in (DATA / "beads-issues.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            check_bead_id(row["id"])
            for dep in row.get("dependencies") or []:
                check_dep_target(dep["depends_on_id"])


# ---- the doors -------------------------------------------------------------------------------


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def issue(ident: str, deps: Sequence[str] = ()) -> dict:
    row = {"id": ident, "title": f"bead {ident[:10]}", "status": "open", "priority": 2}
    row["issue_type"] = "task"
    if deps:
        row["dependencies"] = [
            {"issue_id": ident, "depends_on_id": d, "type": "blocks"} for d in deps
        ]
    return row


@pytest.mark.parametrize("ident", ["../../etc", "s-a..b", "gt-a/b", "gt-a\x1b]0;x\x07"])
def test_import_refuses_a_hostile_id_naming_its_line(town, ledger, tmp_path, ident):
    add_rig(ledger, "web", "gt")
    before = ledger_dump(town.ledger_target)
    src = jsonl(tmp_path / "in.jsonl", [issue("gt-good1"), issue(ident)])
    proc = run_gt("import", str(src), town=town)
    line = assert_one_line_error(proc, 1, "line 2", "not a valid bead id", "nothing was imported")
    assert "\x1b" not in line
    assert ledger_dump(town.ledger_target) == before


def test_import_refuses_a_hostile_dependency_id(town, ledger, tmp_path):
    add_rig(ledger, "web", "gt")
    before = ledger_dump(town.ledger_target)
    src = jsonl(tmp_path / "in.jsonl", [issue("gt-good1"), issue("gt-good2", ["../../etc"])])
    proc = run_gt("import", str(src), town=town)
    assert_one_line_error(proc, 1, "line 2", "not a valid bead id")
    assert ledger_dump(town.ledger_target) == before


def test_import_skip_bad_imports_the_good_lines_and_reports_the_bad(town, ledger, tmp_path):
    add_rig(ledger, "web", "gt")
    src = jsonl(
        tmp_path / "in.jsonl",
        [issue("gt-good1"), issue("s-a..b"), issue("gt-good2", ["external:gastown:gt-x1"])],
    )
    proc = run_gt("import", str(src), "--skip-bad", "--json", town=town)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [s["line"] for s in out["skipped"]] == [2]
    assert "not a valid bead id" in out["skipped"][0]["error"]
    ids = {b["id"] for b in ledger.beads.list()}
    assert {"gt-good1", "gt-good2"} <= ids and "s-a..b" not in ids


def test_create_refuses_a_hostile_dependency(town, ledger):
    add_rig(ledger, "web", "gt")
    before = ledger_dump(town.ledger_target)
    for dep in ("external:../../etc", "../../etc:blocks", "external:x:s-a..b"):
        proc = run_gt("bead", "create", "T", "--rig", "web", "--dep", dep, town=town)
        assert_one_line_error(proc, 2, "not a valid")
    assert ledger_dump(town.ledger_target) == before


def test_dep_add_refuses_a_hostile_target(town, ledger):
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("a", rig="web")["id"]
    before = ledger_dump(town.ledger_target)
    proc = run_gt("dep", "add", bead, "external:../../etc", town=town)
    assert_one_line_error(proc, 2, "not a valid")
    assert ledger_dump(town.ledger_target) == before


def test_a_plan_file_needing_a_hostile_id_creates_nothing(town, ledger, tmp_path):
    add_rig(ledger, "web", "gt")
    before = ledger_dump(town.ledger_target)
    plan = tmp_path / "plan.toml"
    plan.write_text('[[bead]]\nkey = "a"\ntitle = "A"\nrig = "web"\nneeds = ["../../etc"]\n')
    proc = run_gt("convoy", "create", "C", "--plan", str(plan), town=town)
    assert_one_line_error(proc, 1, "not a valid bead id", "nothing was created")
    assert ledger_dump(town.ledger_target) == before


def legacy_bead(ledger, ident: str) -> str:
    """A bead an older version let in (the ledger's own insert takes any id)."""
    with ledger.transaction():
        return str(
            ledger.beads.insert(
                title="legacy", rig="web", bead_type="task", priority=2, bead_id=ident
            )
        )


@pytest.mark.parametrize("ident", ["../../etc", "s-a..b"])
def test_sling_refuses_an_id_that_can_never_be_dispatched(town, ledger, ident):
    add_rig(ledger, "web", "gt")
    legacy_bead(ledger, ident)
    good = ledger.beads.create("fine", rig="web")["id"]
    before = ledger_dump(town.ledger_target)
    proc = run_gt("sling", good, ident, town=town)  # all or nothing: the good one waits too
    assert_one_line_error(proc, 2, "not a valid bead id")
    assert ledger_dump(town.ledger_target) == before
