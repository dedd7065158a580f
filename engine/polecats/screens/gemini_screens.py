"""Gemini CLI's screens, checked against gemini 0.61.0 (tests/screens/fixtures)."""

from engine.polecats.screens.reading import ENTER, Rule, ScreenRules
from engine.polecats.screens.reading import ScreenState as S

RULES = ScreenRules(
    runtime="gemini",
    version="0.61.0",
    rules=(
        # Without GEMINI_CLI_TRUST_WORKSPACE (or a trusted-folders entry): "1. Trust folder"
        # is preselected. Without trust it also switches YOLO off. Once answered it restarts
        # under the old box, which stays on the screen: only a box at the bottom counts.
        Rule(S.DIALOG, "workspace-trust", r"Do you trust the files in this folder\?",
             keys=(ENTER,), tail=13),
        # A 429 with a usage-window answer: a box "Usage limit reached for <model>. Access
        # resets at 3:29 AM UTC." offering "1. Keep trying / 2. Stop" (left to the scheduler).
        Rule(S.RATE_LIMITED, "usage-limit",
             r"Usage limit reached for .*(?:\n.*Access resets at (?P<reset>[^.│]+))?", tail=14),
        # Its model kept failing (a 500) until its attempts ran out: with the town's settings
        # (engine/polecats/agent_homes.py GEMINI_GIVE_UP) a box "We are currently experiencing
        # high demand." offering "1. Keep trying / 2. Stop"; by default it never gives up.
        Rule(S.CRASHED, "gave-up",
             r"We are currently experiencing high demand\.\s*│?\n(?:.*\n)*?.*1\. Keep trying",
             tail=14),
        # A tool waits for approval (no --yolo): never answered blindly.
        Rule(S.NEEDS_YOU, "approval", r"Allow execution of \[", tail=10),
        # Also while it retries its model's errors with back-off.
        Rule(S.WORKING, "busy", r"\(esc to cancel, \d+[hms\d ]*\)", tail=8),
        Rule(S.IDLE, "prompt", r"Type your message or @path/to/file", tail=6),
    ),
)  # fmt: skip
