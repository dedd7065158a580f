"""Every key action of the app, driven through the keyboard with Textual's pilot.

Each test checks what the action did to the town (the ledger, the engine, the dispatcher),
not only what the screen shows. The town is tests/app_support.py's: two rigs without
clones, a RecordingDispatcher, frozen clocks. The last tests use a real tmux server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import pytest
from textual.command import CommandPalette
from textual.widgets import Checkbox, Input, OptionList, Select, TextArea

from engine import vocab
from engine.config import TownConfig
from engine.errors import GtError
from engine.escalations import escalate
from engine.town import init_town
from engine.views.town_snapshot import BEAD_FILTERS
from gastown_tui.app import GasTownApp
from gastown_tui.palette import ACTIONS
from gastown_tui.screens.detail import DetailScreen
from gastown_tui.screens.dialogs import (
    ComposeDialog,
    ConfirmDialog,
    ConvoyDialog,
    HelpDialog,
    MessageDialog,
    SlingDialog,
    TextDialog,
)
from gastown_tui.widgets.bead_table import FILTERS, BeadTable
from gastown_tui.widgets.rigs_tree import RigsTree
from tests.app_support import (
    START,
    AppDispatcher,
    AppTown,
    ObservedApp,
    back_to_main,
    build_town,
    freeze,
    open_screen,
    read_ledger,
    run_async_tests,
    running,
    select_bead,
    select_in_tree,
    select_row,
    shown_beads,
    type_text,
    until,
    until_async,
)
from tests.conftest import Clock, gt, script_body

SIZE = (200, 50)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


# ---- sling ------------------------------------------------------------------------------------


async def test_sling_form_creates_a_bead_and_a_polecat_is_on_it(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "s", SlingDialog)
        await type_text(pilot, "Add modulo")
        dialog.query_one("#rig", Select).value = "calc"
        dialog.query_one("#priority", Select).value = 1
        dialog.query_one("#labels", Input).focus()
        await type_text(pilot, "python, math")
        await pilot.press("enter")
        await back_to_main(pilot)

        bead = await read_ledger(
            app, lambda led: next(b for b in led.beads.list() if b["title"] == "Add modulo")
        )
        assert bead["rig"] == "calc" and bead["priority"] == 1
        assert sorted(bead["labels"]) == ["math", "python"]
        assert bead["slung"] and bead["status"] in (vocab.HOOKED, vocab.IN_PROGRESS)
        agent = await read_ledger(app, lambda led: led.agents.get(bead["assignee"]))
        assert agent["hook"] == bead["id"]
        await until(pilot, lambda: bead["id"] in [a.bead_id for a in gtown.dispatcher.started])
        assert (f"{agent['name']} is on it!", f"{bead['id']} in rig calc", "information") in (
            app.notices
        )
        await until(pilot, lambda: bead["id"] in shown_beads(app))


async def test_sling_with_an_unfinished_dependency_queues_the_bead_and_says_why(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "s", SlingDialog)
        await type_text(pilot, "Add power")
        dialog.query_one("#rig", Select).value = "calc"
        dialog.query_one("#deps", Input).focus()
        await type_text(pilot, gtown.ids["div"])
        await pilot.press("enter")
        await back_to_main(pilot)

        bead = await read_ledger(
            app, lambda led: next(b for b in led.beads.list() if b["title"] == "Add power")
        )
        assert bead["slung"] and bead["status"] == vocab.OPEN and bead["blocked"]
        assert bead["id"] not in [a.bead_id for a in gtown.dispatcher.started]
        assert app.noticed(f"{bead['id']} is queued")
        assert app.noticed(f"blocked by {gtown.ids['div']}")


async def test_sling_form_without_a_title_stays_open_and_creates_nothing(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await open_screen(pilot, "s", SlingDialog)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SlingDialog)
        assert app.noticed("Give the new bead a title")
        await pilot.press("escape")
        await back_to_main(pilot)
        count = await read_ledger(app, lambda led: len(led.beads.list(include_records=False)))
        assert count == 11


async def test_picking_a_ready_bead_in_the_sling_dialog_slings_it(gtown):
    app = gtown.app()
    readme = gtown.ids["readme"]
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "s", SlingDialog)
        ready = dialog.query_one("#ready", OptionList)
        offered = [ready.get_option_at_index(i).id for i in range(ready.option_count)]
        assert offered == [readme, gtown.ids["favicon"]]  # open, unblocked, not yet slung
        ready.focus()
        ready.highlighted = offered.index(readme)
        await pilot.press("enter")
        await back_to_main(pilot)

        bead = await read_ledger(app, lambda led: led.beads.get(readme))
        assert bead["slung"] and bead["assignee"]
        await until(pilot, lambda: readme in [a.bead_id for a in gtown.dispatcher.started])
        assert app.noticed("is on it!")


# ---- convoys ------------------------------------------------------------------------------


async def test_convoy_from_the_selected_bead(gtown):
    app = gtown.app()
    readme = gtown.ids["readme"]
    async with running(app) as pilot:
        await select_bead(pilot, readme)
        dialog = await open_screen(pilot, "c", ConvoyDialog)
        assert dialog.query_one("#beads", Input).value == readme
        await type_text(pilot, "Docs day")
        await pilot.press("enter")
        await back_to_main(pilot)

        convoy = await read_ledger(app, lambda led: led.convoys.require(app.convoy_id))
        assert convoy["title"] == "Docs day" and convoy["beads"] == [readme]
        assert convoy["status"] == vocab.CONVOY_OPEN
        assert app.noticed(f"Convoy {convoy['id']} created")
        await until(pilot, lambda: readme in [a.bead_id for a in gtown.dispatcher.started])
        await until(pilot, lambda: (app.snap or {}).get("convoy", {}).get("id") == convoy["id"])


async def test_convoy_from_a_plan_file(gtown, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[[bead]]\nkey = "api"\ntitle = "Expose the API"\nrig = "calc"\n'
        '[[bead]]\nkey = "page"\ntitle = "Call the API from the page"\nrig = "web"\n'
        'needs = ["api"]\n'
    )
    app = gtown.app()
    async with running(app) as pilot:
        await open_screen(pilot, "c", ConvoyDialog)
        await type_text(pilot, "API")
        await pilot.press("tab")
        app.screen.query_one("#plan", Input).insert_text_at_cursor(str(plan))  # a paste
        await pilot.press("enter")
        await back_to_main(pilot)

        status = await read_ledger(app, lambda led: led.convoys.status(app.convoy_id))
        titles = {b["title"]: b for b in status["tracked"]}
        assert set(titles) == {"Expose the API", "Call the API from the page"}
        page = titles["Call the API from the page"]
        blockers = await read_ledger(app, lambda led: led.graph.blockers(page["id"]))
        assert [b["id"] for b in blockers] == [titles["Expose the API"]["id"]]
        await until(pilot, lambda: (app.snap or {}).get("convoy", {}).get("title") == "API")


async def test_a_bad_plan_file_is_a_notification_and_nothing_is_created(gtown, tmp_path):
    app = gtown.app()
    async with running(app) as pilot:
        await open_screen(pilot, "c", ConvoyDialog)
        await type_text(pilot, "Nothing")
        await pilot.press("tab")
        app.screen.query_one("#plan", Input).insert_text_at_cursor(str(tmp_path / "none.toml"))
        await pilot.press("enter")
        await back_to_main(pilot)
        assert app.noticed("no such plan file")
        convoys = await read_ledger(app, lambda led: led.convoys.list())
        assert [c["id"] for c in convoys] == [gtown.ids["convoy"]]
        assert app.is_running


async def test_staged_convoy_waits_until_launched_with_L(gtown):
    app = gtown.app()
    favicon = gtown.ids["favicon"]
    async with running(app) as pilot:
        await select_bead(pilot, favicon)
        dialog = await open_screen(pilot, "c", ConvoyDialog)
        await type_text(pilot, "Polish")
        dialog.query_one("#staged", Checkbox).value = True
        dialog.query_one("#title", Input).focus()
        await pilot.press("enter")
        await back_to_main(pilot)

        convoy_id = app.convoy_id
        convoy = await read_ledger(app, lambda led: led.convoys.require(convoy_id))
        assert convoy["status"] == vocab.CONVOY_STAGED
        assert not (await read_ledger(app, lambda led: led.beads.get(favicon)))["slung"]
        assert app.noticed("staged (L launches it)")

        await pilot.press("L")
        await until_async(
            pilot,
            lambda: read_ledger(
                app, lambda led: led.convoys.require(convoy_id)["status"] == vocab.CONVOY_OPEN
            ),
        )
        await until(pilot, lambda: favicon in [a.bead_id for a in gtown.dispatcher.started])
        assert app.noticed(f"Launched {convoy_id}")


async def test_X_cancels_the_shown_convoy_after_confirmation(gtown):
    app = gtown.app()
    convoy_id = gtown.ids["convoy"]
    async with running(app) as pilot:
        await open_screen(pilot, "X", ConfirmDialog)
        await pilot.press("escape")  # changed my mind: nothing happens
        await back_to_main(pilot)
        convoy = await read_ledger(app, lambda led: led.convoys.require(convoy_id))
        assert convoy["status"] == vocab.CONVOY_OPEN

        await open_screen(pilot, "X", ConfirmDialog)
        await pilot.press("enter")  # "Yes" has the focus
        await back_to_main(pilot)
        convoy = await read_ledger(app, lambda led: led.convoys.require(convoy_id))
        assert convoy["status"] == vocab.CONVOY_CANCELLED
        statuses = await read_ledger(
            app, lambda led: {b: led.beads.get(b)["status"] for b in convoy["beads"]}
        )
        assert statuses[gtown.ids["sub"]] == vocab.CLOSED  # landed work stays landed
        assert statuses[gtown.ids["div"]] == vocab.CANCELLED
        assert statuses[gtown.ids["mul"]] == vocab.CANCELLED
        maple = await read_ledger(app, lambda led: led.agents.get("Maple"))
        assert maple["hook"] is None  # no polecat stays hooked to cancelled work
        assert app.noticed(f"Cancelled {convoy_id}")


async def test_brackets_cycle_through_the_convoys(gtown):
    other = gtown.ledger()
    second = other.convoys.create("Second", [gtown.ids["readme"]], staged=True)["id"]
    other.close()
    app = gtown.app()
    async with running(app) as pilot:
        assert app.snap["convoy"]["id"] == second  # the newest active convoy is shown
        await pilot.press("]")
        await until(pilot, lambda: app.snap["convoy"]["id"] == gtown.ids["convoy"])
        await pilot.press("[")
        await until(pilot, lambda: app.snap["convoy"]["id"] == second)


# ---- mail and nudges --------------------------------------------------------------------------


async def test_compose_sends_mail_to_the_addressee(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "m", ComposeDialog)
        await type_text(pilot, "Maple")
        await pilot.press("tab")
        await type_text(pilot, "Rounding")
        await pilot.press("enter")  # enter in the subject goes on to the body
        assert dialog.query_one("#body", TextArea).has_focus
        await type_text(pilot, "Round to 2 places.")
        await pilot.click("#ok")
        await back_to_main(pilot)

        inbox = await read_ledger(app, lambda led: led.mail.inbox([gtown.ids["agent:mul"]]))
        assert [(m["from"], m["subject"], m["body"]) for m in inbox] == [
            ("mayor", "Rounding", "Round to 2 places.")
        ]
        assert ("Mail sent", f"to {gtown.ids['agent:mul']}", "information") in app.notices


async def test_mail_to_nobody_known_is_refused_with_the_reason(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "m", ComposeDialog)
        await type_text(pilot, "Nobody")
        await pilot.press("tab")
        await type_text(pilot, "Hello")
        await pilot.press("enter")
        await type_text(pilot, "A long body.")
        await pilot.click("#ok")
        await until(pilot, lambda: app.noticed("no live agent named 'Nobody'"))
        # the refusal leaves the draft open, every word kept, to correct the address
        assert app.screen is dialog
        assert dialog.query_one("#body", TextArea).text == "A long body."


async def test_enter_on_a_mail_opens_it_and_r_replies_in_its_thread(gtown):
    app = gtown.app()
    mail_id = gtown.ids["mail:review"]
    async with running(app) as pilot:
        await select_row(pilot, "tab-mail", "#mail", mail_id)
        await open_screen(pilot, "enter", MessageDialog)
        assert (await read_ledger(app, lambda led: led.mail.require(mail_id)))["read"]
        compose = await open_screen(pilot, "r", ComposeDialog)
        assert compose.query_one("#to", Input).value == gtown.ids["agent:form"]
        assert compose.query_one("#subject", Input).value == "Re: Form is up for review"
        compose.query_one("#body", TextArea).focus()
        await type_text(pilot, "Thanks, landing it.")
        await pilot.click("#ok")
        await back_to_main(pilot)

        inbox = await read_ledger(app, lambda led: led.mail.inbox([gtown.ids["agent:form"]]))
        assert [(m["subject"], m["reply_to"], m["body"]) for m in inbox] == [
            ("Re: Form is up for review", mail_id, "Thanks, landing it.")
        ]
        assert app.noticed("Reply sent")


async def test_r_on_the_main_screen_replies_to_the_selected_mail(gtown):
    app = gtown.app()
    mail_id = gtown.ids["mail:escalation"]
    async with running(app) as pilot:
        await select_row(pilot, "tab-mail", "#mail", mail_id)
        await open_screen(pilot, "r", MessageDialog)
        await open_screen(pilot, "r", ComposeDialog)  # a reply opens on its body
        await type_text(pilot, "Two places.")
        await pilot.click("#ok")
        await back_to_main(pilot)
        inbox = await read_ledger(app, lambda led: led.mail.inbox([gtown.ids["agent:mul"]]))
        assert [m["reply_to"] for m in inbox] == [mail_id]


async def test_actions_that_need_a_selection_say_what_to_select(tmp_path, monkeypatch):
    empty = AppTown(init_town(str(tmp_path / "empty")), Clock(START), AppDispatcher(), TownConfig())
    freeze(monkeypatch, empty.clock)
    app = empty.app()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.refreshes >= 1)
        for key in "rnaj":
            await pilot.press(key)
        await back_to_main(pilot)
        assert [m for _, m, s in app.notices if s == "warning"] == [
            "Select a message in the Mail tab first.",
            "Select a polecat (in Rigs) to nudge.",
            "Select a polecat (in Rigs) to attach to.",
            "Select a merge request in the Merge queue tab.",
        ]
        assert "No convoy yet" in str(app.query_one("#dag-canvas").render())


async def test_nudge_is_queued_for_the_selected_polecat_and_delivered(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_bead(pilot, gtown.ids["mul"])
        dialog = await open_screen(pilot, "n", TextDialog)
        assert dialog.title_text == "Nudge Maple"
        await type_text(pilot, "round to 2 places")
        await pilot.press("enter")
        await back_to_main(pilot)

        rows = await read_ledger(
            app, lambda led: led.db.conn.execute("SELECT kind, payload FROM inbox").fetchall()
        )
        payloads = [json.loads(p) for kind, p in rows if kind == "nudge"]
        assert [(p["agent_id"], p["message"]) for p in payloads] == [
            (gtown.ids["agent:mul"], "round to 2 places")
        ]
        await until(pilot, lambda: len(gtown.dispatcher.nudges) == 1)  # the engine applied it
        assert gtown.dispatcher.nudges[0]["message"] == "round to 2 places"
        assert app.noticed("Nudge queued for Maple")


async def test_nudge_goes_to_the_polecat_chosen_in_the_rigs_tree(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_in_tree(pilot, "Shadow")
        dialog = await open_screen(pilot, "n", TextDialog)
        assert dialog.title_text == "Nudge Shadow"
        await type_text(pilot, "dark enough?")
        await pilot.press("enter")
        await until(pilot, lambda: len(gtown.dispatcher.nudges) == 1)
        assert gtown.dispatcher.nudges[0]["agent_id"] == gtown.ids["agent:dark"]


# ---- the merge queue --------------------------------------------------------------------------


async def test_t_retries_a_failed_merge_request(gtown):
    app = gtown.app()
    mr_id = gtown.ids["mr:style"]
    async with running(app) as pilot:
        await select_row(pilot, "tab-mq", "#mq", mr_id)
        await pilot.press("t")
        await back_to_main(pilot)
        mr = await read_ledger(app, lambda led: led.mq.require(mr_id))
        assert mr["state"] == "queued" and mr["retries"] == 1 and mr["failure"] is None
        source = await read_ledger(app, lambda led: led.beads.get(gtown.ids["style"]))
        assert source["status"] == vocab.IN_REVIEW
        assert app.noticed(f"{mr_id} queued again")


async def test_t_on_a_queued_merge_request_is_refused_with_the_reason(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_row(pilot, "tab-mq", "#mq", gtown.ids["mr:form"])
        await pilot.press("t")
        await back_to_main(pilot)
        assert app.noticed("only a failed, conflicting or rejected request can be retried")


async def test_j_rejects_a_merge_request_with_a_reason(gtown):
    app = gtown.app()
    mr_id = gtown.ids["mr:form"]
    async with running(app) as pilot:
        await select_row(pilot, "tab-mq", "#mq", mr_id)
        dialog = await open_screen(pilot, "j", TextDialog)
        assert dialog.title_text == f"Reject {mr_id}"
        await type_text(pilot, "needs a label per field")
        await pilot.press("enter")
        await back_to_main(pilot)
        mr = await read_ledger(app, lambda led: led.mq.require(mr_id))
        assert mr["state"] == "rejected" and mr["failure"] == "needs a label per field"
        form = await read_ledger(app, lambda led: led.beads.get(gtown.ids["form"]))
        assert form["status"] != vocab.IN_REVIEW  # sent back for another attempt
        assert "needs a label per field" in form["last_error"]
        assert app.noticed(f"Rejected {mr_id}")


# ---- filter, sort, search -----------------------------------------------------------------


async def test_f_cycles_the_bead_filters(gtown):
    app = gtown.app()
    ids = gtown.ids
    expected = {
        "ready": {ids["readme"], ids["favicon"]},
        "blocked": {ids["div"], ids["wire"], ids["docs"], ids["ship"]},
        "in progress": {ids["mul"], ids["dark"]},
        "in review": {ids["form"]},
    }
    assert set(FILTERS) == set(BEAD_FILTERS)
    async with running(app) as pilot:
        for name in (*FILTERS[1:], "all"):
            await pilot.press("f")
            assert app.bead_filter == name
            if name != "all":
                await until(pilot, lambda name=name: set(shown_beads(app)) == expected[name])
            assert f"Beads · {name} ·" in str(app.query_one("#beads").border_title)
        await until(pilot, lambda: len(shown_beads(app)) == 11)


async def test_o_cycles_the_sort_order(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        table = app.query_one("#beads", BeadTable)
        rows = {b["id"]: b for b in app.snap["beads"]}
        priorities = [rows[b]["priority"] for b in shown_beads(app)]
        assert priorities == sorted(priorities)
        for name in ("age", "status", "rig", "priority"):
            await pilot.press("o")
            await pilot.pause()
            assert table.sort_by == name
        await pilot.press("o", "o", "o")  # rig
        rigs = [rows[b]["rig"] for b in shown_beads(app)]
        assert rigs == sorted(rigs)
        statuses_before = [rows[b]["status"] for b in shown_beads(app)]
        assert statuses_before != sorted(statuses_before)
        await pilot.press("o", "o", "o")  # status
        statuses = [rows[b]["status"] for b in shown_beads(app)]
        assert statuses == sorted(statuses)


async def test_slash_searches_bead_ids_and_titles_and_an_empty_search_clears(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        bar = app.query_one("#search", Input)
        await pilot.press("slash")
        await type_text(pilot, "PAGE")
        await pilot.press("enter")
        await until(pilot, lambda: len(shown_beads(app)) == 4)
        assert set(shown_beads(app)) == {gtown.ids[k] for k in ("form", "wire", "dark", "style")}
        await pilot.press("slash")
        assert bar.has_focus and bar.value == "PAGE"
        await pilot.press(*["backspace"] * 4)
        await pilot.press("enter")
        await until(pilot, lambda: len(shown_beads(app)) == 11)
        assert app.search_text == ""
        await pilot.press("slash")
        await type_text(pilot, gtown.ids["ship"])
        await pilot.press("enter")
        await until(pilot, lambda: shown_beads(app) == [gtown.ids["ship"]])


# ---- details ---------------------------------------------------------------------------------


async def test_enter_on_a_bead_opens_its_details_and_escape_returns(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_bead(pilot, gtown.ids["form"])
        screen = await open_screen(pilot, "enter", DetailScreen)
        assert screen.title_text == gtown.ids["form"]
        text = screen.body.plain
        assert "Page: input form" in text and gtown.ids["mr:form"] in text
        assert gtown.ids["wire"] in text  # the bead it blocks
        await pilot.press("escape")
        await back_to_main(pilot)
        assert app.query_one("#beads", BeadTable).has_focus


async def test_enter_on_a_polecat_opens_the_agent_screen_and_q_returns(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_in_tree(pilot, "Maple")
        screen = await open_screen(pilot, "enter", DetailScreen)
        assert screen.title_text == "Maple"
        assert gtown.ids["mul"] in screen.body.plain
        assert "float rounding differs" in screen.body.plain  # its recent output
        await pilot.press("q")  # q leaves a detail screen, it does not quit
        await back_to_main(pilot)
        assert app.is_running


async def test_enter_on_a_rig_opens_the_rig_screen_and_keeps_the_tree_open(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_in_tree(pilot, "calc")
        screen = await open_screen(pilot, "enter", DetailScreen)
        assert screen.title_text == "rig calc"
        assert "Maple" in screen.body.plain and gtown.ids["readme"] in screen.body.plain
        await pilot.press("escape")
        await back_to_main(pilot)
        tree = app.query_one("#rigs", RigsTree)
        rigs = [n for n in tree.root.children if n.data and n.data["kind"] == "rig"]
        assert rigs and all(node.is_expanded for node in rigs)  # the deacon's starts folded


async def test_enter_on_a_merge_request_opens_its_bead(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_row(pilot, "tab-mq", "#mq", gtown.ids["mr:style"])
        screen = await open_screen(pilot, "enter", DetailScreen)
        assert screen.title_text == gtown.ids["style"]
        assert "gate test failed" in screen.body.plain


async def test_p_peeks_and_says_so_when_there_is_no_live_session(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await select_bead(pilot, gtown.ids["mul"])
        screen = await open_screen(pilot, "p", DetailScreen)
        assert screen.title_text == "peek Maple"
        assert "(no live session)" in screen.body.plain


async def test_v_tiles_the_logs_of_every_working_polecat(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await pilot.press("v")
        logs = app.query_one("#logs")
        await until(pilot, lambda: sorted(logs._tiles) == ["Maple", "Shadow"])
        await until(pilot, lambda: all(w.lines for _, w in logs._tiles.values()))
        await pilot.press("v")
        assert not logs.tiled and logs.query_one("#log-single").display


# ---- help, palette, quit, keys ---------------------------------------------------------------


async def test_help_lists_every_binding(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        dialog = await open_screen(pilot, "question_mark", HelpDialog)
        listed = {ident for _, _, ident in dialog.rows}
        assert listed == {b.id for b in GasTownApp.BINDINGS}
        keys = {ident: key for key, _, ident in dialog.rows}
        assert keys["sling"] == "s" and keys["launch_convoy"] == "L"
        await pilot.press("escape")
        await back_to_main(pilot)


async def test_command_palette_lists_every_action_and_runs_the_chosen_one(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await open_screen(pilot, "ctrl+p", CommandPalette)
        palette = app.screen
        options = palette.query_one(OptionList)
        await until(pilot, lambda: options.option_count >= len(ACTIONS))
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        for _, text in ACTIONS:
            assert any(text in p for p in prompts), text
        bound = {b.action for b in GasTownApp.BINDINGS}
        assert {a for a, _ in ACTIONS} <= bound
        await type_text(pilot, "sling work")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SlingDialog))


async def test_q_quits_and_leaves_the_polecats_working(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert gtown.dispatcher.stopped == []  # sessions outlive the app
    led = gtown.ledger()
    try:
        assert led.agents.get("Maple")["hook"] == gtown.ids["mul"]
    finally:
        led.close()
    # the engine let go of the town: another engine can take it
    other = gtown.engine()
    await other.start()
    await other.stop()


async def test_keys_remapped_in_town_toml_take_effect(gtown):
    with open(gtown.town.config_path, "a", encoding="utf-8") as fh:
        fh.write('\n[keys]\nsling = "S"\nquit = "ctrl+q"\n')
    app = gtown.app(town_toml=True)  # the engine reads town.toml
    async with running(app) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert len(app.screen_stack) == 1
        await open_screen(pilot, "S", SlingDialog)
        await pilot.press("escape")
        await back_to_main(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        dialog = await open_screen(pilot, "question_mark", HelpDialog)
        keys = {ident: key for key, _, ident in dialog.rows}
        assert keys["sling"] == "S"
        await pilot.press("escape")
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


# ---- the town changing underneath ----------------------------------------------------------


async def test_a_bead_created_by_another_process_appears_within_a_second(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        res = await asyncio.to_thread(
            gt, "bead", "create", "Made elsewhere", "--rig", "web", "--json", town=gtown.town
        )
        assert res.returncode == 0, res.stderr
        created = time.monotonic()
        bead_id = json.loads(res.stdout)["id"]
        await until(pilot, lambda: bead_id in shown_beads(app), timeout=1.0)
        assert time.monotonic() - created < 1.0


async def test_a_convoy_landing_raises_a_toast(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        other = gtown.ledger()
        try:
            bead = other.beads.create("Tiny fix", rig="calc")["id"]
            convoy = other.convoys.create("Tiny", [bead])["id"]
            await until(pilot, lambda: bead in [a.bead_id for a in gtown.dispatcher.started])
            other.beads.close(bead, reason="done by hand")
        finally:
            other.close()
        await until(pilot, lambda: app.noticed("Convoy landed"))
        assert ("Convoy landed", convoy, "information") in app.notices


async def test_an_escalation_raises_a_warning_toast(gtown):
    app = gtown.app()
    async with running(app) as pilot:
        other = gtown.ledger()
        try:
            escalate(
                other, title="Shadow: which dark palette?", body="", severity="high", actor="x"
            )
        finally:
            other.close()
        await until(pilot, lambda: app.noticed("Shadow: which dark palette?"))
        assert ("Escalation raised", "Shadow: which dark palette?", "warning") in app.notices


async def test_ledger_text_is_shown_literally_never_as_markup(gtown):
    other = gtown.ledger()
    odd = "Fix [/] and [bold]tags[/bold] in [red]titles"
    bead = other.beads.create(odd, rig="calc")["id"]
    mail = other.mail.send(sender="web/witness", to="mayor", subject=odd, body=odd)["id"]
    other.close()
    app = gtown.app()
    async with running(app) as pilot:
        await until(pilot, lambda: bead in shown_beads(app))
        table = app.query_one("#beads", BeadTable)
        assert str(table.get_cell(bead, "title")) == odd
        await pilot.press("slash")
        await type_text(pilot, "[/]")
        await pilot.press("enter")
        await until(pilot, lambda: shown_beads(app) == [bead])
        await select_row(pilot, "tab-mail", "#mail", mail)
        await open_screen(pilot, "enter", MessageDialog)
        await pilot.press("escape")
        other = gtown.ledger()
        try:
            escalate(other, title=odd, body="", severity="low", actor="x")
        finally:
            other.close()
        await until(pilot, lambda: app.noticed(odd))
        await pilot.pause(0.2)
        assert app.is_running


# ---- attach -----------------------------------------------------------------------------------


async def test_attach_without_a_terminal_to_hand_over_is_an_error_not_a_crash(gtown, monkeypatch):
    app = gtown.app()
    calls: list[str] = []
    monkeypatch.setattr(app.engine, "attach", lambda agent_id: calls.append(agent_id) or 0)
    async with running(app) as pilot:
        await select_bead(pilot, gtown.ids["mul"])
        await pilot.press("a")
        await pilot.pause()
        assert app.is_running
        assert calls == []  # the headless driver cannot suspend: tmux never ran
        assert any(
            t == "" and m.startswith("cannot attach here") and s == "error"
            for t, m, s in app.notices
        )


async def test_attach_runs_tmux_while_the_app_is_suspended_and_comes_back(gtown, monkeypatch):
    app = gtown.app()
    events: list[str] = []

    @contextlib.contextmanager
    def suspend():
        events.append("suspended")
        yield
        events.append("resumed")

    def attach(agent_id: str) -> int:
        events.append(f"attach {agent_id}")
        return 0

    monkeypatch.setattr(app, "suspend", suspend)
    monkeypatch.setattr(app.engine, "attach", attach)
    async with running(app) as pilot:
        await select_in_tree(pilot, "Shadow")
        await pilot.press("a")
        await pilot.pause()
        assert events == ["suspended", f"attach {gtown.ids['agent:dark']}", "resumed"]
        assert app.noticed("back from Shadow's pane")


async def test_attach_to_a_polecat_without_a_session_says_so(gtown, monkeypatch):
    app = gtown.app()

    def attach(agent_id: str) -> int:
        raise GtError(f"no tmux session for {agent_id}")

    monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
    monkeypatch.setattr(app.engine, "attach", attach)
    async with running(app) as pilot:
        await select_bead(pilot, gtown.ids["mul"])
        await pilot.press("a")
        await pilot.pause()
        assert ("", f"no tmux session for {gtown.ids['agent:mul']}", "error") in app.notices


# ---- with a real tmux server ----------------------------------------------------------------


@contextlib.asynccontextmanager
async def real_app(rt):
    from engine.engine import Engine

    app = ObservedApp(rt.town, engine=Engine(rt.town, config=rt.config, refinery=False))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.refreshes >= 1)
        yield app, pilot


async def wait_for_pane(pilot, rt, session: str, text: str, timeout: float = 20.0) -> None:
    tmux = rt.fleet.tmux
    await until(
        pilot,
        lambda: tmux.has_session(session) and text in tmux.capture(session, 30),
        timeout=timeout,
    )


@pytest.mark.slow
async def test_a_nudge_typed_in_the_app_reaches_the_polecats_pane(real_town):
    rt = real_town
    bead = rt.ledger.beads.create("wait", rig="web", slung=True, body=script_body("hang"))["id"]
    async with real_app(rt) as (app, pilot):
        await wait_for_pane(pilot, rt, "web+Toast", "hanging")
        await until(pilot, lambda: bead in shown_beads(app))
        await select_bead(pilot, bead)
        await open_screen(pilot, "n", TextDialog)
        await type_text(pilot, "keep going, Toast")
        await pilot.press("enter")
        await wait_for_pane(pilot, rt, "web+Toast", "keep going, Toast", timeout=30)
        assert rt.fleet.alive() == {"web/polecats/Toast"}


@pytest.mark.slow
async def test_p_peeks_at_the_live_pane(real_town):
    rt = real_town
    bead = rt.ledger.beads.create("wait", rig="web", slung=True, body=script_body("hang"))["id"]
    async with real_app(rt) as (app, pilot):
        await wait_for_pane(pilot, rt, "web+Toast", "hanging")
        await until(pilot, lambda: bead in shown_beads(app))
        await select_bead(pilot, bead)
        screen = await open_screen(pilot, "p", DetailScreen)
        assert screen.title_text == "peek Toast"
        assert "hanging" in screen.body.plain


run_async_tests(globals())
