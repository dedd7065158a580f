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
        "diff",
        "d",
        "Diff",
        "Diff of the selected polecat's work or merge request against main",
        "the selected polecat, or the Merge queue tab",
        "diff",
    ),
    AppAction(
        "retry_bead",
        "R",
        "Retry bead",
        "Retry the selected failed bead",
        "the Problems tab or the bead table",
        "retry_bead",
    ),
    AppAction(
        "cancel_bead",
        "x",
        "Cancel bead",
        "Cancel the selected bead",
        "the Problems tab or the bead table",
        "cancel_bead",
    ),
    AppAction(
        "reset_breaker",
        "B",
        "Reset breaker",
        "Reset the dispatch circuit breaker",
        "the header / the Problems tab",
        "reset_breaker",
    ),
    AppAction(
        "resume_runtime",
        "u",
        "Resume runtime",
        "Resume a runtime paused by a rate or usage limit",
        "the Problems tab",
        "resume_runtime",
    ),
    AppAction(
        "ack_escalation",
        "A",
        "Ack escalation",
        "Acknowledge the selected escalation: the ladder stops raising it",
        "the Problems tab",
        "ack_escalation",
    ),
    AppAction(
        "close_escalation",
        "C",
        "Close escalation",
        "Close the selected escalation: dealt with",
        "the Problems tab",
        "close_escalation",
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
        "clear_search",
        "escape",
        "Clear search",
        "Clear the bead search",
        "the bead table",
        "clear_search",
    ),
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
    # the panes, a digit each: on a small terminal the pane also takes the whole screen
    AppAction("pane_rigs", "1", "Rigs", "Go to the Rigs pane", "anywhere", "pane_rigs"),
    AppAction("pane_convoy", "2", "Convoy", "Go to the convoy graph", "anywhere", "pane_convoy"),
    AppAction("pane_beads", "3", "Beads", "Go to the bead table", "anywhere", "pane_beads"),
    AppAction("pane_log", "4", "Live log", "Go to the live log", "anywhere", "pane_log"),
    AppAction(
        "pane_bottom",
        "5",
        "Mail/MQ/Problems",
        "Go to the Mail, Merge queue and Problems tabs",
        "anywhere",
        "pane_bottom",
    ),
    AppAction("pane_mayor", "6", "Mayor pane", "Show the mayor's pane", "anywhere", "pane_mayor"),
    AppAction(
        "mayor",
        "M",
        "Mayor",
        "Talk to the mayor (start it when not running)",
        "anywhere",
        "mayor",
    ),
    AppAction(
        "mayor_stop", "K", "Stop mayor", "Stop the mayor's session", "anywhere", "mayor_stop"
    ),
    AppAction("zoom", "z", "Zoom", "Zoom the focused pane", "the focused pane", "zoom"),
    AppAction(
        "needs_you",
        "exclamation_mark",
        "Needs you",
        "Show what needs you (the header's counts)",
        "the header",
        "show_needs",
    ),
    AppAction("help", "question_mark", "Help", "Keys and help", "anywhere", "help", footer=True),
    AppAction("quit", "q", "Quit", "Quit", "anywhere", "quit", footer=True),
)


# What each action does, in a sentence: the palette's second line (under the action's
# name) and the help screen. Keyed by the action's id; every action has one
# (tests/test_app_fixes.py checks).
DOES: dict[str, str] = {
    "sling": "Create a bead and hand it to a polecat now, or send a ready bead to work",
    "convoy": "Bundle beads (or a TOML plan) into a convoy that lands together",
    "launch_convoy": "Let a staged convoy's beads be dispatched",
    "cancel_convoy": "Cancel the convoy's beads that have not landed (asks first)",
    "compose": "Write mail to the mayor, an agent, or a rig's witness or refinery",
    "reply": "Open the selected message, to read it and reply to its sender",
    "nudge": "Type a short message into the polecat's session (it sees it at once)",
    "attach": "Take over the polecat's (on the Mayor pane: the mayor's) tmux pane; C-b d returns",
    "peek": "Show the last output of the polecat's pane, without attaching",
    "details": "Open what is selected: a bead, an agent, a rig, a mail, a merge request",
    "retry_mr": "Put a failed or conflicting merge request back in the queue",
    "reject_mr": "Reject a merge request; its bead goes back to work with your reason",
    "diff": "Files changed against the rig's main (+/-), and each file's diff in colour",
    "retry_bead": "Send a failed or cancelled bead back to work as a new attempt",
    "cancel_bead": "Cancel a bead so it is not worked again (asks first; R retries it)",
    "reset_breaker": "Close the tripped circuit breaker: dispatch resumes at once",
    "resume_runtime": "Lift a rate-limit pause: the runtime selected in Problems, or the one",
    "ack_escalation": "Say you have it: not raised again up the ladder (it stays open)",
    "close_escalation": "The selected escalation is dealt with; its cause may raise a new one",
    "cycle_filter": "Show all beads, or only the ready, blocked, in-progress or in-review ones",
    "cycle_sort": "Order the bead table by priority, age, status or rig",
    "search": "Filter the bead table as you type (id or title); Esc clears it",
    "clear_search": "Drop the search: the bead table shows every bead of the filter again",
    "tile_logs": "Show the logs of all working polecats side by side",
    "next_convoy": "Put the next convoy (open, staged or landed) in the graph pane",
    "prev_convoy": "Put the previous convoy (open, staged or landed) in the graph pane",
    "costs": "Tokens and dollars per bead, agent, convoy, rig or runtime, and the budgets",
    "pane_rigs": "Focus the Rigs pane (on a small terminal it takes the whole screen)",
    "pane_convoy": "Focus the convoy graph (on a small terminal it takes the whole screen)",
    "pane_beads": "Focus the bead table (on a small terminal it takes the whole screen)",
    "pane_log": "Show the live log (on a small terminal it takes the whole screen)",
    "pane_bottom": "Focus the Mail / Merge queue / Problems tabs (whole screen when small)",
    "pane_mayor": "The mayor's live screen on the whole screen; again: the other panes back",
    "mayor": "A line typed into the mayor's session (Enter sends it); starts it if not running",
    "mayor_stop": "End the mayor's session and everything it started (asks first; M starts it)",
    "zoom": "Give the focused pane the whole screen, or bring the other panes back (or Esc)",
    "needs_you": "Problems, filtered to the header's first count; again: the next count, then all",
    "help": "This screen: every key, and how to move around",
    "quit": "Leave the app; polecats keep working and the engine adopts them on return",
}

# How to move around: keys that are not actions of the registry (Textual's and tmux's own)
MOVING_AROUND: tuple[tuple[str, str], ...] = (
    ("tab", "Next pane (shift+tab: previous); the focused pane has a heavy, bright border"),
    ("1 … 5", "Rigs, Convoy, Beads, Live log, Mail/MQ/Problems; small terminal: full screen"),
    ("z / esc", "Zoom: the focused pane takes the whole screen; again (or esc) to come back"),
    ("header", "Click a count (breaker, paused, need you, failed, budget) for its list; or !"),
    ("tab to tabs", "In the tab row under the table: ←/→ switch Mail, Merge queue, Problems"),
    ("ctrl+p", "The command palette: every action by name, with what it does"),
    ("C-b d", "Leave an attached polecat pane (tmux detach) and come back here"),
    ("esc", "Close a dialog or a detail screen; in the search box, clear the search"),
)


def does(action: AppAction) -> str:
    """What the action does, in a sentence (its palette description when none is written)."""
    return DOES.get(action.id, action.description)


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
