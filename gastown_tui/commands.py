"""The command palette: every key action of the main screen, searchable by name."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = (
    ("sling", "Sling work: a new bead, or pick ready beads"),
    ("convoy", "Create a convoy (plan file or beads)"),
    ("launch_convoy", "Launch the shown (staged) convoy"),
    ("cancel_convoy", "Cancel the shown convoy"),
    ("compose", "Compose mail"),
    ("reply", "Reply to the selected mail"),
    ("nudge", "Nudge the selected polecat"),
    ("attach", "Attach to the selected polecat's tmux pane"),
    ("peek", "Peek at the selected polecat's output"),
    ("details", "Details of the selection"),
    ("retry_mr", "Retry the selected merge request"),
    ("reject_mr", "Reject the selected merge request"),
    ("cycle_filter", "Filter beads: all / ready / blocked / in progress / in review"),
    ("cycle_sort", "Sort beads: priority / age / status / rig"),
    ("search", "Search beads"),
    ("tile_logs", "Tile the logs of all working polecats"),
    ("next_convoy", "Show the next convoy"),
    ("help", "Keys and help"),
    ("quit", "Quit"),
)


class GasTownCommands(Provider):
    async def discover(self) -> Hits:
        for action, text in ACTIONS:
            yield DiscoveryHit(text, partial(self.app.run_action, action), help=action)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action, text in ACTIONS:
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(self.app.run_action, action),
                    help=action,
                )
