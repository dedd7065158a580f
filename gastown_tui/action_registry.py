"""The app's action registry: every key action of the main screen, written once.

The key bindings, the footer, the help screen and the command palette are all built from
this one table, so none of them can list an action the others lack. A person remaps a key
in town.toml by the action's id (`[keys] sling = "S"`), which is also the binding's id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class AppAction:
    """One thing a person can do from the main screen."""

    id: str  # the binding id: what `[keys]` in town.toml remaps
    key: str  # the default key
    label: str  # short, for the footer and the help screen
    description: str  # a sentence, for the command palette
    where: str  # what it acts on, so the palette can say where to look first
    action: str  # the Textual action it runs: `sling` runs the app's `action_sling`
    footer: bool = False  # shown in the footer (the rest are in help and the palette)


REGISTRY: tuple[AppAction, ...] = (
    AppAction(
        "sling",
        "s",
        "Sling",
        "Sling work: a new bead, or pick ready beads",
        "anywhere",
        "sling",
        footer=True,
    ),
    AppAction(
        "convoy",
        "c",
        "Convoy",
        "Create a convoy (plan file or beads)",
        "the selected bead",
        "convoy",
        footer=True,
    ),
    AppAction(
        "launch_convoy",
        "L",
        "Launch",
        "Launch the shown (staged) convoy",
        "the shown convoy",
        "launch_convoy",
    ),
    AppAction(
        "cancel_convoy",
        "X",
        "Cancel convoy",
        "Cancel the shown convoy",
        "the shown convoy",
        "cancel_convoy",
    ),
    AppAction("compose", "m", "Mail", "Compose mail", "anywhere", "compose", footer=True),
    AppAction("reply", "r", "Reply", "Reply to the selected mail", "the Mail tab", "reply"),
    AppAction(
        "nudge",
        "n",
        "Nudge",
        "Nudge the selected polecat",
        "the selected polecat",
        "nudge",
        footer=True,
    ),
    AppAction(
        "attach",
        "a",
        "Attach",
        "Attach to the selected polecat's tmux pane",
        "the selected polecat",
        "attach",
        footer=True,
    ),
    AppAction(
        "peek",
        "p",
        "Peek",
        "Peek at the selected polecat's output",
        "the selected polecat",
        "peek",
    ),
    AppAction(
        "details",
        "enter",
        "Details",
        "Details of the selection",
        "the focused table or tree",
        "details",
    ),
    AppAction(
        "retry_mr",
        "t",
        "Retry MR",
        "Retry the selected merge request",
        "the Merge queue tab",
        "retry_mr",
    ),
    AppAction(
        "reject_mr",
        "j",
        "Reject MR",
        "Reject the selected merge request",
        "the Merge queue tab",
        "reject_mr",
    ),
    AppAction(
        "cycle_filter",
        "f",
        "Filter",
        "Filter beads: all / ready / blocked / in progress / in review",
        "the bead table",
        "cycle_filter",
        footer=True,
    ),
    AppAction(
        "cycle_sort",
        "o",
        "Sort",
        "Sort beads: priority / age / status / rig",
        "the bead table",
        "cycle_sort",
    ),
    AppAction("search", "/", "Search", "Search beads", "the bead table", "search", footer=True),
    AppAction(
        "tile_logs",
        "v",
        "Tile logs",
        "Tile the logs of all working polecats",
        "the live log",
        "tile_logs",
    ),
    AppAction(
        "next_convoy",
        "]",
        "Next convoy",
        "Show the next convoy",
        "the convoy graph",
        "next_convoy",
    ),
    AppAction(
        "prev_convoy",
        "[",
        "Prev convoy",
        "Show the previous convoy",
        "the convoy graph",
        "prev_convoy",
    ),
    AppAction(
        "costs",
        "dollar_sign",
        "Costs",
        "Token usage and cost per bead, agent, convoy, rig or runtime; budgets",
        "anywhere",
        "costs",
    ),
    AppAction("help", "question_mark", "Help", "Keys and help", "anywhere", "help", footer=True),
    AppAction("quit", "q", "Quit", "Quit", "anywhere", "quit", footer=True),
)


def bindings() -> list[BindingType]:
    """The main screen's key bindings, one per registered action, in the registry's order."""
    return [Binding(a.key, a.action, a.label, show=a.footer, id=a.id) for a in REGISTRY]


def key_for(action: AppAction, keymap: dict[str, str]) -> str:
    """The key that runs an action now: its `[keys]` remap, else its default."""
    return keymap.get(action.id, action.key)


def help_rows(
    keymap: dict[str, str], key_display: Callable[[Binding], str]
) -> list[tuple[str, str, str]]:
    """(key as shown, label, id) for each action: what the help screen lists."""
    return [
        (key_display(Binding(key_for(a, keymap), a.action, a.label, id=a.id)), a.label, a.id)
        for a in REGISTRY
    ]
