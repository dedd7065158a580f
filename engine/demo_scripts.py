"""The demo convoy's beads and their `gt-script` steps, paced by `gastown --speed`.

Nine beads across both rigs, chosen so the run shows the town's machinery and not only
the happy path:

- "Add powers" carries a bug on its first attempt. It finishes while the refinery is still
  gating "Add multiplication", so it queues behind it with "Add subtraction"; their batch
  fails, the refinery bisects it (subtraction lands, powers goes back), and the retry
  fixes the bug and lands.
- "Add division" mails the mayor a question (the Mail tab).
- "Page: styles" gets stuck waiting for input on its terminal: after the stall window the
  witness nudges it (the log and the events), and the nudge gets it going again.

Speed divides every duration the scripts choose. Three stay fixed whatever the speed, as
they are ordering guarantees, not pace: the head start of multiplication over the two that
must share a batch (MIN_LEAD), the gate's floor that keeps the refinery busy until both
are queued (MIN_GATE), and how long the stuck polecat waits at most for its nudge.
"""

from __future__ import annotations

import math
from typing import NamedTuple

DEFAULT_SPEED = 1.0
MIN_SPEED = 0.25
MAX_SPEED = 10.0
# At speed 1, seconds: a log line's pause, and the gate (a real suite takes a while, so a
# person sees the merge queue fill behind it).
LINE_PAUSE = 0.3
GATE_SECONDS = 6.0
# Whatever the speed, seconds (see the module's docstring).
MIN_LEAD = 1.5
MIN_GATE = 3.0
STALL_SECONDS = 6.0  # the demo town's witness stall window (town.toml, written by demo.py)
# The stuck polecat goes on by itself after this long if no nudge came (a town made before
# the demo had a short stall window): longer than the stall window, an engine tick (5 s)
# and a queued nudge's delivery (a tick), shorter than the next rung (60 s: a restart).
STUCK_AT_MOST = 45.0


class Pace(NamedTuple):
    """How long the demo's steps take at one speed."""

    speed: float

    @property
    def scale(self) -> float:
        return 1.0 / self.speed

    @property
    def pause(self) -> float:
        return round(LINE_PAUSE * self.scale, 3)

    def lines(self, seconds: float) -> int:
        """Log lines that take `seconds` (at speed 1) at this pace."""
        return max(1, round(seconds / LINE_PAUSE))

    def log(self, seconds: float) -> str:
        return f"log {self.lines(seconds)} {self.pause}"

    @property
    def lead(self) -> float:
        """How much longer the batch partners work than multiplication, in seconds now."""
        return max(4.0 * self.scale, MIN_LEAD)

    @property
    def gate_seconds(self) -> float:
        """How long each gate run takes now: always longer than the lead, with room for a
        late start, so both partners are queued before the refinery takes its next batch."""
        return max(GATE_SECONDS * self.scale, MIN_GATE, self.lead + MIN_LEAD)


def check_speed(speed: float) -> float:
    """`speed` if the demo can run at it; else a ValueError saying the range, one line."""
    if not (math.isfinite(speed) and MIN_SPEED <= speed <= MAX_SPEED):
        raise ValueError(
            f"{speed:g} is not a demo speed: give one from {MIN_SPEED:g} (slowest) "
            f"to {MAX_SPEED:g} (fastest); {DEFAULT_SPEED:g} is the default"
        )
    return speed


def _script(*steps: str) -> str:
    return "```gt-script\n" + "\n".join(steps) + "\n```\n"


def demo_plan(run: int = 1, speed: float = DEFAULT_SPEED) -> list[dict[str, object]]:
    """Nine beads across both rigs; `needs` form a DAG with five roots.

    Every file a bead writes carries the run's number, so a second (third, tenth) demo
    convoy on the same town changes what the first landed instead of writing the same
    bytes again: each bead's commit is a real change, and its gate still passes.
    """
    pace = Pace(check_speed(speed))
    tag = f"demo run {run}"
    mul_seconds = 10.0
    # the batch partners finish `lead` seconds after multiplication, at any speed
    partner = mul_seconds + pace.lead * speed
    return [
        {
            "key": "sub",
            "title": "Add subtraction",
            "rig": "calc",
            "priority": 1,
            "body": _script(
                "# finishes while the refinery gates multiplication: it shares the next",
                "# batch with powers, and lands when the refinery bisects that batch",
                pace.log(partner),
                f"write sub.py 'def sub(a, b): return a - b  # {tag}'",
                f"write check_sub.py 'import sub; assert sub.sub(5, 3) == 2  # {tag}'",
                f"commit 'calc: subtraction ({tag})'",
            ),
        },
        {
            "key": "mul",
            "title": "Add multiplication",
            "rig": "calc",
            "priority": 1,
            "body": _script(
                pace.log(mul_seconds),
                f"write mul.py 'def mul(a, b): return a * b  # {tag}'",
                f"write check_mul.py 'import mul; assert mul.mul(4, 3) == 12  # {tag}'",
                f"commit 'calc: multiplication ({tag})'",
            ),
        },
        {
            "key": "pow",
            "title": "Add powers",
            "rig": "calc",
            "body": _script(
                pace.log(partner),
                "# the first attempt has a bug (a * b): the gate catches it, the refinery",
                "# bisects it out of its batch and sends it back",
                f"write power.py 'def power(a, b): return a * b  # {tag}'",
                f"write check_power.py 'import power; assert power.power(2, 3) == 8  # {tag}'",
                "# sent back, the next attempt fixes it",
                'run sh -c \'if [ "$GT_ATTEMPT" -gt 1 ]; then echo '
                f'"def power(a, b): return a ** b  # {tag}" > power.py; fi\'',
                f"commit 'calc: powers ({tag})'",
            ),
        },
        {
            "key": "div",
            "title": "Add division",
            "rig": "calc",
            "needs": ["mul"],
            "body": _script(
                pace.log(4),
                "# a question for the mayor (the Mail tab); it goes on meanwhile",
                "run gt mail send mayor 'Division by zero: raise, or return inf?' --body "
                "'I am making div(a, 0) raise ZeroDivisionError, as Python does. "
                "Reply if the page should show inf instead.'",
                pace.log(6),
                f"write div.py 'def div(a, b): return a / b  # {tag}'",
                f"write check_div.py 'import div; assert div.div(8, 2) == 4  # {tag}'",
                f"commit 'calc: division ({tag})'",
            ),
        },
        {
            "key": "form",
            "title": "Page: input form",
            "rig": "web",
            "priority": 1,
            "body": _script(
                pace.log(12),
                f"append index.html '<form id=calc></form> <!-- {tag} -->'",
                f"commit 'web: form ({tag})'",
            ),
        },
        {
            "key": "wire",
            "title": "Page: wire the buttons",
            "rig": "web",
            "needs": ["form", "sub", "mul"],
            "body": _script(
                pace.log(10),
                f"append index.html '<button>-</button><button>*</button> <!-- {tag} -->'",
                f"commit 'web: buttons ({tag})'",
            ),
        },
        {
            "key": "docs",
            "title": "Document the operations",
            "rig": "calc",
            "needs": ["sub", "div", "pow"],
            "body": _script(
                pace.log(8),
                f"append README.md 'Supports + - * / ** ({tag})'",
                f"commit 'calc: docs ({tag})'",
            ),
        },
        {
            "key": "style",
            "title": "Page: styles",
            "rig": "web",
            "priority": 3,
            "body": _script(
                pace.log(6),
                "# stuck: it waits on its terminal for input that only the witness's nudge",
                "# brings (after the stall window); the nudge's Enter gets it going again",
                f"run python3 -c 'import select, sys; "
                f"select.select([sys.stdin], [], [], {STUCK_AT_MOST:g})'",
                pace.log(6),
                f"write style.css 'h1 {{ color: teal; }} /* {tag} */'",
                f"commit 'web: styles ({tag})'",
            ),
        },
        {
            "key": "ship",
            "title": "Release notes",
            "rig": "web",
            "needs": ["wire", "docs"],
            "body": _script(
                pace.log(6),
                f"write RELEASE.md 'calc 1.0: + - * / ** on the web ({tag})'",
                f"commit 'web: release notes ({tag})'",
            ),
        },
    ]
