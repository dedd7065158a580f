"""The polecat work checklist for `gt prime`, read without pydantic.

`gt prime` runs at the start of every session: it must not pay ~50 ms for pydantic. The
shipped checklist (and a town's or rig's plain override of it) is read here with tomllib
alone; a file this cannot take as it is (extends, variables, an odd field) returns None,
and the caller reads it with the full loader (which also names what is wrong).
"""

from __future__ import annotations

import os
import tomllib
from typing import Any

from engine.formulas.shapes import CHECKLIST, FILE_SUFFIX, Formula, Step

SHIPPED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shipped")
_STEP_KEYS = {"id", "title", "description", "acceptance", "needs"}
_TOP_KEYS = {"formula", "description", "type", "version", "steps"}


def folders(town_root: str | None, rig_path: str | None) -> list[tuple[str, str]]:
    """(layer, folder), lowest first: the same layers as the loader's."""
    out = [("shipped", SHIPPED)]
    if town_root:
        out.append(("town", os.path.join(town_root, "formulas")))
    if rig_path:
        out.append(("rig", os.path.join(rig_path, ".gastown", "formulas")))
    return out


def plain_checklist(name: str, town_root: str | None, rig_path: str | None) -> Formula | None:
    """The top layer's NAME, if it is a plain checklist; None otherwise (or when absent)."""
    for layer, folder in reversed(folders(town_root, rig_path)):
        path = os.path.join(folder, name + FILE_SUFFIX)
        try:
            with open(path, "rb") as fh:
                data: Any = tomllib.load(fh)
        except FileNotFoundError:
            continue
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            return None
        return _plain(data, name, path, layer)
    return None


def _plain(data: Any, name: str, path: str, layer: str) -> Formula | None:
    if set(data) - _TOP_KEYS or data.get("formula") != name or data.get("type") != CHECKLIST:
        return None
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        return None
    out: list[Step] = []
    for raw in steps:
        if not isinstance(raw, dict) or set(raw) - _STEP_KEYS:
            return None
        texts = [raw.get(k, "") for k in ("id", "title", "description", "acceptance")]
        if not all(isinstance(t, str) for t in texts) or "{{" in "".join(texts[1:]):
            return None
        if not texts[0] or not texts[1]:
            return None
        out.append(Step(texts[0], texts[1], texts[2], texts[3]))
    if len({s.id for s in out}) != len(out):
        return None
    return Formula(
        name=name,
        description=str(data.get("description", "")),
        type=CHECKLIST,
        version=int(data.get("version", 1)) if isinstance(data.get("version", 1), int) else 1,
        extends=None,
        vars={},
        steps=tuple(out),
        path=path,
        layer=layer,
    )
