"""The costs screen: token usage (and dollars, where town.toml has prices) summed per bead,
agent, convoy, rig or runtime, with the budgets — the same report as `gt costs`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from engine.commands.costs import CostLine, CostsReport
from engine.safetext import clip
from engine.safetext import visible as v
from gastown_tui.theme import CELL_MAX

GROUPS = ("bead", "agent", "convoy", "rig", "runtime", "model")
COLUMNS = ("input", "output", "cache read", "cache write", "tokens", "$")


def _cells(label: str, line: CostLine) -> tuple[str, ...]:
    # a key can be a model name a CLI wrote: shown with its control characters visible
    return (clip(v(label), CELL_MAX), *line.figures())


def budget_text(report: CostsReport) -> str:
    lines = []
    for b in report.budgets:
        lines.append(b.describe(v(b.scope)))
    if report.total.unpriced:
        lines.append(f"no price for {v(', '.join(report.total.unpriced))}: not in the dollars")
    return "\n".join(lines) or "no budgets set (town.toml [budget])"


class CostsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,q", "dismiss", "Back", id="costs.back"),
        Binding("b", "cycle_group", "Sum by", id="costs.by"),
    ]

    def __init__(self, load: Callable[[str], Awaitable[CostsReport]], by: str = "bead") -> None:
        super().__init__()
        self.load = load
        self.by = by

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="costs-table", zebra_stripes=True, cursor_type="row")
        yield Static(id="costs-budgets", classes="detail")
        yield Footer()

    async def on_mount(self) -> None:
        await self.show()

    async def action_cycle_group(self) -> None:
        self.by = GROUPS[(GROUPS.index(self.by) + 1) % len(GROUPS)]
        await self.show()

    async def show(self) -> None:
        report = await self.load(self.by)
        self.sub_title = f"token usage by {self.by}"
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_columns(self.by, *COLUMNS)
        for line in report.lines:
            table.add_row(*_cells(line.key or "(none)", line))
        table.add_row(*_cells("TOTAL", report.total), key="total")
        # Text, not markup: "[budget]" and a quoted key must show as they are
        self.query_one("#costs-budgets", Static).update(Text(budget_text(report)))
