"""Rigs → polecats, witness and refinery, each with a health dot, hook and runtime; and
the deacon → its patrols, each with its last run, findings and next run."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree

from gastown_tui.theme import glyph, styled


class RigsTree(Tree[dict[str, Any]]):
    BORDER_TITLE = "Rigs"
    # enter means details here (a Tree would take it for "select"); space still folds
    BINDINGS = [Binding("enter", "app.details", "Details", id="details", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("Town", **kwargs)
        self.show_root = False
        self._signature: object = None

    def update_rigs(
        self, rigs: list[dict[str, Any]], patrols: list[dict[str, Any]] | None = None
    ) -> None:
        signature = repr((rigs, patrols))
        if signature == self._signature:
            return  # nothing changed: keep the cursor and the expansion as they are
        self._signature = signature
        selected = self.cursor_node.data if self.cursor_node else None
        want = node_key(selected) if selected else None
        # the deacon's node starts folded (its times change every run); a person who
        # opened it keeps it open across refreshes
        deacon_open = any(
            n.data and n.data.get("kind") == "deacon" and n.is_expanded for n in self.root.children
        )
        self.clear()
        # Nodes get their line numbers only when the tree is next built, so count them
        # here (the root is hidden; every rig is expanded): the cursor stays on the same
        # polecat, witness, refinery or rig however the rows above it changed.
        line, cursor_line = 0, None
        for rig in rigs:
            counts = rig["counts"]
            label = Text.assemble(
                (rig["name"], "bold"),
                f"  {rig['working']}/{rig['capacity']} working  ",
                (f"{counts.get('open', 0)} open ", "green"),
                (f"{counts.get('in_review', 0)} review ", "cyan"),
                (f"{counts.get('closed', 0)} ✓", "dim"),
            )
            kids: list[tuple[Text, dict[str, Any]]] = []
            for p in rig["polecats"]:
                word, style = styled(p["status"])
                kids.append(
                    (
                        Text.assemble(
                            (glyph(p["status"]) + " ", style),
                            (p["name"], "bold"),
                            f" {word.split(' ', 1)[1]}",
                            (f"  {p['hook'] or '-'}", "cyan"),
                            (f"  {p['runtime'] or ''}", "dim"),
                            # where it runs, in a town shared by hosts
                            (f" @{p['host']}" if p.get("host") else "", "dim"),
                        ),
                        {"kind": "agent", **p, "rig": rig["name"]},
                    )
                )
            w = rig["witness"]
            kids.append(
                (
                    Text.assemble(
                        ("◉ ", "green" if not w["problems"] else "red"),
                        "witness",
                        (f"  {w['problems']} problems", "dim"),
                    ),
                    {"kind": "witness", "rig": rig["name"]},
                )
            )
            r = rig["refinery"]
            kids.append(
                (
                    Text.assemble(
                        ("⧗ " if r["testing"] else "◉ ", "cyan"),
                        "refinery",
                        (f"  {r['queued']} queued, batch {r['batch_size']}", "dim"),
                    ),
                    {"kind": "refinery", "rig": rig["name"]},
                )
            )
            data = {"kind": "rig", **rig}
            node = self.root.add(label, data=data, expand=True)
            if want is not None and node_key(data) == want:
                cursor_line = line
            line += 1
            for text, data in kids:
                node.add_leaf(text, data=data)
                if want is not None and node_key(data) == want:
                    cursor_line = line
                line += 1
        if patrols:
            data = {"kind": "deacon", "name": "deacon", "patrols": patrols}
            node = self.root.add(deacon_label(patrols), data=data, expand=deacon_open)
            if want is not None and node_key(data) == want:
                cursor_line = line
            line += 1
            for p in patrols:
                leaf = {"kind": "patrol", "name": p["name"], "patrols": patrols}
                node.add_leaf(patrol_label(p), data=leaf)
                if deacon_open and want is not None and node_key(leaf) == want:
                    cursor_line = line
                line += 1 if deacon_open else 0
        if cursor_line is None and self.cursor_line < 0 and line:
            # a Tree has no cursor until a key moves it: show one from the start, so the
            # pane shows where its keys will act (the first rig)
            cursor_line = 0
        if cursor_line is not None and cursor_line != self.cursor_line:
            self.move_cursor_to_line(cursor_line)

    def selected_agent(self) -> dict[str, Any] | None:
        node = self.cursor_node
        if node and node.data and node.data.get("kind") == "agent":
            return node.data
        return None


def node_key(data: dict[str, Any]) -> tuple[str, str]:
    """What a row stands for, whatever its label says now."""
    kind = data.get("kind", "")
    return (kind, data["id"] if kind == "agent" else data.get("rig") or data.get("name", ""))


def deacon_label(patrols: list[dict[str, Any]]) -> Text:
    """The deacon's node: how many patrols, what their last runs found, any failing."""
    found = sum(p["found"] for p in patrols)
    failing = sum(1 for p in patrols if p["error"])
    return Text.assemble(
        ("◉ ", "red" if failing else "yellow" if found else "green"),
        ("deacon", "bold"),
        (f"  {len(patrols)} patrols, {found} found", "dim"),
        (f", {failing} failing" if failing else "", "red"),
    )


def patrol_label(p: dict[str, Any]) -> Text:
    """One patrol: its last run, what it found then, its next run (local clock times)."""
    dot = ("✗ ", "red") if p["error"] else ("● ", "yellow" if p["found"] else "green")
    when = f"last {clock(p['last_run'])}" if p["last_run"] else "not run yet"
    nxt = f" · next {clock(p['next_run'])}" if p["next_run"] else ""
    return Text.assemble(dot, p["title"], (f"  {p['found']} found · {when}{nxt}", "dim"))


def clock(at: str) -> str:
    from engine.timeutil import parse_iso

    return time.strftime("%H:%M:%S", time.localtime(parse_iso(at)))


def patrols_text(patrols: list[dict[str, Any]]) -> Text:
    """The deacon's detail: each patrol's runs and the findings its last run kept (plain
    Text, never markup: a finding may name a bead's title)."""
    from engine.safetext import visible

    out = Text()
    for p in patrols:
        out.append_text(patrol_label(p))
        out.append(f"  (every {p['interval']:g} s)\n", "dim")
        if p["error"]:
            out.append(f"    failed: {visible(p['error'])}\n", "red")
        for f in p["findings"]:
            out.append(f"    {'! ' if f['problem'] else ''}{visible(f['text'])}\n")
    return out
