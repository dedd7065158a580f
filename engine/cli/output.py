"""Plain-text and JSON output for `gt` (no rich: the engine stays headless and fast).

Every human-readable line goes out through `say`, `table` or `error_line`, which show
control characters visibly (engine/safetext.py): ledger text is written by agents, and an
escape sequence in a title must not retitle the window, write the clipboard or clear the
screen. `--json` keeps the exact text; JSON escapes what a terminal would act on.
"""

from __future__ import annotations

import json
import sys

from engine.safetext import clip, visible
from engine.views.glyphs import GLYPHS  # one table of glyphs for every view

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def glyph(status: str, blocked: bool = False) -> str:
    if blocked and status == "open":
        return "! blocked"
    return f"{GLYPHS.get(status, '?')} {status}"


# A table cell longer than this is cut (`gt bead show` prints a title whole).
MAX_CELL = 100

# json.dumps escapes C0 but writes DEL, 8-bit controls (0x9b is a CSI), bidi overrides and
# line separators raw when ensure_ascii is off. They can only occur inside JSON strings, so
# escaping them keeps the document exact (it decodes to the same text).
_JSON_ESCAPES = {
    c: f"\\u{c:04x}"
    for c in (0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}
_JSON_ESCAPES.update({0x2028: "\\u2028", 0x2029: "\\u2029"})


def emit_json(obj: Any) -> None:
    # Indented for a person at a terminal; compact (the C encoder, ~3x faster) for scripts.
    indent = 2 if sys.stdout.isatty() else None
    text = json.dumps(obj, ensure_ascii=False, indent=indent, default=str)
    if not text.isascii():
        text = text.translate(_JSON_ESCAPES)
    sys.stdout.write(text)
    sys.stdout.write("\n")


def table(rows: list[list[str]], headers: list[str]) -> None:
    if not rows:
        return
    rows = [[clip(visible(cell), MAX_CELL) for cell in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))
    # the last column (usually a title) is not padded
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    out = [fmt.format(*headers).rstrip()]
    out += [fmt.format(*r).rstrip() for r in rows]
    sys.stdout.write("\n".join(out) + "\n")


def say(text: str) -> None:
    """One or more lines for a person: newlines and tabs kept, every other control shown."""
    sys.stdout.write(visible(text, multiline=True) + "\n")


def error_line(text: str) -> str:
    """An error or warning for stderr: one line, whatever the text it quotes holds."""
    return visible(text) + "\n"


def count(text: str) -> int:
    """argparse type for -n/--limit/--depth: a whole number, 0 or more."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value
