"""Every state has a glyph and a word, so a screen reads correctly with colour stripped."""

from __future__ import annotations

GLYPHS = {
    "ready": "○",
    "open": "○",
    "blocked": "!",
    "hooked": "◐",
    "in_progress": "●",
    "in_review": "◎",
    "closed": "✓",
    "failed": "✗",
    "cancelled": "⊘",
    "deferred": "∅",
    "pinned": "⚲",
    "staged": "◇",
    "tombstone": "†",
    "idle": "○",
    "assigned": "◐",
    "working": "●",
    "handoff": "↻",
    "stalled": "◌",
    "gupp": "⚠",
    "zombie": "☠",
    "retired": "·",
    "queued": "…",
    "testing": "⧗",
    "landing": "↧",
    "landed": "✓",
    "conflict": "⚔",
    "rejected": "✗",
    "dropped": "⊘",
    "awaiting_approval": "⏸",
}
WORDS = {"in_progress": "working", "in_review": "review", "awaiting_approval": "approval"}


def glyph(status: str) -> str:
    return GLYPHS.get(status, "?")


def glyph_word(status: str) -> str:
    return f"{glyph(status)} {WORDS.get(status, status)}"
