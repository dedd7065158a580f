"""Claude Code's screens, checked against claude 2.1.197 (tests/screens/fixtures)."""

from engine.polecats.screens.reading import ENTER, Rule, ScreenRules
from engine.polecats.screens.reading import ScreenState as S

RULES = ScreenRules(
    runtime="claude",
    version="2.1.197",
    rules=(
        # Workspace trust, without `projects[<dir>].hasTrustDialogAccepted`: option 1 is
        # "Yes, I trust this folder" and is preselected.
        Rule(S.DIALOG, "workspace-trust", r"Is this a project you created or one you trust\?",
             keys=(ENTER,)),
        # --dangerously-skip-permissions without `skipDangerousModePermissionPrompt`: the
        # preselected answer is "1. No, exit"; "2" accepts at once.
        Rule(S.DIALOG, "bypass-permissions",
             r"Bypass Permissions mode[\s\S]*^\s*2\. Yes, I accept", keys=("2",)),
        # ANTHROPIC_API_KEY set: "Do you want to use this API key? 1. Yes / ❯ 2. No
        # (recommended)". The town passes the key only when the person gave it one: "1".
        Rule(S.DIALOG, "api-key", r"^\s*Do you want to use this API key\?", keys=("1",)),
        # First run with an empty home: a theme picker, then a login and a connectivity
        # check to api.anthropic.com. A person sets it up once (or the preset's
        # hasCompletedOnboarding skips it).
        Rule(S.NEEDS_YOU, "onboarding",
             r"Choose the text style that looks best with your terminal|Select login method"),
        # A tool asks for permission (no --dangerously-skip-permissions): never answered
        # blindly.
        Rule(S.NEEDS_YOU, "permission", r"^\s*Do you want to (?:proceed|make this edit|create)"),
        Rule(S.WORKING, "busy", r"esc to interrupt", tail=3),
        # The spinner line above the prompt box: "✶ Burrowing… (4s · ↓ 17 tokens)".
        Rule(S.WORKING, "spinner", r"^\S \w+… \(\d+[hms\d ]*(?:·[^)]*)?\)$", tail=8),
        Rule(S.RATE_LIMITED, "rate-limit",
             r"API Error: Request rejected \(429\)|limit reached.*?(?:resets? (?:at )?"
             r"(?P<reset>\d{1,2}(?::\d\d)?\s*[ap]m))?", tail=8),
        # Its model kept failing until its retries ran out, or it cannot reach it at all.
        Rule(S.CRASHED, "api-error", r"API Error: (?:5\d\d|Connection error)", tail=8),
        Rule(S.CRASHED, "no-connection", r"Unable to connect to Anthropic services"),
        Rule(S.CRASHED, "refused-as-root", r"cannot be used with root/sudo privileges"),
        # The prompt box between its two rules, and no "esc to interrupt" in the footer.
        Rule(S.IDLE, "prompt", r"^─{20,}\n❯.*\n─{20,}$", tail=4),
    ),
)  # fmt: skip
