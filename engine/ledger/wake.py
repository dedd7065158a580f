"""Commit notifications: the SQLite analogue of PostgreSQL's NOTIFY.

After a write transaction commits, the writer drops one byte into a named pipe in the
town's state dir (`.gastown/wake.fifo`, next to the engine's lock); the engine holds the
pipe's read end and wakes on it instead of polling `PRAGMA data_version` every few ms.

A notification is a hint, never a failure: no engine, a stale pipe, a full pipe, a
missing directory all end in silence, and the engine still polls `data_version` slowly
for writers that do not notify (an older `gt`, the sqlite3 shell).

A FIFO rather than a UNIX datagram socket: the writer needs nothing but `os` (`import
socket` would add ~3 ms to every writing `gt` command), it costs three system calls, a
path of any length works (a socket's is capped at 108 bytes), and opening without a reader
fails at once with ENXIO, so a pipe left by a killed engine is harmless.
"""

from __future__ import annotations

import contextlib
import os
import stat

from engine.town import STATE_DIR

WAKE_FILE = "wake.fifo"

_SEND_FLAGS = os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


def wake_path(ledger_path: str) -> str:
    """Where the engine of the town holding this ledger listens."""
    return os.path.join(os.path.dirname(os.path.abspath(ledger_path)), STATE_DIR, WAKE_FILE)


def notify(path: str) -> None:
    """Tell the engine listening at `path` (if any) that the ledger changed. Never raises,
    never blocks: O_NONBLOCK makes the open fail with ENXIO when nobody reads."""
    try:
        fd = os.open(path, _SEND_FLAGS)
    except OSError:
        return
    try:
        # only ever a pipe: a regular file put at this path must not grow a byte per commit
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b"\0")
    except OSError:
        pass  # a full pipe already holds a wake-up the engine has not read yet
    finally:
        os.close(fd)


class WakeListener:
    """The engine's end of the pipe. Only the engine holding the town's lock opens one, so
    it may replace whatever a killed engine left at the path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._inode = 0

    def open(self) -> bool:
        """Make a fresh pipe and hold it; False when the filesystem cannot (then poll)."""
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.mkfifo(self.path, 0o600)
            # Read *and* write: while we hold a writer the pipe never reports end-of-file,
            # so between notifications it is simply not readable (no busy wake-ups).
            fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        info = os.fstat(fd)
        if not stat.S_ISFIFO(info.st_mode):
            os.close(fd)
            return False
        self._fd, self._inode = fd, info.st_ino
        return True

    def fileno(self) -> int:
        assert self._fd is not None, "the listener is not open"
        return self._fd

    def drain(self) -> None:
        """Read every pending notification: many commits make one wake-up."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):  # EAGAIN: empty
            while os.read(self._fd, 4096):
                pass

    def close(self) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        # remove the pipe only if it is still ours, so writers see "no engine" at once
        with contextlib.suppress(OSError):
            if os.lstat(self.path).st_ino == self._inode:
                os.unlink(self.path)
