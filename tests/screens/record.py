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
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.agent_clis import (
    RUN_MARKER,
    _processes_with,
    agent_cli,
    claude_env,
    codex_env,
    gemini_env,
    pinned_version,
)
from tests.model_servers import (
    AnthropicServer,
    Fault,
    GeminiServer,
    OpenAIResponsesServer,
    Script,
    ToolCall,
    Turn,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCREEN_LINES = 50  # what the witness captures (engine.polecats.screens.SCREEN_LINES)
WIDTH, HEIGHT = 200, 50  # the fleet's session size (engine.adapters.tmux.Tmux.new_session)
SLEEP = "sleep 12"


class Pane:
    """One CLI in a session of a private tmux server; every process it starts carries a
    marker, so none survives `close`."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.socket = f"gt-screens-{uuid.uuid4().hex[:8]}"
        self.marker = uuid.uuid4().hex
        env = {k: v for k, v in env.items() if k not in ("TERM", "NO_COLOR")}
        env[RUN_MARKER] = self.marker
        Path(env.get("TMPDIR", "/tmp")).mkdir(parents=True, exist_ok=True)
        command = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
        # One tmux call: a CLI that exits at once still leaves its last screen (remain-on-exit
        # set before the session starts; a server with no session would not keep it).
        self.tmux(
            "start-server", ";", "set-option", "-g", "remain-on-exit", "on", ";",
            "new-session", "-d", "-s", "cli", "-c", str(cwd),
            "-x", str(WIDTH), "-y", str(HEIGHT), "--", *command,
        )  # fmt: skip

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        return done.stdout

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-J", "-S", f"-{SCREEN_LINES}", "-t", "=cli:")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "=cli:", *keys)

    def type(self, text: str) -> None:
        # text and Enter apart: Codex and Gemini do not submit text and Enter in one send
        self.tmux("send-keys", "-t", "=cli:", "-l", "--", text)
        time.sleep(0.5)
        self.keys("Enter")

    def wait_for(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.capture()
            if text in screen:
                return screen
            time.sleep(0.25)
        raise TimeoutError(f"{text!r} not on the screen after {timeout}s:\n{self.capture()}")

    def close(self) -> None:
        self.tmux("kill-server")
        # tmux leaves its socket file behind
        socket_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        (socket_dir / self.socket).unlink(missing_ok=True)
        for pid in _processes_with(self.marker):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        deadline = time.monotonic() + 5
        while _processes_with(self.marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _processes_with(self.marker)
        if left:
            raise RuntimeError(f"processes survived: {left}")


class Recorder:
    def __init__(self, cli: str, out: Path = FIXTURES) -> None:
        self.cli = cli
        self.dir = out / f"{cli}-{pinned_version(cli)}"  # type: ignore[arg-type]
        self.dir.mkdir(parents=True, exist_ok=True)

    def save(self, pane: Pane, name: str, screen: str | None = None) -> None:
        n = 1
        while (self.dir / f"{name}-{n}.txt").exists():
            n += 1
        (self.dir / f"{name}-{n}.txt").write_text(screen if screen is not None else pane.capture())
        print(f"  saved {self.dir.name}/{name}-{n}.txt")


@contextmanager
def workspace() -> Iterator[tuple[Path, Path]]:
    root = Path(tempfile.mkdtemp(prefix="gt-screens-"))
    repo = root / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "notes.txt").write_text("hello\n")
    try:
        yield root, repo
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[Pane]:
    pane = Pane(argv, cwd, env)
    try:
        yield pane
    finally:
        pane.close()


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
            time.sleep(15)  # it retries with back-off for minutes: still working
            rec.save(pane, "working-retrying-server-error")


# "<cli>" records all of a CLI's scenarios; "<cli>:<part>" one of them.
SCENARIOS: dict[str, Callable[[Recorder], None]] = {
    "claude": claude,
    "claude:exits": claude_exits,
    "codex": codex,
    "gemini": gemini,
    "gemini:trust": gemini_trust,
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
