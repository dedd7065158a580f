"""The bead table: rows keyed by bead id, updated in place, never rebuilt per change."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from engine.timeutil import age
from gastown_tui.theme import CELL_MAX, bead_state, lit, styled

# Status right after the id: at 80 columns the table still reads (title is cut, not state)
COLUMNS = (
    ("id", "ID", 10),
    ("status", "Status", 11),
    ("pri", "P", 2),
    ("title", "Title", 28),
    ("rig", "Rig", 5),
    ("agent", "Agent", 7),
    ("age", "Age", 4),
    ("blocked", "Blocked by", 20),
)
# The title takes what the other columns leave (at least TITLE_MIN); "blocked by" is as
# wide as its longest list, within BLOCKED_RANGE, so "web-f2kp, calc-h0f1" reads whole —
# but never at the title's cost below TITLE_WANT: a person reads a bead by its title.
TITLE_MIN = 16
TITLE_WANT = 24
BLOCKED_RANGE = (10, 34)
FILTERS = ("all", "ready", "blocked", "in progress", "in review")
SORTS = ("priority", "age", "status", "rig")


def row_for(b: dict[str, Any]) -> dict[str, Any]:
    """The cells of a bead's row: Text throughout, since a str cell is read as markup and
    a title like "Fix [/] parsing" would otherwise break the table; ledger text shown
    literally (control characters visible) and cut (a huge title is not one huge cell)."""
    word, style = styled(bead_state(b))
    clash = bool(b.get("forecast"))  # the conflict forecast predicts a collision
    return {
        "id": forecast_mark(lit(b["id"], cut=CELL_MAX), clash),
        "status": Text(word, style=style),
        "pri": Text(f"P{b['priority']}"),
        "title": lit(b["title"], cut=CELL_MAX),
        "rig": lit(b["rig"] or "-"),
        "agent": forecast_mark(
            lit((b["assignee"] or "-").rsplit("/", 1)[-1], cut=CELL_MAX), clash and b["assignee"]
        ),
        "age": Text(age(b["created_at"])),
        "blocked": lit(", ".join(b.get("blocked_by") or []) or "-", cut=CELL_MAX),
    }


def forecast_mark(cell: Text, on: object) -> Text:
    """A bead (and its agent) whose branch the conflict forecast expects to collide."""
    if on:
        cell.append(" ⚠", style="bold yellow")
    return cell


class BeadTable(DataTable[Any]):
    BORDER_TITLE = "Beads"
    # enter means details here (a DataTable would take it for "select")
    BINDINGS = [Binding("enter", "app.details", "Details", id="details", show=False)]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        self.sort_by = "priority"
        self._rows: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, tuple[int, str, str, str]] = {}
        self._reselect: tuple[str | None, int] | None = None
        # a bead the person just made (slung from the app): shown with the cursor on it as
        # soon as its row exists, wherever the sort puts it
        self._reveal: str | None = None

    def reveal(self, bead_id: str) -> None:
        self._reveal = bead_id
        self._show_revealed()

    def _show_revealed(self) -> None:
        if self._reveal is not None and self._reveal in self._rows:
            self.move_cursor(row=self.get_row_index(self._reveal), scroll=True)
            self._reveal = None

    def update_beads(self, beads: list[dict[str, Any]]) -> int:
        """Diff against what is shown: remove gone rows, update changed cells, add new ones.
        Returns how many cells/rows changed."""
        changes = 0
        fresh = {b["id"]: row_for(b) for b in beads}
        with self.app.batch_update():
            gone = set(self._rows) - set(fresh)
            if len(gone) > 32:
                # DataTable.remove_row costs O(rows): a filter switch removing hundreds of
                # rows one by one is quadratic. Start afresh instead, keeping the cursor on
                # the same bead when it is still shown.
                self._reselect = (self.selected_bead(), self.cursor_row)
                self.clear()
                changes += len(self._rows)
                self._rows.clear()
                self._meta.clear()
                gone = set()
            for bid in gone:
                self.remove_row(bid)
                del self._rows[bid]
                self._meta.pop(bid, None)
                changes += 1
            for bid, row in fresh.items():
                old = self._rows.get(bid)
                if old is None:
                    self.add_row(*row.values(), key=bid)
                    changes += 1
                else:
                    for col, value in row.items():
                        if str(old[col]) != str(value):
                            self.update_cell(bid, col, value)
                            changes += 1
                self._rows[bid] = row
            meta = {
                b["id"]: (b["priority"], b["created_at"], b["status"], b["rig"] or "")
                for b in beads
            }
            # a sort redraws every row: only when what rows are sorted by changed or rows
            # came (an age ticking on, a title edited, a row gone keep the order)
            resort = meta != self._meta
            self._meta = meta
            if changes:
                if resort:
                    self.apply_sort()
                self.fit_columns()
            if self._reselect is not None:
                selected, at = self._reselect
                self._reselect = None
                if selected in self._rows:
                    at = self.get_row_index(selected)
                if self.row_count:
                    self.move_cursor(row=min(at, self.row_count - 1), scroll=True)
            self._show_revealed()
        return changes

    def on_resize(self) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Lay the columns out for the width there is and the rows shown."""
        if not self.columns:
            return
        blocked = max((len(r["blocked"]) for r in self._rows.values()), default=0)
        lo, hi = BLOCKED_RANGE
        widths = {key: width for key, _, width in COLUMNS}
        widths["blocked"] = lo
        pad = 2 * self.cell_padding * len(COLUMNS)
        rest = sum(w for k, w in widths.items() if k != "title") + pad
        # the vertical scrollbar takes its columns whether shown or not, once rows overflow
        room = self.scrollable_content_region.width
        spare = max(0, room - rest - TITLE_WANT)  # what the title can give "blocked by"
        widths["blocked"] = lo + min(spare, max(0, min(hi, blocked) - lo))
        widths["title"] = max(TITLE_MIN, room - rest - (widths["blocked"] - lo))
        changed = False
        for key, width in widths.items():
            column = self.columns[ColumnKey(key)]
            if column.width != width:
                column.width, changed = width, True
        if changed:
            self._require_update_dimensions = True
            self.refresh()

    def apply_sort(self) -> None:
        """Sort by bead facts (priority, age, status, rig), not by the cells' text."""
        index = {"priority": 0, "age": 1, "status": 2, "rig": 3}[self.sort_by]
        meta = self._meta

        def key(bead_id: Any) -> Any:
            m = meta.get(str(bead_id), (9, "", "", ""))
            return (m[index], m[0], m[1])

        self.sort("id", key=key)

    def selected_bead(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return str(row_key.value) if row_key else None
