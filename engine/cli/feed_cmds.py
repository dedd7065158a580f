"""gt feed: the town's events as they happen, like `tail -f`, for a shell beside the app.

It polls the ledger by sequence: `PRAGMA data_version` (a few microseconds, moves only when
another connection commits) every --interval, and only then the events after the last one
shown. The engine's wake pipe is not used: it has one reader, the engine, and a second
reader would steal its wake-ups.

A person ends a feed with Ctrl-C (exit 130, no traceback) or by closing the pipe it writes
to (`gt feed | head`: exit 0, noticed even while the town is quiet).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from engine.cli.output import MAX_CELL

if TYPE_CHECKING:
    from engine.events import Event
    from engine.ledger import Ledger

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# the columns of `gt events`, fixed widths: a stream cannot size them from rows to come
HEADERS = ("AT", "EVENT", "BEAD", "ACTOR", "DATA")
WIDTHS = (19, 20, 10, 24)
DATA_WIDTH = 80


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "feed",
        help="follow the town's events as they happen (like tail -f)",
        parents=[common],
        description="Follow the town's events live, oldest first, until Ctrl-C. "
        "Filters of one kind are alternatives (--kind a --kind b: either); "
        "filters of different kinds must all hold.",
    )
    p.add_argument("--rig", action="append", default=[], help="only this rig's events (repeatable)")
    p.add_argument(
        "--agent",
        action="append",
        default=[],
        help="only events by or about this agent: its id or name (repeatable)",
    )
    p.add_argument(
        "--kind",
        action="append",
        default=[],
        help="only this kind of event (repeatable; `gt events --kinds` lists them)",
    )
    p.add_argument(
        "--since",
        type=since_seconds,
        metavar="SPAN",
        help="first show the events of the last SPAN (30s, 10m, 2h, 1d, 1w); else only new ones",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--interval", type=interval, default=0.2, metavar="SECONDS", help=argparse.SUPPRESS
    )
    p.set_defaults(handler=cmd_feed)


def since_seconds(text: str) -> float:
    """argparse type for --since: a number and a unit."""
    m = _SPAN.match(text.strip())
    if not m:
        raise argparse.ArgumentTypeError(
            f"expected a span like 30s, 10m, 2h, 1d or 1w, got {text!r}"
        )
    return float(m.group(1)) * _UNIT[m.group(2)]


def interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0.01 <= value <= 60:
        raise argparse.ArgumentTypeError(f"expected 0.01 to 60 seconds, got {value}")
    return value


class Filter:
    """Which events the person asked for. A rig is found from the event's data, its
    actor's id (`rig/polecats/Name`) or its bead's rig (looked up once per bead)."""

    def __init__(self, ledger: Ledger, rigs: list[str], agents: list[str], kinds: list[str]):
        from engine.errors import UsageError
        from engine.events import REGISTRY

        unknown = [k for k in kinds if k not in REGISTRY]
        if unknown:
            raise UsageError(f"unknown event kind {unknown[0]!r} (`gt events --kinds` lists them)")
        self.ledger = ledger
        self.rigs = set(rigs)
        self.kinds = set(kinds)
        self.agents = {a.lower() for a in agents}
        self._bead_rig: dict[str, str | None] = {}

    def __call__(self, e: Event) -> bool:
        if self.kinds and e.kind not in self.kinds:
            return False
        if self.agents and not (self.agents & self._agents_of(e)):
            return False
        return not self.rigs or self._rig_of(e) in self.rigs

    def _agents_of(self, e: Event) -> set[str]:
        """The agent ids named by the event, and their short names, lowercased."""
        out = set()
        for who in (e.actor, e.data.get("agent")):
            if isinstance(who, str) and who:
                out |= {who.lower(), who.rsplit("/", 1)[-1].lower()}
        return out

    def _rig_of(self, e: Event) -> str | None:
        rig = e.data.get("rig")
        if isinstance(rig, str) and rig:
            return rig
        for who in (e.data.get("agent"), e.actor):
            if isinstance(who, str) and "/" in who:
                return who.split("/", 1)[0]
        if e.bead_id is None:
            return None
        if e.bead_id not in self._bead_rig:
            bead = self.ledger.beads.get(e.bead_id)
            self._bead_rig[e.bead_id] = bead["rig"] if bead else None
        return self._bead_rig[e.bead_id]


def line_for(e: Event) -> str:
    """One event as `gt events` shows it: its columns, control characters made visible."""
    import json

    from engine.safetext import clip, visible

    cells = [
        e.at[:19],
        e.kind,
        e.bead_id or "-",
        e.actor or "-",
        json.dumps(e.data, ensure_ascii=False)[:DATA_WIDTH],
    ]
    cells = [clip(visible(c), MAX_CELL) for c in cells]
    return "  ".join(c.ljust(w) for c, w in zip(cells, WIDTHS, strict=False)) + "  " + cells[-1]


def json_line(e: Event) -> str:
    """The row as recorded, on one line, escaped as every `--json` output is."""
    import json

    from engine.cli.output import _JSON_ESCAPES

    text = json.dumps(e.to_row(), ensure_ascii=False, default=str)
    return text if text.isascii() else text.translate(_JSON_ESCAPES)


class PipeWatch:
    """Waits between polls, and says when the reader of our stdout went away.

    A pipe's write end reports POLLERR once its reader has closed, so `gt feed | head`
    ends when head does, not at the next event (which a quiet town may never write)."""

    def __init__(self, fd: int) -> None:
        import os
        import select
        import stat

        self.poll: Any = None
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            return
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            self.poll = select.poll()
            self.poll.register(fd, 0)  # no events asked: only errors and hang-ups reported

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; False when the reader is gone."""
        if self.poll is None:
            time.sleep(seconds)
            return True
        return not self.poll.poll(seconds * 1000)


def cmd_feed(args: argparse.Namespace, ctx: Any) -> int:
    from engine.events import from_row
    from engine.timeutil import iso

    ledger = ctx.ledger
    keep = Filter(ledger, args.rig, args.agent, args.kind)
    if args.since is not None:
        last = ledger.state.last_event_id_before(iso(time.time() - args.since))
    else:
        last = ledger.state.last_event_id()
    render = json_line if args.json else line_for
    out = sys.stdout
    watch = PipeWatch(out.fileno())
    if not args.json and out.isatty():
        out.write("  ".join(h.ljust(w) for h, w in zip(HEADERS, WIDTHS, strict=False)))
        out.write(f"  {HEADERS[-1]}\n")
        out.flush()
    version = None
    try:
        while True:
            now = ledger.data_version()
            if now != version:  # another connection committed (or this is the first look)
                version = now
                while rows := ledger.state.events_after(last):
                    last = rows[-1]["id"]
                    shown = [render(e) for e in map(from_row, rows) if keep(e)]
                    if shown:
                        out.write("\n".join(shown) + "\n")
                        out.flush()  # a pipe is block-buffered: a feed is read as it comes
            if not watch.wait(args.interval):
                return 0
    except KeyboardInterrupt:
        # Ctrl-C is how a feed is meant to end: no traceback, no "interrupted"
        return 130
