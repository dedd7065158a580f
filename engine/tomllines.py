"""Where a key is written in a TOML file, so an error can say `town.toml:7`.

tomllib keeps no positions, and the files we read (town.toml, plan files) are small and
written by people, so finding a table's header and a key's line in the text is enough.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# `[a.b]` or `[[a]]`, each part bare or quoted; what follows the header may be a comment.
_HEADER = re.compile(r"^\s*(\[\[?)\s*(.*?)\s*\]\]?\s*(?:#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_PART = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.|$)""")
# `key =`, or the first part of a dotted key (`key.sub = 1`)
_KEY_LINE = r"""^\s*(?:{k}|"{k}"|'{k}')\s*[=.]"""


def _parts(dotted: str) -> tuple[str, ...]:
    out, pos = [], 0
    while pos < len(dotted):
        m = _PART.match(dotted, pos)
        if not m or m.end() == pos:
            return ()
        out.append(m.group(1).strip("\"'"))
        pos = m.end()
    return tuple(out)


class TomlLines:
    """A TOML file's text, able to say on which line a table or key is written."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        # (line index, is [[array]], dotted name) of every table header
        self.headers: list[tuple[int, bool, tuple[str, ...]]] = []
        for i, line in enumerate(self.lines):
            m = _HEADER.match(line)
            if m:
                self.headers.append((i, m.group(1) == "[[", _parts(m.group(2))))

    def _table(self, table: tuple[str, ...], nth: int | None) -> tuple[int, int] | None:
        """(header index, end) of the table's body; (-1, ...) for the top level."""
        start = -1
        if table:
            matches = [
                i for i, array, name in self.headers if name == table and array == (nth is not None)
            ]
            if len(matches) < (nth or 1):
                return None
            start = matches[(nth or 1) - 1]
        end = next(
            (i for i in range(start + 1, len(self.lines)) if _ANY_HEADER.match(self.lines[i])),
            len(self.lines),
        )
        return start, end

    def line_of(
        self, table: Sequence[str] = (), key: str | None = None, *, nth: int | None = None
    ) -> int | None:
        """1-based line of `key` in the table (`[a.b]`; () the top level; `nth`: the nth
        `[[a]]` entry, 1-based), else of a `[table.key]` header, else of the table's
        header; None when neither is written where we can see it (inline tables)."""
        found = self._table(tuple(table), nth)
        if found is None:
            return None
        start, end = found
        if key is not None:
            pattern = re.compile(_KEY_LINE.format(k=re.escape(key)))
            for i in range(start + 1, end):
                if pattern.match(self.lines[i]):
                    return i + 1
            if nth is None:
                sub = (*table, key)
                for i, _array, name in self.headers:
                    if name[: len(sub)] == sub:
                        return i + 1
        return start + 1 if start >= 0 else None

    def locate(
        self, table: Sequence[str] = (), key: str | None = None, *, nth: int | None = None
    ) -> str:
        """`path:LINE` of what line_of finds, else just the path."""
        line = self.line_of(table, key, nth=nth)
        return f"{self.path}:{line}" if line else self.path

    def locate_path(self, loc: Sequence[str]) -> str:
        """`path:LINE` of a nested key (`("rigs", "web", "gates")`): the deepest part of
        it that is written in the file."""
        for depth in range(len(loc) - 1, -1, -1):
            line = self.line_of(loc[:depth], loc[depth])
            if line:
                return f"{self.path}:{line}"
        return self.path
