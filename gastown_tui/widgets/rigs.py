"""Rigs → polecats, witness and refinery, each with a health dot, hook and runtime."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Tree

from gastown_tui.theme import glyph, styled


class RigsTree(Tree[dict[str, Any]]):
    BORDER_TITLE = "Rigs"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("Town", **kwargs)
        self.show_root = False
        self._signature: object = None

    def update_rigs(self, rigs: list[dict[str, Any]]) -> None:
        signature = repr(rigs)
        if signature == self._signature:
            return  # nothing changed: keep the cursor and the expansion as they are
        self._signature = signature
        selected = self.cursor_node.data if self.cursor_node else None
        self.clear()
        cursor_line = 0
        for rig in rigs:
            counts = rig["counts"]
            label = Text.assemble(
                (rig["name"], "bold"),
                f"  {rig['working']}/{rig['capacity']} working  ",
                (f"{counts.get('open', 0)} open ", "green"),
                (f"{counts.get('in_review', 0)} review ", "cyan"),
                (f"{counts.get('closed', 0)} ✓", "dim"),
            )
            node = self.root.add(label, data={"kind": "rig", **rig}, expand=True)
            for p in rig["polecats"]:
                word, style = styled(p["status"])
                line = Text.assemble(
                    (glyph(p["status"]) + " ", style),
                    (p["name"], "bold"),
                    f" {word.split(' ', 1)[1]}",
                    (f"  {p['hook'] or '-'}", "cyan"),
                    (f"  {p['runtime'] or ''}", "dim"),
                )
                leaf = node.add_leaf(line, data={"kind": "agent", **p, "rig": rig["name"]})
                if selected and selected.get("id") == p["id"]:
                    cursor_line = leaf.line
            w = rig["witness"]
            node.add_leaf(
                Text.assemble(
                    ("◉ ", "green" if not w["problems"] else "red"),
                    "witness",
                    (f"  {w['problems']} problems", "dim"),
                ),
                data={"kind": "witness", "rig": rig["name"]},
            )
            r = rig["refinery"]
            node.add_leaf(
                Text.assemble(
                    ("⧗ " if r["testing"] else "◉ ", "cyan"),
                    "refinery",
                    (f"  {r['queued']} queued, batch {r['batch_size']}", "dim"),
                ),
                data={"kind": "refinery", "rig": rig["name"]},
            )
        if cursor_line:
            self.move_cursor_to_line(cursor_line)

    def selected_agent(self) -> dict[str, Any] | None:
        node = self.cursor_node
        if node and node.data and node.data.get("kind") == "agent":
            return node.data
        return None
