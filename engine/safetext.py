"""Untrusted text and terminals: the one place that decides what may reach a screen or a pane.

Bead titles and bodies, mail, nudges, agent names from imports and agents' own output are
written by agents (or files) we do not trust. A control character in them can drive the
terminal that shows them (window title, OSC 52 clipboard write, clear screen, cursor moves)
or, typed into a pane, the agent's program (Ctrl-C, ESC, CR). So:

- `check_typed`: text typed into a pane (nudges) or sent as mail holds no control
  characters but tab (newlines only where they mean a new line): refused, not cleaned;
- `visible`: text shown to a person has every control character replaced by a visible form
  (`^[` as `cat -v`/`gh` do, `\\x9b` for 8-bit controls, `\\u202e` for bidi overrides);
- `keep_sgr`: agent output shown with its colours keeps SGR sequences and loses every other
  escape (OSC, cursor movement, mode switches...);
- `clip`: long text cut for a table cell.

Import-light on purpose: `gt` imports this on every call.
"""

from __future__ import annotations

import re

from engine.errors import UsageError

# Bidi overrides and isolates reorder what a person reads ("Trojan Source"), and the line
# and paragraph separators break lines where no newline is seen.
_INVISIBLE = (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)


def _caret(code: int) -> str:
    return "^?" if code == 0x7F else "^" + chr(code + 0x40)


def _table(keep: str) -> dict[int, str]:
    table: dict[int, str] = {c: _caret(c) for c in (*range(0x20), 0x7F)}
    table.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
    table.update({c: f"\\u{c:04x}" for c in _INVISIBLE})
    for ch in keep:
        table.pop(ord(ch))
    return table


_ONE_LINE = _table("")
_MULTILINE = _table("\n\t")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def visible(text: str, *, multiline: bool = False) -> str:
    """Every control character shown as text. `multiline` keeps newlines and tabs (a body);
    otherwise they are shown too (a table cell, an error line)."""
    if not _CONTROL.search(text):
        return text  # the common case: nothing to do, no copy
    return text.translate(_MULTILINE if multiline else _ONE_LINE)


def has_control(text: str, *, allow: str = "\t") -> bool:
    return any(ch not in allow for ch in _CONTROL.findall(text))


def check_typed(text: str, what: str, *, newlines: bool = False, empty: bool = False) -> str:
    """Text that will be typed into a pane or sent as mail: refused (UsageError) if it holds
    a control character other than tab (and newline, where a newline means a new line)."""
    if not empty and not text.strip():
        raise UsageError(f"{what} is empty")
    allow = "\t\n" if newlines else "\t"
    bad = [ch for ch in _CONTROL.findall(text) if ch not in allow]
    if bad:
        shown = ", ".join(dict.fromkeys(visible(ch) for ch in bad))
        raise UsageError(
            f"{what} holds a control character ({shown}): it would act on the terminal, "
            f"not be read; take it out"
            + ("" if newlines else " (a nudge is one line: Enter is sent after it)")
        )
    return text


# CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC strings (to BEL or ST, or the end of the
# line when cut off), and two-character escapes. 8-bit CSI (0x9b) is a CSI too.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|[\x90\x9d\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_SGR = re.compile(r"(?:\x1b\[|\x9b)[0-9;:]*m\Z")


def keep_sgr(line: str) -> str:
    """Agent output for a coloured view: SGR (colour, bold...) kept as ESC [ ... m; every
    other escape sequence removed whole; any control character left over shown visibly."""
    if not _CONTROL.search(line):
        return line
    out: list[str] = []
    at = 0
    for m in _ESCAPE.finditer(line):
        out.append(visible(line[at : m.start()], multiline=True))
        seq = m.group(0)
        if _SGR.match(seq):
            out.append("\x1b[" + seq[2 if seq[0] == "\x1b" else 1 :])
        at = m.end()
    out.append(visible(line[at:], multiline=True))
    return "".join(out)


def plain(line: str) -> str:
    """Terminal output as plain text for a one-line summary: every escape sequence
    (colours too) and carriage return removed, other control characters shown visibly."""
    if not _CONTROL.search(line):
        return line
    return visible(_ESCAPE.sub("", line).replace("\r", ""))


def clip(text: str, width: int) -> str:
    """At most `width` characters, the cut shown with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
