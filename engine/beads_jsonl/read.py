"""Reading Beads JSONL: the embedded layout, a backup directory, or its issues.jsonl."""

from __future__ import annotations

import json
import os

from engine.beads_jsonl.fields import (
    BACKUP,
    DEP_FIELDS,
    EMBEDDED,
    FIELDS,
    BadLine,
    ImportBatch,
    canon,
    same,
)
from engine.errors import GtError

# Annotations only: importing typing costs the CLI ~3 ms (mypy treats this name as True).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

# How many bad lines the refusal message names before summarising the rest.
_SHOWN_ERRORS = 3


def _read_lines(path: str) -> Iterable[tuple[int, Any]]:
    """(line_number, parsed object or BadLine) for each non-blank line."""
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
            yield n, BadLine(f"not valid UTF-8 (byte {e.start + 1})")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            # some messages end in "at" ("Invalid control character at"): said once
            what = e.msg.removesuffix(" at")
            yield n, BadLine(f"not valid JSON ({what} at column {e.colno})")
            continue
        except (ValueError, RecursionError) as e:
            yield n, BadLine(f"not valid JSON ({e})")
            continue
        if not isinstance(obj, dict):
            yield n, BadLine(f"not a JSON object (a {type(obj).__name__})")
            continue
        if "\\ud" in text.lower():
            try:  # a lone surrogate escape parses as JSON but is not text anyone can store
                json.dumps(obj, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                yield n, BadLine("holds a lone surrogate escape: not valid Unicode text")
                continue
        yield n, obj


def _bead_from_row(row: dict[str, Any], layout: str) -> tuple[dict[str, Any], Any]:
    """A normalised bead (engine/records.py's ImportedBead) and the raw embedded
    ``dependencies`` value (None when absent). BeadsIssue validates; this maps Beads' keys
    to the ledger's fields and keeps what export needs to write the line back as it was."""
    from engine.beads_jsonl.beads_issue import BeadsIssue  # pydantic: see its docstring

    issue = _validated(BeadsIssue, row)
    bead: dict[str, Any] = {"id": issue.id, "title": issue.title}
    extra: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    embedded_deps = None
    for key, value in row.items():
        spec = FIELDS.get(key)
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
        norm_value = getattr(issue, key)
        bead[field] = norm_value
        if not same(canon(key, norm_value, layout), value):
            raw[key] = value
    for key, (field, _, _) in FIELDS.items():
        if field not in bead:
            bead[field] = getattr(issue, key)  # Beads' default (a fresh list or dict)
    extra["_keys"] = list(row)
    if raw:
        extra["_raw"] = raw
    bead["extra"] = extra
    return bead, embedded_deps


def _validated(model: Any, row: dict[str, Any], owner: str | None = None) -> Any:
    """The row as `model`, else BadLine: its first problem in the row's own key order (as
    a person reading the line would meet it), prefixed with the issue it belongs to."""
    from pydantic import ValidationError

    try:
        return model.model_validate(row, context={"owner": owner} if owner else None)
    except ValidationError as exc:
        problems = exc.errors(include_url=False)
        order = {key: i for i, key in enumerate(row)}
        first = min(problems, key=lambda p: order.get(str(p["loc"][0]) if p["loc"] else "", -1))
        if first["loc"]:  # a key's own problem: the identity checks passed
            raise BadLine(f"issue {row['id']}: {first['msg']}") from None
        raise BadLine(first["msg"]) from None


def _dep(row: dict[str, Any], layout: str, owner: str | None = None) -> dict[str, Any]:
    """A normalised dep (engine/records.py's ImportedDep) from an embedded dependency object
    or a dependencies.jsonl row."""
    from engine.beads_jsonl.beads_issue import BeadsDependency

    dep = _validated(BeadsDependency, row, owner)
    extra = {k: v for k, v in row.items() if k not in DEP_FIELDS}
    keys = list(row)
    # Record the key order only when it differs from what export would write anyway.
    canonical = [*DEP_FIELDS, *extra]
    if keys != (sorted(canonical) if layout == BACKUP else canonical):
        extra["_keys"] = keys
    return {
        "bead_id": dep.issue_id,
        "depends_on": dep.depends_on_id,
        "type": dep.type,
        "created_at": dep.created_at,
        "created_by": dep.created_by,
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
        if isinstance(obj, BadLine):
            errors.append((n, issues_name, str(obj)))
            continue
        try:
            bead, embedded_deps = _bead_from_row(obj, layout)
            ident = bead["id"]
            if ident in first_line:
                raise BadLine(f"duplicate id {ident} (first on line {first_line[ident]})")
            deps = _embedded_deps(embedded_deps, ident)
        except BadLine as e:
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
            raise BadLine(
                f"issue {owner}: a dependency is not a JSON object (a {type(d).__name__})"
            )
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
            if isinstance(obj, BadLine):
                raise obj
            dep = _dep(obj, BACKUP)
            if dep["bead_id"] in rejected:  # its bead was refused: so is the dep, as embedded
                raise BadLine(
                    f"issue {dep['bead_id']} was not imported "
                    f"({issues_name} line {rejected[dep['bead_id']]} is bad)"
                )
            batch.deps.append(dep)
        except BadLine as e:
            errors.append((n, "dependencies.jsonl", str(e)))
    for name in ("labels.jsonl", "comments.jsonl"):
        side = os.path.join(folder, name)
        if not os.path.isfile(side):
            continue
        for n, obj in _read_lines(side):
            try:
                if isinstance(obj, BadLine):
                    raise obj
                owner = obj.get("issue_id")
                if not isinstance(owner, str) or not owner:
                    raise BadLine('missing "issue_id"')
                bead = by_id.get(owner)
                if bead is None:
                    # Labels and comments only exist on a bead: nowhere to keep this row.
                    if owner in rejected:
                        raise BadLine(
                            f"issue {owner} was not imported "
                            f"({issues_name} line {rejected[owner]} is bad)"
                        )
                    raise BadLine(f"issue {owner} is not in {issues_name}")
                if name == "labels.jsonl":
                    label = obj.get("label")
                    if not isinstance(label, str):
                        raise BadLine(f'label row of {owner} has no string "label"')
                    bead["labels"].append(label)
                else:
                    bead["extra"].setdefault("comments", []).append(obj)
            except BadLine as e:
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
