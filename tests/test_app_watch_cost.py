"""Issue 11, "what must be shown": watching a busy town at rest must cost little. Each test
pins one thing the app used to do on every refresh tick although nothing it shows had
changed (bench/bench_tui.py, "loaded, at rest", measures the whole)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widget import Widget

from engine.events import CheckpointNoted, HeartbeatNoted, RuntimePaused
from gastown_tui.app import GasTownApp
from gastown_tui.widgets.logs import LiveLog, LogPane
from tests.app_support import AppTown, build_town, run_async_tests, settle

SIZE = (200, 50)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


@contextlib.contextmanager
def repaints() -> Iterator[Counter[str]]:
    """Counts Widget.refresh calls by widget id while the block runs."""
    seen: Counter[str] = Counter()
    original = Widget.refresh

    def counting(self: Widget, *args: Any, **kwargs: Any) -> Any:
        seen[self.id or type(self).__name__] += 1
        return original(self, *args, **kwargs)

    Widget.refresh = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Widget.refresh = original  # type: ignore[method-assign]


def stop_timers(app: GasTownApp) -> None:
    """Only the test drives refreshes (the app's 10/s drain and 2 s safety tick stop)."""
    for timer in list(app._timers):
        timer.pause()


async def test_signs_of_life_do_not_refresh_the_screen(gtown: AppTown) -> None:
    """Before: every batch of events refreshed the town, checkpoints and heartbeats too
    (25 a second from 50 polecats: the 10/s cap, every snapshot the same)."""
    app = gtown.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        stop_timers(app)
        await pilot.pause(0.3)  # a drain already running ends
        queue: asyncio.Queue[Any] = asyncio.Queue()
        app._queue = queue
        app._dirty = False
        before = app.refreshes
        quiet = [
            CheckpointNoted(id=1000 + n, at="2027-01-15T08:00:00Z", text=f"step {n}")
            for n in range(20)
        ]
        queue.put_nowait([*quiet, HeartbeatNoted(id=1100, at="2027-01-15T08:00:00Z")])
        await app.drain()
        assert app.refreshes == before
        queue.put_nowait([RuntimePaused(id=1101, at="2027-01-15T08:00:00Z", runtime="claude")])
        await app.drain()
        assert app.refreshes == before + 1


async def test_a_refresh_that_changes_nothing_repaints_nothing(gtown: AppTown) -> None:
    """Before: the bead table's and the convoy's border titles were set on every refresh,
    and setting a title repaints its widget even when the text is the same."""
    app = gtown.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        stop_timers(app)
        await pilot.pause(0.3)
        await app.refresh_town()  # whatever the first refreshes left to do
        with repaints() as seen:
            await app.refresh_town()
        assert seen["beads"] == 0 and seen["dag"] == 0, seen


async def test_the_followed_log_reaches_its_tail_in_the_frame_it_is_written(
    gtown: AppTown,
) -> None:
    """Before: RichLog scrolled to the new tail only after the next refresh, so every write
    of a busy log cost two frames."""
    app = gtown.app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one("#logs", LogPane)
        log = app.query_one("#log-single", LiveLog)
        assert pane._tail is not None
        with open(pane._tail.path, "a", encoding="utf-8") as fh:
            fh.write("".join(f"line {n}\n" for n in range(200)))
        await pane._pump()
        assert log.max_scroll_y > 0
        assert log.scroll_y == log.max_scroll_y


run_async_tests(globals())
