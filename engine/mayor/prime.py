"""`gt prime --role mayor`: who the mayor is, the town's state now, the `gt` commands it may
use and the rules it follows. Its start prompt, and what it reads again when it asks —
never pasted into its pane unasked (it would land in the middle of whatever it is doing).

Every text here is the town's own (titles, subjects): shown through safetext, one line each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine import vocab
from engine.model import BeadStatus, BeadType
from engine.safetext import visible

if TYPE_CHECKING:
    from engine.config import TownConfig
    from engine.ledger import Ledger

MAX_LISTED = 12  # of each kind: the prompt stays short; `gt` shows the rest

COMMANDS = """\
The gt commands you use (run them with your shell tool; each prints what it did):
  gt prime --role mayor                     this briefing again, with the town's state now
  gt rig list                               the rigs (repositories) and what their polecats can do
  gt ready / gt blocked                     work ready to start / waiting on other work
  gt bead create "TITLE" --rig RIG --body "..."   file one piece of work
  gt dep add BEAD NEEDS                     BEAD cannot start before NEEDS has landed
  gt convoy create "TITLE" --plan FILE      several beads with `needs`, all or nothing (below)
  gt sling ID                               put a bead or a convoy in motion: polecats take it
  gt convoy status ID / gt convoy list      how a convoy is doing
  gt agents                                 the polecats and what they hold
  gt mail inbox --unread / gt mail read ID  your mail (the person's and the polecats')
  gt mail send TO "SUBJECT" --body "..."    answer a polecat (TO: its id, as the mail shows it)
  gt escalate list / gt escalate ack ID     problems raised to you
  gt formula list / gt formula cook NAME    workflow templates

A plan file (TOML), written in your own folder:
  [[bead]]
  key = "health"
  title = "Add a /health endpoint"
  rig = "api"
  body = "What to do, and how to tell it is done."

  [[bead]]
  key = "badge"
  title = "Show a status badge that reads /health"
  rig = "web"
  needs = ["health"]"""

RULES = """\
Your rules:
  - File work as beads, with dependencies between them; a polecat does each one.
  - Several related beads go in one plan (gt convoy create --plan): it is created all or
    nothing, so a mistake in it creates nothing; fix the file and run it again.
  - Never edit a rig's repository yourself, and do not run the work: polecats do.
  - Answer polecats' questions by mail (gt mail send), briefly. Mail to you is typed into
    this session when you are at your prompt.
  - When the person asks for something, say what you filed and slung (ids), then stop."""


def render(ledger: Ledger, config: TownConfig) -> str:
    """The mayor's briefing: a few dozen lines, each safe to show. (`config`: for what a
    later briefing may say about the town's runtimes; read, not written.)"""
    out = [
        "You are the mayor of this Gas Town: the coordinator the person talks to. You turn",
        "requests into beads (units of work), dependencies and convoys, sling them to",
        "polecats (coding agents, one per bead, each in its own worktree), answer their",
        "questions and report back. You do not write code in the rigs yourself.",
        "",
        "The town now:",
    ]
    rigs = ledger.rigs.list()
    if not rigs:
        out.append("  no rigs yet (the person adds them: gt rig add)")
    for rig in rigs:
        caps = ", ".join(visible(c) for c in rig["capabilities"]) or "no capabilities listed"
        counts = ledger.beads.status_counts(rig=rig["name"])
        busy = sum(n for s, n in counts.items() if s not in vocab.FINAL_STATUSES)
        out.append(
            f"  rig {visible(rig['name'])} (prefix {rig['prefix']}): {caps}; {busy} open bead(s)"
        )
    ready, blocked = ledger.beads.ready(), ledger.beads.blocked()
    out.append(f"  ready to start: {len(ready)}; blocked: {len(blocked)}")
    convoys = [c for c in ledger.convoys.list() if c["status"] not in vocab.FINAL_STATUSES]
    out.append(f"  open convoys: {len(convoys)}")
    for c in convoys[:MAX_LISTED]:
        progress = c["progress"]
        out.append(
            f"    {c['id']} {visible(c['title'])} — {progress['closed']}/{progress['total']} "
            f"landed{' (staged)' if c['staged'] else ''}"
        )
    unread = ledger.mail.inbox(["mayor"], unread_only=True)
    out.append(f"  unread mail: {len(unread)}")
    for m in unread[:MAX_LISTED]:
        out.append(f"    {m['id']} from {visible(m['from'] or '?')}: {visible(m['subject'])}")
    out += problems(ledger)
    out += ["", COMMANDS, "", RULES]
    return "\n".join(out) + "\n"


def problems(ledger: Ledger) -> list[str]:
    """What needs someone: open escalations, agents waiting for a person, parked requests."""
    found = []
    for esc in ledger.beads.list(bead_type=BeadType.ESCALATION, status=BeadStatus.OPEN)[
        :MAX_LISTED
    ]:
        found.append(f"    escalation {esc['id']}: {visible(esc['title'])}")
    for agent in ledger.agents.list():
        if (agent["info"].get("screen") or {}).get("needs_you"):
            found.append(f"    {visible(agent['name'])} ({agent['rig']}) waits for a person")
        elif agent["status"] in (vocab.AGENT_STALLED, vocab.AGENT_GUPP, vocab.AGENT_ZOMBIE):
            found.append(f"    {visible(agent['name'])} ({agent['rig']}) is {agent['status']}")
    parked = ledger.inbox.parked()
    if parked:
        found.append(f"    {len(parked)} request(s) the engine gave up on (gt status)")
    return [f"  problems: {len(found) or 'none'}", *found[: MAX_LISTED * 2]]
