"""Plain-text and JSON output for `gt` (no rich: the engine stays headless and fast)."""

from __future__ import annotations

import json
import sys

from engine.views.glyphs import GLYPHS  # one table of glyphs for every view

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def glyph(status: str, blocked: bool = False) -> str:
    if blocked and status == "open":
        return "! blocked"
    return f"{GLYPHS.get(status, '?')} {status}"


def emit_json(obj: Any) -> None:
    # Indented for a person at a terminal; compact (the C encoder, ~3x faster) for scripts.
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=indent, default=str))
    sys.stdout.write("\n")


def table(rows: list[list[str]], headers: list[str]) -> None:
    if not rows:
        return
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
    sys.stdout.write(text + "\n")


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
