"""Moving between the main screen's panes, and opening what the header counts.

Five panes, a digit each (1 Rigs, 2 Convoy, 3 Beads, 4 Live log, 5 Mail / Merge queue /
Problems). A digit focuses its pane; on a small terminal (under 110×30, where five panes
cannot all be usable) it also gives that pane the whole screen, since a 3-row DAG or a
4-row table is not usable. `z` gives the focused pane the whole screen at any size, or
brings the others back; so does Escape (Textual's own "minimize").
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import TabbedContent

from gastown_tui.refresh import TownView
from gastown_tui.widgets.panels import ProblemsTable
from gastown_tui.widgets.town_header import TownHeader

# pane number -> the widget that takes the focus, and the one that takes the screen
PANES: dict[str, tuple[str, str]] = {
    "1": ("#rigs", "#rigs"),
    "2": ("#dag", "#dag"),
    "3": ("#beads", "#beads"),
    "4": ("#logs", "#logs"),
    "5": ("#bottom", "#bottom"),
}
PANE_NAMES = {"1": "Rigs", "2": "Convoy", "3": "Beads", "4": "Live log", "5": "Mail/MQ/Problems"}


class PaneActions(TownView):
    def small(self) -> bool:
        return self.screen.has_class("narrow") or self.screen.has_class("short")

    def pane_of(self, widget: Widget | None) -> Widget | None:
        """The pane (a direct part of the layout, as in PANES) a widget sits in."""
        panes = [self.query_one(big) for _, big in PANES.values()]
        node = widget
        while node is not None:
            if node in panes:
                return node
            node = node.parent if isinstance(node.parent, Widget) else None
        return None

    def action_pane(self, number: str) -> None:
        focus_id, big_id = PANES[number]
        big = self.query_one(big_id)
        if focus_id == "#bottom":
            # the table of the tab shown takes the keys
            tabs = self.query_one("#bottom", TabbedContent)
            target = tabs.active_pane.query_one("DataTable") if tabs.active_pane else big
        else:
            target = self.query_one(focus_id)
        if self.small() or self.screen.maximized is not None:
            self.screen.minimize()
            self.maximize(big)
        focus_into(target)

    # one action per pane (the registry names actions, not calls)
    def action_pane_rigs(self) -> None:
        self.action_pane("1")

    def action_pane_convoy(self) -> None:
        self.action_pane("2")

    def action_pane_beads(self) -> None:
        self.action_pane("3")

    def action_pane_log(self) -> None:
        self.action_pane("4")

    def action_pane_bottom(self) -> None:
        self.action_pane("5")

    def action_zoom(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        pane = self.pane_of(self.focused)
        if pane is not None:
            self.maximize(pane)

    def maximize(self, pane: Widget) -> None:
        # Set, not Screen.maximize(): that refuses a pane that cannot take the focus itself
        # (the log pane, the tabs), and would maximize the table inside the tabs instead
        # of the tabs. The log pane, hidden on narrow screens, shows when maximized
        # (styles/app.tcss).
        self.screen.maximized = pane

    def action_show_needs(self, key: str = "") -> None:
        """Open a header count's list: the Problems tab, filtered to it. `!` with no key
        steps through the counts shown, then back to every problem."""
        problems = self.query_one("#problems", ProblemsTable)
        if key == "":
            active = self.query_one("#town-header", TownHeader).active()
            if problems.only in active:
                at = active.index(problems.only) + 1
                key = active[at] if at < len(active) else ""
            else:
                key = active[0] if active else ""
        problems.show_only(key)
        self.query_one("#bottom", TabbedContent).active = "tab-problems"
        tab = self.query_one("#bottom", TabbedContent).get_tab("tab-problems")
        tab.label = problems.label()
        if self.small() or self.screen.maximized is not None:
            self.screen.minimize()
            self.maximize(self.query_one("#bottom"))
        problems.focus()


def focus_into(widget: Widget) -> None:
    """Focus the widget, or (a container: the log pane) the first part of it that takes
    the focus and is shown."""
    if widget.focusable:
        widget.focus()
        return
    for part in widget.query("*"):
        if part.focusable and part.display:
            part.focus()
            return
