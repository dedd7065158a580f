"""A town on disk: finding it (like git finds a repository), creating it, its paths."""

from __future__ import annotations

import contextlib
import os
import re
import stat

from engine.errors import GtError, UsageError

TOWN_FILE = "town.toml"
LEDGER_FILE = "ledger.db"
STATE_DIR = ".gastown"


class Town:
    """Paths of one town. Cheap to build: nothing is read until asked for."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.config_path = os.path.join(self.root, TOWN_FILE)
        self.ledger_path = os.path.join(self.root, LEDGER_FILE)
        self.state_dir = os.path.join(self.root, STATE_DIR)
        self.logs_dir = os.path.join(self.root, "logs")
        self.rigs_dir = os.path.join(self.root, "rigs")
        self.lock_path = os.path.join(self.state_dir, "engine.lock")

    def rig_dir(self, rig: str) -> str:
        return os.path.join(self.rigs_dir, rig)

    def name(self) -> str:
        return os.path.basename(self.root)

    @property
    def ledger_target(self) -> str:
        """What to open: `[ledger] url` (a shared PostgreSQL ledger), else the ledger file.

        Read on every `gt` command, so without a `[ledger]` table it costs one small
        file read and no TOML parse (pydantic's full config check is not on this path).
        """
        cached = self.__dict__.get("_ledger_target")
        if cached is None:
            cached = ledger_url_of(self.config_path) or self.ledger_path
            self.__dict__["_ledger_target"] = cached
        return cached  # type: ignore[no-any-return]

    @property
    def shared_ledger(self) -> bool:
        """The ledger is a server other towns (hosts) may share, not this town's file."""
        return self.ledger_target != self.ledger_path

    def open_ledger(self, **kwargs):  # type: ignore[no-untyped-def]
        from engine.ledger import Ledger

        return Ledger(self.ledger_target, town_root=self.root, **kwargs)

    def config(self):  # type: ignore[no-untyped-def]
        from engine.config import load_config

        return load_config(self.config_path)


def find_town(explicit: str | None = None, cwd: str | None = None) -> Town:
    """--town PATH, else $GASTOWN_TOWN (or an agent's $GT_TOWN), else walk up from cwd."""
    for source, value in (
        ("--town", explicit),
        ("GASTOWN_TOWN", os.environ.get("GASTOWN_TOWN")),
        ("GT_TOWN", os.environ.get("GT_TOWN")),
    ):
        if value:
            path = os.path.abspath(os.path.expanduser(value))
            if os.path.exists(path) and not os.path.isdir(path):
                raise GtError(f"no town at {path} ({source}): it is a file, not a directory")
            if not os.path.isdir(path):
                raise GtError(f"no town at {path} ({source}): the directory does not exist")
            if not os.path.isfile(os.path.join(path, TOWN_FILE)):
                raise GtError(
                    f"no town at {path} ({source}): it has no {TOWN_FILE} "
                    f"(create one with `gt init {value}`)"
                )
            return Town(path)
    here = os.path.abspath(cwd or os.getcwd())
    while True:
        if os.path.isfile(os.path.join(here, TOWN_FILE)) and (
            os.path.exists(os.path.join(here, LEDGER_FILE))
            or os.path.isdir(os.path.join(here, STATE_DIR))  # a town on a shared ledger
        ):
            return Town(here)
        parent = os.path.dirname(here)
        if parent == here:
            raise GtError(
                "not inside a town (no town.toml here or in any parent directory); "
                "create one with `gt init PATH`, or pass --town PATH"
            )
        here = parent


LEDGER_TABLE = """
# The town's ledger lives on a PostgreSQL server that other hosts may share
# (README: "A town across machines"). A password is better kept in ~/.pgpass.
[ledger]
url = {url}
"""


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


DEFAULT_TOWN_TOML = """\
# Gas Town configuration. Every setting is optional: the defaults are shown.
# See the README for what each one does.

[town]
name = "{name}"

[scheduler]
max_polecats = 10            # working polecats in the whole town (0 means the default)
max_polecats_per_rig = 5     # working polecats in one rig (0 means the default)
max_attempts = 3             # dispatch attempts per bead before it fails
backoff_base_seconds = 5     # delay after the first failure; doubles each time
backoff_max_seconds = 300
breaker_failures = 5         # this many failures within the window pause dispatch
breaker_window_seconds = 120
breaker_cooldown_seconds = 300
idle_retire_seconds = 900    # an idle polecat is retired (its name freed) after this
tick_seconds = 5             # the safety-net reconcile when nothing wakes the engine

[runtime]
default = "script"            # claude, codex, gemini, ... (`gt runtime list`)

# The deacon's patrols (`gt patrol list`): how often each runs, and its thresholds.
# [deacon]
# stranded_every_seconds = 60       # stranded convoys: reported with why
# hooks_every_seconds = 60          # hooks of agents that are gone
# hook_gone_seconds = 600           # an agent gone this long loses its hook
# crash_loop_every_seconds = 15     # crash-looping beads
# crash_loop_failures = 3           # failed attempts within the window: quarantined
# crash_loop_window_seconds = 900
# reap_every_seconds = 30           # idle polecats ([scheduler] idle_retire_seconds)
# logs_every_seconds = 3600         # session logs
# logs_keep_days = 14               # older session logs are deleted
# events_every_seconds = 3600       # event compaction
# events_keep = 20000               # the newest events, always kept
# events_keep_days = 30             # younger events, always kept
# forecast_seconds = 180            # the conflict forecast

# Where an escalation of each severity goes (log, witness: its rig's, mayor), and how
# long it may wait unacknowledged before it is raised one level (`gt escalate list`).
# [escalation]
# max_raises = 2                    # re-escalations of one escalation, at most
# [escalation.low]
# to = ["log", "witness"]
# stale_hours = 4
# [escalation.medium]
# to = ["witness", "mayor"]
# stale_hours = 4
# [escalation.high]
# to = ["mayor"]
# stale_hours = 4
# [escalation.critical]
# to = ["mayor"]
# stale_hours = 4
# banner = true                     # the app's header banner while it is open
# bell = true                       # the terminal bell, once
"""


def ledger_url_of(config_path: str) -> str | None:
    """The `[ledger] url` of a town.toml, or None (then the town's own ledger.db)."""
    try:
        with open(config_path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    if b"[ledger]" not in raw:
        return None
    import tomllib

    try:
        section = tomllib.loads(raw.decode("utf-8")).get("ledger")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # the full config check reports it with its line
    url = section.get("url") if isinstance(section, dict) else None
    if isinstance(url, str) and url.strip():
        return os.path.expandvars(url.strip())
    return None


def init_town(path: str, *, ledger_url: str | None = None) -> Town:
    """Create a town: town.toml, the ledger, logs/ and rigs/. Refuses to clobber one.

    With `ledger_url` (postgresql://…) the town keeps its ledger on that server: an empty
    database gets the schema; one that already holds a town's ledger is joined (this town
    directory becomes one more host of it)."""
    root = os.path.abspath(os.path.expanduser(path))
    if os.path.exists(os.path.join(root, TOWN_FILE)):
        raise GtError(f"{root} is already a town")
    if os.path.exists(root) and not os.path.isdir(root):
        raise GtError(f"{root} exists and is not a directory")
    parent = os.path.dirname(root)
    if not os.path.isdir(parent):
        why = "is a file, not a directory" if os.path.exists(parent) else "does not exist"
        raise GtError(f"cannot create a town at {root}: {parent} {why}")
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", os.path.basename(root)) or "town"
    town = Town(root)
    for d in (root, town.state_dir, town.logs_dir, town.rigs_dir):
        os.makedirs(d, exist_ok=True)
    from engine.ledger import Ledger

    if ledger_url:
        from engine.ledger.pg_db import is_url

        if not is_url(ledger_url):
            raise UsageError(
                f"--ledger-url must be a postgresql:// URL, not {ledger_url.split('@')[-1]!r}"
            )
        Ledger(ledger_url, create=True).close()
    else:
        if os.path.exists(town.ledger_path):
            raise UsageError(f"{town.ledger_path} already exists; refusing to overwrite it")
        Ledger(town.ledger_path, create=True).close()
    # town.toml last: its presence is what marks a finished town.
    tmp = town.config_path + ".tmp"
    # created private: with a URL it may hold the ledger's password
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(DEFAULT_TOWN_TOML.format(name=name))
        if ledger_url:
            fh.write(LEDGER_TABLE.format(url=_toml_string(ledger_url)))
    os.replace(tmp, town.config_path)
    # private whatever the caller's umask (the app's demo and tests create towns in-process)
    tighten_permissions(town)
    return town


def _private(path: str) -> None:
    """Group and other lose every bit (0755 -> 0700, 0644 -> 0600); the owner's bits are
    kept (an executable stays executable, and nothing is ever widened)."""
    with contextlib.suppress(OSError):  # best effort: the town root's 0700 is the real fence
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o700)


def _private_tree(path: str) -> None:
    _private(path)
    with contextlib.suppress(OSError):
        for entry in os.scandir(path):
            if entry.is_symlink():
                continue  # never follow a link out of the town
            if entry.is_dir():
                _private_tree(entry.path)
            else:
                _private(entry.path)


def tighten_permissions(town: Town) -> None:
    """Make the town its owner's alone: directories 0700, files 0600.

    The ledger (and its -wal/-shm), town.toml, logs, the engine's state and the polecats'
    PROMPT.md files hold the work and the mail. New files are created private by the
    umask of `gt` and the engine; this tightens what older versions or a loose umask left.
    Cheap on purpose (run at `gt init` and at engine start, never on `gt`'s hot path):
    the rigs' git repositories are the project's own files and are not walked.
    """
    _private(town.root)
    with contextlib.suppress(OSError):
        for entry in os.scandir(town.root):
            if entry.is_symlink():
                continue
            if not entry.is_dir():
                _private(entry.path)
            elif entry.path in (town.state_dir, town.logs_dir):
                _private_tree(entry.path)
            else:
                _private(entry.path)
    with contextlib.suppress(OSError):
        for rig in os.scandir(town.rigs_dir):
            if rig.is_symlink() or not rig.is_dir():
                continue
            _private(rig.path)
            with contextlib.suppress(OSError):
                for sub in os.scandir(rig.path):  # repo/, refinery/, polecats/: the dirs only
                    if sub.is_dir() and not sub.is_symlink():
                        _private(sub.path)
            polecats = os.path.join(rig.path, "polecats")
            with contextlib.suppress(OSError):
                for agent in os.scandir(polecats):
                    if agent.is_symlink() or not agent.is_dir():
                        continue
                    _private(agent.path)
                    state = os.path.join(agent.path, STATE_DIR)
                    if os.path.isdir(state):
                        _private_tree(state)  # PROMPT.md: the bead's text
