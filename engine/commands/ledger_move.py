"""Moving a town's ledger (`gt ledger migrate --to TARGET`): SQLite into PostgreSQL, or back.

The rule: the copy is all or nothing. No engine may run meanwhile (this takes the town's
engine lock for the duration, so none starts mid-copy either), the source is held still
(its write lock: a `gt` writer waits rather than writing into a ledger being left), the
target must be empty, and the copy commits only when every table's row count and content
fingerprint, each numbered table's counter, and the ready queue and blocked list read the
same on both sides. Only then does town.toml name the new ledger; the old one is kept as it
was, never deleted.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.errors import GtError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from engine.ledger import Ledger
    from engine.town import Town


class MigrateRequest(NamedTuple):
    target: str  # postgresql://…, sqlite:PATH or a file path


class TableMoved(NamedTuple):
    table: str
    rows: int


class LedgerMoved(NamedTuple):
    source: str  # where the ledger was (a URL's password redacted)
    target: str  # where it is now (redacted)
    tables: tuple[TableMoved, ...]
    rows: int
    seconds: float
    ready: int  # beads ready on both sides (records included)
    blocked: int
    config: str  # what town.toml now says about the ledger ("" when back to ledger.db)
    kept: str  # the old ledger, left as it was (a URL's password redacted)

    def as_dict(self) -> dict[str, Any]:
        out = self._asdict()
        out["tables"] = {t.table: t.rows for t in self.tables}
        out["rows_per_second"] = round(self.rows / self.seconds) if self.seconds else None
        return out


def migrate_ledger(
    town: Town,
    request: MigrateRequest,
    *,
    progress: Callable[[str, int, bool], None] | None = None,
) -> LedgerMoved:
    from engine.ledger.pg_db import redact
    from engine.lock import EngineLock

    kind, where = parse_target(request.target, cwd=os.getcwd())
    source_at = town.ledger_target
    shown_source, shown_target = redact(source_at), redact(where)
    if kind == "sqlite" and not is_url(source_at) and _same_file(where, source_at):
        raise UsageError(f"{where} is the town's ledger already; nothing was changed")
    lock = EngineLock(town.lock_path)
    try:
        lock.acquire()
    except GtError as exc:
        raise GtError(
            f"{exc.message}: stop it before moving the ledger (an engine writing meanwhile "
            "would lose its work); nothing was changed"
        ) from None
    try:
        source = town.open_ledger()
        try:
            source.notify_commits = False  # nothing changes in it: no engine to wake
            created = kind == "sqlite" and not os.path.lexists(where)
            target = _open_target(kind, where, source_at)
            try:
                target.notify_commits = False  # no engine runs on it yet
                started = time.monotonic()
                moved = _copy(town, source, target, kind, where, progress)
                seconds = time.monotonic() - started
            except BaseException:
                target.close()
                if created:  # a file we made for the copy: nothing is left behind
                    _remove_sqlite(where)
                raise
            target.close()
        finally:
            source.close()
    finally:
        lock.release()
    tables, ready, blocked, config = moved
    return LedgerMoved(
        source=shown_source,
        target=shown_target,
        tables=tables,
        rows=sum(t.rows for t in tables),
        seconds=seconds,
        ready=ready,
        blocked=blocked,
        config=redact(config),
        kept=shown_source,
    )


def _copy(
    town: Town,
    source: Ledger,
    target: Ledger,
    kind: str,
    where: str,
    progress: Callable[[str, int, bool], None] | None,
) -> tuple[tuple[TableMoved, ...], int, int, str]:
    from engine.ledger import transfer
    from engine.ledger.pg_db import redact

    shown = redact(where)
    theirs, ours = transfer.schema_version(target), transfer.schema_version(source)
    if theirs != ours:
        raise GtError(
            f"{shown} has ledger schema {theirs}, the town's is {ours}: both must be the "
            "same Gas Town's; nothing was changed"
        )
    full = transfer.occupied(target)
    if full:
        held = ", ".join(f"{n} {t}" for t, n in sorted(full.items())[:4])
        home = kind == "sqlite" and _same_file(where, town.ledger_path)
        raise GtError(
            f"{shown} already holds a ledger ({held}); a town moves only into an empty "
            "one"
            + ("; this is the town's ledger from before its move: rename it first" if home else "")
            + "; nothing was changed"
        )
    # One instant for both sides: readiness depends on the time (deferred beads).
    now = source.now()
    source.clock = target.clock = lambda: now
    config_text, new_line = _config_with(town, kind, where)
    old_text: str | None = None
    committed = False
    try:
        # The source's write lock for the whole copy: a writer waits, then (town.toml
        # names the new ledger by then) opens the new ledger, not the one being left.
        with source.transaction():
            _no_other_engine(source, now)
            shapes = {t.name: t for t in transfer.tables()}
            want = {
                name: transfer.fingerprint(source, shape, transfer.columns(source, name))
                for name, shape in shapes.items()
            }
            ready_want, blocked_want = _readiness(source)
            with transfer.copy_into(source, target, progress=progress) as copied:
                for name, cols in copied.items():
                    _compare(name, want[name], transfer.fingerprint(target, shapes[name], cols))
                ready_got, blocked_got = _readiness(target)
                if ready_got != ready_want:
                    raise _mismatch(
                        "the ready queue", f"{len(ready_got)} ready there, {len(ready_want)} here"
                    )
                if blocked_got != blocked_want:
                    raise _mismatch(
                        "the blocked beads",
                        f"{len(blocked_got)} blocked there, {len(blocked_want)} here",
                    )
                # Inside the target's transaction: a failed write of town.toml rolls the
                # copy back; a failed commit puts town.toml back as it was (below).
                old_text = _replace_config(town, config_text)
            committed = True
    except BaseException:
        if old_text is not None and not committed:
            _replace_config(town, old_text)
        raise
    tables = tuple(TableMoved(name, want[name].rows) for name in shapes)
    return tables, len(ready_want), len(blocked_want), new_line


def _no_other_engine(source: Ledger, now: float) -> None:
    """An engine on another machine sharing the ledger holds no lock here: its host's
    heartbeat says it runs (a host whose lease ran out is gone, as after a kill -9)."""
    for host in source.hosts.live():
        if host["heartbeat_at"] + host["lease_seconds"] > now:
            where = f" at {host['address']}" if host["address"] else ""
            raise GtError(
                f"the engine of host {host['name']}{where} is running on this ledger: stop "
                "it before moving the ledger; nothing was changed"
            )


def _readiness(ledger: Ledger) -> tuple[list[str], list[tuple[str, list[str]]]]:
    ready = [b["id"] for b in ledger.beads.ready(include_records=True)]
    blocked = [(b["id"], sorted(x["id"] for x in b["blocked_by"])) for b in ledger.beads.blocked()]
    return ready, blocked


def _compare(table: str, want: Any, got: Any) -> None:
    if got.rows != want.rows:
        raise _mismatch(table, f"{got.rows} rows there, {want.rows} here")
    if got.digest != want.digest:
        raise _mismatch(table, "the same number of rows, different contents")
    if got.next_id != want.next_id:
        raise _mismatch(table, f"its id counter at {got.next_id} there, {want.next_id} here")


def _mismatch(what: str, detail: str) -> GtError:
    return GtError(
        f"the copy does not match the town's ledger in {what} ({detail}); "
        "it was rolled back and nothing was changed"
    )


# ---- the target ------------------------------------------------------------------------

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def is_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def parse_target(text: str, *, cwd: str) -> tuple[str, str]:
    """("postgresql", URL) or ("sqlite", absolute path); a usage error for anything else."""
    from engine.ledger.pg_db import redact

    text = text.strip()
    if not text:
        raise UsageError("--to needs a postgresql:// URL or a SQLite file path")
    if any(ord(c) < 32 for c in text):
        raise UsageError("--to holds a control character; give one URL or path")
    if is_url(text):
        from urllib.parse import urlsplit

        import psycopg

        try:
            psycopg.conninfo.conninfo_to_dict(text)
            netloc = urlsplit(text).netloc
            if "," not in netloc:  # several hosts (host1:5432,host2:5432) pass as they are
                urlsplit(text).port  # noqa: B018  # a port that is not a number raises
        except (psycopg.Error, ValueError) as exc:
            raise UsageError(
                f"--to {redact(text)} is not a valid PostgreSQL URL ({redact(str(exc))})"
            ) from None
        return "postgresql", text
    if text.startswith("sqlite:"):
        text = text[len("sqlite:") :]
        text = text[2:] if text.startswith("//") else text  # sqlite:///abs/path
        if not text:
            raise UsageError("--to sqlite: needs a file path (sqlite:PATH)")
    elif scheme := _SCHEME.match(text):
        raise UsageError(
            f"--to: a ledger is a postgresql:// URL or a SQLite file, not {scheme.group(1)}://"
        )
    path = os.path.abspath(os.path.join(cwd, os.path.expanduser(text)))
    if os.path.isdir(path):
        raise UsageError(f"--to {path} is a directory; name the ledger file to create in it")
    if not os.path.isdir(os.path.dirname(path)):
        raise UsageError(f"--to {path}: the directory {os.path.dirname(path)} does not exist")
    return "sqlite", path


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _open_target(kind: str, where: str, source_at: str) -> Ledger:
    from engine.ledger import Ledger

    if kind == "postgresql":
        if where == source_at:
            raise UsageError("--to names the town's ledger already; nothing was changed")
        # an empty database gets the schema; an existing ledger is checked (and refused
        # below unless it is empty)
        return Ledger(where, create=True)
    if os.path.lexists(where):
        with open(where, "rb") as fh:
            head = fh.read(16)
        if head and head != b"SQLite format 3\x00":
            raise UsageError(
                f"--to {where} is a file that is not a ledger; name a new file (it is "
                "created) or an empty ledger; nothing was changed"
            )
        return Ledger(where)
    ledger = Ledger(where, create=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(where + suffix):
            os.chmod(where + suffix, 0o600)  # the work and the mail: the owner's alone
    return ledger


def _remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path + suffix)


# ---- town.toml -------------------------------------------------------------------------

_LEDGER_HEADER = re.compile(r"^\s*\[\s*ledger\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_URL_LINE = re.compile(r"""^\s*(url|"url"|'url')\s*=""")

_LEDGER_TABLE = """
# The town's ledger (`gt ledger migrate`); without it, ledger.db in the town.
# A password is better kept in ~/.pgpass than here.
[ledger]
{line}
"""


def _config_with(town: Town, kind: str, where: str) -> tuple[str, str]:
    """town.toml's text naming `where` as the ledger, and the line that says so."""
    url: str | None = where
    if kind == "sqlite" and _same_file(where, town.ledger_path):
        url = None  # back home: the default needs no line
    if url is not None and os.path.expandvars(url) != url:
        raise UsageError(
            "--to holds a $NAME that town.toml would read as an environment variable; "
            "nothing was changed"
        )
    with open(town.config_path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    line = f"url = {_toml_string(url)}" if url is not None else ""
    start = next((i for i, t in enumerate(lines) if _LEDGER_HEADER.match(t)), None)
    if start is None:
        if url is not None:
            lines += _LEDGER_TABLE.format(line=line).splitlines()
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines)
        )
        body = [i for i in range(start + 1, end) if _URL_LINE.match(lines[i])]
        for i in reversed(body):
            del lines[i]
        if url is not None:
            lines.insert(start + 1, line)
    text = "\n".join(lines) + "\n"
    import tomllib

    try:
        section = tomllib.loads(text).get("ledger") or {}
    except tomllib.TOMLDecodeError as exc:
        raise GtError(f"{town.config_path} cannot be read as TOML ({exc}); fix it first") from None
    if section.get("url") != url:
        raise GtError(f"{town.config_path}: its [ledger] table cannot be rewritten; fix it first")
    return text, f"[ledger] {line}" if line else ""


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return (
        '"'
        + "".join(c if ord(c) >= 32 and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
        + '"'
    )


def _replace_config(town: Town, text: str) -> str:
    """Write town.toml at once (no reader sees half of it), private (it may hold a
    password); returns what it said before."""
    with open(town.config_path, encoding="utf-8") as fh:
        before = fh.read()
    tmp = town.config_path + ".migrate"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, town.config_path)
    town.__dict__.pop("_ledger_target", None)  # Town caches what it read
    return before
