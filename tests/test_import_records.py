"""Beads JSONL records are pydantic models (engine/beads_jsonl/beads_issue.py) with Beads'
tolerance: what is refused, kept verbatim or defaulted is pinned here, each refusal one line
naming the file's line and the key; the models agree with fields.py and engine/records.py."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from engine import records
from engine.beads_jsonl import read_beads_jsonl
from engine.beads_jsonl.beads_issue import BeadsDependency, BeadsIssue
from engine.beads_jsonl.fields import DEP_FIELDS, FIELDS
from engine.errors import GtError
from tests.conftest import DATA

ROOT = Path(__file__).resolve().parent.parent


def read_one(tmp_path: Path, *rows: dict[str, Any]) -> Any:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return read_beads_jsonl(path, skip_bad=True)


def test_the_models_cover_exactly_the_mapped_keys_and_the_import_shapes() -> None:
    assert list(BeadsIssue.model_fields) == list(FIELDS)
    assert set(typing.get_type_hints(records.ImportedBead)) == {
        field for field, _, _ in FIELDS.values()
    } | {"extra"}
    assert list(BeadsDependency.model_fields) == list(DEP_FIELDS)
    assert set(typing.get_type_hints(records.ImportedDep)) == {
        "bead_id",
        "depends_on",
        "type",
        "created_at",
        "created_by",
        "extra",
    }


@pytest.mark.parametrize("source", ["beads-issues.jsonl", "gastown-backup/issues.jsonl"])
def test_every_real_issue_line_is_a_valid_record(source: str) -> None:
    lines = (DATA / source).read_text(encoding="utf-8").splitlines()
    issues = [BeadsIssue.model_validate(json.loads(line)) for line in lines if line.strip()]
    assert len(issues) > 600
    # Beads' own vocabulary beyond ours is kept, not refused
    assert {"tombstone", "pinned"} & {i.status for i in issues}


# (row, what the bead must hold: ledger field -> value)
KEPT: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "unknown-status": ({"status": "pinned"}, {"status": "pinned"}),
    "unknown-type": ({"issue_type": "molecule"}, {"type": "molecule"}),
    "int-like-priority": ({"priority": "3"}, {"priority": 3}),
    "float-priority": ({"priority": 1.0}, {"priority": 1}),
    "empty-assignee": ({"assignee": ""}, {"assignee": None}),
    "number-description": ({"description": 5}, {"body": "5"}),
    "backup-ephemeral": ({"ephemeral": 1}, {"ephemeral": True}),
    "text-metadata": ({"metadata": '{"a": 1}'}, {"metadata": {"a": 1}}),
    "bad-metadata": ({"metadata": "{oops"}, {"metadata": {}}),
    "null-status": ({"status": None}, {"status": "open"}),
    "labels-as-text": ({"labels": ["a", 2]}, {"labels": ["a", "2"]}),
}


@pytest.mark.parametrize("case", sorted(KEPT))
def test_odd_values_are_normalised_and_their_original_form_kept(tmp_path: Path, case: str) -> None:
    row, want = KEPT[case]
    batch = read_one(tmp_path, {"id": "gt-1", "title": "t", **row})
    assert not batch.errors
    bead = batch.beads[0]
    for field, value in want.items():
        assert bead[field] == value and type(bead[field]) is type(value)
    (key,) = row
    stored = bead[FIELDS[key][0]]
    if stored == row[key] and type(stored) is type(row[key]):
        assert "_raw" not in bead["extra"]
    else:
        assert bead["extra"]["_raw"] == {key: row[key]}  # export writes it back as it was


def test_absent_keys_take_beads_defaults_and_unknown_keys_are_kept_verbatim(
    tmp_path: Path,
) -> None:
    batch = read_one(tmp_path, {"owner": {"x": [1]}, "id": "gt-1", "model_fields": 1, "title": "t"})
    bead = batch.beads[0]
    assert (bead["status"], bead["priority"], bead["type"], bead["body"]) == ("open", 2, "task", "")
    assert (bead["labels"], bead["metadata"], bead["ephemeral"]) == ([], {}, False)
    assert bead["extra"] == {
        "owner": {"x": [1]},
        "model_fields": 1,
        "_keys": ["owner", "id", "model_fields", "title"],
    }


# (row, the message of its one-line refusal)
REFUSED = {
    "no-id": ({"title": "t"}, 'missing "id"'),
    "id-not-text": ({"id": 7, "title": "t"}, '"id" is not a string'),
    "blank-id": ({"id": " ", "title": "t"}, 'empty "id"'),
    "no-title": ({"id": "gt-1"}, 'issue gt-1: missing "title"'),
    "title-not-text": ({"id": "gt-1", "title": ["t"]}, 'issue gt-1: "title" is not a string'),
    "bad-id": ({"id": "gt 1", "title": "t"}, "not a valid bead id"),
    "title-before-id-rule": ({"id": "gt 1"}, 'issue gt 1: missing "title"'),
    "priority-high": ({"id": "gt-1", "title": "t", "priority": "high"}, "issue gt-1: priority"),
    "priority-bool": ({"id": "gt-1", "title": "t", "priority": True}, "priority true is not an"),
    "priority-range": ({"id": "gt-1", "title": "t", "priority": 5}, "priority 5 is outside 0..4"),
    "labels": ({"id": "gt-1", "title": "t", "labels": "a"}, "issue gt-1: labels is not a list"),
    # two bad keys: the one met first on the line is named
    "priority-first": (
        {"id": "gt-1", "priority": 9, "labels": 1, "title": "t"},
        "issue gt-1: priority 9 is outside 0..4",
    ),
    "labels-first": (
        {"id": "gt-1", "labels": 1, "priority": 9, "title": "t"},
        "issue gt-1: labels is not a list",
    ),
    "dep-not-its-issue": (
        {"id": "gt-1", "title": "t", "dependencies": [{"issue_id": "gt-2", "depends_on_id": "x"}]},
        "dependency issue_id 'gt-2' is not the issue it is embedded in (gt-1)",
    ),
    "dep-no-target": (
        {"id": "gt-1", "title": "t", "dependencies": [{"type": "blocks"}]},
        'dependency of gt-1 has no "depends_on_id"',
    ),
    "dep-no-type": (
        {"id": "gt-1", "title": "t", "dependencies": [{"depends_on_id": "gt-2", "type": ""}]},
        "dependency gt-1 -> gt-2 has no type",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_refused_record_is_one_line_naming_its_line_and_key(tmp_path: Path, case: str) -> None:
    row, message = REFUSED[case]
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "gt-0", "title": "ok"}) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(GtError) as err:
        read_beads_jsonl(path)
    assert "\n" not in err.value.message
    assert err.value.message.startswith("in.jsonl line 2: "), err.value.message
    first = err.value.message.split(";")[0]
    assert message in first, first


def test_dependencies_keep_unknown_types_and_keys_and_default_the_type(tmp_path: Path) -> None:
    deps = [
        {"depends_on_id": "gt-2"},
        {
            "issue_id": "gt-1",
            "depends_on_id": "external:proj:gt-9",
            "type": "weird",
            "created_at": 5,  # kept as written, whatever it is
            "created_by": None,
            "note": [1],
        },
    ]
    batch = read_one(tmp_path, {"id": "gt-1", "title": "t", "dependencies": deps})
    assert not batch.errors
    assert [(d["bead_id"], d["depends_on"], d["type"]) for d in batch.deps] == [
        ("gt-1", "gt-2", "blocks"),
        ("gt-1", "external:proj:gt-9", "weird"),
    ]
    assert batch.deps[1]["extra"] == {"note": [1]}  # in export's own key order: no _keys
    assert (batch.deps[1]["created_at"], batch.deps[1]["created_by"]) == (5, None)
    assert batch.deps[0]["extra"] == {"_keys": ["depends_on_id"]}


def test_the_models_refuse_without_the_reader_too() -> None:
    with pytest.raises(ValidationError, match=r"priority 9 is outside 0\.\.4"):
        BeadsIssue.model_validate({"id": "gt-1", "title": "t", "priority": 9})
    with pytest.raises(ValidationError, match="not the issue it is embedded in"):
        BeadsDependency.model_validate(
            {"issue_id": "gt-2", "depends_on_id": "gt-3"}, context={"owner": "gt-1"}
        )


def test_export_does_not_import_pydantic() -> None:
    # The models are imported when a file is read: `gt export` never pays for pydantic.
    code = (
        "import sys, io\n"
        "from engine.beads_jsonl import write_beads_jsonl, read_beads_jsonl\n"
        "print('pydantic' in sys.modules)\n"
        f"read_beads_jsonl({str(DATA / 'beads-issues.jsonl')!r})\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split()
    assert out == ["False", "True"]
