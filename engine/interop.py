"""Read and write Beads' JSONL ledgers, losslessly.

Two layouts exist in the wild:

* embedded: one issue per line, its dependencies embedded in a ``dependencies`` array;
* backup (``.beads/backup/``): ``issues.jsonl`` plus ``dependencies.jsonl``, ``labels.jsonl``
  and ``comments.jsonl``, one row per line, keys sorted, Go-style escaping.

Issues become normalised bead dicts (the ledger's field names); every field we do not map
is kept verbatim in ``extra``, together with ``extra["_keys"]`` (the original key order) and
``extra["_raw"]`` (original values whose form the default serialisation would not reproduce),
so that exporting an untouched import gives back the same JSON objects.

Stdlib only and import-light: the ``gt`` CLI imports this module.
"""

from __future__ import annotations

import json
import os

from engine.errors import GtError, UsageError
from engine.ids import check_bead_id, check_dep_target

# Annotations only: importing typing costs the CLI ~3 ms (mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

EMBEDDED = "embedded"
BACKUP = "backup"
LAYOUTS = (EMBEDDED, BACKUP)

DEFAULT_PRIORITY = 2
DEFAULT_TYPE = "task"
DEFAULT_STATUS = "open"
DEFAULT_DEP_TYPE = "blocks"

# How many bad lines the refusal message names before summarising the rest.
_SHOWN_ERRORS = 3
# Keys in ``extra`` that record the original form; never emitted as fields.
_META_KEYS = ("_keys", "_raw")
# Columns of the backup layout that live in side files, never in issues.jsonl rows.
_BACKUP_SIDE_KEYS = frozenset({"labels", "comments"})


class _Bad(Exception):
    """One bad line: the message says what is wrong with it."""


class ImportBatch:
    """What one read produced: normalised beads and deps, and the bad lines."""

    __slots__ = ("beads", "deps", "errors", "layout")

    def __init__(self, layout: str) -> None:
        self.beads: list[dict[str, Any]] = []
        self.deps: list[dict[str, Any]] = []
        self.errors: list[tuple[int, str, str]] = []  # (line_number, file_name, message)
        self.layout = layout

    def __repr__(self) -> str:
        return (
            f"ImportBatch(layout={self.layout!r}, beads={len(self.beads)}, "
            f"deps={len(self.deps)}, errors={len(self.errors)})"
        )


# --- normalisers: raw Beads value -> ledger value (raise _Bad when unusable) -------------


def _n_text(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else str(v)


def _n_opt(v: Any) -> str | None:
    # Verbatim: "" stays "" (Beads' backup writes "" for unset close_reason).
    if v is None or isinstance(v, str):
        return v
    return str(v)


def _n_opt_empty_none(v: Any) -> str | None:
    # For fields where "" means unset (defer_until, assignee).
    if v is None or v == "":
        return None
    return v if isinstance(v, str) else str(v)


def _n_status(v: Any) -> str:
    if v is None:
        return DEFAULT_STATUS
    return v if isinstance(v, str) else str(v)


def _n_type(v: Any) -> str:
    if v is None or v == "":
        return DEFAULT_TYPE
    return v if isinstance(v, str) else str(v)


def _n_priority(v: Any) -> int:
    if v is None:
        return DEFAULT_PRIORITY
    if type(v) is int:
        p = v
    elif (isinstance(v, float) and v.is_integer()) or (isinstance(v, str) and _int_like(v)):
        p = int(v)  # "2" or 2.0: int-like, accepted (the raw form is kept for export)
    else:
        raise _Bad(f"priority {json.dumps(v, ensure_ascii=False)[:40]} is not an integer")
    if not 0 <= p <= 4:
        raise _Bad(f"priority {p} is outside 0..4")
    return p


def _int_like(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _n_labels(v: Any) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise _Bad("labels is not a list")
    return [x if isinstance(x, str) else str(x) for x in v]


def _n_ephemeral(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes")
    return bool(v)


def _n_metadata(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    if v == "{}" or v is None or v == "":
        return {}
    if isinstance(v, str):
        try:
            parsed = json.loads(v)
        except ValueError:
            return {}  # unreadable: the raw string still round-trips via _raw
        return parsed if isinstance(parsed, dict) else {}
    return {}


# Beads key -> (ledger field, normaliser, default). Dict order is the canonical (embedded)
# key order for beads that have no recorded original order.
_FIELDS: dict[str, tuple[str, Callable[[Any], Any] | None, Any]] = {
    "id": ("id", None, None),
    "title": ("title", None, None),
    "description": ("body", _n_text, ""),
    "status": ("status", _n_status, DEFAULT_STATUS),
    "priority": ("priority", _n_priority, DEFAULT_PRIORITY),
    "issue_type": ("type", _n_type, DEFAULT_TYPE),
    "assignee": ("assignee", _n_opt_empty_none, None),
    "created_at": ("created_at", _n_opt, None),
    "created_by": ("created_by", _n_opt, None),
    "updated_at": ("updated_at", _n_opt, None),
    "closed_at": ("closed_at", _n_opt, None),
    "close_reason": ("close_reason", _n_opt, None),
    "defer_until": ("defer_until", _n_opt_empty_none, None),
    "labels": ("labels", _n_labels, None),  # default [] (a fresh list per bead)
    "ephemeral": ("ephemeral", _n_ephemeral, False),
    "metadata": ("metadata", _n_metadata, None),  # default {} (a fresh dict per bead)
}
# Emitted even when default, for beads with no recorded key order (as Beads does).
_ALWAYS = ("id", "title", "status", "priority", "issue_type")
_DEP_FIELDS = ("issue_id", "depends_on_id", "type", "created_at", "created_by")


def _default(key: str) -> Any:
    if key == "labels":
        return []
    if key == "metadata":
        return {}
    return _FIELDS[key][2]


def _same(a: Any, b: Any) -> bool:
    # Type-strict: 0 == False and 1.0 == 1 in Python, but not in the file.
    return type(a) is type(b) and a == b


def _canon(key: str, value: Any, layout: str) -> Any:
    """The form a ledger value takes in the file when no original form is recorded."""
    if layout == BACKUP:
        if key == "ephemeral":
            return int(value)  # the backup layout stores booleans as 0/1
        if key == "metadata":
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


# --- reading --------------------------------------------------------------------------


def _read_lines(path: str) -> Iterable[tuple[int, Any]]:
    """(line_number, parsed object or _Bad) for each non-blank line."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise GtError(f"cannot read {path}: {e.strerror or e}") from e
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # Split on \n only: JSON strings may hold raw U+2028 and friends.
    for n, line in enumerate(data.split(b"\n"), 1):
        line = line.strip()
        if not line:
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            yield n, _Bad(f"not valid UTF-8 (byte {e.start + 1})")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            # some messages end in "at" ("Invalid control character at"): said once
            what = e.msg.removesuffix(" at")
            yield n, _Bad(f"not valid JSON ({what} at column {e.colno})")
            continue
        except (ValueError, RecursionError) as e:
            yield n, _Bad(f"not valid JSON ({e})")
            continue
        if not isinstance(obj, dict):
            yield n, _Bad(f"not a JSON object (a {type(obj).__name__})")
            continue
        if "\\ud" in text.lower():
            try:  # a lone surrogate escape parses as JSON but is not text anyone can store
                json.dumps(obj, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                yield n, _Bad("holds a lone surrogate escape: not valid Unicode text")
                continue
        yield n, obj


def _bead_from_row(row: dict[str, Any], layout: str) -> tuple[dict[str, Any], Any]:
    """A normalised bead and the raw embedded ``dependencies`` value (None when absent)."""
    ident = row.get("id")
    if not isinstance(ident, str):
        raise _Bad('missing "id"' if ident is None else '"id" is not a string')
    if not ident.strip():
        raise _Bad('empty "id"')
    title = row.get("title")
    if title is None:
        raise _Bad(f'issue {ident}: missing "title"')
    if not isinstance(title, str):
        raise _Bad(f'issue {ident}: "title" is not a string')
    _check_id(ident, check_bead_id)
    bead: dict[str, Any] = {"id": ident, "title": title}
    extra: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    embedded_deps = None
    for key, value in row.items():
        spec = _FIELDS.get(key)
        if spec is None:
            if key == "dependencies" and layout == EMBEDDED:
                embedded_deps = value
                if not isinstance(value, list):
                    raw[key] = value  # e.g. null: re-emitted as is while there are no deps
            else:
                extra[key] = value
            continue
        field, norm, _ = spec
        if norm is None:
            continue  # id, title: taken verbatim above
        try:
            norm_value = norm(value)
        except _Bad as e:
            raise _Bad(f"issue {ident}: {e}") from None
        bead[field] = norm_value
        if not _same(_canon(key, norm_value, layout), value):
            raw[key] = value
    for key, (field, _, _) in _FIELDS.items():
        if field not in bead:
            bead[field] = _default(key)
    extra["_keys"] = list(row)
    if raw:
        extra["_raw"] = raw
    bead["extra"] = extra
    return bead, embedded_deps


def _check_id(ident: str, rule: Callable[[str], str]) -> None:
    """The one id rule (engine/ids.py): an id that could never be dispatched is a bad line."""
    try:
        rule(ident)
    except UsageError as exc:
        raise _Bad(exc.message) from None


def _dep(row: dict[str, Any], layout: str, owner: str | None = None) -> dict[str, Any]:
    """A normalised dep from an embedded dependency object or a dependencies.jsonl row."""
    src = row.get("issue_id", owner)
    if owner is not None and src != owner:
        raise _Bad(f"dependency issue_id {src!r} is not the issue it is embedded in ({owner})")
    if not isinstance(src, str) or not src:
        raise _Bad('dependency has no "issue_id"')
    dst = row.get("depends_on_id")
    if not isinstance(dst, str) or not dst:
        raise _Bad(f'dependency of {src} has no "depends_on_id"')
    _check_id(src, check_bead_id)
    _check_id(dst, check_dep_target)
    dep_type = row.get("type", DEFAULT_DEP_TYPE)
    if not isinstance(dep_type, str) or not dep_type:
        raise _Bad(f"dependency {src} -> {dst} has no type")
    extra = {k: v for k, v in row.items() if k not in _DEP_FIELDS}
    keys = list(row)
    # Record the key order only when it differs from what export would write anyway.
    canonical = [*_DEP_FIELDS, *extra]
    if keys != (sorted(canonical) if layout == BACKUP else canonical):
        extra["_keys"] = keys
    return {
        "bead_id": src,
        "depends_on": dst,
        "type": dep_type,
        "created_at": row.get("created_at"),
        "created_by": row.get("created_by"),
        "extra": extra,
    }


def _resolve(path: str | os.PathLike[str]) -> tuple[str, str, str | None]:
    """(layout, issues file, backup directory or None) for what the caller pointed at."""
    p = os.fspath(path)
    if os.path.isdir(p):
        issues = os.path.join(p, "issues.jsonl")
        if not os.path.isfile(issues):
            raise GtError(f"no such file: {issues}")
        if os.path.isfile(os.path.join(p, "dependencies.jsonl")):
            return BACKUP, issues, p
        return EMBEDDED, issues, None  # an old-style .beads/ directory
    if not os.path.exists(p):
        raise GtError(f"no such file: {p}")
    folder = os.path.dirname(p) or "."
    if os.path.basename(p) == "issues.jsonl" and os.path.isfile(
        os.path.join(folder, "dependencies.jsonl")
    ):
        return BACKUP, p, folder
    return EMBEDDED, p, None


def read_beads_jsonl(path: str | os.PathLike[str], *, skip_bad: bool = False) -> ImportBatch:
    """Parse a Beads ledger: an embedded-layout .jsonl, a backup directory, or its issues.jsonl.

    Without ``skip_bad`` any bad line refuses the whole import (GtError naming the lines);
    with it, bad lines land in ``batch.errors`` and the good ones are returned.
    """
    layout, issues_path, folder = _resolve(path)
    batch = ImportBatch(layout)
    errors = batch.errors
    issues_name = os.path.basename(issues_path)
    first_line: dict[str, int] = {}
    by_id: dict[str, dict[str, Any]] = {}
    rejected: dict[str, int] = {}  # id -> line, for issues whose line was bad
    for n, obj in _read_lines(issues_path):
        if isinstance(obj, _Bad):
            errors.append((n, issues_name, str(obj)))
            continue
        try:
            bead, embedded_deps = _bead_from_row(obj, layout)
            ident = bead["id"]
            if ident in first_line:
                raise _Bad(f"duplicate id {ident} (first on line {first_line[ident]})")
            deps = _embedded_deps(embedded_deps, ident)
        except _Bad as e:
            errors.append((n, issues_name, str(e)))
            if isinstance(obj.get("id"), str):
                rejected.setdefault(obj["id"], n)
            continue
        first_line[ident] = n
        by_id[ident] = bead
        batch.beads.append(bead)
        batch.deps.extend(deps)
    if folder is not None:
        _read_side_files(folder, batch, by_id, rejected, issues_name)
    if errors and not skip_bad:
        raise GtError(refusal_message(errors))
    return batch


def _embedded_deps(value: Any, owner: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []  # absent or null: no deps
    deps = []
    for d in value:
        if not isinstance(d, dict):
            raise _Bad(f"issue {owner}: a dependency is not a JSON object (a {type(d).__name__})")
        deps.append(_dep(d, EMBEDDED, owner))
    return deps


def _read_side_files(
    folder: str,
    batch: ImportBatch,
    by_id: dict[str, dict[str, Any]],
    rejected: dict[str, int],
    issues_name: str,
) -> None:
    """dependencies.jsonl, labels.jsonl, comments.jsonl of the backup layout."""
    errors = batch.errors
    dep_path = os.path.join(folder, "dependencies.jsonl")
    for n, obj in _read_lines(dep_path):
        try:
            if isinstance(obj, _Bad):
                raise obj
            dep = _dep(obj, BACKUP)
            if dep["bead_id"] in rejected:  # its bead was refused: so is the dep, as embedded
                raise _Bad(
                    f"issue {dep['bead_id']} was not imported "
                    f"({issues_name} line {rejected[dep['bead_id']]} is bad)"
                )
            batch.deps.append(dep)
        except _Bad as e:
            errors.append((n, "dependencies.jsonl", str(e)))
    for name in ("labels.jsonl", "comments.jsonl"):
        side = os.path.join(folder, name)
        if not os.path.isfile(side):
            continue
        for n, obj in _read_lines(side):
            try:
                if isinstance(obj, _Bad):
                    raise obj
                owner = obj.get("issue_id")
                if not isinstance(owner, str) or not owner:
                    raise _Bad('missing "issue_id"')
                bead = by_id.get(owner)
                if bead is None:
                    # Labels and comments only exist on a bead: nowhere to keep this row.
                    if owner in rejected:
                        raise _Bad(
                            f"issue {owner} was not imported "
                            f"({issues_name} line {rejected[owner]} is bad)"
                        )
                    raise _Bad(f"issue {owner} is not in {issues_name}")
                if name == "labels.jsonl":
                    label = obj.get("label")
                    if not isinstance(label, str):
                        raise _Bad(f'label row of {owner} has no string "label"')
                    bead["labels"].append(label)
                else:
                    bead["extra"].setdefault("comments", []).append(obj)
            except _Bad as e:
                errors.append((n, name, str(e)))


def _one_line(text: str, limit: int = 200) -> str:
    # Ids and values quoted in messages come from the file and may hold newlines.
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def refusal_message(errors: list[tuple[int, str, str]]) -> str:
    """One line naming the first few bad lines, for a refused import."""
    shown = "; ".join(f"{f} line {n}: {_one_line(msg)}" for n, f, msg in errors[:_SHOWN_ERRORS])
    more = len(errors) - _SHOWN_ERRORS
    if more > 0:
        shown += f"; {more} more bad line{'s' if more > 1 else ''}"
    return shown + "; nothing was imported (use --skip-bad to import the good lines)"


# --- writing --------------------------------------------------------------------------


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
            keys = [k for k in _FIELDS if k != "labels"]
        else:
            keys = [k for k in _FIELDS if k in _ALWAYS or not _same(_value(bead, k), _default(k))]
    out: dict[str, Any] = {}
    for key in keys:
        if layout == BACKUP and key in _BACKUP_SIDE_KEYS:
            continue
        if key in _FIELDS:
            out[key] = _emit(bead, key, raw, layout)
        elif key == "dependencies" and layout == EMBEDDED:
            if deps:
                out[key] = [_dep_row(d, EMBEDDED) for d in deps]
            else:
                out[key] = raw.get(key, [])
        elif key in extra:
            out[key] = extra[key]
    # Fields set by the ledger that the original did not have.
    for key in _FIELDS:
        if (
            key not in out
            and not (layout == BACKUP and key == "labels")
            and not _same(_value(bead, key), _default(key))
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
    field = _FIELDS[key][0]
    return bead[field] if field in bead else _default(key)


def _emit(bead: dict[str, Any], key: str, raw: dict[str, Any], layout: str) -> Any:
    value = _value(bead, key)
    if key in raw:
        original = raw[key]
        norm = _FIELDS[key][1]
        try:
            if norm is None or _same(norm(original), value):
                return original  # untouched: give back exactly what was read
        except _Bad:
            pass
    if key == "description":
        return value if value is not None else ""
    return _canon(key, value, layout)


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
