"""Untrusted text (titles, bodies, mail, nudges, agent output) never drives a terminal.

Typed into a pane (nudges): control characters are refused before anything is queued, by
`gt nudge`, by the app's dialogs and, last, by the tmux adapter itself. Shown to a person
(`gt` human output, errors, the app): control characters are neutralised into visible text;
`--json` stays exact. Real SQLite, real `gt` processes, a real tmux server.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from rich.text import Text
from textual.widgets import Input, TextArea

from engine.adapters.tmux import Tmux, TmuxError
from engine.errors import UsageError
from engine.escalations import escalate
from engine.ledger import Ledger
from engine.safetext import check_typed, keep_sgr, visible
from gastown_tui.screens.detail import DetailScreen
from gastown_tui.screens.dialogs import ComposeDialog, MessageDialog, TextDialog
from gastown_tui.widgets.bead_table import BeadTable
from gastown_tui.widgets.logs import LogPane
from tests.app_support import (
    AppTown,
    back_to_main,
    build_town,
    open_screen,
    read_ledger,
    run_async_tests,
    select_bead,
    select_row,
    settle,
    shown_beads,
    until,
)
from tests.cli_support import assert_one_line_error, hooked_agent, run_gt
from tests.conftest import add_rig

# A window title, an OSC 52 clipboard write, clear screen + cursor home, a bell, an 8-bit
# CSI, a bidi override (a title is one line; bodies also get a carriage return).
HOSTILE = "T\x1b]0;pwned\x07 \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b[H\x9b31mX\u202e!"
RAW_BYTES = ("\x1b", "\x07", "\x9b", "\r", "\u202e")


def assert_inert(text: str) -> None:
    for ch in RAW_BYTES:
        assert ch not in text, (ch, text[:400])


def nudges(ledger: Ledger) -> list[dict]:
    rows = ledger.db.conn.execute("SELECT kind, payload FROM inbox").fetchall()
    return [json.loads(p) for kind, p in rows if kind == "nudge"]


# ---- the rules themselves -------------------------------------------------------------------


def test_visible_shows_every_control_character_and_keeps_plain_text():
    assert visible("plain — ünïcode ✓ [/]") == "plain — ünïcode ✓ [/]"
    assert visible("a\x1bb\x03c\x7fd") == "a^[b^Cc^?d"
    assert visible("\x9b") == "\\x9b"
    assert visible("x\u202ey") == "x\\u202ey"
    assert visible("one\ttwo\nthree") == "one^Itwo^Jthree"
    assert visible("one\ttwo\nthree\r", multiline=True) == "one\ttwo\nthree^M"
    assert_inert(visible(HOSTILE))


def test_keep_sgr_keeps_colours_and_drops_every_other_escape():
    line = "\x1b[32mok\x1b[0m \x1b]0;title\x07\x1b]52;c;aGk=\x1b\\\x1b[2J\x1b[5;1Hdone\x1b[?25l\x07"
    assert keep_sgr(line) == "\x1b[32mok\x1b[0m done^G"  # a stray bell is shown, not rung
    assert keep_sgr("\x1bc\x1b(Bx\x9b2Jy") == "xy"
    # an escape cut off at the end of a line never survives either
    assert keep_sgr("end\x1b]0;unterminated") == "end"
    assert keep_sgr("half \x1b[3") == "half "


@pytest.mark.parametrize("text", ["\x03", "stop\x1b[2J", "a\rb", "x\x9by", "del\x7f", "a\nb", ""])
def test_typed_text_with_control_characters_is_refused(text):
    with pytest.raises(UsageError):
        check_typed(text, "a nudge")


def test_typed_text_may_hold_tabs_and_unicode():
    assert check_typed("go\ton — ✓ [/]", "a nudge") == "go\ton — ✓ [/]"


# ---- nudges: nothing with control characters reaches a pane -------------------------------


@pytest.mark.parametrize(
    "message", ["\x03", "\x1b", "ok\rrm -rf ~", "\x1b[201~paste end", "x\x9b1;1H", "\x04"]
)
def test_gt_nudge_refuses_control_characters_and_queues_nothing(town, ledger, message):
    add_rig(ledger, "web", "gt")
    hooked_agent(ledger)
    proc = run_gt("nudge", "Toast", message, town=town)
    line = assert_one_line_error(proc, 2, "control character")
    assert_inert(line)
    assert nudges(ledger) == []


def test_gt_nudge_with_a_tab_is_queued(town, ledger):
    add_rig(ledger, "web", "gt")
    hooked_agent(ledger)
    proc = run_gt("nudge", "Toast", "look\there", town=town)
    assert proc.returncode == 0, proc.stderr
    assert [n["message"] for n in nudges(ledger)] == ["look\there"]


@pytest.fixture
def tmux_server(server):
    # a private tmux server from libtmux's pytest plugin, killed when the test ends
    return Tmux(str(server.socket_name))


def test_the_tmux_adapter_never_types_a_control_character(tmux_server, tmp_path):
    """The last line: whatever queued it, a Ctrl-C never reaches the agent's process."""
    out = tmp_path / "typed"
    tmux_server.new_session(
        "agent", str(tmp_path), ["sh", "-c", f"cat > {out}"], {"PATH": os.environ["PATH"]}
    )
    for text in ("\x03", "\x1b[2J", "a\rb", "a\nb", "\x9b", "\x1a"):
        with pytest.raises(TmuxError, match="control character"):
            tmux_server.send_literal("agent", text)
    tmux_server.send_literal("agent", "still\there")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "still\there" not in out.read_text():
        time.sleep(0.05)
    assert tmux_server.has_session("agent")  # cat was never interrupted or suspended
    assert out.read_text() == "still\there\n"


# ---- gt output: neutralised for people, exact for --json --------------------------------------


@pytest.fixture
def hostile_town(town, ledger):
    add_rig(ledger, "web", "gt")
    agent, _, _ = hooked_agent(ledger)
    bead = ledger.beads.create(HOSTILE, rig="web", body=f"line one\n{HOSTILE}\rX\nline three")
    blocked = ledger.beads.create("waits", rig="web", deps=[(bead["id"], "blocks")])
    convoy = ledger.convoys.create(HOSTILE, [bead["id"], blocked["id"]], actor="mayor")
    mail = ledger.mail.send(sender=agent, to="mayor", subject=HOSTILE, body=HOSTILE)
    return {
        "bead": bead["id"],
        "blocked": blocked["id"],
        "convoy": convoy["id"],
        "mail": mail["id"],
    }


def test_human_output_neutralises_escape_sequences_and_json_stays_exact(town, hostile_town):
    ids = hostile_town
    commands = [
        ["bead", "list"],
        ["bead", "show", ids["bead"]],
        ["bead", "show", ids["blocked"]],
        ["ready"],
        ["dep", "tree", ids["blocked"]],
        ["dep", "tree", ids["bead"], "--reverse"],
        ["mail", "inbox"],
        ["mail", "read", ids["mail"]],
        ["convoy", "status", ids["convoy"]],
        ["convoy", "list"],
    ]
    for args in commands:
        proc = run_gt(*args, town=town)
        assert proc.returncode == 0, (args, proc.stderr)
        assert_inert(proc.stdout)
        assert_inert(proc.stderr)
        assert "^[]0;pwned^G" in proc.stdout, (args, proc.stdout)
    for args in (["blocked"], ["events"], ["status"], ["agents"], ["mq", "list"]):
        proc = run_gt(*args, town=town)  # these quote the text differently, or not at all
        assert proc.returncode == 0, (args, proc.stderr)
        assert_inert(proc.stdout + proc.stderr)
    # the body keeps its own lines; only what is not text is shown visibly
    show = run_gt("bead", "show", ids["bead"], town=town).stdout
    assert "  line one\n" in show and "  line three\n" in show
    # --json is the exact text, and valid JSON even with 8-bit controls in it
    for args, pick in (
        (["bead", "show", ids["bead"], "--json"], lambda d: d["title"]),
        (
            ["bead", "list", "--json"],
            lambda d: next(b for b in d if b["id"] == ids["bead"])["title"],
        ),
        (["mail", "read", ids["mail"], "--json"], lambda d: d["subject"]),
    ):
        proc = run_gt(*args, town=town)
        assert proc.returncode == 0, proc.stderr
        assert_inert(proc.stdout)  # JSON escapes them: nothing raw reaches a terminal
        assert pick(json.loads(proc.stdout)) == HOSTILE


def test_errors_that_echo_input_show_it_neutralised(town, ledger):
    add_rig(ledger, "web", "gt")
    for args in (
        ["bead", "show", "gt-\x1b]0;pwned\x07"],
        ["bead", "list", "--limit", "\x1b[2J"],
        ["dep", "add", "a", "b", "--type", "\x1b]52;c;aGk=\x07"],
        ["mail", "send", "\x1b[2J", "hello"],
        ["\x1b]0;cmd\x07"],
    ):
        proc = run_gt(*args, town=town)
        assert proc.returncode in (1, 2), (args, proc.stderr)
        assert_inert(proc.stderr)
        assert "^[" in proc.stderr or "\\x1b" in proc.stderr, (args, proc.stderr)


def test_a_huge_title_is_cut_in_tables_and_shown_whole_by_show(town, ledger):
    add_rig(ledger, "web", "gt")
    title = "long " + "x" * 50_000
    bead = ledger.beads.create(title, rig="web")["id"]
    for args in (["bead", "list"], ["ready"]):
        out = run_gt(*args, town=town).stdout
        row = next(line for line in out.splitlines() if line.startswith(bead))
        assert len(row) < 200 and row.endswith("…"), (args, len(row))
    assert title in run_gt("bead", "show", bead, town=town).stdout


# ---- mail sent by gt --------------------------------------------------------------------------


def test_gt_mail_send_refuses_control_characters_in_subject_and_body(town, ledger):
    add_rig(ledger, "web", "gt")
    for args in (["mayor", "hi\x1b]0;x\x07"], ["mayor", "hi", "--body", "a\x1b[2Jb"]):
        proc = run_gt("mail", "send", *args, town=town)
        assert_one_line_error(proc, 2, "control character")
    assert ledger.mail.inbox(["mayor"]) == []
    ok = run_gt("mail", "send", "mayor", "hi", "--body", "two\nlines\tand a tab", town=town)
    assert ok.returncode == 0, ok.stderr
    assert ledger.mail.inbox(["mayor"])[0]["subject"] == "hi"


# ---- the app ----------------------------------------------------------------------------------


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


def no_control(text: str) -> bool:
    return not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)


async def test_the_app_shows_hostile_ledger_text_neutralised(gtown):
    other = gtown.ledger()
    try:
        bead = other.beads.create(HOSTILE, rig="calc", body=HOSTILE)["id"]
        huge = other.beads.create("huge " + "y" * 50_000, rig="calc")["id"]
        mail = other.mail.send(sender="web/witness", to="mayor", subject=HOSTILE, body=HOSTILE)
    finally:
        other.close()
    app = gtown.app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: bead in shown_beads(app) and huge in shown_beads(app))
        other = gtown.ledger()
        try:  # an agent's escalation raises a toast quoting its title
            escalate(other, title=HOSTILE, body="", severity="low", actor="x")
        finally:
            other.close()
        await until(pilot, lambda: app.noticed("pwned"))
        table = app.query_one("#beads", BeadTable)
        cell = str(table.get_cell(bead, "title"))
        assert no_control(cell) and "^[]0;pwned^G" in cell
        assert len(str(table.get_cell(huge, "title"))) <= 200
        assert no_control(app.export_screenshot())
        # every toast the app raised is inert (the escalation's title is agent text)
        assert all(no_control(str(n.message)) for n in app._notifications)

        await select_bead(pilot, bead)
        screen = await open_screen(pilot, "enter", DetailScreen)
        assert no_control(screen.body.plain) and "^[]0;pwned^G" in screen.body.plain
        assert no_control(app.export_screenshot())
        await pilot.press("escape")
        await back_to_main(pilot)

        await select_row(pilot, "tab-mail", "#mail", mail["id"])
        dialog = await open_screen(pilot, "enter", MessageDialog)
        assert no_control(app.export_screenshot())
        assert dialog.msg["subject"] == HOSTILE  # the data stays exact; only the view changes
        await pilot.press("escape")


async def test_the_live_log_keeps_colour_and_drops_every_other_escape(gtown):
    agent = gtown.ids["agent:mul"]
    name = agent.rsplit("/", 1)[-1]
    path = os.path.join(gtown.town.logs_dir, f"calc+{name}+{gtown.ids['mul']}+1.log")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\x1b]0;pwned\x07\x1b[2J\x1b[31mred alert\x1b[0m\x1b]52;c;aGk=\x07 tail\n")
    app = gtown.app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await select_bead(pilot, gtown.ids["mul"])
        log = app.query_one(LogPane).query_one("#log-single")
        await until(pilot, lambda: any("red alert" in line.text for line in log.lines))
        line = next(line for line in log.lines if "red alert" in line.text)
        assert line.text == "red alert tail"
        red = [seg for seg in line if seg.text == "red alert"]
        assert red and red[0].style is not None and red[0].style.color is not None
        assert no_control(app.export_screenshot())


async def test_a_nudge_with_a_control_character_is_refused_in_the_app(gtown):
    app = gtown.app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        await select_bead(pilot, gtown.ids["mul"])
        dialog = await open_screen(pilot, "n", TextDialog)
        dialog.query_one("#text", Input).value = "stop\x03now"  # e.g. pasted
        await pilot.press("enter")
        await pilot.pause()
        assert app.noticed("control character")
        assert isinstance(app.screen, TextDialog)  # the draft stays, to be corrected
        await pilot.press("escape")
        await back_to_main(pilot)
        rows = await read_ledger(
            app, lambda led: led.db.conn.execute("SELECT kind FROM inbox").fetchall()
        )
        assert ("nudge",) not in rows
        assert gtown.dispatcher.nudges == []


async def test_mail_with_a_control_character_is_refused_in_the_app(gtown):
    app = gtown.app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        before = await read_ledger(app, lambda led: len(led.mail.inbox(["mayor"])))
        dialog = await open_screen(pilot, "m", ComposeDialog)
        dialog.query_one("#to", Input).value = "mayor"
        dialog.query_one("#subject", Input).value = "hi\x1b]0;x\x07"
        dialog.query_one("#body", TextArea).text = "fine\nbody"
        dialog.submit()
        await pilot.pause()
        assert app.noticed("control character")
        assert isinstance(app.screen, ComposeDialog)
        dialog.query_one("#subject", Input).value = "hi"
        dialog.query_one("#body", TextArea).text = "bad\x1b[2Jbody"
        dialog.submit()
        await pilot.pause()
        assert isinstance(app.screen, ComposeDialog)
        await pilot.press("escape")
        await back_to_main(pilot)
        after = await read_ledger(app, lambda led: len(led.mail.inbox(["mayor"])))
        assert after == before


def test_text_objects_never_carry_raw_escapes_into_the_detail_screens():
    from gastown_tui.screens.detail import agent_text

    agent = {
        "name": "Toast",
        "id": "web/polecats/Toast",
        "status": "working",
        "hook": None,
        "attempt": 1,
        "runtime": "script",
        "session": None,
        "worktree": None,
        "branch": None,
        "info": {"note": HOSTILE},
        "history": [],
        "recent": [HOSTILE, "\x1b[32mgreen\x1b[0m"],
    }
    text: Text = agent_text(agent)
    assert no_control(text.plain)
    assert any(span.style for span in text.spans)  # the colour stayed


run_async_tests(globals())
