"""Colours for states (each state also has a glyph and a word: colour is never needed)."""

from __future__ import annotations

import re

from rich.segment import Segment
from rich.text import Text
from textual.color import Color
from textual.filter import LineFilter

from engine.safetext import clip, keep_sgr, visible
from engine.views.glyphs import glyph, glyph_word

# A table cell shows at most this much of a text (a 50,000-character title is cut).
CELL_MAX = 200

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


def lit(text: str | None, style: str = "", *, multiline: bool = False, cut: int = 0) -> Text:
    """Ledger text (titles, mail, names, errors) as a literal Text: never markup, every
    control character shown visibly (engine/safetext.py), cut to `cut` characters if set."""
    shown = visible(text or "", multiline=multiline)
    return Text(clip(shown, cut) if cut else shown, style=style)


def ansi(text: str) -> Text:
    """Agent output with its colours: SGR kept, every other escape sequence dropped."""
    return Text.from_ansi("\n".join(keep_sgr(line) for line in text.split("\n")))


_RAW = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InertText(LineFilter):
    """The last line of defence, on every line the app draws: a control character that a
    widget let through (ledger text it did not pass through `lit`) is dropped before it
    reaches the terminal. Widgets show them visibly; this only ever removes what would
    have acted on the terminal, and costs one scan of a line's text."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if not _RAW.search("".join(seg.text for seg in segments)):
            return segments
        return [
            seg if seg.control else Segment(_RAW.sub("", seg.text), seg.style) for seg in segments
        ]


__all__ = [
    "CELL_MAX",
    "STATE_STYLE",
    "InertText",
    "ansi",
    "bead_state",
    "glyph",
    "glyph_word",
    "lit",
    "styled",
]
