"""The diff screen: what a polecat's work or a merge request changes against its rig's main.

The file list (with +/- counts) and the stat line come first; a file's diff is read when
it is highlighted (engine/views/diffs.py caps it), so a diff of thousands of lines opens at
once. Everything shown is git's text from an agent's work: control characters are made
visible and nothing is read as Rich markup (Text and Syntax objects, never markup strings).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from engine.errors import GtError
from engine.safetext import visible
from engine.views.diffs import DiffSummary, FilePatch, FileStat
from gastown_tui.screens.detail import DetailScreen

PatchLoader = Callable[[FileStat], Awaitable[FilePatch]]


def file_label(f: FileStat) -> Text:
    """One row of the file list: +added -removed path (a binary file says so)."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if f["added"] is None:
        t.append(f"{'binary':>12} ", style="dim")
    else:
        t.append(f"{'+' + str(f['added']):>6}", style="green")
        t.append(f"{'-' + str(f['removed']):>6} ", style="red")
    t.append(visible(f["path"]))
    if f["untracked"]:
        t.append(" (new)", style="dim")
    return t


def patch_view(p: FilePatch) -> Text:
    """The diff, coloured once: the diff lexer marks added / removed lines and hunk
    headers, in ansi_dark, which keeps to the terminal's own 16 colours. Highlighted to a
    Text here, not kept as a Syntax, which would run the lexer again at every redraw."""
    syntax = Syntax("", "diff", theme="ansi_dark", word_wrap=False, tab_size=4)
    text = syntax.highlight(visible(p["text"], multiline=True))
    text.no_wrap = True
    return text


class DiffScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Back", id="diff.back"),
        Binding("tab", "app.focus_next", "Files / diff", id="diff.switch"),
    ]
    DEFAULT_CSS = """
    DiffScreen #diff-stat { height: auto; padding: 0 1; background: $boost; }
    DiffScreen #diff-body { height: 1fr; }
    DiffScreen #diff-files { width: 48; height: 1fr; }
    DiffScreen #diff-scroll { width: 1fr; height: 1fr; }
    DiffScreen #diff-patch { width: auto; height: auto; }
    DiffScreen.narrow #diff-body { layout: vertical; }
    DiffScreen.narrow #diff-files { width: 1fr; height: 6; }
    """

    def __init__(self, summary: DiffSummary, load: PatchLoader) -> None:
        super().__init__()
        self.summary = summary
        self.load = load
        self.shown: str | None = None  # the path whose diff is on screen

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.stat_text(), id="diff-stat")
        with Horizontal(id="diff-body"):
            files = [Option(file_label(f), id=str(i)) for i, f in enumerate(self.summary["files"])]
            if self.summary["more_files"]:
                files.append(
                    Option(Text(f"… {self.summary['more_files']} more files"), disabled=True)
                )
            yield OptionList(*files, id="diff-files")
            with ScrollableContainer(id="diff-scroll"):
                yield Static(Text("(no files changed)", style="dim"), id="diff-patch")
        yield Footer()

    def stat_text(self) -> Text:
        return Text(visible(self.summary["stat"]), style="bold")

    def on_mount(self) -> None:
        self.sub_title = visible(self.summary["target"]["title"])
        self.set_class(self.app.size.width < 110, "narrow")
        files = self.query_one("#diff-files", OptionList)
        files.focus()
        if self.summary["files"]:
            files.highlighted = 0  # shows the first file's diff (on_option_list_...)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.show_file(self.summary["files"][int(event.option.id)])

    @work(exclusive=True, group="diff-file")
    async def show_file(self, file: FileStat) -> None:
        # exclusive, after a pause: running down the list reads only the file the cursor
        # stops at (a newer highlight cancels this worker during the sleep)
        await asyncio.sleep(0.05)
        try:
            patch = await self.load(file)
        except GtError as exc:
            self.notify(visible(exc.message), severity="error", markup=False)
            return
        self.shown = file["path"]
        self.query_one("#diff-patch", Static).update(patch_view(patch))
        self.query_one("#diff-scroll", ScrollableContainer).scroll_home(animate=False)


class AgentDetailScreen(DetailScreen):
    """An agent's detail screen, with `d` for the diff of its work."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "diff", "Diff", id="detail.diff"),
    ]

    def __init__(self, title: str, body: Text, agent_id: str) -> None:
        super().__init__(title, body)
        self.agent_id = agent_id

    def action_diff(self) -> None:
        # the app's (gastown_tui/remedies.py): the diff screen opens over this one
        open_diff = getattr(self.app, "open_diff", None)
        if open_diff is not None:
            open_diff("agent", self.agent_id)
