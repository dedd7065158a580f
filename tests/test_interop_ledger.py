"""`gt import` / `gt export` through the ledger, on the real Beads data in shared/data.

Readiness after an import must match the independent oracle (tests/readiness_oracle.py),
both the ready list and the `blocked` flag of every bead; exports must give back the
original objects; re-imports must change nothing; and the incremental readiness kept by
`gt bead close` must agree with the oracle recomputed from scratch.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engine import vocab
from engine.ledger import Ledger
from engine.town import Town, init_town
from tests.cli_support import jsonl_rows, ledger_dump, run_gt, run_json, strict
from tests.conftest import DATA, add_rig
from tests.readiness_oracle import blocked_ids, load_backup, load_embedded, ready_ids

EMBEDDED = DATA / "beads-issues.jsonl"
BACKUP = DATA / "gastown-backup"
BACKUP_FILES = ("issues.jsonl", "dependencies.jsonl", "labels.jsonl", "comments.jsonl")

pytestmark = pytest.mark.skipif(
    not EMBEDDED.exists() or not BACKUP.exists(), reason="shared data set not present"
)

Dep = tuple[str, str, str]


def fresh_town(tmp_path: Path, name: str = "town") -> Town:
    return init_town(str(tmp_path / name))


def gt_import(town: Town, source: Path, *extra: str) -> dict[str, Any]:
    out = run_json("import", str(source), "--json", *extra, town=town)
    assert isinstance(out, dict)
    return out


def ledger_ready(town: Town) -> set[str]:
    return {b["id"] for b in run_json("ready", "--all", "--json", town=town)}


def ledger_blocked(town: Town) -> dict[str, bool]:
    """The ledger's `blocked` flag of every bead, as `gt bead list --all --json` shows it."""
    return {b["id"]: b["blocked"] for b in run_json("bead", "list", "--all", "--json", town=town)}


def event_count(town: Town) -> int:
    return len(run_json("events", "--json", "-n", "100000", town=town))


def assert_matches_oracle(town: Town, issues: list[dict[str, Any]], deps: list[Dep]) -> None:
    flags = ledger_blocked(town)
    assert set(flags) == {i["id"] for i in issues}
    want_blocked = blocked_ids(issues, deps)
    got_blocked = {i for i, b in flags.items() if b}
    assert got_blocked == want_blocked, (
        sorted(got_blocked - want_blocked)[:10],
        sorted(want_blocked - got_blocked)[:10],
    )
    want_ready = ready_ids(issues, deps, time.time())
    got_ready = ledger_ready(town)
    assert got_ready == want_ready, (
        sorted(got_ready - want_ready)[:10],
        sorted(want_ready - got_ready)[:10],
    )


def jsonl_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# --- (a) readiness after import ---------------------------------------------------------


def test_embedded_import_ready_list_and_blocked_flags_match_the_oracle(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    stats = gt_import(town, EMBEDDED)
    issues, deps = load_embedded(EMBEDDED)
    assert (stats["created"], stats["updated"], stats["skipped"]) == (len(issues), 0, [])
    assert stats["deps_added"] == len(deps)
    # the data's shape makes this a real test: ephemeral beads, many blocked ones
    assert sum(1 for i in issues if i.get("ephemeral")) > 100
    assert len(blocked_ids(issues, deps)) > 100
    assert_matches_oracle(town, issues, deps)


def test_backup_import_ready_list_and_blocked_flags_match_the_oracle(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    stats = gt_import(town, BACKUP)
    issues, deps = load_backup(BACKUP)
    assert stats["layout"] == "backup"
    assert (stats["created"], stats["deps_added"]) == (len(issues), len(deps))
    assert_matches_oracle(town, issues, deps)


def test_dangling_blocks_deps_do_not_block_and_stay_visible(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    gt_import(town, BACKUP)
    issues, deps = load_backup(BACKUP)
    ids = {i["id"] for i in issues}
    dangling = [(s, d) for s, d, t in deps if t == "blocks" and d not in ids]
    assert dangling, "the backup data has dangling wisp blockers"
    src, dst = dangling[0]
    shown = run_json("bead", "show", src, "--json", town=town)
    assert shown["blocked"] is False
    assert {"id": dst, "type": "blocks", "status": None} in [
        {k: e[k] for k in ("id", "type", "status")} for e in shown["depends_on"]
    ]


# --- (b) export gives back the originals ------------------------------------------------


def test_embedded_export_gives_back_every_original_object(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    gt_import(town, EMBEDDED)
    out = tmp_path / "export.jsonl"
    proc = run_gt("export", str(out), town=town)
    assert proc.returncode == 0, proc.stderr
    got, want = jsonl_rows(out), jsonl_rows(EMBEDDED)
    assert len(got) == len(want)
    got_by_id = {r["id"]: r for r in got}
    assert len(got_by_id) == len(got)
    for row in want:
        assert strict(got_by_id[row["id"]]) == strict(row), row["id"]


def test_embedded_export_to_stdout_equals_export_to_a_file(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    gt_import(town, EMBEDDED)
    out = tmp_path / "export.jsonl"
    assert run_gt("export", str(out), town=town).returncode == 0
    proc = run_gt("export", town=town)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == out.read_text(encoding="utf-8")


def test_backup_export_reproduces_the_four_backup_files(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    gt_import(town, BACKUP)
    out = tmp_path / "backup-out"
    proc = run_gt("export", "--layout", "backup", str(out), town=town)
    assert proc.returncode == 0, proc.stderr
    for name in BACKUP_FILES:
        got = Counter(strict(r) for r in jsonl_rows(out / name))
        want = Counter(strict(r) for r in jsonl_rows(BACKUP / name))
        assert got == want, (
            name,
            list((got - want).elements())[:2],
            list((want - got).elements())[:2],
        )


def test_beads_made_in_the_town_survive_export_and_reimport(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    with Ledger(town.ledger_target) as led:
        c = led.beads.create("blocker", priority=0, labels=["x", "y"], body="line 1\nline 2")
        led.beads.close(c["id"], reason="done")
        b = led.beads.create("child", bead_type="bug", deps=[(c["id"], "blocks")])
        led.beads.create("grandchild", deps=[(b["id"], "parent-child"), (c["id"], "related")])
        led.mail.send(sender="mayor", to="mayor", subject="hello <&> \u2028 ünïcode")
    first = tmp_path / "first.jsonl"
    assert run_gt("export", str(first), town=town).returncode == 0
    other = fresh_town(tmp_path, "other")
    gt_import(other, first)
    second = tmp_path / "second.jsonl"
    assert run_gt("export", str(second), town=other).returncode == 0
    assert [strict(r) for r in jsonl_rows(second)] == [strict(r) for r in jsonl_rows(first)]
    assert ledger_blocked(other) == ledger_blocked(town)


# --- (c) re-import is idempotent --------------------------------------------------------


@pytest.mark.parametrize("source", [EMBEDDED, BACKUP], ids=["embedded", "backup"])
def test_reimporting_the_same_data_changes_nothing(tmp_path: Path, source: Path) -> None:
    town = fresh_town(tmp_path)
    gt_import(town, source)
    events = event_count(town)
    dump = ledger_dump(town.ledger_target)
    again = gt_import(town, source)
    assert (again["created"], again["updated"], again["deps_added"]) == (0, 0, 0)
    assert again["unchanged"] > 600
    assert event_count(town) == events
    assert ledger_dump(town.ledger_target) == dump


def test_reimporting_issues_without_timestamps_changes_nothing(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    src = jsonl_file(
        tmp_path / "minimal.jsonl",
        [
            {"id": "hq-min1", "title": "no timestamps"},
            {"id": "hq-min2", "title": "none here either", "status": "closed"},
        ],
    )
    gt_import(town, src)
    events = event_count(town)
    again = gt_import(town, src)
    assert (again["created"], again["updated"]) == (0, 0), again
    assert event_count(town) == events


def test_export_of_issues_without_timestamps_gives_back_the_originals(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    rows = [{"id": "hq-min1", "title": "no timestamps"}]
    gt_import(town, jsonl_file(tmp_path / "minimal.jsonl", rows))
    out = tmp_path / "out.jsonl"
    assert run_gt("export", str(out), town=town).returncode == 0
    assert jsonl_rows(out) == rows


# --- (d) unknown statuses, types and dependency types survive ---------------------------


def test_real_data_has_statuses_outside_our_vocabulary_and_they_round_trip(tmp_path: Path) -> None:
    issues, _ = load_embedded(EMBEDDED)
    unknown = {i["status"] for i in issues} - set(vocab.STATUSES)
    assert "pinned" in unknown
    town = fresh_town(tmp_path)
    gt_import(town, EMBEDDED)
    listed = run_json("bead", "list", "--all", "--json", "--status", "pinned", town=town)
    assert {b["id"] for b in listed} == {i["id"] for i in issues if i["status"] == "pinned"}


UNKNOWNS_AT = "2025-06-01T12:00:00Z"


def _issue(ident: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "title": f"title of {ident}",
        "created_at": UNKNOWNS_AT,
        "updated_at": UNKNOWNS_AT,
        **fields,
    }


def _dep(src: str, dst: str, kind: str) -> dict[str, Any]:
    return {
        "issue_id": src,
        "depends_on_id": dst,
        "type": kind,
        "created_at": UNKNOWNS_AT,
        "created_by": "someone",
    }


UNKNOWN_ROWS = [
    _issue(
        "hq-u1",
        status="frozen",
        issue_type="gizmo",
        priority=1,
        dependencies=[_dep("hq-u1", "hq-u2", "sparks"), _dep("hq-u1", "hq-u3", "replies-to")],
    ),
    _issue("hq-u2", status="someday", issue_type="saga"),
    _issue("hq-u3", status="open", dependencies=[_dep("hq-u3", "hq-u2", "blocks")]),
    _issue("hq-u4", status="open", dependencies=[_dep("hq-u4", "hq-gone", "blocks")]),
    _issue("hq-u5", status="tombstone"),
    _issue("hq-u6", status="open", dependencies=[_dep("hq-u6", "hq-u5", "blocks")]),
    _issue("hq-u7", status="open", ephemeral=True),
    _issue("hq-u8", status="open", defer_until="2999-01-01T00:00:00Z"),
    _issue("hq-u9", status="open", dependencies=[_dep("hq-u9", "hq-u8", "parent-child")]),
    _issue("hq-u10", status="open", defer_until="2000-01-01T00:00:00Z", custom={"k": [1, 2]}),
    _issue("hq-u11", status="open", dependencies=[_dep("hq-u11", "hq-u3", "parent-child")]),
    _issue("hq-u12", status="pinned"),
    _issue("hq-u13", status="open", dependencies=[_dep("hq-u13", "hq-u12", "blocks")]),
]


def test_unknown_statuses_types_and_dep_types_survive_the_round_trip(tmp_path: Path) -> None:
    assert "frozen" not in vocab.STATUSES and "gizmo" not in vocab.TYPES
    assert "sparks" not in vocab.DEP_TYPES
    src = jsonl_file(tmp_path / "unknowns.jsonl", UNKNOWN_ROWS)
    town = fresh_town(tmp_path)
    gt_import(town, src)
    shown = run_json("bead", "show", "hq-u1", "--json", town=town)
    assert (shown["status"], shown["type"]) == ("frozen", "gizmo")
    assert {(e["id"], e["type"]) for e in shown["depends_on"]} == {
        ("hq-u2", "sparks"),
        ("hq-u3", "replies-to"),
    }
    out = tmp_path / "out.jsonl"
    assert run_gt("export", str(out), town=town).returncode == 0
    assert [strict(r) for r in jsonl_rows(out)] == [strict(r) for r in UNKNOWN_ROWS]


def test_readiness_edge_cases_match_the_oracle(tmp_path: Path) -> None:
    # unknown blocker status blocks; tombstone, pinned and dangling do not; ephemeral and
    # deferred (own or an ancestor's) are never ready; a blocked parent blocks its child
    src = jsonl_file(tmp_path / "unknowns.jsonl", UNKNOWN_ROWS)
    town = fresh_town(tmp_path)
    gt_import(town, src)
    issues, deps = load_embedded(src)
    assert_matches_oracle(town, issues, deps)
    assert ledger_ready(town) == {"hq-u4", "hq-u6", "hq-u10", "hq-u13"}
    assert {i for i, b in ledger_blocked(town).items() if b} == {"hq-u3", "hq-u11"}


# --- (e) closing a blocker after import -------------------------------------------------


def _blockers_that_unblock(issues: list[dict[str, Any]], deps: list[Dep]) -> list[str]:
    """Open blockers whose closing unblocks some bead (the oracle's view), sorted."""
    before = blocked_ids(issues, deps)
    by_id = {i["id"]: i for i in issues}
    return [
        cand
        for cand in sorted(
            {d for _, d, t in deps if t == "blocks" and d in by_id and by_id[d]["status"] == "open"}
        )
        if before - blocked_ids(_closed(issues, {cand}), deps)
    ]


def _closed(issues: list[dict[str, Any]], ids: set[str]) -> list[dict[str, Any]]:
    return [{**i, "status": "closed"} if i["id"] in ids else i for i in issues]


def test_closing_blockers_after_import_unblocks_dependents_as_the_oracle_says(
    tmp_path: Path,
) -> None:
    # In this data every open blocker → dependent pair is a chain of ephemeral wisps, so
    # closing one unblocks its dependent without making it ready: the blocked flag is what
    # must follow (the synthetic subtree test below covers ready work being freed).
    town = fresh_town(tmp_path)
    gt_import(town, EMBEDDED)
    issues, deps = load_embedded(EMBEDDED)
    candidates = _blockers_that_unblock(issues, deps)
    assert len(candidates) >= 3, "the data has open blockers holding back beads"
    closed: set[str] = set()
    for blocker in candidates[:: len(candidates) // 3][:3]:
        unblocked = blocked_ids(_closed(issues, closed), deps) - blocked_ids(
            _closed(issues, closed | {blocker}), deps
        )
        dependents = {s for s, d, t in deps if d == blocker and t == "blocks"}
        assert unblocked & dependents
        flags = ledger_blocked(town)
        assert all(flags[b] for b in unblocked)
        proc = run_gt("bead", "close", blocker, town=town)
        assert proc.returncode == 0, proc.stderr
        closed.add(blocker)
        flags = ledger_blocked(town)
        assert not any(flags[b] for b in unblocked)
        assert_matches_oracle(town, _closed(issues, closed), deps)


def test_closing_a_blocker_unblocks_a_whole_parent_child_subtree(tmp_path: Path) -> None:
    rows = [
        _issue("hq-top", status="open"),
        _issue(
            "hq-epic",
            status="open",
            issue_type="epic",
            dependencies=[_dep("hq-epic", "hq-top", "blocks")],
        ),
        _issue("hq-kid", status="open", dependencies=[_dep("hq-kid", "hq-epic", "parent-child")]),
        _issue(
            "hq-grandkid",
            status="open",
            dependencies=[_dep("hq-grandkid", "hq-kid", "parent-child")],
        ),
        _issue(
            "hq-other",
            status="open",
            dependencies=[
                _dep("hq-other", "hq-kid", "parent-child"),
                _dep("hq-other", "hq-still", "blocks"),
            ],
        ),
        _issue("hq-still", status="in_progress"),
    ]
    src = jsonl_file(tmp_path / "tree.jsonl", rows)
    town = fresh_town(tmp_path)
    gt_import(town, src)
    issues, deps = load_embedded(src)
    assert_matches_oracle(town, issues, deps)
    assert ledger_ready(town) == {"hq-top"}
    assert run_gt("bead", "close", "hq-top", town=town).returncode == 0
    assert_matches_oracle(town, _closed(issues, {"hq-top"}), deps)
    assert ledger_ready(town) == {"hq-epic", "hq-kid", "hq-grandkid"}
    assert run_gt("bead", "reopen", "hq-top", town=town).returncode == 0
    assert_matches_oracle(town, issues, deps)


def _chain(length: int) -> list[dict[str, Any]]:
    """hq-b0 blocked by hq-x; hq-c1 … hq-cN a parent-child chain below hq-b0."""
    rows = [
        _issue("hq-x", status="open"),
        _issue("hq-b0", status="open", dependencies=[_dep("hq-b0", "hq-x", "blocks")]),
    ]
    for i in range(1, length + 1):
        parent = "hq-b0" if i == 1 else f"hq-c{i - 1}"
        rows.append(
            _issue(
                f"hq-c{i}", status="open", dependencies=[_dep(f"hq-c{i}", parent, "parent-child")]
            )
        )
    return rows


def test_a_blocked_parent_blocks_descendants_up_to_50_levels_after_import(tmp_path: Path) -> None:
    src = jsonl_file(tmp_path / "chain.jsonl", _chain(60))
    town = fresh_town(tmp_path)
    gt_import(town, src)
    issues, deps = load_embedded(src)
    assert_matches_oracle(town, issues, deps)
    flags = ledger_blocked(town)
    assert flags["hq-c50"] and not flags["hq-c51"]
    assert run_gt("bead", "close", "hq-x", town=town).returncode == 0
    assert_matches_oracle(town, _closed(issues, {"hq-x"}), deps)


def test_reblocking_a_deep_chain_still_stops_at_50_levels(tmp_path: Path) -> None:
    src = jsonl_file(tmp_path / "chain.jsonl", _chain(60))
    town = fresh_town(tmp_path)
    gt_import(town, src)
    issues, deps = load_embedded(src)
    assert run_gt("bead", "close", "hq-x", town=town).returncode == 0
    assert run_gt("bead", "reopen", "hq-x", town=town).returncode == 0
    assert_matches_oracle(town, issues, deps)


def test_a_bead_with_many_parents_is_unblocked_when_the_last_parent_is(tmp_path: Path) -> None:
    rows = [
        _issue("hq-b", status="open"),
        _issue("hq-q1", status="open", dependencies=[_dep("hq-q1", "hq-b", "blocks")]),
    ]
    rows += [
        _issue(
            f"hq-q{i}",
            status="open",
            dependencies=[_dep(f"hq-q{i}", f"hq-q{i - 1}", "parent-child")],
        )
        for i in range(2, 11)
    ]
    rows.append(
        _issue(
            "hq-xx",
            status="open",
            dependencies=[_dep("hq-xx", f"hq-q{i}", "parent-child") for i in range(1, 11)],
        )
    )
    src = jsonl_file(tmp_path / "multi.jsonl", rows)
    town = fresh_town(tmp_path)
    gt_import(town, src)
    issues, deps = load_embedded(src)
    assert_matches_oracle(town, issues, deps)
    assert run_gt("bead", "close", "hq-b", town=town).returncode == 0
    assert_matches_oracle(town, _closed(issues, {"hq-b"}), deps)


# --- (f) import into a rig --------------------------------------------------------------


def test_import_with_rig_puts_every_bead_in_that_rig(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    with Ledger(town.ledger_target) as led:
        add_rig(led, "beads", "bx")
    gt_import(town, EMBEDDED, "--rig", "beads")
    issues, deps = load_embedded(EMBEDDED)
    with Ledger(town.ledger_target) as led:
        rigs = Counter(b["rig"] for b in led.beads.list())
        assert rigs == {"beads": len(issues)}
        assert led.rigs.counts("beads") == dict(Counter(i["status"] for i in issues))
    assert {
        b["id"] for b in run_json("ready", "--all", "--rig", "beads", "--json", town=town)
    } == ready_ids(issues, deps, time.time())
    out = tmp_path / "rig.jsonl"
    assert run_gt("export", "--rig", "beads", str(out), town=town).returncode == 0
    assert len(jsonl_rows(out)) == len(issues)


def test_import_without_rig_routes_beads_by_id_prefix(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    with Ledger(town.ledger_target) as led:
        add_rig(led, "beads", "bd")
    gt_import(town, EMBEDDED)
    with Ledger(town.ledger_target) as led:
        rigs = {b["id"]: b["rig"] for b in led.beads.list()}
    assert len(rigs) == 704
    # bd-… beads go to the rig owning the prefix; the others (hq-, cr-, …) stay town-level
    assert {i for i, r in rigs.items() if r == "beads"} == {i for i in rigs if i.startswith("bd-")}
    assert {r for i, r in rigs.items() if not i.startswith("bd-")} == {None}


def test_import_rig_does_not_touch_other_rigs_beads(tmp_path: Path) -> None:
    town = fresh_town(tmp_path)
    with Ledger(town.ledger_target) as led:
        add_rig(led, "beads", "bx")
        add_rig(led, "other", "ot")
        mine = led.beads.create("already here", rig="other")["id"]
    gt_import(town, BACKUP, "--rig", "beads")
    with Ledger(town.ledger_target) as led:
        assert led.beads.require(mine)["rig"] == "other"
        assert Counter(b["rig"] for b in led.beads.list()) == {"beads": 677, "other": 1}


# --- incremental readiness against the oracle, on random graphs ---------------------------


def _random_rows(rng: Any, n: int) -> list[dict[str, Any]]:
    """hq-r0..59 a random graph; hq-r60..129 a parent-child chain hanging from hq-r59
    (deeper than 50 levels); the rest fan in from ten consecutive chain beads each."""
    ids = [f"hq-r{i}" for i in range(n)]
    statuses = (
        ["open"] * 3 + ["closed"] * 4 + ["in_progress", "pinned", "tombstone", "hooked", "someday"]
    )
    rows = []
    for i, ident in enumerate(ids):
        deps = []
        if i < 60:
            for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
                deps.append(_dep(ident, rng.choice(ids[:i] or ["hq-gone"]), "blocks"))
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                deps.append(_dep(ident, rng.choice(ids[:i] or ["hq-gone"]), "parent-child"))
        elif i < 130:
            deps.append(_dep(ident, ids[i - 1], "parent-child"))
        else:
            first = rng.randrange(60, 120)
            deps += [_dep(ident, ids[j], "parent-child") for j in range(first, first + 10)]
        uniq = {(d["depends_on_id"], d["type"]): d for d in deps}
        rows.append(
            _issue(
                ident,
                status=rng.choice(statuses) if i < 60 else "open",
                dependencies=list(uniq.values()),
            )
        )
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_incremental_blocked_flags_match_the_oracle_after_random_changes(
    tmp_path: Path, seed: int
) -> None:
    import random

    from engine.errors import Conflict

    rng = random.Random(seed)
    rows = _random_rows(rng, 160)
    src = jsonl_file(tmp_path / "random.jsonl", rows)
    town = fresh_town(tmp_path)
    gt_import(town, src)
    issues, deps = load_embedded(src)
    status = {i["id"]: i["status"] for i in issues}
    dep_set = set(deps)
    ids = sorted(status)
    upstream = [f"hq-r{i}" for i in range(60)]
    with Ledger(town.ledger_target) as led:

        def check(step: str) -> None:
            got = {r[0] for r in led.db.conn.execute("SELECT id FROM beads WHERE blocked=1")}
            want = blocked_ids([{"id": i, "status": s} for i, s in status.items()], sorted(dep_set))
            assert got == want, (seed, step, sorted(got ^ want)[:5])

        check("import")
        for step in range(300):
            op = rng.choice(("close", "reopen", "add", "add", "remove"))
            # mostly upstream beads: their changes travel down chains and fan-ins
            bid = rng.choice(upstream if rng.random() < 0.7 else ids)
            if op == "close" and status[bid] != "closed":
                led.beads.close(bid)
                status[bid] = "closed"
            elif op == "reopen" and status[bid] in ("closed", "pinned", "tombstone"):
                led.beads.reopen(bid)
                status[bid] = "open"
            elif op == "add":
                target = rng.choice(ids)
                kind = rng.choice(("blocks", "parent-child"))
                if target == bid or (bid, target, kind) in dep_set:
                    continue
                try:
                    led.graph.add(bid, target, kind)
                except Conflict:  # would close a cycle: refused, nothing changed
                    continue
                dep_set.add((bid, target, kind))
            elif op == "remove":
                mine = sorted(
                    d for d in dep_set if d[0] == bid and d[2] in ("blocks", "parent-child")
                )
                if not mine:
                    continue
                _, target, kind = rng.choice(mine)
                led.graph.remove(bid, target, kind)
                dep_set.discard((bid, target, kind))
            else:
                continue
            check(f"{step}: {op} {bid}")
