"""Bad input to the `gt` command line: one clear line, the right exit code, nothing changed.

Every refused command must print exactly one non-empty line on stderr starting with
`gt: error:` or `gt: usage error:` (never a traceback), exit 1 (refused/failed) or 2
(usage error), and leave the ledger byte-for-byte the same as SQL (`iterdump()` through a
read-only connection, nothing excluded).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.ledger import Ledger
from engine.town import Town, init_town
from tests.cli_support import (
    REPO,
    assert_one_line_error,
    gt_argv,
    gt_env,
    ledger_dump,
    run_gt,
    stderr_lines,
    table_count,
)
from tests.conftest import add_rig


@dataclass
class Setup:
    town: Town
    a: str  # a depends on b (blocks)
    b: str  # b depends on c (blocks)
    c: str
    repo: Path  # a real git repository (a valid rig source)
    plain: Path  # a directory that is not a git repository


def make_git_repo(path: Path) -> Path:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "init", "-q", str(path)], check=True, env=env)
    subprocess.run(
        ["git", "-C", str(path), "commit", "-q", "--allow-empty", "-m", "init"], check=True, env=env
    )
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    town = init_town(str(tmp_path / "town"))
    with Ledger(town.ledger_target) as led:
        add_rig(led, "backend", "be")
        c = led.beads.create("c")["id"]
        b = led.beads.create("b", deps=[(c, "blocks")])["id"]
        a = led.beads.create("a", deps=[(b, "blocks")])["id"]
    plain = tmp_path / "plain"
    plain.mkdir()
    return Setup(town, a, b, c, make_git_repo(tmp_path / "repo"), plain)


def refused(
    s: Setup,
    *args: str,
    code: int,
    needles: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> str:
    """Run `gt --town T ARGS`; assert the one-line refusal and an unchanged ledger."""
    before = ledger_dump(s.town.ledger_target)
    rigs_before = sorted(os.listdir(s.town.rigs_dir))
    proc = run_gt(*args, town=s.town, env=env)
    line = assert_one_line_error(proc, code, *needles)
    assert ledger_dump(s.town.ledger_target) == before, f"{args} changed the ledger"
    assert sorted(os.listdir(s.town.rigs_dir)) == rigs_before, f"{args} left files in rigs/"
    return line


# --- unknown ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("bead", "show", "hq-zzzz"),
        ("bead", "show", "hq-zzzz", "--json"),
        ("bead", "close", "hq-zzzz"),
        ("bead", "cancel", "hq-zzzz"),
        ("bead", "reopen", "hq-zzzz"),
        ("bead", "update", "hq-zzzz", "--title", "new"),
        ("dep", "tree", "hq-zzzz"),
        ("sling", "hq-zzzz"),
    ],
)
def test_unknown_bead_id_is_refused_naming_the_id(setup: Setup, argv: tuple[str, ...]) -> None:
    refused(setup, *argv, code=1, needles=("hq-zzzz",))


def test_unknown_bead_id_in_json_mode_prints_nothing_on_stdout(setup: Setup) -> None:
    proc = run_gt("bead", "show", "hq-zzzz", "--json", town=setup.town)
    assert_one_line_error(proc, 1, "hq-zzzz")
    assert proc.stdout == ""


@pytest.mark.parametrize("which", ["dependent", "dependency"])
def test_dep_add_with_an_unknown_bead_id_is_refused(setup: Setup, which: str) -> None:
    argv = ("hq-zzzz", setup.a) if which == "dependent" else (setup.a, "hq-zzzz")
    refused(setup, "dep", "add", *argv, code=1, needles=("hq-zzzz",))


@pytest.mark.parametrize(
    "argv",
    [
        ("bead", "show", "xx-abcd"),
        ("bead", "close", "xx-abcd"),
        ("bead", "update", "xx-abcd", "-p", "1"),
    ],
)
def test_unknown_prefix_is_named_in_the_refusal(setup: Setup, argv: tuple[str, ...]) -> None:
    line = refused(setup, *argv, code=1, needles=("xx-abcd",))
    assert "unknown prefix 'xx'" in line


@pytest.mark.parametrize("which", ["dependent", "dependency"])
def test_dep_add_names_an_unknown_prefix(setup: Setup, which: str) -> None:
    argv = ("xx-abcd", setup.a) if which == "dependent" else (setup.a, "xx-abcd")
    line = refused(setup, "dep", "add", *argv, code=1, needles=("xx-abcd",))
    assert "unknown prefix 'xx'" in line


def test_text_that_is_not_an_id_is_refused(setup: Setup) -> None:
    refused(setup, "bead", "show", "nodash", code=1, needles=("nodash", "not a bead id"))


# --- dependency rules -------------------------------------------------------------------


@pytest.mark.parametrize("dep_type", ["blocks", "parent-child", "related"])
def test_a_bead_cannot_depend_on_itself(setup: Setup, dep_type: str) -> None:
    refused(
        setup,
        "dep",
        "add",
        setup.a,
        setup.a,
        "--type",
        dep_type,
        code=1,
        needles=(setup.a, "itself"),
    )


@pytest.mark.parametrize("dep_type", ["blocks", "parent-child"])
def test_two_bead_cycle_is_refused_and_named_with_arrows(setup: Setup, dep_type: str) -> None:
    # a → b exists; b → a closes the loop
    line = refused(
        setup, "dep", "add", setup.b, setup.a, "--type", dep_type, code=1, needles=("cycle",)
    )
    assert f"{setup.b} → {setup.a} → {setup.b}" in line


def test_three_bead_cycle_is_refused_and_named_with_arrows(setup: Setup) -> None:
    # a → b → c exists; c → a closes the loop
    line = refused(setup, "dep", "add", setup.c, setup.a, code=1, needles=("cycle",))
    assert f"{setup.c} → {setup.a} → {setup.b} → {setup.c}" in line


def test_duplicate_dependency_is_refused(setup: Setup) -> None:
    refused(setup, "dep", "add", setup.a, setup.b, code=1, needles=("already depends",))


def test_unknown_dependency_type_is_a_usage_error(setup: Setup) -> None:
    refused(setup, "dep", "add", setup.c, setup.a, "--type", "weird", code=2, needles=("weird",))


@pytest.mark.parametrize(
    ("argv", "code", "needles"),
    [
        # a bead whose --dep fails is not created half-way (the insert is rolled back)
        (("bead", "create", "x", "--dep", "hq-zzzz"), 1, ("hq-zzzz",)),
        (("bead", "create", "x", "--dep", "{a}:weird"), 2, ("weird",)),
        (("bead", "create", "x", "--dep", ":"), 2, ("--dep",)),
        (("bead", "create", "two\nlines"), 2, ("one line",)),
        (("bead", "create", "x", "--body-file", "/nonexistent/body"), 1, ("/nonexistent/body",)),
        (("bead", "update", "{a}", "--defer-until", "notadate"), 2, ("notadate",)),
        (("bead", "update", "{a}", "--rig", "nosuch"), 1, ("nosuch",)),
        (("bead", "update", "{a}", "--type", "gizmo"), 2, ("gizmo",)),
        (("bead", "reopen", "{a}"), 1, ("already open",)),
        (("dep", "remove", "{c}", "{a}"), 1, ("does not depend",)),
        (("mail", "send", "nosuch", "subject"), 1, ("nosuch",)),
        (("mail", "send", "mayor", "   "), 2, ("subject",)),
        (("mail", "send", "a/b/c/d", "subject"), 2, ("a/b/c/d",)),
        (("mail", "send", "mayor", "subject", "--reply-to", "{a}"), 1, ("{a}",)),
        (("mail", "read", "{a}"), 1, ("no message",)),
        (("convoy", "create", "T", "--bead", "hq-zzzz"), 1, ("hq-zzzz",)),
        (("convoy", "launch", "{a}"), 1, ("not a convoy",)),
        (("convoy", "status", "hq-zzzz"), 1, ("hq-zzzz",)),
        (("convoy", "add", "hq-zzzz", "{a}"), 1, ("hq-zzzz",)),
    ],
)
def test_other_refusals_change_nothing(
    setup: Setup, argv: tuple[str, ...], code: int, needles: tuple[str, ...]
) -> None:
    ids = {"a": setup.a, "b": setup.b, "c": setup.c}
    refused(
        setup,
        *(x.format(**ids) for x in argv),
        code=code,
        needles=tuple(n.format(**ids) for n in needles),
    )


def test_a_record_cannot_be_slung(setup: Setup) -> None:
    with Ledger(setup.town.ledger_target) as led:
        epic = led.beads.create("an epic", bead_type="epic")["id"]
    refused(setup, "sling", epic, code=1, needles=(epic, "epic"))


# --- priorities -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-1", "5", "high", "1.5", ""])
def test_invalid_priority_on_create_is_a_usage_error(setup: Setup, value: str) -> None:
    refused(setup, "bead", "create", "x", f"--priority={value}", code=2, needles=("priority",))


@pytest.mark.parametrize("value", ["-1", "5", "high", "1.5"])
def test_invalid_priority_on_update_is_a_usage_error(setup: Setup, value: str) -> None:
    refused(setup, "bead", "update", setup.a, "-p", value, code=2, needles=("priority",))


def test_empty_title_is_a_usage_error(setup: Setup) -> None:
    refused(setup, "bead", "create", "   ", code=2, needles=("title",))


def test_unknown_bead_type_is_a_usage_error(setup: Setup) -> None:
    refused(setup, "bead", "create", "x", "--type", "gizmo", code=2, needles=("gizmo",))


def test_create_in_an_unknown_rig_is_refused(setup: Setup) -> None:
    refused(setup, "bead", "create", "x", "--rig", "nosuch", code=1, needles=("nosuch",))


# --- rigs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "code", "needles"),
    [
        (("bad name",), 2, ("bad rig name", "bad name")),
        (("bad/name",), 2, ("bad rig name",)),
        (("good", "--prefix", "Bad!"), 2, ("bad prefix", "Bad!")),
        (("good", "--prefix", "hq"), 2, ("reserved", "hq")),
        (("good", "--prefix", "be"), 1, ("'be'", "backend")),
        (("backend", "--prefix", "zz"), 1, ("backend", "already exists")),
    ],
)
def test_rig_add_refuses_bad_names_and_prefixes(
    setup: Setup, argv: tuple[str, ...], code: int, needles: tuple[str, ...]
) -> None:
    name, *rest = argv
    refused(setup, "rig", "add", name, str(setup.repo), *rest, code=code, needles=needles)


def test_rig_add_of_a_missing_path_is_refused(setup: Setup, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    refused(
        setup, "rig", "add", "good", str(missing), code=1, needles=("does not exist", str(missing))
    )


def test_rig_add_of_a_directory_that_is_not_git_is_refused(setup: Setup) -> None:
    refused(
        setup, "rig", "add", "good", str(setup.plain), code=1, needles=("not a git repository",)
    )
    assert not os.path.exists(setup.town.rig_dir("good"))
    assert not os.path.exists(setup.town.rig_dir("good") + ".adding")


def test_rig_show_of_an_unknown_rig_names_the_known_ones(setup: Setup) -> None:
    refused(setup, "rig", "show", "nosuch", code=1, needles=("nosuch", "backend"))


# --- convoy plans -----------------------------------------------------------------------

PLANS = {
    "syntax": ('[[bead]\ntitle = "x"\n', ("not valid toml",)),
    "unknown-rig": ('[[bead]]\nkey = "a"\ntitle = "x"\nrig = "nosuch"\n', ("nosuch",)),
    "unknown-needs": ('[[bead]]\nkey = "a"\ntitle = "x"\nneeds = ["zzz"]\n', ("zzz",)),
    "self-need": ('[[bead]]\nkey = "a"\ntitle = "x"\nneeds = ["a"]\n', ("itself",)),
    "cycle": (
        '[[bead]]\nkey = "a"\ntitle = "x"\nneeds = ["b"]\n'
        '[[bead]]\nkey = "b"\ntitle = "y"\nneeds = ["c"]\n'
        '[[bead]]\nkey = "c"\ntitle = "z"\nneeds = ["a"]\n',
        ("cycle", "→"),
    ),
    "duplicate-plan-key": (
        '[[bead]]\nkey = "a"\ntitle = "x"\n[[bead]]\nkey = "a"\ntitle = "y"\n',
        ("duplicate",),
    ),
    "duplicate-toml-key": ('[[bead]]\nkey = "a"\ntitle = "x"\ntitle = "y"\n', ("not valid toml",)),
    "bad-priority": ('[[bead]]\nkey = "a"\ntitle = "x"\npriority = 9\n', ("priority",)),
    "unknown-field": ('[[bead]]\nkey = "a"\ntitle = "x"\ncolour = "red"\n', ("colour",)),
    "no-beads": ('title = "empty"\n', ("no [[bead]]",)),
}


@pytest.mark.parametrize("case", sorted(PLANS))
def test_malformed_convoy_plan_creates_nothing(setup: Setup, tmp_path: Path, case: str) -> None:
    text, needles = PLANS[case]
    plan = tmp_path / f"{case}.toml"
    plan.write_text(text, encoding="utf-8")
    beads_before = table_count(setup.town.ledger_target, "beads")
    line = refused(setup, "convoy", "create", "T", "--plan", str(plan), code=1, needles=needles)
    assert "nothing was created" in line
    assert table_count(setup.town.ledger_target, "beads") == beads_before


def test_plan_cycle_is_named_with_arrows(setup: Setup, tmp_path: Path) -> None:
    plan = tmp_path / "cycle.toml"
    plan.write_text(PLANS["cycle"][0], encoding="utf-8")
    line = refused(setup, "convoy", "create", "T", "--plan", str(plan), code=1)
    assert "a → b → c → a" in line


def test_missing_plan_file_is_refused(setup: Setup, tmp_path: Path) -> None:
    refused(
        setup,
        "convoy",
        "create",
        "T",
        "--plan",
        str(tmp_path / "nope.toml"),
        code=1,
        needles=("nope.toml",),
    )


# --- JSONL import -----------------------------------------------------------------------


def _bad_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "hq-good1", "title": "one"}\n'
        '{"id": "hq-good2", "title": "two"}\n'
        '{"id": "hq-bad3", "title": "three"\n'
        '{"id": "hq-good4", "title": "four"}\n',
        encoding="utf-8",
    )
    return path


def test_import_with_bad_json_names_the_line_and_imports_nothing(
    setup: Setup, tmp_path: Path
) -> None:
    line = refused(
        setup,
        "import",
        str(_bad_jsonl(tmp_path)),
        code=1,
        needles=("line 3", "nothing was imported"),
    )
    assert "line 1" not in line and "line 4" not in line


def test_import_skip_bad_imports_good_lines_and_reports_the_bad_one(
    setup: Setup, tmp_path: Path
) -> None:
    events_before = table_count(setup.town.ledger_target, "events")
    proc = run_gt("import", "--skip-bad", str(_bad_jsonl(tmp_path)), town=setup.town)
    assert proc.returncode == 0, proc.stderr
    lines = stderr_lines(proc)
    assert len(lines) == 1 and "line 3" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    with Ledger(setup.town.ledger_target) as led:
        assert led.beads.get("hq-good1") and led.beads.get("hq-good2")
        assert led.beads.get("hq-good4")
        assert led.beads.get("hq-bad3") is None
    assert table_count(setup.town.ledger_target, "events") == events_before + 3


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ("[1, 2]\n", ("line 1", "not a json object")),
        ('{"title": "no id"}\n', ("line 1", "id")),
        ('{"id": "hq-x1", "title": "x", "priority": "urgent"}\n', ("line 1", "priority")),
        ('{"id": "hq-x1", "title": "x"}\n{"id": "hq-x1", "title": "y"}\n', ("line 2", "duplicate")),
    ],
)
def test_import_refuses_structurally_bad_lines(
    setup: Setup, tmp_path: Path, content: str, needles: tuple[str, ...]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    refused(setup, "import", str(path), code=1, needles=needles)


def test_import_of_a_missing_file_is_refused(setup: Setup, tmp_path: Path) -> None:
    refused(setup, "import", str(tmp_path / "nope.jsonl"), code=1, needles=("nope.jsonl",))


def test_import_into_an_unknown_rig_is_refused(setup: Setup, tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text('{"id": "hq-ok1", "title": "fine"}\n', encoding="utf-8")
    refused(setup, "import", "--rig", "nosuch", str(path), code=1, needles=("nosuch",))


def test_export_to_an_unwritable_place_is_refused(setup: Setup, tmp_path: Path) -> None:
    missing_dir = tmp_path / "missing" / "out.jsonl"
    refused(setup, "export", str(missing_dir), code=1, needles=("cannot write",))
    assert not missing_dir.parent.exists()
    refused(setup, "export", str(tmp_path), code=1, needles=("cannot write",))
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me", encoding="utf-8")
    refused(setup, "export", "--layout", "backup", str(a_file), code=1, needles=("cannot create",))
    assert a_file.read_text(encoding="utf-8") == "keep me"


# --- finding the town -------------------------------------------------------------------


def test_town_flag_pointing_to_a_missing_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    proc = run_gt("ready", town=missing)
    assert_one_line_error(proc, 1, str(missing), "does not exist")
    assert not missing.exists()


def test_town_flag_pointing_to_a_dir_without_town_toml_is_refused(tmp_path: Path) -> None:
    proc = run_gt("bead", "create", "x", town=tmp_path)
    assert_one_line_error(proc, 1, str(tmp_path), "town.toml")
    assert os.listdir(tmp_path) == []


def test_gastown_town_pointing_to_a_missing_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    proc = run_gt("ready", env={"GASTOWN_TOWN": str(missing)}, cwd=tmp_path)
    assert_one_line_error(proc, 1, "GASTOWN_TOWN", "does not exist")


def test_gastown_town_pointing_to_a_dir_without_town_toml_is_refused(tmp_path: Path) -> None:
    proc = run_gt("bead", "create", "x", env={"GASTOWN_TOWN": str(tmp_path)}, cwd=tmp_path)
    assert_one_line_error(proc, 1, "GASTOWN_TOWN", "town.toml")
    assert os.listdir(tmp_path) == []


def test_running_outside_any_town_is_refused(tmp_path: Path) -> None:
    proc = run_gt("bead", "create", "x", cwd=tmp_path)
    assert_one_line_error(proc, 1, "not inside a town")
    assert os.listdir(tmp_path) == []


def test_a_town_is_found_from_a_subdirectory(setup: Setup) -> None:
    # the positive twin of the refusals above: walking up finds the town
    proc = run_gt("bead", "show", setup.a, "--json", cwd=setup.town.logs_dir)
    assert proc.returncode == 0, proc.stderr


# --- a damaged or busy ledger -----------------------------------------------------------


def _remove_wal(town: Town) -> None:
    for suffix in ("-wal", "-shm"):
        if os.path.exists(town.ledger_path + suffix):
            os.unlink(town.ledger_path + suffix)


@pytest.mark.parametrize(
    "argv", [("ready",), ("bead", "create", "x"), ("bead", "list"), ("status",)]
)
def test_corrupt_ledger_is_reported_as_damaged(setup: Setup, argv: tuple[str, ...]) -> None:
    _remove_wal(setup.town)
    garbage = bytes((i * 131 + 7) % 256 for i in range(8192))
    Path(setup.town.ledger_path).write_bytes(garbage)
    proc = run_gt(*argv, town=setup.town)
    line = assert_one_line_error(proc, 1, setup.town.ledger_path)
    assert "damaged" in line or "not a database" in line
    assert Path(setup.town.ledger_path).read_bytes() == garbage


def test_empty_ledger_file_is_refused(setup: Setup) -> None:
    _remove_wal(setup.town)
    Path(setup.town.ledger_path).write_bytes(b"")
    proc = run_gt("bead", "create", "x", town=setup.town)
    assert_one_line_error(proc, 1, "not a Gas Town ledger")
    assert Path(setup.town.ledger_path).read_bytes() == b""


def test_locked_ledger_refuses_a_write_and_changes_nothing(setup: Setup) -> None:
    holder = sqlite3.connect(setup.town.ledger_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        proc = run_gt(
            "bead",
            "create",
            "written-while-locked",
            town=setup.town,
            env={"GT_BUSY_TIMEOUT_MS": "300"},
        )
        assert_one_line_error(proc, 1, "locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Ledger(setup.town.ledger_target) as led:
        assert [b for b in led.beads.list() if b["title"] == "written-while-locked"] == []


# --- usage errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("frob",),
        ("bead", "frob"),
        ("bead", "show"),
        ("bead", "create"),
        ("dep", "add", "hq-aaaa"),
        ("bead", "list", "-n", "many"),
        ("bead", "create", "x", "--no-such-flag"),
        ("convoy", "create", "T"),
        ("mail", "send", "mayor"),
        ("import",),
        ("export", "--layout", "backup"),
        ("sling",),
    ],
)
def test_usage_errors_exit_2_with_one_line(setup: Setup, argv: tuple[str, ...]) -> None:
    refused(setup, *argv, code=2)


@pytest.mark.parametrize("argv", [(), ("bead",), ("dep",), ("rig",), ("convoy",), ("mail",)])
def test_missing_command_or_action_is_a_one_line_usage_error(
    setup: Setup, argv: tuple[str, ...]
) -> None:
    refused(setup, *argv, code=2)


def test_help_is_not_an_error(setup: Setup) -> None:
    proc = run_gt("bead", "create", "--help", town=setup.town)
    assert proc.returncode == 0 and proc.stderr == "" and "usage" in proc.stdout


def test_import_of_a_lone_surrogate_is_a_clean_refusal_naming_the_line(
    setup: Setup, tmp_path: Path
) -> None:
    path = tmp_path / "surrogate.jsonl"
    path.write_text(
        '{"id": "hq-ok1", "title": "fine"}\n{"id": "hq-sur2", "title": "bad \\ud800 title"}\n',
        encoding="utf-8",
    )
    before = ledger_dump(setup.town.ledger_target)
    proc = run_gt("import", str(path), town=setup.town)
    if proc.returncode:
        assert_one_line_error(proc, 1, "line 2")
        assert "internal error" not in proc.stderr
        assert ledger_dump(setup.town.ledger_target) == before
    proc = run_gt("import", "--skip-bad", str(path), town=setup.town)
    assert proc.returncode == 0, proc.stderr
    with Ledger(setup.town.ledger_target) as led:
        assert led.beads.get("hq-ok1") is not None


@pytest.mark.parametrize(
    "argv",
    [
        ("bead", "create", os.fsdecode(b"bad \xff title")),
        ("mail", "send", "mayor", os.fsdecode(b"\xff subject")),
        ("bead", "show", os.fsdecode(b"hq-\xff")),
    ],
)
def test_an_argument_that_is_not_utf8_is_refused_cleanly(
    setup: Setup, argv: tuple[str, ...]
) -> None:
    proc = subprocess.run(
        gt_argv(*argv, town=setup.town),
        capture_output=True,
        env=gt_env(),
        cwd=str(REPO),
        timeout=60,
    )
    text = subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )
    assert proc.returncode in (1, 2)
    assert_one_line_error(text, proc.returncode)
