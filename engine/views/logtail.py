"""Reading session logs incrementally: only new bytes, whole lines, bounded per read."""

from __future__ import annotations

import os

MAX_READ = 256 * 1024


class LogTail:
    def __init__(self, path: str, *, start_lines: int = 200) -> None:
        self.path = path
        self.offset = 0
        self._partial = b""
        self._start_lines = start_lines
        self._started = False

    def read(self) -> list[str]:
        """New complete lines since the last read (the last few lines on the first read)."""
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return []
        if size < self.offset:  # truncated or replaced: start again
            self.offset, self._partial = 0, b""
        if not self._started:
            self._started = True
            self.offset = max(0, size - 64 * 1024)
        if size == self.offset:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read(min(MAX_READ, size - self.offset))
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out = [ln.decode("utf-8", errors="replace").rstrip("\r") for ln in lines]
        if self._start_lines and len(out) > self._start_lines:
            out = out[-self._start_lines :]
        self._start_lines = 0
        return out
