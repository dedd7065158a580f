"""engine/beads_jsonl/ alone: parsing and writing Beads' JSONL layouts, on real and bad data."""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine.beads_jsonl import ImportBatch, read_beads_jsonl, write_beads_jsonl
from engine.errors import GtError
from tests.readiness_oracle import blocked_ids, load_backup, load_embedded, ready_ids

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
if not DATA.exists():  # CI clones the repo with shared/ beside it
    DATA = Path(os.environ.get("GASTOWN_SHARED", "/work/shared")) / "data"
EMBEDDED = DATA / "beads-issues.jsonl"
BACKUP = DATA / "gastown-backup"
BACKUP_FILES = ("issues.jsonl", "dependencies.jsonl", "labels.jsonl", "comments.jsonl")

pytestmark = pytest.mark.skipif(not EMBEDDED.exists(), reason="shared data set not present")


def raw_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").split("\n") if line.strip()]


def strict(obj: Any) -> str:
    """A comparable form that tells 0 from false and 1 from 1.0 (dict == does not)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def assert_same_objects(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Same objects, same order, same values (type-strict), same key order."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert strict(g) == strict(w), w.get("id")
        assert list(g) == list(w), w.get("id")


def export_embedded(batch: ImportBatch) -> str:
    out = io.StringIO()
    n = write_beads_jsonl(batch.beads, batch.deps, out)
    assert n == len(batch.beads)
    return out.getvalue()


def write_lines(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else x.encode() for x in lines) + b"\n")
    return path


def issue(ident: str, **fields: Any) -> str:
    return json.dumps({"id": ident, "title": f"title of {ident}", **fields})


@pytest.fixture(scope="module")
def embedded() -> ImportBatch:
    return read_beads_jsonl(EMBEDDED)


@pytest.fixture(scope="module")
def backup() -> ImportBatch:
    return read_beads_jsonl(BACKUP)


# --- the real data parses -------------------------------------------------------------


def test_embedded_data_parses(embedded: ImportBatch) -> None:
    assert embedded.layout == "embedded"
    assert embedded.errors == []
    assert len(embedded.beads) == 704
    assert Counter(d["type"] for d in embedded.deps) == {
        "blocks": 377,
        "parent-child": 359,
        "discovered-from": 7,
        "tracks": 2,
    }
    assert {b["status"] for b in embedded.beads} == {
        "open",
        "closed",
        "hooked",
        "pinned",
        "in_progress",
    }
    assert {"message", "convoy", "agent", "epic"} <= {b["type"] for b in embedded.beads}
    bead = next(b for b in embedded.beads if b["id"] == "bd-kwro")
    assert bead["body"].startswith("Add messaging semantics")
    assert isinstance(bead["ephemeral"], bool) and isinstance(bead["metadata"], dict)
    assert "dependency_count" in bead["extra"] and "description" not in bead["extra"]
    assert bead["extra"]["_keys"][:3] == ["id", "title", "description"]
    labelled = [b for b in embedded.beads if b["labels"]]
    assert len(labelled) == 57 and all(isinstance(x, str) for b in labelled for x in b["labels"])
    # Every dep keeps its extra fields (metadata "{}" here), verbatim.
    assert all(d["extra"].get("metadata") == "{}" for d in embedded.deps)


def test_backup_data_parses(backup: ImportBatch) -> None:
    assert backup.layout == "backup"
    assert backup.errors == []
    assert len(backup.beads) == 677
    assert len(backup.deps) == 315
    assert sum(len(b["labels"]) for b in backup.beads) == 169
    assert sum(len(b["extra"].get("comments", ())) for b in backup.beads) == 14
    ids = {b["id"] for b in backup.beads}
    # Every issue here is gt-; the wisps (gt-wisp-...) only appear as dangling dep targets.
    assert all(i.startswith("gt-") for i in ids)
    wisps = {d["depends_on"] for d in backup.deps if d["depends_on"].startswith("gt-wisp-")}
    assert wisps and not wisps & ids
    bead = backup.beads[0]
    # The backup's 0/1 flags and "{}" metadata strings arrive as bool and dict.
    assert bead["ephemeral"] is False and bead["metadata"] == {}
    assert bead["type"] == "task"
    assert bead["close_reason"] == "Garbage bead from --help flag-parsing bug"
    assert "owner" in bead["extra"] and "content_hash" in bead["extra"]
    assert "issue_type" not in bead["extra"]


def test_parsing_is_fast() -> None:
    best = min(_timed(lambda: read_beads_jsonl(EMBEDDED)) for _ in range(3))
    print(f"\nparse beads-issues.jsonl: {best * 1000:.1f} ms")
    assert best < 0.1


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def test_the_three_ways_to_name_a_backup(tmp_path: Path) -> None:
    by_dir = read_beads_jsonl(BACKUP)
    by_file = read_beads_jsonl(BACKUP / "issues.jsonl")
    assert by_file.layout == "backup"
    assert [b["id"] for b in by_file.beads] == [b["id"] for b in by_dir.beads]
    assert len(by_file.deps) == len(by_dir.deps)
    # An old-style .beads/ directory holding an embedded issues.jsonl.
    (tmp_path / "issues.jsonl").write_bytes(EMBEDDED.read_bytes())
    assert read_beads_jsonl(tmp_path).layout == "embedded"


def test_missing_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(GtError, match="no such file"):
        read_beads_jsonl(tmp_path / "nope.jsonl")
    with pytest.raises(GtError, match="no such file"):
        read_beads_jsonl(tmp_path)  # a directory without issues.jsonl


# --- round trips ----------------------------------------------------------------------


def test_embedded_round_trip_is_exact(embedded: ImportBatch) -> None:
    text = export_embedded(embedded)
    got = [json.loads(line) for line in text.splitlines()]
    assert_same_objects(got, raw_rows(EMBEDDED))
    # Not promised, but true: the file comes back byte for byte.
    assert text == EMBEDDED.read_text("utf-8")


def test_embedded_round_trip_through_a_file(embedded: ImportBatch, tmp_path: Path) -> None:
    dest = tmp_path / "out.jsonl"
    assert write_beads_jsonl(embedded.beads, embedded.deps, dest) == 704
    assert_same_objects(raw_rows(dest), raw_rows(EMBEDDED))


def test_backup_round_trip_is_exact(backup: ImportBatch, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    assert write_beads_jsonl(backup.beads, backup.deps, out, layout="backup") == 677
    for name in BACKUP_FILES:
        got, want = raw_rows(out / name), raw_rows(BACKUP / name)
        assert Counter(map(strict, got)) == Counter(map(strict, want)), name
        assert [list(r) for r in got] == [list(r) for r in want], name
    assert_same_objects(raw_rows(out / "issues.jsonl"), raw_rows(BACKUP / "issues.jsonl"))
    for name in BACKUP_FILES:  # not promised, but true: byte for byte
        assert (out / name).read_bytes() == (BACKUP / name).read_bytes(), name


def test_second_round_trip_is_stable(backup: ImportBatch, tmp_path: Path) -> None:
    write_beads_jsonl(backup.beads, backup.deps, tmp_path / "a", layout="backup")
    again = read_beads_jsonl(tmp_path / "a")
    assert [strict(b) for b in again.beads] == [strict(b) for b in backup.beads]
    assert [strict(d) for d in again.deps] == [strict(d) for d in backup.deps]


def _ledger_view(batch: ImportBatch) -> dict[str, str]:
    """The normalised fields only, which must not depend on the layout."""
    return {b["id"]: strict({k: v for k, v in b.items() if k != "extra"}) for b in batch.beads}


def _dep_view(batch: ImportBatch) -> Counter[tuple[Any, ...]]:
    return Counter(
        (d["bead_id"], d["depends_on"], d["type"], d["created_at"], d["created_by"])
        for d in batch.deps
    )


@pytest.mark.parametrize("source", ["embedded", "backup"])
def test_layouts_convert_into_each_other(
    source: str, embedded: ImportBatch, backup: ImportBatch, tmp_path: Path
) -> None:
    batch = embedded if source == "embedded" else backup
    other = "backup" if source == "embedded" else "embedded"
    dest = tmp_path / ("b" if other == "backup" else "e.jsonl")
    write_beads_jsonl(batch.beads, batch.deps, dest, layout=other)
    converted = read_beads_jsonl(dest)
    assert converted.layout == other
    assert _ledger_view(converted) == _ledger_view(batch)
    # Embedded deps can only hang off a bead; every dep here has its bead.
    assert _dep_view(converted) == _dep_view(batch)
    if source == "backup":
        comments = {b["id"]: b["extra"].get("comments") for b in converted.beads}
        assert comments == {b["id"]: b["extra"].get("comments") for b in backup.beads}


# --- what must survive ----------------------------------------------------------------


def test_dangling_deps_survive(embedded: ImportBatch, backup: ImportBatch, tmp_path: Path) -> None:
    for batch in (embedded, backup):
        ids = {b["id"] for b in batch.beads}
        dangling = [d for d in batch.deps if d["depends_on"] not in ids]
        assert dangling  # both real sets have them (wisps that were never exported)
    assert (
        len([d for d in embedded.deps if d["depends_on"] not in {b["id"] for b in embedded.beads}])
        == 30
    )
    text = export_embedded(embedded)
    exported = {
        (d["issue_id"], d["depends_on_id"], d["type"])
        for line in text.splitlines()
        for d in json.loads(line).get("dependencies", ())
    }
    assert ("hq-cv-d46qe", "external:gastown:gt-5kjn", "tracks") in exported
    assert ("bd-7e7ddffa.1", "bd-7e7ddffa", "parent-child") in exported


def test_unknown_statuses_types_fields_and_dep_types_survive(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "odd.jsonl",
        issue(
            "x-1",
            status="frobbed",
            issue_type="gizmo",
            zork={"a": [1, True, None]},
            priority=0,
            dependencies=[
                {
                    "issue_id": "x-1",
                    "depends_on_id": "x-2",
                    "type": "replies-to",
                    "created_at": "2026-01-01T00:00:00Z",
                    "created_by": "me",
                    "weight": 3,
                },
                {"depends_on_id": "nowhere-9", "type": "blocks"},
            ],
        ),
        issue(
            "x-2",
            status="tombstone",
            labels=["a", "b"],
            description=None,
            ephemeral=0,
            metadata='{"k": 1}',
            assignee="",
            defer_until="",
            notes="n",
        ),
    )
    batch = read_beads_jsonl(src)
    one, two = batch.beads
    assert (one["status"], one["type"], one["extra"]["zork"]) == (
        "frobbed",
        "gizmo",
        {"a": [1, True, None]},
    )
    assert [(d["type"], d["depends_on"]) for d in batch.deps] == [
        ("replies-to", "x-2"),
        ("blocks", "nowhere-9"),
    ]
    assert batch.deps[0]["extra"] == {"weight": 3}
    assert batch.deps[1]["created_at"] is None
    assert two["body"] == "" and two["ephemeral"] is False and two["metadata"] == {"k": 1}
    assert two["assignee"] is None and two["defer_until"] is None
    assert two["labels"] == ["a", "b"] and two["extra"]["notes"] == "n"
    # Raw forms the normalised value cannot express are kept for export.
    assert two["extra"]["_raw"] == {
        "description": None,
        "ephemeral": 0,
        "metadata": '{"k": 1}',
        "assignee": "",
        "defer_until": "",
    }
    assert_same_objects([json.loads(x) for x in export_embedded(batch).splitlines()], raw_rows(src))
    out = tmp_path / "as-backup"
    write_beads_jsonl(batch.beads, batch.deps, out, layout="backup")
    back = read_beads_jsonl(out)
    assert _ledger_view(back) == _ledger_view(batch)
    assert [(d["type"], d["depends_on"]) for d in back.deps] == [
        ("replies-to", "x-2"),
        ("blocks", "nowhere-9"),
    ]


def test_int_like_priority_is_accepted_and_kept(tmp_path: Path) -> None:
    src = write_lines(
        tmp_path / "p.jsonl", issue("p-1", priority="3"), issue("p-2", priority=1.0), issue("p-3")
    )
    batch = read_beads_jsonl(src)
    assert [b["priority"] for b in batch.beads] == [3, 1, 2]
    assert_same_objects([json.loads(x) for x in export_embedded(batch).splitlines()], raw_rows(src))


def test_edits_are_exported_in_beads_form(backup: ImportBatch, tmp_path: Path) -> None:
    beads = json.loads(json.dumps(backup.beads))  # a deep copy the test may change
    first = beads[0]
    first.update(
        status="open",
        body="new body",
        ephemeral=True,
        metadata={"x": 1},
        labels=["fresh"],
        defer_until="2030-01-01T00:00:00Z",
        type="bug",
    )
    out = tmp_path / "edited"
    write_beads_jsonl(beads, backup.deps, out, layout="backup")
    row = raw_rows(out / "issues.jsonl")[0]
    assert (row["status"], row["description"], row["issue_type"]) == ("open", "new body", "bug")
    assert row["ephemeral"] == 1 and row["metadata"] == '{"x":1}'
    assert row["defer_until"] == "2030-01-01T00:00:00Z"
    assert list(row) == sorted(row) and "labels" not in row
    assert {"issue_id": first["id"], "label": "fresh"} in raw_rows(out / "labels.jsonl")
    # The embedded form of the same edit: a bool, a dict, and no absent-and-default keys.
    text = io.StringIO()
    write_beads_jsonl(beads[:1], [], text)
    row = json.loads(text.getvalue())
    assert row["ephemeral"] is True and row["metadata"] == {"x": 1}
    assert row["labels"] == ["fresh"]


def test_absent_default_fields_stay_absent_and_new_values_appear(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "a.jsonl", issue("a-1", status="open", zz=1))
    batch = read_beads_jsonl(src)
    bead = batch.beads[0]
    assert bead["priority"] == 2 and bead["type"] == "task" and bead["labels"] == []
    row = json.loads(export_embedded(batch))
    assert list(row) == ["id", "title", "status", "zz"]
    bead["assignee"] = "Toast"
    batch.deps.append(
        {
            "bead_id": "a-1",
            "depends_on": "a-0",
            "type": "blocks",
            "created_at": None,
            "created_by": None,
            "extra": {},
        }
    )
    row = json.loads(export_embedded(batch))
    assert list(row) == ["id", "title", "status", "zz", "assignee", "dependencies"]
    assert row["dependencies"] == [
        {
            "issue_id": "a-1",
            "depends_on_id": "a-0",
            "type": "blocks",
            "created_at": None,
            "created_by": None,
        }
    ]


def test_fresh_beads_without_extra_export_and_read_back(tmp_path: Path) -> None:
    fresh = {
        "id": "hq-1",
        "title": "new",
        "body": "",
        "status": "open",
        "priority": 1,
        "type": "feature",
        "assignee": None,
        "labels": ["x"],
        "created_at": "2026-01-01",
        "updated_at": "2026-01-01",
        "closed_at": None,
        "close_reason": None,
        "created_by": "mayor",
        "defer_until": None,
        "ephemeral": False,
        "metadata": {},
    }
    dep: dict[str, Any] = {
        "bead_id": "hq-1",
        "depends_on": "hq-0",
        "type": "blocks",
        "created_at": None,
        "created_by": None,
        "extra": {},
    }
    for layout, dest in (("embedded", tmp_path / "f.jsonl"), ("backup", tmp_path / "fb")):
        write_beads_jsonl([fresh], [dep], dest, layout=layout)
        back = read_beads_jsonl(dest)
        got = {k: v for k, v in back.beads[0].items() if k != "extra"}
        assert got == fresh, layout
        assert [(d["bead_id"], d["depends_on"]) for d in back.deps] == [("hq-1", "hq-0")]
    row = raw_rows(tmp_path / "f.jsonl")[0]
    assert "assignee" not in row and "description" not in row  # defaults stay out
    assert "assignee" in raw_rows(tmp_path / "fb" / "issues.jsonl")[0]  # backup: every column


def test_backup_layout_needs_a_directory() -> None:
    with pytest.raises(GtError, match="directory"):
        write_beads_jsonl([], [], io.StringIO(), layout="backup")
    with pytest.raises(GtError, match="layout"):
        write_beads_jsonl([], [], io.StringIO(), layout="csv")


# --- bad lines ------------------------------------------------------------------------


def _bad_file(tmp_path: Path) -> Path:
    return write_lines(
        tmp_path / "bad.jsonl",
        issue("ok-1"),  # 1
        '{"id": "x", "title": ',  # 2 not JSON
        "",  # 3 blank: skipped silently
        "[1, 2]",  # 4 not an object
        json.dumps({"title": "no id"}),  # 5
        issue(""),  # 6 empty id
        json.dumps({"id": 7, "title": "numeric id"}),  # 7
        json.dumps({"id": "no-title"}),  # 8
        issue("p-1", priority="high"),  # 9
        issue("p-2", priority=7),  # 10
        issue("p-3", priority=True),  # 11
        issue("ok-1"),  # 12 duplicate
        issue("d-1", dependencies=[{"type": "blocks"}]),  # 13 dep without target
        issue("d-2", dependencies=["ok-1"]),  # 14 dep not an object
        b'{"id": "u-1", "title": "\xff"}',  # 15 not UTF-8
        "   ",  # 16 blank
        issue("ok-2", priority=4),  # 17
    )


def test_bad_lines_refuse_the_import_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(GtError) as err:
        read_beads_jsonl(_bad_file(tmp_path))
    msg = err.value.message
    print("\n" + msg)
    assert "\n" not in msg
    assert msg.startswith("bad.jsonl line 2: not valid JSON (")
    assert "bad.jsonl line 4: not a JSON object" in msg and "bad.jsonl line 5:" in msg
    assert "10 more bad lines" in msg
    assert msg.endswith("nothing was imported (use --skip-bad to import the good lines)")


def test_skip_bad_keeps_the_good_lines(tmp_path: Path) -> None:
    batch = read_beads_jsonl(_bad_file(tmp_path), skip_bad=True)
    assert [b["id"] for b in batch.beads] == ["ok-1", "ok-2"]
    assert batch.beads[1]["priority"] == 4
    assert [n for n, _, _ in batch.errors] == [2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert {f for _, f, _ in batch.errors} == {"bad.jsonl"}
    messages = dict((n, m) for n, _, m in batch.errors)
    assert "duplicate id ok-1 (first on line 1)" in messages[12]
    assert "title" in messages[8] and "priority" in messages[9] and "0..4" in messages[10]
    assert "UTF-8" in messages[15]


def test_refusal_stays_on_one_line(tmp_path: Path) -> None:
    src = write_lines(tmp_path / "nl.jsonl", json.dumps({"id": "a\nb"}), issue("ok"))
    with pytest.raises(GtError) as err:
        read_beads_jsonl(src)
    assert err.value.message.startswith('nl.jsonl line 1: issue a\\nb: missing "title";')
    assert "\n" not in err.value.message and "more bad" not in err.value.message


def test_bad_lines_in_backup_side_files_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "bk"
    folder.mkdir()
    write_lines(folder / "issues.jsonl", issue("b-1"), issue("b-2"), issue("b-3", priority=9))
    write_lines(
        folder / "dependencies.jsonl",
        json.dumps({"issue_id": "b-1", "depends_on_id": "b-2", "type": "blocks"}),
        json.dumps({"issue_id": "b-1", "type": "blocks"}),
        "nope",
        json.dumps({"issue_id": "b-3", "depends_on_id": "b-2", "type": "blocks"}),
        json.dumps({"issue_id": "b-gone", "depends_on_id": "b-2", "type": "blocks"}),
    )
    write_lines(
        folder / "labels.jsonl",
        json.dumps({"issue_id": "b-1", "label": "x"}),
        json.dumps({"issue_id": "ghost", "label": "y"}),
        json.dumps({"issue_id": "b-3", "label": "z"}),
    )
    with pytest.raises(GtError, match=r"issues\.jsonl line 3: issue b-3: priority 9"):
        read_beads_jsonl(folder)
    batch = read_beads_jsonl(folder, skip_bad=True)
    found = sorted((f, n, m) for n, f, m in batch.errors)
    assert [(f, n) for f, n, _ in found] == [
        ("dependencies.jsonl", 2),
        ("dependencies.jsonl", 3),
        ("dependencies.jsonl", 4),
        ("issues.jsonl", 3),
        ("labels.jsonl", 2),
        ("labels.jsonl", 3),
    ]
    assert "b-3 was not imported (issues.jsonl line 3 is bad)" in found[2][2]
    assert "ghost is not in issues.jsonl" in found[4][2]
    assert batch.beads[0]["labels"] == ["x"]
    # A dep from an issue that is simply absent is kept, like a dangling target.
    assert [(d["bead_id"], d["depends_on"]) for d in batch.deps] == [
        ("b-1", "b-2"),
        ("b-gone", "b-2"),
    ]


# --- the readiness oracle on the real data --------------------------------------------


@pytest.mark.parametrize("name", ["embedded", "backup"])
def test_oracle_finds_a_plausible_ready_set(name: str) -> None:
    issues, deps = load_embedded(EMBEDDED) if name == "embedded" else load_backup(BACKUP)
    ready = ready_ids(issues, deps, time.time())
    blocked = blocked_ids(issues, deps)
    open_ids = {i["id"] for i in issues if i["status"] == "open"}
    print(
        f"\n{name}: {len(issues)} issues, {len(open_ids)} open, {len(ready)} ready, "
        f"{len(blocked)} blocked ({len(blocked & open_ids)} of them open)"
    )
    assert 0 < len(ready) < len(open_ids)
    assert ready <= open_ids and not ready & blocked


def test_oracle_agrees_with_the_parser_on_the_graph(embedded: ImportBatch) -> None:
    _, deps = load_embedded(EMBEDDED)
    assert Counter(deps) == Counter(
        (d["bead_id"], d["depends_on"], d["type"]) for d in embedded.deps
    )


# --- the oracle itself, on small hand-made ledgers ---------------------------------------


def _i(ident: str, status: str = "open", **kw: Any) -> dict[str, Any]:
    return {"id": ident, "title": ident, "status": status, **kw}


NOW = 1_800_000_000.0  # 2027-01-15


def test_oracle_blocks_and_unblocks() -> None:
    issues = [
        _i("a"),
        _i("b"),
        _i("c", "closed"),
        _i("d", "pinned"),
        _i("e", "tombstone"),
        _i("f", "hooked"),
        _i("g"),
        _i("h"),
        _i("k"),
    ]
    deps = [
        ("a", "f", "blocks"),
        ("b", "c", "blocks"),
        ("b", "d", "blocks"),
        ("b", "e", "blocks"),
        ("g", "missing", "blocks"),
        ("h", "a", "related"),
        ("k", "a", "blocks"),
    ]
    assert blocked_ids(issues, deps) == {"a", "k"}
    assert ready_ids(issues, deps, NOW) == {"b", "g", "h"}


def test_oracle_follows_parents_50_levels() -> None:
    chain = [_i(f"n{i}") for i in range(53)] + [_i("blocker")]
    deps = [(f"n{i + 1}", f"n{i}", "parent-child") for i in range(52)]
    deps.append(("n0", "blocker", "blocks"))
    blocked = blocked_ids(chain, deps)
    assert {f"n{i}" for i in range(51)} == blocked  # n0 plus 50 hops
    assert ready_ids(chain, deps, NOW) == {"n51", "n52", "blocker"}


def test_oracle_defer_and_ephemeral() -> None:
    issues = [
        _i("past", defer_until="2020-01-01T00:00:00Z"),
        _i("future", defer_until="2030-01-01T00:00:00.123456789Z"),
        _i("child"),
        _i("grandchild"),
        _i("empty", defer_until=""),
        _i("wisp", ephemeral=1),
        _i("wisp2", ephemeral=True),
        _i("solid", ephemeral=0),
    ]
    deps = [("child", "future", "parent-child"), ("grandchild", "child", "parent-child")]
    assert ready_ids(issues, deps, NOW) == {"past", "empty", "solid"}
    assert "future" in ready_ids(issues, deps, 1_900_000_000.0)
