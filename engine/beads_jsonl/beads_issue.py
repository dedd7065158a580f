"""A line of a Beads ledger as a pydantic model: one issue, one dependency.

The tolerance rules are Beads', not ours: only what no ledger could store is refused (no id,
a non-text title, an id that could never be dispatched, a priority outside 0..4, labels that
are not a list, a dependency without both ends or a type); an unknown status, issue type or
dependency type is kept verbatim, unknown keys are kept as extras, absent keys take Beads'
defaults, and a value in an odd but readable form ("2" for a priority, 1 for a boolean) is
normalised by fields.py's normaliser, its original form kept for export by read.py.

Imported only by read_beads_jsonl, at call time: pydantic costs ~50 ms to import, and `gt
export` (which imports this package) does not need it. Validation itself costs ~5 µs a line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from engine.beads_jsonl import fields as f
from engine.errors import UsageError
from engine.ids import check_bead_id, check_dep_target


def _refuse(message: str) -> PydanticCustomError:
    # The message is the whole error: `{msg}` keeps braces in ids from being read as fields.
    return PydanticCustomError("beads_line", "{msg}", {"msg": message})


def _normalised(norm: Callable[[Any], Any]) -> BeforeValidator:
    """fields.py's normaliser for a key, its BadLine turned into a validation error."""

    def check(value: Any) -> Any:
        try:
            return norm(value)
        except f.BadLine as exc:
            raise _refuse(str(exc)) from None

    return BeforeValidator(check)


def _id_rule(ident: str, rule: Callable[[str], str]) -> None:
    """The one id rule (engine/ids.py): an id that could never be dispatched is refused."""
    try:
        rule(ident)
    except UsageError as exc:
        raise _refuse(exc.message) from None


class BeadsIssue(BaseModel):
    """One issue line, under Beads' own key names; unknown keys kept in `model_extra`."""

    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    description: Annotated[str, _normalised(f._n_text)] = ""
    status: Annotated[str, _normalised(f._n_status)] = f.DEFAULT_STATUS
    priority: Annotated[int, _normalised(f._n_priority)] = f.DEFAULT_PRIORITY
    issue_type: Annotated[str, _normalised(f._n_type)] = f.DEFAULT_TYPE
    assignee: Annotated[str | None, _normalised(f._n_opt_empty_none)] = None
    created_at: Annotated[str | None, _normalised(f._n_opt)] = None
    created_by: Annotated[str | None, _normalised(f._n_opt)] = None
    updated_at: Annotated[str | None, _normalised(f._n_opt)] = None
    closed_at: Annotated[str | None, _normalised(f._n_opt)] = None
    close_reason: Annotated[str | None, _normalised(f._n_opt)] = None
    defer_until: Annotated[str | None, _normalised(f._n_opt_empty_none)] = None
    labels: Annotated[list[str], _normalised(f._n_labels)] = Field(default_factory=list)
    ephemeral: Annotated[bool, _normalised(f._n_ephemeral)] = False
    metadata: Annotated[dict[str, Any], _normalised(f._n_metadata)] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _identity(cls, row: Any) -> Any:
        # Checked first and in this order (the message names the first problem only).
        if not isinstance(row, dict):
            return row
        ident = row.get("id")
        if not isinstance(ident, str):
            raise _refuse('missing "id"' if ident is None else '"id" is not a string')
        if not ident.strip():
            raise _refuse('empty "id"')
        title = row.get("title")
        if title is None:
            raise _refuse(f'issue {ident}: missing "title"')
        if not isinstance(title, str):
            raise _refuse(f'issue {ident}: "title" is not a string')
        _id_rule(ident, check_bead_id)
        return row


class BeadsDependency(BaseModel):
    """One dependency: an object embedded in an issue's `dependencies`, or a row of the
    backup's dependencies.jsonl. `owner` (validation context) is the issue it is embedded in."""

    model_config = ConfigDict(extra="allow")

    issue_id: str
    depends_on_id: str
    type: str = f.DEFAULT_DEP_TYPE
    created_at: Any = None  # verbatim, whatever the file holds (as before)
    created_by: Any = None

    @model_validator(mode="before")
    @classmethod
    def _ends(cls, row: Any, info: Any) -> Any:
        if not isinstance(row, dict):
            return row
        owner = (info.context or {}).get("owner")
        src = row.get("issue_id", owner)
        if owner is not None and src != owner:
            raise _refuse(
                f"dependency issue_id {src!r} is not the issue it is embedded in ({owner})"
            )
        if not isinstance(src, str) or not src:
            raise _refuse('dependency has no "issue_id"')
        dst = row.get("depends_on_id")
        if not isinstance(dst, str) or not dst:
            raise _refuse(f'dependency of {src} has no "depends_on_id"')
        _id_rule(src, check_bead_id)
        _id_rule(dst, check_dep_target)
        dep_type = row.get("type", f.DEFAULT_DEP_TYPE)
        if not isinstance(dep_type, str) or not dep_type:
            raise _refuse(f"dependency {src} -> {dst} has no type")
        return row if "issue_id" in row else {**row, "issue_id": src}
