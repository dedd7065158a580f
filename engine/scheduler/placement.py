"""Where a rig-less bead goes: rigs whose capabilities match its labels, then least loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from engine.policy import rig_has_room

if TYPE_CHECKING:
    from engine.records import Rig


def choose_rig(
    labels: Iterable[str],
    rigs: list[Rig],
    busy: Mapping[str, int],
    capacity: Callable[[str], int],
) -> tuple[str | None, str]:
    """(rig, why) — rig is None when no rig can take the bead now."""
    if not rigs:
        return None, "the town has no rigs (add one with `gt rig add`)"
    wanted = set(labels)
    matching = [r for r in rigs if wanted & set(r["capabilities"])]
    pool = matching or rigs
    open_rigs = [r for r in pool if rig_has_room(busy.get(r["name"], 0), capacity(r["name"]))]
    if not open_rigs:
        which = "matching rigs" if matching else "rigs"
        return None, f"all {which} are at capacity"

    def load(r: Rig) -> tuple[float, int, str]:
        cap = max(capacity(r["name"]), 1)
        used = busy.get(r["name"], 0)
        return used / cap, used, r["name"]

    best = min(open_rigs, key=load)
    why = (
        f"capabilities {sorted(wanted & set(best['capabilities']))} match"
        if matching
        else "least loaded"
    )
    return best["name"], why
