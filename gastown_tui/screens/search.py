"""The bead search: a line above the bead table that filters it as you type.

It used to be a modal dialog: the table was hidden while a person typed, and once closed
nothing but the table's title said a search was on, and Escape did not clear it. Here the
table answers each key; Enter goes back to the table with the search kept (and shown);
Escape, in the box or on the main screen, clears it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.widgets import Input


class SearchBar(Input):
    DEFAULT_CSS: ClassVar[str] = """
    SearchBar {
        display: none;
        height: 1;
        border: none;
        padding: 0 1;
    }
    SearchBar.-shown {
        display: block;
    }
    SearchBar:focus {
        border: none;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="search beads: id or title (enter: keep, esc: clear)", id=id)

    def open(self, text: str) -> None:
        """Show the box holding `text` and put the cursor at its end, ready to type."""
        self.add_class("-shown")
        self.value = text
        self.focus()
        self.cursor_position = len(text)

    def close(self) -> None:
        self.value = ""
        self.remove_class("-shown")

    def keep(self, text: str) -> None:
        """Enter: the box stays on screen while a search is on, so a person sees it is."""
        self.set_class(bool(text), "-shown")
