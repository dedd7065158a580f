"""Writing Beads JSONL: each bead and dep given back in the form it was read in."""

from __future__ import annotations

import json
import os

from engine.beads_jsonl.fields import (
    ALWAYS,
    BACKUP,
    DEFAULT_DEP_TYPE,
    EMBEDDED,
    FIELDS,
    LAYOUTS,
    BadLine,
    canon,
    default_value,
    same,
)
from engine.errors import GtError

# Annotations only: importing typing costs the CLI ~3 ms (mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# Columns of the backup layout that live in side files, never in issues.jsonl rows.
_BACKUP_SIDE_KEYS = frozenset({"labels", "comments"})
# Keys in ``extra`` that record the original form; never emitted as fields.
_META_KEYS = ("_keys", "_raw")


def _bead_row(
    bead: dict[str, Any], deps: list[dict[str, Any]] | None, layout: str
) -> dict[str, Any]:
    """The Beads JSON object for one bead (``deps`` only for the embedded layout)."""
    extra = bead.get("extra") or {}
    recorded = extra.get("_keys")
    raw = extra.get("_raw") or {}
    fresh = recorded is None
    keys: list[str]
    if recorded is not None:
        keys = recorded
    else:
        if layout == BACKUP:  # backup rows carry every column
            keys = [k for k in FIELDS if k != "labels"]
        else:
            keys = [k for k in FIELDS if k in ALWAYS or not same(_value(bead, k), default_value(k))]
    out: dict[str, Any] = {}
    for key in keys:
        if layout == BACKUP and key in _BACKUP_SIDE_KEYS:
            continue
        if key in FIELDS:
            out[key] = _emit(bead, key, raw, layout)
        elif key == "dependencies" and layout == EMBEDDED:
            if deps:
                out[key] = [_dep_row(d, EMBEDDED) for d in deps]
            else:
                out[key] = raw.get(key, [])
        elif key in extra:
            out[key] = extra[key]
    # Fields set by the ledger that the original did not have.
    for key in FIELDS:
        if (
            key not in out
            and not (layout == BACKUP and key == "labels")
            and not same(_value(bead, key), default_value(key))
        ):
            out[key] = _emit(bead, key, raw, layout)
    for key, value in extra.items():
        if (
            key not in out
            and key not in _META_KEYS
            and not (layout == BACKUP and key in _BACKUP_SIDE_KEYS)
        ):
            out[key] = value
    if layout == EMBEDDED and deps and "dependencies" not in out:
        out["dependencies"] = [_dep_row(d, EMBEDDED) for d in deps]
    if layout == BACKUP and (fresh or keys == sorted(keys)):
        out = dict(sorted(out.items()))
    return out


def _value(bead: dict[str, Any], key: str) -> Any:
    field = FIELDS[key][0]
    return bead[field] if field in bead else default_value(key)


def _emit(bead: dict[str, Any], key: str, raw: dict[str, Any], layout: str) -> Any:
    value = _value(bead, key)
    if key in raw:
        original = raw[key]
        norm = FIELDS[key][1]
        try:
            if norm is None or same(norm(original), value):
                return original  # untouched: give back exactly what was read
        except BadLine:
            pass
    if key == "description":
        return value if value is not None else ""
    return canon(key, value, layout)


def _dep_row(dep: dict[str, Any], layout: str) -> dict[str, Any]:
    extra = dep.get("extra") or {}
    values = {
        "issue_id": dep["bead_id"],
        "depends_on_id": dep["depends_on"],
        "type": dep.get("type") or DEFAULT_DEP_TYPE,
        "created_at": dep.get("created_at"),
        "created_by": dep.get("created_by"),
    }
    keys = extra.get("_keys")
    if keys is None:
        out = dict(values)
        out.update((k, v) for k, v in extra.items() if k not in _META_KEYS)
        return dict(sorted(out.items())) if layout == BACKUP else out
    out = {}
    for key in keys:
        if key in values:
            out[key] = values[key]
        elif key in extra:
            out[key] = extra[key]
    for key, value in values.items():
        # Absent originally and still the default: stays absent. An embedded dep may omit
        # issue_id, which is then the bead it sits in.
        if key in out or (key == "issue_id" and layout == EMBEDDED):
            continue
        if value != (DEFAULT_DEP_TYPE if key == "type" else None):
            out[key] = value
    for key, value in extra.items():
        if key not in out and key not in _META_KEYS:
            out[key] = value
    return out


def _dumps_embedded(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _dumps_backup(obj: dict[str, Any]) -> str:
    # Go's encoding/json: compact, and <, >, &, U+2028, U+2029 escaped.
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    if "<" in text or ">" in text or "&" in text or "\u2028" in text or "\u2029" in text:
        text = (
            text.replace("<", "\\u003c")
            .replace(">", "\\u003e")
            .replace("&", "\\u0026")
            .replace("\u2028", "\\u2028")
            .replace("\u2029", "\\u2029")
        )
    return text


def _open_out(path: str) -> Any:
    # Lone surrogates (from "\ud800" escapes) are written back as the same JSON escape.
    return open(path, "w", encoding="utf-8", errors="backslashreplace", newline="\n")


def _write_atomic(path: str, lines: Iterable[str]) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with _open_out(tmp) as f:
            for line in lines:
                f.write(line)
                f.write("\n")
        os.replace(tmp, path)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise GtError(f"cannot write {path}: {e.strerror or e}") from e


def write_beads_jsonl(
    beads: Iterable[dict[str, Any]],
    deps: Iterable[dict[str, Any]],
    dest: Any,
    *,
    layout: str = EMBEDDED,
) -> int:
    """Write beads and deps in a Beads layout; returns the number of beads written.

    ``dest``: a file path or text stream (embedded), or a directory, created if needed
    (backup). In the embedded layout a dep whose bead is not written has nowhere to go
    and is left out.
    """
    if layout not in LAYOUTS:
        raise GtError(f"unknown layout {layout!r} (use embedded or backup)")
    bead_list = list(beads)
    dep_list = list(deps)
    if layout == EMBEDDED:
        by_bead: dict[str, list[dict[str, Any]]] = {}
        for d in dep_list:
            by_bead.setdefault(d["bead_id"], []).append(d)
        lines = (_dumps_embedded(_bead_row(b, by_bead.get(b["id"]), EMBEDDED)) for b in bead_list)
        if hasattr(dest, "write"):
            for line in lines:
                dest.write(line + "\n")
        else:
            _write_atomic(os.fspath(dest), lines)
        return len(bead_list)
    if hasattr(dest, "write"):
        raise GtError("the backup layout is a directory of files, not a stream")
    folder = os.fspath(dest)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise GtError(f"cannot create {folder}: {e.strerror or e}") from e
    _write_atomic(
        os.path.join(folder, "issues.jsonl"),
        (_dumps_backup(_bead_row(b, None, BACKUP)) for b in bead_list),
    )
    _write_atomic(
        os.path.join(folder, "dependencies.jsonl"),
        (_dumps_backup(_dep_row(d, BACKUP)) for d in dep_list),
    )
    _write_atomic(
        os.path.join(folder, "labels.jsonl"),
        (
            _dumps_backup({"issue_id": b["id"], "label": lbl})
            for b in bead_list
            for lbl in b.get("labels") or ()
        ),
    )
    comments = [
        c
        for b in bead_list
        for c in (b.get("extra") or {}).get("comments") or ()
        if isinstance(c, dict)
    ]
    if all(type(c.get("id")) is int for c in comments):
        comments.sort(key=lambda c: c["id"])  # Beads writes comments in id order
    _write_atomic(os.path.join(folder, "comments.jsonl"), (_dumps_backup(c) for c in comments))
    return len(bead_list)
