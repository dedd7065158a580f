"""The ledger is storage: it owns its transactions, holds no policy and writes no words.

Outside engine/ledger/ nobody touches the connection (`with ledger.transaction():`,
`ledger.snapshot()`, `ledger.savepoint()` instead); the ledger never imports the rules of
engine/policy.py (callers decide and hand it the values); the text a person reads (a rework
bead's title and body, ...) is written by the caller's layer.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine import vocab
from engine.commands import done as done_cmd
from engine.config import TownConfig
from engine.ledger import Ledger
from engine.policy import RetryPolicy, rejection
from engine.refinery import send_back
from engine.scheduler.reconciler import Scheduler
from tests.conftest import add_rig
from tests.recording import RecordingDispatcher

ROOT = Path(__file__).resolve().parent.parent
LEDGER_DIR = ROOT / "engine" / "ledger"
CONNECTION = re.compile(r"\bledger\.db\.|\.db\.(write|read|conn|savepoint)\b|\bconn\b")


def modules_outside_the_ledger() -> list[Path]:
    found = [*(ROOT / "engine").rglob("*.py"), *(ROOT / "gastown_tui").rglob("*.py")]
    return sorted(p for p in found if LEDGER_DIR not in p.parents)


def test_no_module_outside_the_ledger_touches_its_connection() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in modules_outside_the_ledger()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if CONNECTION.search(line)
    ]
    assert len(modules_outside_the_ledger()) > 50  # the scan really sees the code
    assert offenders == []


def test_the_connection_check_catches_each_way_of_reaching_for_it() -> None:
    for line in (
        "with ledger.db.write() as tx:",
        "with self.ledger.db.read():",
        "ledger.agents.busy_counts(ledger.db.conn)",
        "with store.db.savepoint():",
        "ledger.state.put(conn, KEY, value)",
    ):
        assert CONNECTION.search(line), line
    assert not CONNECTION.search('LEDGER_FILE = "ledger.db"')


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_the_ledger_does_not_import_the_policy() -> None:
    importers = [
        p.name
        for p in sorted(LEDGER_DIR.glob("*.py"))
        if any(m == "engine.policy" or m.startswith("engine.policy.") for m in imported_modules(p))
    ]
    assert importers == []


# Words a person reads (titles, mail, close and event reasons) that the ledger still
# composes, each to move to its caller's layer. The list may only shrink.
STILL_WORDED_IN_THE_LEDGER = {
    ("beads.py", "reason"),  # the unhook event's "bead <status>"
    ("convoys.py", "subject"),  # "Convoy landed: ..." (the landing follows any bead's close)
    ("convoys.py", "body"),
    ("convoys.py", "reason"),  # "convoy <id> cancelled"
    ("convoys.py", "close_reason"),
}
WORDED = ("title", "body", "subject", "reason", "close_reason")


def worded_in(source: str) -> set[str]:
    """Each keyword argument or dict key in WORDED whose value the code builds with an
    f-string."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        pairs: list[tuple[object, ast.expr]]
        if isinstance(node, ast.Call):
            pairs = [(kw.arg, kw.value) for kw in node.keywords]
        elif isinstance(node, ast.Dict):
            pairs = [
                (k.value, v)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant)
            ]
        else:
            continue
        for key, value in pairs:
            if key in WORDED and any(isinstance(x, ast.JoinedStr) for x in ast.walk(value)):
                found.add(str(key))
    return found


def worded_in_the_ledger() -> set[tuple[str, str]]:
    """(file, keyword) of each title/body/subject/reason the ledger builds itself."""
    return {
        (path.name, key)
        for path in sorted(LEDGER_DIR.glob("*.py"))
        for key in worded_in(path.read_text(encoding="utf-8"))
    }


def test_the_wording_check_sees_titles_mail_and_reasons() -> None:
    assert worded_in('f(title=f"Merge {b}", body="plain")') == {"title"}
    assert worded_in('set_status(x, fields={"close_reason": f"landed in {c}"})') == {"close_reason"}
    assert worded_in('release(b, reason=f"gt done ({s})")') == {"reason"}
    assert worded_in('deliver(subject="hi", data={"reason": reason})') == set()


def test_the_ledger_composes_no_new_titles_mail_or_reasons() -> None:
    found = worded_in_the_ledger()
    assert found - STILL_WORDED_IN_THE_LEDGER == set()
    # gt done's, the merge queue's and a failed attempt's words are their callers'
    assert not {
        w
        for w in found
        if w[0] in ("agent_tools.py", "agents.py", "mq_send_back.py", "merge_queue.py")
    }


def test_the_rework_bead_reads_as_before(ledger: Ledger) -> None:
    title, body = send_back.rework_text("gt-1", ["a.py", "b.py"], "polecat/Toast/gt-1", "Do it")
    assert title == "Rework gt-1: merge conflict in a.py, b.py"
    assert body == (
        "Your branch polecat/Toast/gt-1 for gt-1 no longer merges onto main.\n"
        "Conflicting files: a.py, b.py\n\nYou start on a branch holding your previous "
        "work. Merge main into it, resolve the conflicts, commit, and run `gt done`.\n\nDo it"
    )


def submitted(ledger: Ledger) -> tuple[str, str]:
    """A bead whose work is in the merge queue: (bead, merge request)."""
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    Scheduler(ledger, TownConfig()).reconcile(RecordingDispatcher())
    agent = next(a for a in ledger.agents.list() if a["hook"] == bead)
    out = done_cmd.record(
        ledger,
        done_cmd.DoneRequest(agent["id"], bead, agent["attempt"], worktree=""),
        branch="polecat/x",
        commit="c" * 40,
    )
    return bead, str(out.merge_request)


def test_a_conflict_makes_the_rework_bead_the_refinery_worded(ledger: Ledger) -> None:
    bead, mr = submitted(ledger)
    rework = send_back.conflicted(
        ledger, mr, files=["a.py"], base_commit="d" * 40, branch="polecat/x"
    )
    got = ledger.beads.require(rework)
    assert (got["title"], got["body"]) == send_back.rework_text(
        bead, ["a.py"], "polecat/x", ledger.beads.require(bead)["body"]
    )
    assert got["metadata"]["rework_of"] == bead
    assert ledger.mq.require(mr)["state"] == "conflict"


def test_a_retry_decision_made_on_a_stale_count_changes_nothing(ledger: Ledger) -> None:
    from engine.errors import Conflict

    bead, mr = submitted(ledger)
    with pytest.raises(Conflict, match="failures"):
        ledger.mq.fail(
            mr,
            reason="lint",
            log=None,
            failures=3,
            retry_in=10.0,
            back_reason="the gates failed: lint",
            failed_reason="failed after 3 attempts",
            mail_subject=f"{bead} failed after 3 attempts",
        )
    assert ledger.beads.require(bead)["status"] == vocab.IN_REVIEW
    assert ledger.mq.require(mr)["state"] == "queued"


def test_a_rejection_with_its_attempts_used_up_fails_the_bead(ledger: Ledger) -> None:
    bead, mr = submitted(ledger)
    send_back.rejected(ledger, mr, reason="no", actor="mayor", retry=rejection(1))
    assert ledger.beads.require(bead)["status"] == vocab.FAILED
    assert ledger.beads.require(bead)["failures"] == 1


def test_a_gate_failure_waits_the_backoff_the_caller_decided(ledger: Ledger) -> None:
    bead, mr = submitted(ledger)
    retry = RetryPolicy(max_attempts=3, backoff_base=7, backoff_max=100)
    send_back.gates_failed(ledger, mr, reason="lint", log=None, retry=retry)
    got = ledger.beads.require(bead)
    assert got["status"] == vocab.OPEN and got["failures"] == 1
    assert retry.retry_in(1) == 7 and retry.retry_in(3) is None


def test_work_given_up_on_reads_as_before(ledger: Ledger) -> None:
    bead, mr = submitted(ledger)
    send_back.rejected(ledger, mr, reason="no", actor="mayor", retry=rejection(1))
    got = ledger.beads.require(bead)
    assert got["close_reason"] == "failed after 1 attempts"
    assert got["last_error"] == "rejected by mayor: no"
    mail = [m for m in ledger.mail.inbox([vocab.MAYOR]) if m["from"] == "refinery"]
    assert [(m["subject"], m["body"]) for m in mail] == [
        (f"{bead} failed after 1 attempts", "rejected by mayor: no")
    ]


def test_a_dispatch_given_up_on_reads_as_before(ledger: Ledger) -> None:
    add_rig(ledger, "web", "gt")
    broken = RecordingDispatcher()
    broken.fail_with = "runtime 'nope' not found"
    bead = ledger.beads.create("work", rig="web", slung=True)["id"]
    one_try = TownConfig.model_validate({"scheduler": {"max_attempts": 1}})
    Scheduler(ledger, one_try).reconcile(broken)
    got = ledger.beads.require(bead)
    assert got["status"] == vocab.FAILED
    assert got["close_reason"] == "failed after 1 attempts: runtime 'nope' not found"


def test_an_escalated_done_reads_as_before(ledger: Ledger) -> None:
    add_rig(ledger, "web", "gt")
    bead = ledger.beads.create("the work", rig="web", slung=True)["id"]
    Scheduler(ledger, TownConfig()).reconcile(RecordingDispatcher())
    agent = next(a for a in ledger.agents.list() if a["hook"] == bead)
    request = done_cmd.DoneRequest(
        agent["id"], bead, agent["attempt"], worktree="", status="escalated"
    )
    out = done_cmd.record(ledger, request, branch=None, commit=None)
    assert ledger.beads.require(str(out.escalation))["title"] == (
        f"{agent['name']} escalated {bead}: the work"
    )
    subjects = [m["subject"] for m in ledger.mail.inbox([vocab.MAYOR])]
    assert f"[medium] {agent['name']} escalated {bead}: the work" in subjects
    assert ledger.beads.require(bead)["status"] == vocab.OPEN
