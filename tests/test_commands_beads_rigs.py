"""The commands for beads, dependencies, rigs, import/export and the town: each rule once,
typed in and out, refusals leaving the ledger as it was."""

from __future__ import annotations

import io
import json
import os

import pytest

from engine.commands import bead_actions as beads
from engine.commands import dep_actions as deps
from engine.commands import import_export as interop
from engine.commands import rig_actions as rigs
from engine.commands import town_actions as town_cmd
from engine.config import SchedulerSettings, TownConfig
from engine.errors import Conflict, GtError, NotFound, UsageError
from engine.scheduler.reconciler import Scheduler
from tests.cli_support import hooked_agent
from tests.conftest import add_rig, make_source_repo
from tests.recording import RecordingDispatcher


def bead_count(ledger) -> int:
    return len(ledger.beads.list(include_records=True))


# ---- beads ------------------------------------------------------------------------------


def test_create_files_a_bead_with_labels_and_dependencies_by_the_actor(ledger):
    add_rig(ledger, "web", "gt")
    first = beads.create(ledger, beads.NewBead("first", rig="web"), actor="mayor")
    new = beads.NewBead(
        "second", rig="web", priority="1", labels=("ui", "ui", "api"), deps=((first.id, "blocks"),)
    )
    second = beads.create(ledger, new, actor="mayor")
    assert second.as_dict() == ledger.beads.require(second.id)
    assert second.bead["priority"] == 1 and second.bead["labels"] == ["api", "ui"]
    assert second.bead["created_by"] == "mayor" and second.bead["blocked"]
    assert [b["id"] for b in ledger.beads.ready()] == [first.id]


def test_create_refuses_a_malformed_dependency_before_anything_changes(ledger):
    before = bead_count(ledger)
    with pytest.raises(UsageError, match="not a valid"):
        beads.create(ledger, beads.NewBead("x", deps=(("not an id!", "blocks"),)), actor="mayor")
    assert bead_count(ledger) == before


def test_create_with_an_unknown_dependency_leaves_no_bead_behind(ledger):
    before = bead_count(ledger)
    with pytest.raises(NotFound):
        beads.create(ledger, beads.NewBead("x", deps=(("hq-nope", "blocks"),)), actor="mayor")
    assert bead_count(ledger) == before


def test_create_stores_an_external_dependency_without_a_bead(ledger):
    bead = beads.create(
        ledger, beads.NewBead("x", deps=(("external:other:ab-1", "related"),)), actor="mayor"
    )
    edges = ledger.graph.edges_of(bead.id)["depends_on"]
    assert [e["id"] for e in edges] == ["external:other:ab-1"]


def test_create_refuses_a_bad_priority(ledger):
    with pytest.raises(UsageError):
        beads.create(ledger, beads.NewBead("x", priority="urgent"), actor="mayor")


def test_update_changes_the_named_fields_and_records_who(ledger):
    bead = beads.create(ledger, beads.NewBead("old", labels=("a",)), actor="mayor")
    changes = beads.BeadChanges(bead.id, title="new", priority="0", add_labels=("b",))
    updated = beads.update(ledger, changes, actor="toast")
    assert updated.bead["title"] == "new" and updated.bead["priority"] == 0
    assert updated.bead["labels"] == ["a", "b"] and updated.bead["body"] == ""
    history = ledger.beads.history(bead.id)
    assert history[-1]["kind"] == "updated" and history[-1]["actor"] == "toast"


def test_update_of_an_unknown_bead_is_refused(ledger):
    with pytest.raises(NotFound):
        beads.update(ledger, beads.BeadChanges("hq-nope", title="x"), actor="mayor")


def test_close_unblocks_what_depended_on_the_bead(ledger):
    first = beads.create(ledger, beads.NewBead("first"), actor="mayor")
    second = beads.create(ledger, beads.NewBead("second", deps=((first.id, "blocks"),)), actor="m")
    closed = beads.close(ledger, first.id, actor="mayor", reason="done")
    assert closed.bead["status"] == "closed" and closed.bead["close_reason"] == "done"
    assert not ledger.beads.require(second.id)["blocked"]


def test_close_cancel_and_reopen_refuse_what_makes_no_sense(ledger):
    bead = beads.create(ledger, beads.NewBead("x"), actor="mayor")
    with pytest.raises(Conflict, match="already open"):
        beads.reopen(ledger, bead.id, actor="mayor")
    beads.close(ledger, bead.id, actor="mayor")
    with pytest.raises(Conflict, match="already closed"):
        beads.close(ledger, bead.id, actor="mayor")
    with pytest.raises(Conflict, match="already closed"):
        beads.cancel(ledger, bead.id, actor="mayor")
    reopened = beads.reopen(ledger, bead.id, actor="mayor")
    assert reopened.bead["status"] == "open" and not reopened.bead["slung"]
    assert beads.cancel(ledger, bead.id, actor="mayor").bead["status"] == "cancelled"
    for command in (beads.close, beads.cancel, beads.reopen):
        with pytest.raises(NotFound):
            command(ledger, "hq-nope", actor="mayor")


# ---- dependencies -----------------------------------------------------------------------


def test_dep_add_blocks_and_dep_remove_unblocks(ledger):
    a = ledger.beads.create("a")["id"]
    b = ledger.beads.create("b")["id"]
    added = deps.add(ledger, deps.DepEdge(b, a), actor="mayor")
    assert added.as_dict() == {"bead_id": b, "depends_on": a, "type": "blocks"}
    assert ledger.beads.require(b)["blocked"]
    removed = deps.remove(ledger, b, a, actor="mayor")
    assert removed.removed == 1 and not ledger.beads.require(b)["blocked"]
    with pytest.raises(NotFound, match="does not depend"):
        deps.remove(ledger, b, a, actor="mayor")


def test_dep_add_refuses_a_cycle_and_changes_nothing(ledger):
    a = ledger.beads.create("a")["id"]
    b = ledger.beads.create("b", deps=[(a, "blocks")])["id"]
    c = ledger.beads.create("c", deps=[(b, "parent-child")])["id"]
    with pytest.raises(Conflict, match="cycle"):
        deps.add(ledger, deps.DepEdge(a, c), actor="mayor")
    assert ledger.graph.edges_of(a)["depends_on"] == []
    assert not ledger.beads.require(a)["blocked"]


def test_dep_add_refuses_unknown_beads_bad_targets_itself_and_duplicates(ledger):
    a = ledger.beads.create("a")["id"]
    b = ledger.beads.create("b")["id"]
    with pytest.raises(NotFound):
        deps.add(ledger, deps.DepEdge(a, "hq-nope"), actor="mayor")
    with pytest.raises(NotFound):
        deps.add(ledger, deps.DepEdge("hq-nope", a), actor="mayor")
    with pytest.raises(UsageError, match="external reference"):
        deps.add(ledger, deps.DepEdge(a, "external:bad project:x"), actor="mayor")
    with pytest.raises(Conflict, match="itself"):
        deps.add(ledger, deps.DepEdge(a, a), actor="mayor")
    with pytest.raises(UsageError, match="unknown dependency type"):
        deps.add(ledger, deps.DepEdge(a, b, "kinda"), actor="mayor")
    deps.add(ledger, deps.DepEdge(a, b, "related"), actor="mayor")
    with pytest.raises(Conflict, match="already depends"):
        deps.add(ledger, deps.DepEdge(a, b, "related"), actor="mayor")
    assert not ledger.beads.require(a)["blocked"]  # a related edge does not block


# ---- rigs -------------------------------------------------------------------------------


def test_rig_add_clones_the_source_and_registers_it(town, ledger, tmp_path):
    source = make_source_repo(tmp_path / "src")
    said: list[str] = []
    added = rigs.add(
        town,
        ledger,
        rigs.NewRig("web", str(source), capabilities=("python",), gates=("true",)),
        announce=said.append,
    )
    rig = added.as_dict()
    assert rig == ledger.rigs.require("web")
    assert rig["prefix"] == "web" and rig["capabilities"] == ["python"] and rig["gates"] == ["true"]
    assert os.path.isdir(os.path.join(rig["path"], ".git")) and said


def test_rig_add_refuses_a_bad_name_a_taken_prefix_and_a_missing_source(town, ledger, tmp_path):
    source = str(make_source_repo(tmp_path / "src"))
    with pytest.raises(UsageError, match="bad rig name"):
        rigs.add(town, ledger, rigs.NewRig("no/slash", source))
    add_rig(ledger, "api", "gt")
    with pytest.raises(Conflict, match="already used by rig 'api'"):
        rigs.add(town, ledger, rigs.NewRig("web", source, prefix="gt"))
    with pytest.raises(GtError, match="does not exist"):
        rigs.add(town, ledger, rigs.NewRig("web", str(tmp_path / "nowhere")))
    assert [r["name"] for r in ledger.rigs.list()] == ["api"]
    assert not os.path.exists(town.rig_dir("web"))


def test_rig_remove_refuses_a_rig_with_work_unless_forced(town, ledger):
    add_rig(ledger, "web", "gt")
    agent_id, _bead, _attempt = hooked_agent(ledger)
    with pytest.raises(Conflict, match="agents at work"):
        rigs.remove(town, ledger, "web")
    assert ledger.rigs.get("web") is not None
    removed = rigs.remove(town, ledger, "web", force=True)
    assert removed.rig["name"] == "web" and not removed.purged
    assert ledger.rigs.get("web") is None
    assert ledger.agents.require(agent_id)["status"] == "retired"


def test_rig_remove_keeps_the_files_unless_purged(town, ledger):
    for name, prefix in (("web", "gt"), ("api", "ap")):
        add_rig(ledger, name, prefix)
        os.makedirs(os.path.join(town.rig_dir(name), "repo"))
    kept = rigs.remove(town, ledger, "web")
    assert kept.directory == town.rig_dir("web") and os.path.isdir(kept.directory)
    purged = rigs.remove(town, ledger, "api", purge=True)
    assert purged.purged and not os.path.exists(purged.directory)
    with pytest.raises(NotFound, match="no rig"):
        rigs.remove(town, ledger, "web")


# ---- import / export --------------------------------------------------------------------


def issue(ident: str, title: str, **more) -> dict:
    return {
        "id": ident,
        "title": title,
        "status": "open",
        "priority": 2,
        "issue_type": "task",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
        **more,
    }


def write_jsonl(path, rows: list, bad_line: str | None = None) -> str:
    lines = [json.dumps(r) for r in rows]
    if bad_line is not None:
        lines.insert(1, bad_line)
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_import_creates_then_a_reimport_changes_nothing(ledger, tmp_path):
    rows = [
        issue("bd-1", "one"),
        issue(
            "bd-2",
            "two",
            dependencies=[{"issue_id": "bd-2", "depends_on_id": "bd-1", "type": "blocks"}],
        ),
    ]
    path = write_jsonl(tmp_path / "issues.jsonl", rows)
    first = interop.import_beads(ledger, interop.ImportRequest(path), actor="mayor")
    assert first.layout == "embedded" and first.stats["created"] == 2
    assert first.stats["deps_added"] == 1 and first.bad_lines == () and first.kept == ()
    assert ledger.beads.require("bd-2")["blocked"]
    again = interop.import_beads(ledger, interop.ImportRequest(path), actor="mayor")
    assert again.stats["unchanged"] == 2 and again.stats["created"] == 0
    assert list(again.as_dict()) == [
        "created",
        "updated",
        "unchanged",
        "deps_added",
        "deps_removed",
        "skipped",
        "skipped_beads",
        "layout",
    ]


def test_import_with_a_malformed_line_imports_nothing(ledger, tmp_path):
    path = write_jsonl(
        tmp_path / "issues.jsonl", [issue("bd-1", "one"), issue("bd-2", "two")], "{not json"
    )
    before = bead_count(ledger)
    with pytest.raises(GtError, match="line 2"):
        interop.import_beads(ledger, interop.ImportRequest(path), actor="mayor")
    assert bead_count(ledger) == before


def test_import_skipping_bad_lines_reports_each_one(ledger, tmp_path):
    path = write_jsonl(
        tmp_path / "issues.jsonl", [issue("bd-1", "one"), issue("bd-2", "two")], "{not json"
    )
    result = interop.import_beads(ledger, interop.ImportRequest(path, skip_bad=True), actor="mayor")
    assert result.stats["created"] == 2
    (bad,) = result.bad_lines
    assert bad.line == 2 and bad.file == "issues.jsonl" and bad.error
    assert result.as_dict()["skipped"] == [{"line": 2, "file": "issues.jsonl", "error": bad.error}]


def test_import_into_an_unknown_rig_is_refused(ledger, tmp_path):
    path = write_jsonl(tmp_path / "issues.jsonl", [issue("bd-1", "one")])
    with pytest.raises(NotFound):
        interop.import_beads(ledger, interop.ImportRequest(path, rig="nope"), actor="mayor")
    assert bead_count(ledger) == 0


def test_export_writes_what_import_reads(ledger, tmp_path):
    a = ledger.beads.create("a")["id"]
    ledger.beads.create("b", deps=[(a, "blocks")])
    out = io.StringIO()
    assert interop.export_beads(ledger, interop.ExportRequest(out)).beads == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["title"] for r in rows] == ["a", "b"]
    assert rows[1]["dependencies"][0]["depends_on_id"] == a


def test_export_of_the_backup_layout_needs_a_directory(ledger):
    with pytest.raises(UsageError, match="directory"):
        interop.export_beads(ledger, interop.ExportRequest(io.StringIO(), layout="backup"))


# ---- the town ---------------------------------------------------------------------------


def test_init_creates_a_town_and_refuses_to_clobber_one(tmp_path):
    created = town_cmd.init(str(tmp_path / "my town"))
    assert created.root == str(tmp_path / "my town") and created.name == "my town"
    assert os.path.exists(os.path.join(created.root, "town.toml"))
    with pytest.raises(GtError, match="already a town"):
        town_cmd.init(created.root)


def test_breaker_reset_resumes_dispatch(ledger):
    add_rig(ledger, "web", "gt")
    settings = SchedulerSettings(breaker_failures=2, breaker_window_seconds=60, max_attempts=5)
    config = TownConfig(scheduler=settings)
    scheduler = Scheduler(ledger, config)
    broken = RecordingDispatcher()
    broken.fail_with = "exec failed"
    for i in range(3):
        ledger.beads.create(f"b{i}", rig="web", slung=True)
    scheduler.reconcile(broken)
    assert scheduler.breaker.blocks_dispatch()
    town_cmd.reset_breaker(ledger, config, actor="mayor")
    assert scheduler.breaker.state()["state"] == "closed"
    assert scheduler.breaker.blocks_dispatch() is None
    last = ledger.state.recent(limit=1)[-1]
    assert last["kind"] == "breaker_reset" and last["actor"] == "mayor"
