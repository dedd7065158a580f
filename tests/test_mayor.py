"""The mayor (engine/mayor/), fast: `gt mayor` errors, the mayor's identity, its briefing
(`gt prime --role mayor`), the nudge a mail becomes; and with real tmux and a tiny stand-in
CLI (a custom runtime): start, status, a line typed in, mail handed over when it sits at its
prompt, a kill -9 restarted by the watch with an event, stop. The real Claude Code mayor is
tests/test_mayor_real.py."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.config import TownConfig
from engine.ledger import Ledger
from engine.mayor import session, watch
from engine.polecats import proctree
from engine.town import Town, init_town
from tests.cli_support import run_gt
from tests.conftest import add_rig


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# ---- gt mayor: bad input, one line, non-zero ----------------------------------------------


def test_status_of_a_town_without_a_mayor(town: Town) -> None:
    proc = run_gt("mayor", "status", "--json", town=town)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["running"] is False and data["wanted"] is False
    assert data["runtime"] == "script"  # the town's default runtime
    assert data["log"].endswith(os.path.join("logs", "mayor.log"))
    proc = run_gt("mayor", "status", town=town)
    assert "mayor: not running" in proc.stdout


def test_stop_without_a_mayor_is_one_line(town: Town) -> None:
    proc = run_gt("mayor", "stop", town=town)
    assert proc.returncode == 1
    assert lines(proc.stderr) == ["gt: error: the mayor is not running (gt mayor start)"]


def test_start_with_a_missing_cli_is_one_line_and_leaves_nothing(town: Town) -> None:
    Path(town.config_path).write_text(
        '[mayor]\nruntime = "ghost"\n[runtime.ghost]\nargv = ["no-such-cli-7f3a", "{prompt}"]\n'
    )
    proc = run_gt("mayor", "start", town=town)
    assert proc.returncode == 1
    assert lines(proc.stderr) == [
        "gt: error: runtime 'ghost': command 'no-such-cli-7f3a' not found on PATH"
    ]
    assert not os.path.exists(session.paths(town).state)
    proc = run_gt("mayor", "status", "--json", town=town)
    assert json.loads(proc.stdout)["runtime"] == "ghost"


def test_an_unknown_mayor_runtime_is_one_line(town: Town) -> None:
    Path(town.config_path).write_text('[mayor]\nruntime = "nope"\n')
    proc = run_gt("mayor", "start", town=town)
    assert proc.returncode == 1
    assert len(lines(proc.stderr)) == 1 and "unknown runtime 'nope'" in proc.stderr


def test_a_typo_in_the_mayor_table_is_refused(town: Town) -> None:
    Path(town.config_path).write_text('[mayor]\nruntme = "claude"\n')
    proc = run_gt("mayor", "status", town=town)
    assert proc.returncode == 1
    assert len(lines(proc.stderr)) == 1 and "runtme" in proc.stderr


def test_tell_refuses_control_characters_and_a_mayor_not_running(town: Town) -> None:
    proc = run_gt("mayor", "tell", "hello\x03", town=town)
    assert proc.returncode == 2
    assert len(lines(proc.stderr)) == 1 and "control character" in proc.stderr
    proc = run_gt("mayor", "tell", "hello", town=town)
    assert proc.returncode == 2
    assert lines(proc.stderr) == ["gt: error: the mayor is not running (gt mayor start)"]


def test_an_agent_session_cannot_start_or_stop_the_mayor(town: Town) -> None:
    for action in ("start", "stop"):
        proc = run_gt("mayor", action, town=town, env={"GT_ROLE": "mayor"})
        assert proc.returncode == 2
        assert len(lines(proc.stderr)) == 1 and "not from inside an agent session" in proc.stderr


# ---- identity: the mayor's session acts as the mayor --------------------------------------

MAYOR_ENV = {"GT_ROLE": "mayor", "GT_SESSION": "mayor"}


def test_the_mayors_calls_are_recorded_as_the_mayor(town: Town) -> None:
    # Failed before: GT_ROLE set without GT_AGENT_ID was refused ("no $GT_AGENT_ID").
    with Ledger(town.ledger_target) as led:
        add_rig(led, "api", "api", ["python"])
    proc = run_gt("bead", "create", "Add /health", "--rig", "api", town=town, env=MAYOR_ENV)
    assert proc.returncode == 0, proc.stderr
    bead = proc.stdout.split()[-1] if proc.stdout.split() else ""
    proc = run_gt("mail", "send", "api/witness", "hello", town=town, env=MAYOR_ENV)
    assert proc.returncode == 0, proc.stderr
    with Ledger(town.ledger_target) as led:
        created = [b for b in led.beads.list() if b["title"] == "Add /health"]
        assert created and created[0]["created_by"] == "mayor", bead
        sent = led.mail.inbox(["api/witness"])
        assert sent[0]["from"] == "mayor"
    proc = run_gt("mail", "inbox", town=town, env=MAYOR_ENV)
    assert proc.returncode == 0, proc.stderr


def test_the_mayors_session_cannot_act_as_an_agent(town: Town) -> None:
    proc = run_gt("heartbeat", "--agent", "api/polecats/Toast", town=town, env=MAYOR_ENV)
    assert proc.returncode != 0
    assert len(lines(proc.stderr)) == 1


# ---- the briefing -------------------------------------------------------------------------


def test_prime_role_mayor_tells_the_town(town: Town) -> None:
    with Ledger(town.ledger_target) as led:
        add_rig(led, "api", "api", ["python", "http"])
        add_rig(led, "web", "web", ["node"])
        led.beads.create("Do a thing", rig="api")
        led.mail.send(sender="api/polecats/Toast", to="mayor", subject="which port?\x1b[31m")
    proc = run_gt("prime", "--role", "mayor", town=town)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "You are the mayor" in out
    assert "rig api (prefix api): http, python" in out and "rig web (prefix web): node" in out
    assert "ready to start: 1; blocked: 0" in out
    assert "unread mail: 1" in out and "from api/polecats/Toast" in out
    assert "\x1b" not in out  # an agent's subject is shown, never acted on
    for cmd in ("gt convoy create", "--plan", "gt sling", "gt dep add", "gt escalate list"):
        assert cmd in out
    assert "all or" in out and "Never edit a rig's repository" in out
    # inside the mayor's session a plain `gt prime` is its briefing
    proc = run_gt("prime", town=town, env=MAYOR_ENV)
    assert proc.returncode == 0 and "You are the mayor" in proc.stdout
    data = json.loads(run_gt("prime", "--role", "mayor", "--json", town=town).stdout)
    assert data["role"] == "mayor" and "ready to start: 1" in data["briefing"]


def test_a_mail_becomes_one_safe_line() -> None:
    mail = {
        "id": "gt-m1",
        "from": "api/polecats/Toast",
        "subject": "port?\x1b[2J",
        "body": "line one\nline two\x03",
        "created_at": "",
    }
    text = watch.nudge_text(mail)  # type: ignore[arg-type]
    assert "\n" not in text and "\x1b" not in text and "\x03" not in text
    assert text.startswith("Gas Town mail gt-m1 from api/polecats/Toast: port?")
    assert "line one line two" in text and 'gt mail send api/polecats/Toast "..."' in text


# ---- real tmux, a stand-in CLI ------------------------------------------------------------

# A CLI in miniature: prints a prompt, echoes each line it reads (the screen reads "unknown":
# no screen rules, so mail goes once its start-up delay passed, as for polecats).
STAND_IN = (
    "import sys\n"
    "print('stand-in mayor ready', flush=True)\n"
    "for line in sys.stdin:\n"
    "    print('heard: ' + line.strip(), flush=True)\n"
)


@pytest.fixture
def mayor_town(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Town, Ledger]]:
    monkeypatch.setenv("SHELL", "/bin/sh")
    town = init_town(str(tmp_path / "town"))
    argv = json.dumps([sys.executable, "-c", STAND_IN])
    Path(town.config_path).write_text(
        f'[mayor]\nruntime = "standin"\n[runtime.standin]\nargv = {argv}\nready_delay = 0.0\n'
    )
    led = Ledger(town.ledger_target)
    yield town, led
    tmux = session.tmux_of(town)
    tmux.kill_server()
    proctree.terminate(proctree.with_env({"GT_TOWN": town.root}), grace=1.0)
    led.close()


def wait_for(check, timeout: float = 10.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def log_text(town: Town) -> str:
    try:
        return Path(session.paths(town).log).read_text(errors="replace")
    except OSError:
        return ""


def test_the_mayor_session_end_to_end_with_a_stand_in(mayor_town: tuple[Town, Ledger]) -> None:
    town, led = mayor_town
    proc = run_gt("mayor", "start", "--json", town=town)
    assert proc.returncode == 0, proc.stderr
    started = json.loads(proc.stdout)
    assert started["running"] and started["runtime"] == "standin"
    assert started["desk"].startswith(town.state_dir)
    wait_for(lambda: "stand-in mayor ready" in log_text(town), what="its log")
    # a second start is refused, one line
    again = run_gt("mayor", "start", town=town)
    assert again.returncode == 1 and "already running" in again.stderr
    # the environment the session's `gt` sees: the mayor's role, no agent token
    tmux = session.tmux_of(town)
    pid = next(p.pane_pid for p in tmux.panes() if p.session == session.SESSION)
    assert pid in proctree.with_env({"GT_ROLE": "mayor", "GT_SESSION": "mayor"})
    assert not proctree.with_env({"GT_TOWN": town.root, "GT_AGENT_ID": ""}) & {pid}
    # a line typed in, literally
    proc = run_gt("mayor", "tell", "add a health endpoint; then $HOME stays text", town=town)
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: "heard: add a health endpoint; then $HOME stays text" in log_text(town))

    config = town.config()
    eye = watch.MayorWatch(town, config, led)
    # mail to the mayor reaches the session (and stays unread in the person's inbox)
    msg = led.mail.send(sender="api/polecats/Toast", to="mayor", subject="which port?")
    eye.tick()
    wait_for(lambda: f"heard: Gas Town mail {msg['id']} from api/polecats/Toast" in log_text(town))
    assert led.mail.inbox(["mayor"], unread_only=True)[0]["id"] == msg["id"]
    eye.tick()  # handed over once
    time.sleep(0.3)
    assert log_text(town).count(f"heard: Gas Town mail {msg['id']}") == 1
    kinds = [e["kind"] for e in led.state.recent(limit=50)]
    assert "mayor_mail_delivered" in kinds

    # kill -9 of its CLI: the watch starts it again, fresh, and records it
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not session.alive(tmux), what="the session to go")
    eye.tick()
    wait_for(lambda: session.alive(tmux), what="the restart")
    wait_for(lambda: log_text(town).count("stand-in mayor ready") == 2, what="the new CLI")
    status = session.status(town, config)
    assert status.restarts == 1 and status.wanted
    restarted = [e for e in led.state.recent(limit=50) if e["kind"] == "mayor_restarted"]
    assert restarted and restarted[0]["actor"] == "witness"
    assert os.path.exists(session.paths(town).prompt)  # re-primed: its briefing, fresh

    # stopped by the person: gone, and not restarted
    proc = run_gt("mayor", "stop", town=town)
    assert proc.returncode == 0, proc.stderr
    assert not session.alive(tmux)
    eye.tick()
    assert not session.alive(tmux)
    assert not session.status(town, config).wanted
    assert not proctree.with_env({"GT_TOWN": town.root, "GT_SESSION": "mayor"})


def test_a_busy_mayor_is_not_interrupted(
    mayor_town: tuple[Town, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screen read as working (or a dialog, or a person's question): the mail waits; it
    goes once the screen reads idle twice in a row, the readings a moment apart."""
    from engine.polecats.screens import ScreenReading, ScreenState

    town, led = mayor_town
    session.start(town, town.config(), led)
    wait_for(lambda: "stand-in mayor ready" in log_text(town))
    eye = watch.MayorWatch(town, town.config(), led)
    shown = {"state": ScreenState.WORKING}
    monkeypatch.setattr(session, "screen", lambda _tmux, _rt: ScreenReading(shown["state"]))
    msg = led.mail.send(sender="web/polecats/Nux", to="mayor", subject="ready?")
    for state in (ScreenState.WORKING, ScreenState.DIALOG, ScreenState.NEEDS_YOU):
        shown["state"] = state
        eye.tick()
    shown["state"] = ScreenState.IDLE
    eye.tick()  # idle once: not yet
    eye.tick()  # ...and read again at once (commits can wake the engine that fast): the
    eye.tick()  # same frame, not a second reading
    time.sleep(0.3)
    assert f"Gas Town mail {msg['id']}" not in log_text(town)
    time.sleep(watch.IDLE_SPACING)
    eye.tick()
    wait_for(lambda: f"heard: Gas Town mail {msg['id']}" in log_text(town))


def test_mail_already_unread_at_start_is_in_the_briefing_not_typed(
    mayor_town: tuple[Town, Ledger],
) -> None:
    town, led = mayor_town
    old = led.mail.send(sender="api/polecats/Toast", to="mayor", subject="earlier question")
    session.start(town, town.config(), led)
    assert "earlier question" in Path(session.paths(town).prompt).read_text()
    wait_for(lambda: "stand-in mayor ready" in log_text(town))
    eye = watch.MayorWatch(town, town.config(), led)
    eye.tick()
    time.sleep(0.3)
    assert f"Gas Town mail {old['id']}" not in log_text(town)


def test_config_mayor_runtime_defaults_to_the_towns() -> None:
    config = TownConfig.model_validate({"runtime": {"default": "claude"}})
    assert session.runtime_name(config) == "claude"
    config = TownConfig.model_validate(
        {"runtime": {"default": "claude"}, "mayor": {"runtime": "codex"}}
    )
    assert session.runtime_name(config) == "codex"


def test_the_engine_facade_starts_tells_and_stops_the_mayor(
    mayor_town: tuple[Town, Ledger],
) -> None:
    """What the app calls (Engine.mayor), on the engine's ledger thread."""
    import asyncio

    from engine.engine import Engine
    from engine.errors import UsageError

    town, led = mayor_town

    async def go() -> None:
        engine = Engine(town, refinery=False)
        await engine.start()
        try:
            status = await engine.mayor("start")
            assert status.running and status.runtime == "standin"
            wait_for(lambda: "stand-in mayor ready" in log_text(town))
            await engine.mayor("tell", text="hello from the app")
            wait_for(lambda: "heard: hello from the app" in log_text(town))
            with pytest.raises(UsageError, match="control character"):
                await engine.mayor("tell", text="hello\x1b[2J")
            assert (await engine.mayor("status")).screen == "unknown"  # no screen rules
            assert not (await engine.mayor("stop")).running
        finally:
            await engine.stop()

    asyncio.run(go())
    kinds = [e["kind"] for e in led.state.recent(limit=20)]
    assert "mayor_started" in kinds and "mayor_stopped" in kinds
