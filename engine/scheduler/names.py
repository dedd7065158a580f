"""The polecat name pool: Toast, Maple, Birch, … then Polecat-21, Polecat-22, …"""

from __future__ import annotations

from engine.vocab import NAME_POOL


def next_name(live: set[str]) -> str:
    """The first pool name no live agent in the town uses (names are town-wide unique)."""
    lowered = {n.lower() for n in live}
    for name in NAME_POOL:
        if name.lower() not in lowered:
            return name
    n = len(NAME_POOL) + 1
    while f"polecat-{n}" in lowered:
        n += 1
    return f"Polecat-{n}"
