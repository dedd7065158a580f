"""The bottom panels: the mayor's mail, the merge queue, and problems."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from engine.timeutil import age
from engine.views.mq_order import failure_gist, needs_person_first
from engine.views.needs_you import WORDS, matches
from gastown_tui.theme import CELL_MAX, lit, styled

if TYPE_CHECKING:
    from engine.records import QueuedMergeRequest


class KeyedTable(DataTable[Any]):
    """A table whose rows are keyed by id and replaced only when they change."""

    columns_spec: tuple[tuple[str, str, int], ...] = ()
    # enter means details here (a DataTable would take it for "select")
    BINDINGS = [Binding("enter", "app.details", "Details", id="details", show=False)]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        for key, label, width in self.columns_spec:
            self.add_column(label, key=key, width=width)
        self._shown: dict[str, tuple[str, ...]] = {}

    def show(self, rows: list[tuple[str, list[Any]]]) -> None:
        fresh = {k: tuple(str(v) for v in cells) for k, cells in rows}
        if list(fresh) == list(self._shown) and fresh == self._shown:
            return
        # a str cell is read as markup: ledger text ("[/] in a subject") must stay literal,
        # and an escape sequence in it must be shown, not sent to the terminal
        rows = [
            (k, [lit(v, cut=CELL_MAX) if isinstance(v, str) else v for v in cells])
            for k, cells in rows
        ]
        kept = [k for k in self._shown if k in fresh]
        # new rows can only be appended: when the order asks for them elsewhere (the newest
        # mail on top, a fresh failure first), the rows are laid down again in that order
        in_order = list(fresh)[: len(kept)] == kept
        with self.app.batch_update():
            if not in_order:
                self.relay(rows)
            else:
                for gone in set(self._shown) - set(fresh):
                    self.remove_row(gone)
                for key, cells in rows:
                    if key not in self._shown:
                        self.add_row(*cells, key=key)
                    elif self._shown[key] != fresh[key]:
                        for (col, _, _), value in zip(self.columns_spec, cells, strict=True):
                            self.update_cell(key, col, value)
        self._shown = fresh

    def relay(self, rows: list[tuple[str, list[Any]]]) -> None:
        """All rows again, in `rows`' order; the cursor stays on the row it was on."""
        was = self.selected_key()
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if was is not None and was in dict(rows):
            self.move_cursor(row=self.get_row_index(was), animate=False)

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return str(row_key.value) if row_key else None


class MailTable(KeyedTable):
    columns_spec = (
        ("new", " ", 2),
        ("from", "From", 18),
        ("subject", "Subject", 50),
        ("age", "Age", 5),
    )

    def show_mail(self, mail: dict[str, Any]) -> None:
        self.show(
            [
                (
                    m["id"],
                    [
                        "•" if not m["read"] else " ",
                        m["from"] or "-",
                        m["subject"],
                        age(m["created_at"]),
                    ],
                )
                for m in mail["messages"]
            ]
        )


class MergeQueueTable(KeyedTable):
    columns_spec = (
        ("id", "Request", 11),
        ("rig", "Rig", 6),
        ("state", "State", 14),
        ("bead", "Bead", 11),
        ("batch", "Batch", 9),
        ("note", "Note", 90),
    )

    def show_queue(self, mrs: list[QueuedMergeRequest]) -> None:
        rows = []
        # what a person must act on (failures) first, not the oldest
        for m in needs_person_first(mrs):
            word, style = styled(m["state"])
            rows.append(
                (
                    m["id"],
                    [
                        m["id"],
                        m["rig"],
                        Text(word, style=style),
                        m["source_bead"],
                        m["batch"] or "-",
                        failure_gist(m["failure"], 90),
                    ],
                )
            )
        self.show(rows)


class ProblemsTable(KeyedTable):
    columns_spec = (("kind", "Problem", 12), ("id", "Id", 12), ("text", "What", 60))
    only = ""  # a header count's key (engine/views/needs_you.py): its rows alone; "" all
    _problems: list[dict[str, Any]] = []

    def show_only(self, key: str) -> None:
        """Show only the rows of one header count ("" for every problem)."""
        self.only = key
        self.show_problems(self._problems)

    def label(self) -> str:
        """The tab's label: how many problems, and which of them are shown."""
        if not self.only:
            return f"Problems ({len(self._problems)})"
        shown = sum(1 for p in self._problems if matches(p, self.only))
        return f"Problems: {WORDS[self.only]} ({shown} of {len(self._problems)})"

    def show_problems(self, problems: list[dict[str, Any]]) -> None:
        self._problems = problems
        rows = []
        for p in problems:
            if not matches(p, self.only):
                continue
            word, style = (
                styled(p["kind"])
                if p["kind"] in ("stalled", "gupp", "zombie", "failed")
                else (p["kind"], "red")
            )
            rows.append((f"{p['kind']}:{p['id']}", [Text(word, style=style), p["id"], p["text"]]))
        self.show(rows)
