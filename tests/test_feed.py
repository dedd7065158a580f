"""`gt feed`: a live event stream, run as a real subprocess against a real town while
another process writes the events."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_support import REPO, gt_argv, gt_env, run_gt

# A second process writing to the town's ledger, as agents' `gt` calls do. Each line of
# stdin is "kind actor bead rig" ("-" for none); it answers "ok" once the event is in.
WRITER = """
import sys
from engine.ledger import Ledger
from engine.town import Town

ledger = Ledger(Town(sys.argv[1]).ledger_path)
ledger.rigs.add("alpha", prefix="al", source="/dev/null", path="/nowhere/a",
                capabilities=[], gates=[])
ledger.rigs.add("beta", prefix="be", source="/dev/null", path="/nowhere/b",
                capabilities=[], gates=[])
print("ok", flush=True)
for line in sys.stdin:
    kind, actor, bead, rig = (None if w == "-" else w for w in line.split())
    data = {"text": "step \\x1b]0;pwned\\x07"} if kind == "checkpoint" else {}
    if rig:
        data["rig"] = rig
    ledger.state.record_event(kind, actor=actor, bead_id=bead, data=data)
    print("ok", flush=True)
"""


class Writer:
    def __init__(self, town: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(town)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=gt_env(),
            cwd=REPO,
        )
        assert self.read() == "ok"

    def read(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def write(self, kind: str, actor: str = "-", bead: str = "-", rig: str = "-") -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{kind} {actor} {bead} {rig}\n")
        self.proc.stdin.flush()
        assert self.read() == "ok"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def town(tmp_path: Path) -> Path:
    root = tmp_path / "town"
    assert run_gt("init", str(root)).returncode == 0
    return root


@pytest.fixture
def writer(town: Path) -> Iterator[Writer]:
    w = Writer(town)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def feeds() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every feed a test starts is ended, whatever happens in the test."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def start_feed(
    feeds: list[subprocess.Popen[bytes]], town: Path, *args: str, stdout: int = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(
        gt_argv("feed", "--interval", "0.05", *args, town=town),
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=gt_env(),
        cwd=REPO,
    )
    feeds.append(p)
    return p


def read_lines(p: subprocess.Popen[bytes], n: int, timeout: float = 15.0) -> list[str]:
    """The feed's next n lines (fewer if it goes quiet for `timeout`)."""
    assert p.stdout is not None
    out: list[str] = []
    buf = b""
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        if not sel.select(deadline - time.monotonic()):
            break
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        *done, buf = buf.split(b"\n")
        out += [d.decode() for d in done]
    sel.close()
    return out[:n]


def test_feed_follows_events_written_by_another_process(
    town: Path, writer: Writer, feeds: list[subprocess.Popen[bytes]]
) -> None:
    writer.write("rig_added", rig="old")  # before the feed: not shown (no --since)
    feed = start_feed(feeds, town, "--json")
    time.sleep(1.5)  # the feed has started and taken the newest event as its start
    writer.write("checkpoint", actor="alpha/polecats/Toast", bead="al-1")
    writer.write("heartbeat", actor="beta/polecats/Nux", bead="be-1")
    rows = [json.loads(line) for line in read_lines(feed, 2)]
    assert [(r["kind"], r["actor"]) for r in rows] == [
        ("checkpoint", "alpha/polecats/Toast"),
        ("heartbeat", "beta/polecats/Nux"),
    ]
    # the JSON keeps the agent's text exactly; JSON itself escapes the escape sequence
    assert rows[0]["data"]["text"] == "step \x1b]0;pwned\x07"


def test_feed_text_shows_control_characters_visibly(
    town: Path, writer: Writer, feeds: list[subprocess.Popen[bytes]]
) -> None:
    writer.write("checkpoint", actor="alpha/polecats/Toast", bead="al-1")
    feed = start_feed(feeds, town, "--since", "1h", "--kind", "checkpoint")
    (line,) = read_lines(feed, 1)
    assert "checkpoint" in line and "alpha/polecats/Toast" in line and "al-1" in line
    assert "\x1b" not in line and "\x07" not in line


def test_feed_filters_by_rig_agent_and_kind(
    town: Path, writer: Writer, feeds: list[subprocess.Popen[bytes]]
) -> None:
    writer.write("checkpoint", actor="alpha/polecats/Toast", bead="al-1")
    writer.write("checkpoint", actor="beta/polecats/Nux", bead="be-1")
    writer.write("heartbeat", actor="alpha/polecats/Toast", bead="al-1")
    writer.write("primed", actor="alpha/polecats/Furiosa", bead="al-2")
    since = ("--since", "1h", "--json")

    def kinds_actors(*args: str, n: int) -> list[tuple[str, str | None]]:
        rows = read_lines(start_feed(feeds, town, *since, *args), n + 1, timeout=3)
        return [(r["kind"], r["actor"]) for r in map(json.loads, rows)]

    # the writer added the rigs first: "rig_added" names its rig in its data
    assert kinds_actors("--rig", "beta", n=2) == [
        ("rig_added", None),
        ("checkpoint", "beta/polecats/Nux"),
    ]
    # an agent by its short name (any case) or its id; two --agent: either
    assert kinds_actors("--agent", "toast", "--agent", "alpha/polecats/Furiosa", n=3) == [
        ("checkpoint", "alpha/polecats/Toast"),
        ("heartbeat", "alpha/polecats/Toast"),
        ("primed", "alpha/polecats/Furiosa"),
    ]
    # filters of different kinds must all hold
    assert kinds_actors("--kind", "checkpoint", "--rig", "alpha", n=1) == [
        ("checkpoint", "alpha/polecats/Toast")
    ]


def test_feed_ends_quietly_when_its_reader_goes_away(
    town: Path, writer: Writer, feeds: list[subprocess.Popen[bytes]]
) -> None:
    """`gt feed | head -1`: head exits after one line; the feed must end too, at once,
    though the town writes nothing more."""
    writer.write("checkpoint", actor="alpha/polecats/Toast", bead="al-1")
    writer.write("checkpoint", actor="alpha/polecats/Toast", bead="al-1")
    feed = start_feed(feeds, town, "--since", "1h")
    assert feed.stdout is not None
    head = subprocess.run(["head", "-1"], stdin=feed.stdout, capture_output=True, timeout=20)
    feed.stdout.close()
    assert head.stdout.count(b"\n") == 1
    assert feed.wait(timeout=10) == 0
    assert feed.stderr is not None
    assert feed.stderr.read() == b""


def test_ctrl_c_ends_the_feed_without_a_traceback(
    town: Path, feeds: list[subprocess.Popen[bytes]]
) -> None:
    feed = start_feed(feeds, town, stdout=subprocess.DEVNULL)
    time.sleep(1.5)  # inside the follow loop
    feed.send_signal(signal.SIGINT)
    assert feed.wait(timeout=10) == 130
    assert feed.stderr is not None
    assert feed.stderr.read() == b""


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--since", "10x"), "expected a span like 30s, 10m"),
        (("--since=-5m",), "expected a span like 30s, 10m"),
        (("--kind", "nope"), "unknown event kind 'nope'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    town: Path, args: tuple[str, ...], says: str
) -> None:
    r = run_gt("feed", *args, town=town)
    assert r.returncode == 2
    assert says in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_feed_stays_out_of_the_agent_hot_path() -> None:
    code = (
        "import sys; from engine.cli.main import build_parser; "
        "[build_parser(c) for c in ('prime', 'done', 'heartbeat', 'mail', 'bead')]; "
        "print('engine.cli.feed_cmds' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=gt_env(), cwd=REPO
    )
    assert out.stdout.strip() == "False", out.stderr
