"""Colours for states (each state also has a glyph and a word: colour is never needed)."""

from __future__ import annotations

from engine.views.glyphs import glyph, glyph_word

STATE_STYLE = {
    "ready": "bold green",
    "open": "green",
    "blocked": "bold red",
    "hooked": "yellow",
    "in_progress": "bold yellow",
    "in_review": "bold cyan",
    "closed": "dim green",
    "failed": "bold red",
    "cancelled": "dim",
    "deferred": "magenta",
    "staged": "magenta",
    "idle": "dim",
    "assigned": "yellow",
    "working": "bold green",
    "handoff": "cyan",
    "stalled": "bold yellow",
    "gupp": "bold red",
    "zombie": "bold red",
    "retired": "dim",
    "queued": "cyan",
    "testing": "bold yellow",
    "landing": "bold cyan",
    "landed": "green",
    "conflict": "bold red",
    "rejected": "red",
    "dropped": "dim",
    "awaiting_approval": "magenta",
}


def styled(status: str) -> tuple[str, str]:
    """(glyph + word, style) for a state."""
    return glyph_word(status), STATE_STYLE.get(status, "")


def bead_state(bead: dict) -> str:
    if bead.get("status") == "open":
        return "blocked" if bead.get("blocked") else "ready"
    return str(bead.get("status"))


__all__ = ["STATE_STYLE", "bead_state", "glyph", "glyph_word", "styled"]
