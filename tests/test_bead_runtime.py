"""A bead may name its runtime (issue 10: all three runtimes in one convoy across two rigs).

`gt sling --runtime`, `gt bead create|update --runtime` and a plan's `runtime` key write it;
unknown names are refused with one line and nothing written; the scheduler runs the bead on
its runtime (else its rig's, else the town's default), reuses an idle polecat only of the
same runtime, and a paused runtime holds its beads whatever rig they are in. Ledgers of
schema 2 gain the column on open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine import vocab
from engine.commands import done as done_cmd
from engine.config import TownConfig
from engine.json_schemas import OUTPUTS, adapter
from engine.ledger import Ledger, schema
from engine.scheduler.reconciler import Scheduler
from engine.town import Town, init_town
from tests.cli_support import assert_one_line_error, ledger_dump, run_gt, run_json
from tests.conftest import add_rig


def web_on(runtime: str) -> TownConfig:
    """The town's default is `script`; rig web runs `runtime`."""
    return TownConfig.model_validate({"rigs": {"web": {"runtime": runtime}}})


def finish(ledger: Ledger, agent_id: str, bead: str, attempt: int) -> None:
    """The agent hands its bead back (deferred): it goes idle with an empty hook."""
    done_cmd.record(
        ledger,
        done_cmd.DoneRequest(agent_id, bead, attempt, worktree="", status="deferred"),
        branch=None,
        commit=None,
    )


# ---- the scheduler ---------------------------------------------------------------------------


def test_a_beads_runtime_wins_over_its_rigs_and_one_rig_runs_two_runtimes(
    ledger: Ledger,
) -> None:
    add_rig(ledger, "web", "web")
    plain = ledger.beads.create("plain", rig="web", slung=True)["id"]
    named = ledger.beads.create("named", rig="web", slung=True, runtime="codex")["id"]
    result = Scheduler(ledger, web_on("claude")).schedule()
    by_bead = {a.bead_id: a for a in result.assignments}
    assert by_bead[plain].runtime == "claude" and by_bead[named].runtime == "codex"
    assert by_bead[plain].agent_id != by_bead[named].agent_id
    assert {a["runtime"] for a in ledger.agents.list(rig="web")} == {"claude", "codex"}


def test_an_idle_polecat_is_reused_only_for_a_bead_of_its_own_runtime(ledger: Ledger) -> None:
    add_rig(ledger, "web", "web")
    sched = Scheduler(ledger, web_on("claude"))
    first = ledger.beads.create("first", rig="web", slung=True, runtime="codex")["id"]
    (a,) = sched.schedule().assignments
    finish(ledger, a.agent_id, first, a.attempt)
    assert ledger.agents.require(a.agent_id)["status"] == vocab.AGENT_IDLE
    # a claude bead (the rig's) does not take the idle codex polecat: a new one is made
    claude_bead = ledger.beads.create("claude work", rig="web", slung=True)["id"]
    (b,) = sched.schedule().assignments
    assert (b.bead_id, b.runtime) == (claude_bead, "claude") and b.agent_id != a.agent_id
    assert ledger.agents.require(a.agent_id)["runtime"] == "codex"
    # a codex bead does take it
    codex_bead = ledger.beads.create("codex work", rig="web", slung=True, runtime="codex")["id"]
    (c,) = sched.schedule().assignments
    assert (c.bead_id, c.agent_id, c.runtime) == (codex_bead, a.agent_id, "codex")


def test_an_idle_polecat_whose_runtime_nothing_uses_any_more_is_reused(ledger: Ledger) -> None:
    add_rig(ledger, "web", "web")
    first = ledger.beads.create("first", rig="web", slung=True, runtime="gemini")["id"]
    (a,) = Scheduler(ledger, web_on("claude")).schedule().assignments
    finish(ledger, a.agent_id, first, a.attempt)
    ledger.beads.close(first)  # no open bead names gemini; no rig runs it
    ledger.beads.create("next", rig="web", slung=True)["id"]
    (b,) = Scheduler(ledger, web_on("claude")).schedule().assignments
    assert (b.agent_id, b.runtime) == (a.agent_id, "claude")
    assert ledger.agents.require(a.agent_id)["runtime"] == "claude"


def test_a_full_town_retires_an_idle_polecat_of_another_runtime_in_the_same_rig(
    ledger: Ledger,
) -> None:
    add_rig(ledger, "web", "web")
    config = TownConfig.model_validate(
        {"rigs": {"web": {"runtime": "claude"}}, "scheduler": {"max_polecats": 1}}
    )
    first = ledger.beads.create("first", rig="web", slung=True, runtime="codex")["id"]
    (a,) = Scheduler(ledger, config).schedule().assignments
    finish(ledger, a.agent_id, first, a.attempt)
    ledger.beads.create("claude work", rig="web", slung=True)["id"]
    (b,) = Scheduler(ledger, config).schedule().assignments
    assert b.runtime == "claude"
    # the codex polecat was retired to make room (its name then came back from the pool)
    retired = [e for e in ledger.state.recent(limit=50) if e["kind"] == "agent_retired"]
    assert [(e["actor"], e["data"]["reason"]) for e in retired] == [
        (a.agent_id, "room for a polecat in web")
    ]
    assert [(x["id"], x["runtime"]) for x in ledger.agents.list()] == [(b.agent_id, "claude")]


def test_a_paused_runtime_holds_the_beads_that_name_it_not_their_rigs_other_beads(
    ledger: Ledger,
) -> None:
    add_rig(ledger, "web", "web")
    add_rig(ledger, "api", "api")
    sched = Scheduler(ledger, TownConfig.model_validate({"rigs": {"api": {"runtime": "codex"}}}))
    sched.pauses.pause("codex", shown_until=ledger.now() + 600, reason="usage limit", bead=None)
    named = ledger.beads.create("codex in web", rig="web", slung=True, runtime="codex")["id"]
    plain_web = ledger.beads.create("script in web", rig="web", slung=True)["id"]
    plain_api = ledger.beads.create("codex rig", rig="api", slung=True)["id"]
    escaped = ledger.beads.create("script in api", rig="api", slung=True, runtime="script")["id"]
    result = sched.schedule()
    assert {a.bead_id for a in result.assignments} == {plain_web, escaped}
    for waiting in (named, plain_api):
        assert "runtime codex is paused until" in result.reasons[waiting]
        assert "runtime codex is paused until" in sched.why_waiting(waiting)


def test_work_sent_back_goes_to_its_polecat_only_if_it_runs_the_beads_runtime(
    ledger: Ledger,
) -> None:
    add_rig(ledger, "web", "web")
    sched = Scheduler(ledger, web_on("claude"))
    first = ledger.beads.create("first", rig="web", slung=True, runtime="codex")["id"]
    (a,) = sched.schedule().assignments
    finish(ledger, a.agent_id, first, a.attempt)
    back = ledger.beads.create(
        "sent back", rig="web", slung=True, metadata={"prefer_agent": a.agent_id}
    )["id"]
    (b,) = sched.schedule().assignments
    assert (b.bead_id, b.runtime) == (back, "claude") and b.agent_id != a.agent_id


# ---- gt ----------------------------------------------------------------------------------------


@pytest.fixture
def web_town(tmp_path: Path) -> Town:
    town = init_town(str(tmp_path / "town"))
    with open(town.config_path, "a", encoding="utf-8") as fh:
        fh.write('\n[runtime.mine]\nargv = ["my-agent", "{prompt_file}"]\n')
    with Ledger(town.ledger_target) as led:
        add_rig(led, "web", "web")
    return town


def test_gt_bead_create_and_update_name_a_runtime_shown_by_bead_show(web_town: Town) -> None:
    made = run_json(
        "bead", "create", "T", "--rig", "web", "--runtime", "codex", "--json", town=web_town
    )
    adapter(OUTPUTS["bead"].shape).validate_python(made, strict=True)
    assert made["runtime"] == "codex"
    shown = run_json("bead", "show", made["id"], "--json", town=web_town)
    adapter(OUTPUTS["bead-show"].shape).validate_python(shown, strict=True)
    assert shown["runtime"] == "codex"
    assert "  runtime:  codex" in run_gt("bead", "show", made["id"], town=web_town).stdout
    # a custom runtime of town.toml is known too; "" gives the choice back to the rig
    updated = run_json("bead", "update", made["id"], "--runtime", "mine", "--json", town=web_town)
    assert updated["runtime"] == "mine"
    cleared = run_json("bead", "update", made["id"], "--runtime", "", "--json", town=web_town)
    assert cleared["runtime"] is None
    assert "runtime:" not in run_gt("bead", "show", made["id"], town=web_town).stdout
    listed = run_json("bead", "list", "--json", town=web_town)
    adapter(OUTPUTS["beads"].shape).validate_python(listed, strict=True)


@pytest.mark.parametrize(
    "argv",
    [
        ["bead", "create", "T", "--rig", "web", "--runtime", "nope"],
        ["sling", "--title", "T", "--rig", "web", "--runtime", "nope"],
        ["sling", "{bead}", "--runtime", "nope"],
        ["bead", "update", "{bead}", "--runtime", "nope"],
    ],
)
def test_an_unknown_runtime_is_refused_in_one_line_and_nothing_is_written(
    web_town: Town, argv: list[str]
) -> None:
    with Ledger(web_town.ledger_target) as led:
        bead = led.beads.create("existing", rig="web")["id"]
    before = ledger_dump(web_town.ledger_target)
    proc = run_gt(*(a.format(bead=bead) for a in argv), town=web_town)
    err = assert_one_line_error(proc, 2, "unknown runtime 'nope'", "codex", "mine")
    assert "Traceback" not in err
    assert ledger_dump(web_town.ledger_target) == before


def test_gt_sling_runtime_names_the_runtime_of_a_new_or_existing_bead(web_town: Town) -> None:
    placed = run_json(
        "sling", "--title", "new", "--rig", "web", "--runtime", "codex", "--json", town=web_town
    )
    adapter(OUTPUTS["sling"].shape).validate_python(placed, strict=True)
    assert placed[0]["runtime"] == "codex" and placed[0]["agent"]
    with Ledger(web_town.ledger_target) as led:
        assert led.beads.require(placed[0]["id"])["runtime"] == "codex"
        bead = led.beads.create("existing", rig="web")["id"]
    out = run_gt("sling", bead, "--runtime", "mine", town=web_town).stdout
    assert f"({bead} in rig web, attempt 1, runtime mine)" in out
    with Ledger(web_town.ledger_target) as led:
        b = led.beads.require(bead)
        assert b["runtime"] == "mine"
        assert led.agents.require(str(b["assignee"]))["runtime"] == "mine"


def test_a_plan_names_runtimes_per_bead_and_an_unknown_one_is_refused_with_its_line(
    web_town: Town, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[[bead]]\nkey = "a"\ntitle = "first"\nrig = "web"\nruntime = "codex"\n'
        '[[bead]]\nkey = "b"\ntitle = "second"\nrig = "web"\nruntime = "mine"\n'
        '[[bead]]\nkey = "c"\ntitle = "third"\nrig = "web"\n',
        encoding="utf-8",
    )
    made = run_json(
        "convoy", "create", "T", "--plan", str(plan), "--staged", "--json", town=web_town
    )
    with Ledger(web_town.ledger_target) as led:
        assert [led.beads.require(b)["runtime"] for b in made["beads"]] == ["codex", "mine", None]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[bead]]\nkey = "a"\ntitle = "first"\nruntime = "nope"\n', encoding="utf-8")
    before = ledger_dump(web_town.ledger_target)
    proc = run_gt("convoy", "create", "T", "--plan", str(bad), town=web_town)
    err = assert_one_line_error(
        proc, 1, "bad.toml:4:", "unknown runtime 'nope'", "nothing was created"
    )
    assert "Traceback" not in err
    wrong_type = tmp_path / "type.toml"
    wrong_type.write_text('[[bead]]\ntitle = "x"\nruntime = 5\n', encoding="utf-8")
    proc = run_gt("convoy", "create", "T", "--plan", str(wrong_type), town=web_town)
    assert_one_line_error(proc, 1, "type.toml:3:", "runtime must be a string")
    assert ledger_dump(web_town.ledger_target) == before


# ---- the schema --------------------------------------------------------------------------------


def test_a_ledger_of_schema_2_gains_the_beads_runtime_on_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    with monkeypatch.context() as old:
        old.setattr(schema, "SCHEMA_VERSION", 2)
        old.setattr(schema, "MIGRATIONS", {v: schema.MIGRATIONS[v] for v in (1, 2)})
        with Ledger(path, create=True) as led:
            add_rig(led, "web", "web")
    # a bead as schema 2 wrote it (today's bead code writes the new column)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO beads(id, rig, title, created_at, updated_at, slung) "
            "VALUES ('web-old1', 'web', 'kept', '2026-01-01T00:00:00Z', "
            "'2026-01-01T00:00:00Z', 1)"
        )
    conn.close()
    with Ledger(path) as led:
        kept = led.beads.require("web-old1")
        assert (kept["title"], kept["runtime"]) == ("kept", None)
        (a,) = Scheduler(led, web_on("codex")).schedule().assignments
        assert (a.bead_id, a.runtime) == ("web-old1", "codex")  # the rig's, as before
        assert led.beads.update("web-old1", runtime="claude")["runtime"] == "claude"
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert version == (str(schema.SCHEMA_VERSION),) and "beads_runtime" in indexes
