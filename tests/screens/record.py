"""Record the screens of the real agent CLIs, for the screen rules' fixtures.

Run by hand (it starts the real CLIs, with scripted model servers, in tmux on a private
socket, and takes a few minutes):

    python -m tests.screens.record claude [codex gemini]

Each scenario drives one CLI through some of its states — start-up dialogs (no trust set up
front), working on a turn, idle at the prompt, a rate or usage limit, a crash, a question
the town does not know — and saves pane captures, taken exactly as the witness takes them
(engine.adapters.tmux.Tmux.capture: `capture-pane -p -J -S -<SCREEN_LINES>`), as
tests/screens/fixtures/<cli>-<version>/<state>-<what>-<n>.txt. The state in a file's name is
what the capture is expected to read as; check each new capture by eye before keeping it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from engine.polecats.agent_homes import GEMINI_GIVE_UP
from tests.agent_clis import agent_cli, claude_env, codex_env, gemini_env, pinned_version
from tests.model_servers import (
    AnthropicServer,
    Fault,
    GeminiServer,
    OpenAIResponsesServer,
    Script,
    ToolCall,
    Turn,
)
from tests.screens.panes import FIXTURES, Pane, Recorder, running, workspace

SLEEP = "sleep 12"


def sleeping_script(call: ToolCall) -> Script:
    return Script([Turn("Running a slow command.", (call,)), Turn("All done.")])


# ---- Claude Code -----------------------------------------------------------------------


def claude(rec: Recorder) -> None:
    claude_exits(rec)
    exe = str(agent_cli("claude"))
    # 1. No trust set up: the trust dialog, then the bypass-permissions warning, then idle.
    with workspace() as (root, repo), AnthropicServer(Script([Turn("Hi.")])) as server:
        env = claude_env(root / "home", server.url, root / "elsewhere")
        with running([exe, "--dangerously-skip-permissions"], repo, env) as pane:
            rec.save(pane, "dialog-trust", pane.wait_for("trust this folder"))
            pane.keys("Enter")
            rec.save(pane, "dialog-bypass", pane.wait_for("Yes, I accept"))
            pane.keys("2")
            time.sleep(4)
            rec.save(pane, "idle-start")
    # 2. A turn with a slow tool: working, then idle.
    call = ToolCall("Bash", {"command": SLEEP, "description": "Wait"})
    with workspace() as (root, repo), AnthropicServer(sleeping_script(call)) as server:
        env = claude_env(root / "home", server.url, repo)
        _skip_bypass_warning(env)
        with running([exe, "--dangerously-skip-permissions", "Wait a bit."], repo, env) as pane:
            time.sleep(5)
            rec.save(pane, "working-tool")
            pane.wait_for("All done.", 40)
            time.sleep(2)
            rec.save(pane, "idle-done")
            time.sleep(11)  # the tmux focus-events notice comes after ~10 s
            rec.save(pane, "idle-later")
    # 3. A question the town does not know: a tool permission prompt (no skip flag).
    call = ToolCall("Bash", {"command": "touch made-by-agent", "description": "Make a file"})
    with workspace() as (root, repo), AnthropicServer(sleeping_script(call)) as server:
        env = claude_env(root / "home", server.url, repo)
        with running([exe, "Make a file."], repo, env) as pane:
            rec.save(pane, "needs_you-permission", pane.wait_for("Do you want to proceed?"))
    # 4. Usage limit and rate limit, no retries.
    for kind in ("usage_limit", "rate_limit"):
        script = Script([Turn("Hi.", fault=Fault(kind, retry_after_s=3600))])  # type: ignore[arg-type]
        with workspace() as (root, repo), AnthropicServer(script) as server:
            env = claude_env(root / "home", server.url, repo) | {"CLAUDE_CODE_MAX_RETRIES": "0"}
            _skip_bypass_warning(env)
            with running([exe, "--dangerously-skip-permissions", "Hi"], repo, env) as pane:
                time.sleep(12)
                rec.save(pane, f"rate_limited-{kind.replace('_', '')}")
    # 5. First run with an empty home (a person's set-up); server errors until it gives up.
    with workspace() as (root, repo), AnthropicServer(Script([Turn("Hi.")])) as server:
        env = claude_env(root / "home", server.url, repo)
        (Path(env["CLAUDE_CONFIG_DIR"]) / ".claude.json").unlink()
        with running([exe, "--dangerously-skip-permissions"], repo, env) as pane:
            time.sleep(15)
            rec.save(pane, "needs_you-onboarding")
    script = Script([Turn("Hi.", fault=Fault("server_error"))])
    with workspace() as (root, repo), AnthropicServer(script) as server:
        env = claude_env(root / "home", server.url, repo) | {"CLAUDE_CODE_MAX_RETRIES": "0"}
        _skip_bypass_warning(env)
        with running([exe, "--dangerously-skip-permissions", "Hi"], repo, env) as pane:
            time.sleep(12)
            rec.save(pane, "crashed-server-error")


def claude_exits(rec: Recorder) -> None:
    """What it shows when it will not start: root without IS_SANDBOX; an API key."""
    exe = str(agent_cli("claude"))
    with workspace() as (root, repo), AnthropicServer(Script([Turn("Hi.")])) as server:
        env = claude_env(root / "home", server.url, repo)
        del env["IS_SANDBOX"]
        with running([exe, "--dangerously-skip-permissions"], repo, env) as pane:
            time.sleep(6)
            rec.save(pane, "crashed-root")
    with workspace() as (root, repo), AnthropicServer(Script([Turn("Hi.")])) as server:
        env = claude_env(root / "home", server.url, repo)
        env["ANTHROPIC_API_KEY"] = env.pop("ANTHROPIC_AUTH_TOKEN")
        _skip_bypass_warning(env)
        with running([exe, "--dangerously-skip-permissions"], repo, env) as pane:
            rec.save(pane, "dialog-api-key", pane.wait_for("use this API key", 30))
            pane.keys("1")
            time.sleep(4)
            rec.save(pane, "idle-after-api-key")


def _skip_bypass_warning(env: dict[str, str]) -> None:
    settings = Path(env["CLAUDE_CONFIG_DIR"]) / "settings.json"
    settings.write_text(json.dumps({"skipDangerousModePermissionPrompt": True}))


# ---- Codex -------------------------------------------------------------------------------


def codex(rec: Recorder) -> None:
    exe = str(agent_cli("codex"))
    flags = [exe, "--no-daemon", "--dangerously-bypass-approvals-and-sandbox"]
    with workspace() as (root, repo), OpenAIResponsesServer(Script([Turn("Hi.")])) as server:
        env = codex_env(root / "home", server.url, root / "elsewhere")
        with running(flags, repo, env) as pane:
            rec.save(pane, "dialog-trust", pane.wait_for("Trust", 60))
            pane.keys("Enter")
            rec.save(pane, "dialog-model", pane.wait_for("Use existing model", 30))
            pane.keys("2")
            time.sleep(2)
            rec.save(pane, "idle-after-model-dialog")
            if "Use existing model" in pane.capture():
                pane.keys("Enter")
                time.sleep(2)
            time.sleep(2)
            rec.save(pane, "idle-start")
    call = ToolCall("exec_command", {"cmd": SLEEP})
    with workspace() as (root, repo), OpenAIResponsesServer(sleeping_script(call)) as server:
        env = codex_env(root / "home", server.url, repo)
        with running([*flags, "Wait a bit."], repo, env) as pane:
            _past_model_notice(pane)
            time.sleep(4)
            rec.save(pane, "working-tool")
            pane.wait_for("All done.", 40)
            time.sleep(3)
            rec.save(pane, "idle-done")
    for kind in ("usage_limit", "rate_limit"):
        script = Script([Turn("Hi.", fault=Fault(kind, retry_after_s=3600))])  # type: ignore[arg-type]
        with workspace() as (root, repo), OpenAIResponsesServer(script) as server:
            env = codex_env(root / "home", server.url, repo)
            with running([*flags, "Hi"], repo, env) as pane:
                _past_model_notice(pane)
                time.sleep(8)
                rec.save(pane, f"rate_limited-{kind.replace('_', '')}")
    script = Script([Turn("Hi.", fault=Fault("server_error"))])
    with workspace() as (root, repo), OpenAIResponsesServer(script) as server:
        env = codex_env(root / "home", server.url, repo)
        with running([*flags, "Hi"], repo, env) as pane:
            _past_model_notice(pane)
            time.sleep(10)
            rec.save(pane, "crashed-server-error")


def codex_done(rec: Recorder) -> None:
    """A bead's closing turns, as in a town: the last command commits and runs `gt done` (a
    stand-in `gt` on PATH answers as the real one does), the model's closing words, then
    Codex back at its prompt: the screens the witness reads before it ends the session."""
    exe = str(agent_cli("codex"))
    flags = [exe, "--no-daemon", "--dangerously-bypass-approvals-and-sandbox"]
    script = Script(
        [
            Turn("Let me read the notes.", (ToolCall("exec_command", {"cmd": "cat notes.txt"}),)),
            Turn("", (ToolCall("exec_command", {"cmd": FINISH}),)),
            Turn("Fixed it and handed it to the refinery."),
        ]
    )
    with workspace() as (root, repo), OpenAIResponsesServer(script) as server:
        env = codex_env(root / "home", server.url, repo)
        config = Path(env["CODEX_HOME"]) / "config.toml"
        config.write_text("allow_login_shell = false\n" + config.read_text())
        # its model-migration offer already answered, as the witness does in a town
        with (Path(env["CODEX_HOME"]) / "config.toml").open("a") as fh:
            # and a plain shell, as the town's agent homes have it (a login shell's profile
            # resets PATH and loses `gt`)
            fh.write('[notice.model_migrations]\n"gpt-5.5" = "gpt-6-sol"\n')
        bin_dir = root / "bin"
        bin_dir.mkdir()
        (bin_dir / "gt").write_text(f"#!/bin/sh\necho '{GT_DONE_SAYS}'\n")
        (bin_dir / "gt").chmod(0o755)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
        env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "Polecat"
        env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "polecat@example.invalid"
        with running([*flags, "Fix the notes and finish."], repo, env) as pane:
            pane.wait_for("handed it to the refinery", 60)
            # what the witness sees a tick (~2 s) apart, until the screen settles
            seen: list[str] = []
            for _ in range(8):
                screen = pane.capture()
                if not seen or screen != seen[-1]:
                    seen.append(screen)
                time.sleep(1.5)
            for screen in seen[-2:]:
                rec.save(pane, "idle-after-gt-done", screen)


FINISH = "echo more >> notes.txt && git add -A && git commit -qm 'Fix' && gt done --summary 'Fixed'"
GT_DONE_SAYS = "Submitted polecat/Toast-gt-1 (0123456789) as gt-2; gt-1 is in review. You are free."


def _past_model_notice(pane: Pane) -> None:
    """Codex offers a newer model at start (not in the configured provider's catalogue)."""
    try:
        pane.wait_for("Use existing model", 20)
    except TimeoutError:
        return
    pane.keys("2")
    time.sleep(1)
    if "Use existing model" in pane.capture():
        pane.keys("Enter")


# ---- Gemini CLI --------------------------------------------------------------------------


def gemini_trust(rec: Recorder) -> None:
    """No trust set up: the trust box; answered, it restarts under the old box."""
    exe = str(agent_cli("gemini"))
    with workspace() as (root, repo), GeminiServer(Script([Turn("Hi.")])) as server:
        env = gemini_env(root / "home", server.url)
        del env["GEMINI_CLI_TRUST_WORKSPACE"]
        with running([exe, "--yolo"], repo, env) as pane:
            rec.save(pane, "dialog-trust", pane.wait_for("Do you trust the files", 30))
            pane.keys("Enter")
            pane.wait_for("restarting to apply the trust changes", 30)
            pane.wait_for("Type your message", 30)
            time.sleep(3)
            rec.save(pane, "idle-after-trust-restart")


def gemini(rec: Recorder) -> None:
    gemini_trust(rec)
    exe = str(agent_cli("gemini"))
    call = ToolCall("run_shell_command", {"command": SLEEP, "description": "Wait"})
    with workspace() as (root, repo), GeminiServer(sleeping_script(call)) as server:
        env = gemini_env(root / "home", server.url)
        with running([exe, "--yolo", "--prompt-interactive", "Wait a bit."], repo, env) as pane:
            time.sleep(7)
            rec.save(pane, "working-tool")
            pane.wait_for("All done.", 40)
            time.sleep(3)
            rec.save(pane, "idle-done")
    call = ToolCall("run_shell_command", {"command": "touch made", "description": "Make a file"})
    with workspace() as (root, repo), GeminiServer(sleeping_script(call)) as server:
        env = gemini_env(root / "home", server.url)
        with running([exe, "--prompt-interactive", "Make a file."], repo, env) as pane:
            time.sleep(12)
            rec.save(pane, "needs_you-approval")
    for kind in ("usage_limit", "rate_limit"):
        script = Script([Turn("Hi.", fault=Fault(kind, retry_after_s=3600))])  # type: ignore[arg-type]
        with workspace() as (root, repo), GeminiServer(script) as server:
            env = gemini_env(root / "home", server.url)
            with running([exe, "--yolo", "--prompt-interactive", "Hi"], repo, env) as pane:
                time.sleep(15)
                rec.save(pane, f"rate_limited-{kind.replace('_', '')}")
    script = Script([Turn("Hi.", fault=Fault("server_error"))])
    with workspace() as (root, repo), GeminiServer(script) as server:
        env = gemini_env(root / "home", server.url)
        with running([exe, "--yolo", "--prompt-interactive", "Hi"], repo, env) as pane:
            time.sleep(15)  # by default it retries without end: still working
            rec.save(pane, "working-retrying-server-error")
    gemini_crash(rec)


def gemini_crash(rec: Recorder) -> None:
    """Server errors with the town's settings (GEMINI_GIVE_UP): it gives up and asks."""
    exe = str(agent_cli("gemini"))
    script = Script([Turn("Hi.", fault=Fault("server_error"))])
    with workspace() as (root, repo), GeminiServer(script) as server:
        env = gemini_env(root / "home", server.url)
        settings = root / "home" / ".gemini" / "settings.json"
        settings.write_text(json.dumps(GEMINI_GIVE_UP | json.loads(settings.read_text())))
        with running([exe, "--yolo", "--prompt-interactive", "Hi"], repo, env) as pane:
            rec.save(pane, "crashed-server-error", pane.wait_for("2. Stop", 60))


# "<cli>" records all of a CLI's scenarios; "<cli>:<part>" one of them.
SCENARIOS: dict[str, Callable[[Recorder], None]] = {
    "claude": claude,
    "claude:exits": claude_exits,
    "codex": codex,
    "codex:done": codex_done,
    "gemini": gemini,
    "gemini:trust": gemini_trust,
    "gemini:crash": gemini_crash,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clis", nargs="+", choices=sorted(SCENARIOS))
    parser.add_argument("--out", type=Path, default=FIXTURES, help="instead of the fixtures")
    args = parser.parse_args()
    for name in args.clis:
        cli = name.partition(":")[0]
        print(f"{name} {pinned_version(cli)}")  # type: ignore[arg-type]
        SCENARIOS[name](Recorder(cli, args.out))


if __name__ == "__main__":
    main()
