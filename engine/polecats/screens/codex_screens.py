"""Codex's screens, checked against codex 0.171.0 (tests/screens/fixtures)."""

from engine.polecats.screens.reading import ENTER, Rule, ScreenRules
from engine.polecats.screens.reading import ScreenState as S

# The composer's placeholder: shown under the transcript while it works too.
COMPOSER = r"^› Ask Codex to do anything$"

RULES = ScreenRules(
    runtime="codex",
    version="0.171.0",
    rules=(
        # Without `[projects."<dir>"] trust_level = "trusted"`; "1. Trust and continue" is
        # preselected.
        Rule(S.DIALOG, "workspace-trust", r"^\s*Trust this folder\?", keys=(ENTER,)),
        # A newer model is offered at start: keep the configured one (a town's provider may
        # not serve the new one). "2" chooses at once.
        Rule(S.DIALOG, "model-migration", r"^› 1\. Try new model\n\s*2\. Use existing model",
             keys=("2",)),
        # "• Working (3s • esc to interrupt)" (the bullet blinks): gone while model text
        # streams, so its absence alone is never idle.
        Rule(S.WORKING, "busy", r"Working \(\d+[hms\d ]* • esc to interrupt\)", tail=8),
        Rule(S.RATE_LIMITED, "usage-limit",
             r"^■ You['’]ve hit your usage limit\.(?: Try again at (?P<reset>[^.]+)\.)?", tail=6),
        Rule(S.RATE_LIMITED, "rate-limit", r"^■ .*last status: 429", tail=6),
        # Any other error it stopped on ("■ We’re currently experiencing high demand" is its
        # answer to a 500 after its retries).
        Rule(S.CRASHED, "error", r"^■ ", tail=6),
        # Idle: "Worked for 7s" after the newest message of ours (no "› " line between it
        # and the composer), or no message yet at all. A turn under a second says "Worked
        # for <1s" (a closing turn after `gt done`, the last command's answer already read).
        Rule(S.IDLE, "worked",
             r"^\s*Worked for <?\d[^\n]*\n(?:(?!› )[^\n]*\n)*" + COMPOSER),
        Rule(S.IDLE, "fresh", r"\A(?:(?!› )[^\n]*\n)*" + COMPOSER),
    ),
)  # fmt: skip
