"""The command palette: every registered action of the main screen, searchable by name."""

from __future__ import annotations

from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from gastown_tui.action_registry import REGISTRY, AppAction, does, key_for

# What the palette offers, as (action, description): the registry's actions, all of them
ACTIONS = tuple((a.action, a.description) for a in REGISTRY)


class GasTownCommands(Provider):
    def help_for(self, action: AppAction) -> str:
        """The second line: what the action does, where it applies and the key that runs it
        (remapped or not)."""
        # GasTownApp keeps the [keys] remaps it applied (this module cannot import it: the
        # app imports the palette)
        keymap: dict[str, str] = getattr(self.app, "keymap", {})
        key = self.app.get_key_display(Binding(key_for(action, keymap), action.action, ""))
        return f"{does(action)} · {action.where} · key {key}"

    async def discover(self) -> Hits:
        for action in REGISTRY:
            yield DiscoveryHit(
                action.description,
                partial(self.app.run_action, action.action),
                help=self.help_for(action),
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in REGISTRY:
            score = matcher.match(action.description)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(action.description),
                    partial(self.app.run_action, action.action),
                    help=self.help_for(action),
                )
