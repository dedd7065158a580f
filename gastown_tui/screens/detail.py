"""Detail screens: a bead (body, dependencies both ways, timeline, sessions, merge request),
an agent (its beads, session, recent output), a rig (beads, agents, queue, gates)."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from engine.safetext import clip
from engine.safetext import visible as v
from gastown_tui.theme import CELL_MAX, ansi, bead_state, styled


class DetailScreen(Screen[None]):
    # dismiss, not pop_screen: the worker that pushed this screen waits for it to close
    BINDINGS = [Binding("escape,q", "dismiss", "Back", id="detail.back")]

    def __init__(self, title: str, body: Text, *, tail: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.tail = tail  # open at the end (a pane's output), not the top

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="detail"):
            yield Static(self.body)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = v(self.title_text)
        if self.tail:
            # after the first layout: before it, the scroll has no height to go to the end of
            scroll = self.query_one(VerticalScroll)
            self.call_after_refresh(scroll.scroll_end, animate=False, immediate=True)


def section(text: Text, title: str) -> None:
    text.append(f"\n{title}\n", style="bold underline")


def forecast_lines(t: Text, predicted: list[dict[str, Any]]) -> None:
    """The conflict forecast's warnings: which branch this one is expected to collide
    with (another bead's, or the target's) and in which files."""
    for p in predicted:
        other = f"bead {v(p['other'])}" if p["other"] else "the target branch"
        files = v(", ".join(p["files"][:8]) + (" …" if len(p["files"]) > 8 else ""))
        t.append(f"⚠ conflict forecast: collides with {other} in {files}\n", style="yellow")


def bead_text(b: dict[str, Any]) -> Text:
    """Everything quoted from the ledger goes through `v` (control characters visible): a
    title or body may hold escape sequences an agent wrote. The title is shown whole here."""
    word, style = styled(bead_state(b))
    t = Text()
    t.append(f"{v(b['id'])}  ", style="bold")
    t.append(v(b["title"]) + "\n", style="bold")
    t.append(f"{word}", style=style)
    t.append(
        f"   P{b['priority']}   {v(b['type'])}   rig {v(b['rig'] or 'town')}   "
        f"attempt {b['attempt']}\n"
    )
    if b["assignee"]:
        t.append(f"assignee: {v(b['assignee'])}\n")
    if b["labels"]:
        t.append(f"labels: {v(', '.join(b['labels']))}\n")
    if b["last_error"]:
        t.append(f"last error: {v(b['last_error'])}\n", style="red")
    forecast_lines(t, b.get("forecast") or [])
    section(t, "Description")
    t.append(v(b["body"] or "(none)", multiline=True) + "\n")
    if b.get("checklist"):
        section(t, f"Checklist ({v(b['checklist'][0]['formula'])})")
        for s in b["checklist"]:
            done = s["done_at"] is not None
            t.append("  ✓ done " if done else "  ☐ todo ", style="green" if done else "dim")
            who = f"  — {v(s['done_by'] or '')} attempt {s['done_attempt']}" if done else ""
            t.append(f"{v(s['step_id'])}: {v(s['title'])}{who}\n")
    for key, label in (("depends_on", "Depends on"), ("dependents", "Depended on by")):
        section(t, label)
        if not b[key]:
            t.append("  (none)\n", style="dim")
        for d in b[key]:
            w, st = styled(d["status"] or "?")
            t.append(f"  {v(d['id']):<12} {v(d['type']):<15} ")
            t.append(f"{w:<14}", style=st)
            t.append(f" {v(d['title'] or '(not in this town)')}\n")
    section(t, "Merge requests")
    if not b["merge_requests"]:
        t.append("  (none)\n", style="dim")
    for m in b["merge_requests"]:
        w, st = styled(m["state"])
        t.append(f"  {m['id']}  ")
        t.append(w, style=st)
        t.append(f"  {v(str(m['branch']))}  {v(m['failure'] or '')}\n")
    section(t, "Timeline")
    for e in b["history"]:
        data = ", ".join(f"{k}={v(str(x))}" for k, x in e["data"].items() if x not in (None, ""))
        t.append(f"  {e['at'][:19]}  ", style="dim")
        t.append(f"{e['kind']:<15}", style="cyan")
        t.append(f" {v(e['actor'] or '-'):<22} {data[:100]}\n")
    section(t, "Sessions (seance)")
    if not b["sessions"]:
        t.append("  (no sessions yet)\n", style="dim")
    for s in b["sessions"]:
        t.append(f"  {v(s['agent'])} attempt {s['attempt']} — {v(s['log'])}\n", style="bold")
        for line in s["tail"][-15:]:
            t.append(ansi("    " + line + "\n"))
    return t


def agent_text(a: dict[str, Any]) -> Text:
    word, style = styled(a["status"])
    t = Text()
    t.append(f"{v(a['name'])}  ", style="bold")
    t.append(f"{v(a['id'])}\n")
    t.append(word, style=style)
    t.append(
        f"   hook {v(a['hook'] or '-')}   attempt {a['attempt']}   runtime {v(str(a['runtime']))}\n"
    )
    t.append(f"session {v(a['session'] or '-')}   worktree {v(a['worktree'] or '-')}\n")
    t.append(f"branch {v(a['branch'] or '-')}\n")
    forecast_lines(t, a.get("forecast") or [])
    if a["info"]:
        t.append(f"witness: {v(json.dumps(a['info']))}\n", style="dim")
    section(t, "Beads worked")
    for h in a["history"]:
        t.append(f"  {v(h['bead'])} attempt {h['attempt']}\n")
    section(t, "Recent output")
    for line in a["recent"]:
        t.append(ansi("  " + line + "\n"))
    return t


def rig_text(
    rig: dict[str, Any], beads: list[dict[str, Any]], mq: list[dict[str, Any]], gates: list[str]
) -> Text:
    t = Text()
    t.append(f"Rig {v(rig['name'])}", style="bold")
    t.append(f"   beads {rig['prefix']}-…   {rig['working']}/{rig['capacity']} working\n")
    t.append(f"gates: {v('; '.join(gates) or '(none)')}\n")
    r = rig["refinery"]
    t.append(f"refinery: {r['queued']} queued, batch size {r['batch_size']}\n")
    section(t, "Agents")
    for p in rig["polecats"]:
        w, st = styled(p["status"])
        t.append(f"  {v(p['name']):<10} ")
        t.append(f"{w:<12}", style=st)
        t.append(f" {v(p['hook'] or '-')}  {v(str(p['runtime']))}\n")
    section(t, "Merge queue")
    for m in mq:
        w, st = styled(m["state"])
        t.append(f"  {m['id']:<11} ")
        t.append(f"{w:<14}", style=st)
        t.append(f" {v(str(m['source_bead']))}  {v((m['failure'] or '')[:60])}\n")
    section(t, "Beads")
    for b in beads:
        w, st = styled(bead_state(b))
        t.append(f"  {v(b['id']):<11} P{b['priority']} ")
        t.append(f"{w:<12}", style=st)
        t.append(f" {v(clip(b['title'], CELL_MAX))}\n")
    return t
