"""The bead table: rows keyed by bead id, updated in place, never rebuilt per change."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from engine.timeutil import age
from gastown_tui.theme import bead_state, styled

COLUMNS = (
    ("id", "ID", 10),
    ("pri", "P", 3),
    ("title", "Title", 30),
    ("rig", "Rig", 6),
    ("status", "Status", 12),
    ("agent", "Agent", 8),
    ("age", "Age", 4),
    ("blocked", "Blocked by", 14),
)
FILTERS = ("all", "ready", "blocked", "in progress", "in review")
SORTS = ("priority", "age", "status", "rig")


def row_for(b: dict[str, Any]) -> dict[str, Any]:
    word, style = styled(bead_state(b))
    return {
        "id": b["id"],
        "pri": f"P{b['priority']}",
        "title": b["title"],
        "rig": b["rig"] or "-",
        "status": Text(word, style=style),
        "agent": (b["assignee"] or "-").rsplit("/", 1)[-1],
        "age": age(b["created_at"]),
        "blocked": ", ".join(b.get("blocked_by") or []) or "-",
    }


class BeadTable(DataTable[Any]):
    BORDER_TITLE = "Beads"

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)
        self.sort_by = "priority"
        self._rows: dict[str, dict[str, Any]] = {}
        self._meta: dict[str, tuple[int, str, str, str]] = {}

    def update_beads(self, beads: list[dict[str, Any]]) -> int:
        """Diff against what is shown: remove gone rows, update changed cells, add new ones.
        Returns how many cells/rows changed."""
        changes = 0
        fresh = {b["id"]: row_for(b) for b in beads}
        with self.app.batch_update():
            for gone in set(self._rows) - set(fresh):
                self.remove_row(gone)
                del self._rows[gone]
                self._meta.pop(gone, None)
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
            for b in beads:
                self._meta[b["id"]] = (b["priority"], b["created_at"], b["status"], b["rig"] or "")
            if changes:
                self.apply_sort()
        return changes

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
