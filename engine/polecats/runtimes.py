"""Agent runtimes as data: adding a runtime is adding an entry (here or in town.toml).

An argv template's `{prompt}` element becomes the bead's prompt text and `{prompt_file}`
its path — element-wise, after the session started; no shell ever parses either.
"""

from __future__ import annotations

import os
import shutil
import sys

from engine.adapters.tmux import SERVER_ENV_ALLOW
from engine.config import RuntimeSpec
from engine.errors import GtError

# The environment an agent gets: these from the engine's own, then identity variables.
BASE_ENV_ALLOW = (*SERVER_ENV_ALLOW, "COLORTERM")

PRESETS: dict[str, RuntimeSpec] = {
    "claude": RuntimeSpec(
        argv=["claude", "--dangerously-skip-permissions", "{prompt}"],
        prompt="argument",
        autonomy="--dangerously-skip-permissions",
        ready_delay=3.0,
        env=["ANTHROPIC_API_KEY", "CLAUDE_CONFIG_DIR"],
        busy_hint="esc to interrupt",
        idle_hint="❯",
        dialogs=["Do you trust the files in this folder?", "Bypass Permissions mode"],
    ),
    "codex": RuntimeSpec(
        argv=["codex", "--dangerously-bypass-approvals-and-sandbox", "{prompt}"],
        prompt="argument",
        autonomy="--dangerously-bypass-approvals-and-sandbox",
        ready_delay=2.0,
        env=["OPENAI_API_KEY", "CODEX_HOME"],
        busy_hint="esc to interrupt",
        idle_hint="▌",
    ),
    "gemini": RuntimeSpec(
        argv=["gemini", "--yolo", "--prompt-interactive", "{prompt}"],
        prompt="flag --prompt-interactive",
        autonomy="--yolo",
        ready_delay=2.0,
        env=["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT"],
        busy_hint="esc to cancel",
        idle_hint=">",
    ),
    "opencode": RuntimeSpec(
        argv=["opencode", "--prompt", "{prompt}"],
        prompt="flag --prompt",
        autonomy="(permissions from opencode.json)",
        ready_delay=2.0,
        env=["ANTHROPIC_API_KEY", "OPENAI_API_KEY"],
    ),
    "cursor": RuntimeSpec(
        argv=["cursor-agent", "--force", "{prompt}"],
        prompt="argument",
        autonomy="--force",
        ready_delay=2.0,
        env=["CURSOR_API_KEY"],
    ),
    "copilot": RuntimeSpec(
        argv=["copilot", "--allow-all-tools", "--interactive", "{prompt}"],
        prompt="flag --interactive",
        autonomy="--allow-all-tools",
        ready_delay=2.0,
        env=["GH_TOKEN", "GITHUB_TOKEN"],
    ),
    "amp": RuntimeSpec(
        argv=["amp", "--dangerously-allow-all", "--execute", "{prompt}"],
        prompt="flag --execute",
        autonomy="--dangerously-allow-all",
        ready_delay=1.0,
        env=["AMP_API_KEY"],
    ),
    "aider": RuntimeSpec(
        argv=["aider", "--yes-always", "--message-file", "{prompt_file}"],
        prompt="file --message-file",
        autonomy="--yes-always",
        ready_delay=1.0,
        env=["ANTHROPIC_API_KEY", "OPENAI_API_KEY"],
    ),
    "script": RuntimeSpec(
        argv=[sys.executable, "-m", "engine.polecats.script_agent"],
        prompt="reads its hook with `gt prime`",
        autonomy="(built in)",
        ready_delay=0.0,
        env=[],
        builtin=True,
    ),
}


def all_runtimes(custom: dict[str, RuntimeSpec] | None = None) -> dict[str, RuntimeSpec]:
    """Presets plus town.toml's `[runtime.<name>]` tables (validated when town.toml was
    loaded). A table named like a preset overrides only the keys it writes."""
    out = dict(PRESETS)
    for name, spec in (custom or {}).items():
        base = out.get(name)
        written = {key: getattr(spec, key) for key in spec.model_fields_set}
        out[name] = (base or spec).model_copy(update={**written, "custom": True})
    return out


def resolve(name: str, custom: dict[str, RuntimeSpec] | None = None) -> RuntimeSpec:
    runtimes = all_runtimes(custom)
    if name not in runtimes:
        raise GtError(f"unknown runtime {name!r} (known: {', '.join(sorted(runtimes))})")
    return runtimes[name]


def agent_env(runtime: RuntimeSpec, identity: dict[str, str]) -> dict[str, str]:
    """The allowlist, the runtime's own variables (API keys), identity; nothing else."""
    env = {k: os.environ[k] for k in BASE_ENV_ALLOW if k in os.environ}
    for key in runtime.env:
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(runtime.set_env)
    # `gt` reaches the session through the launcher's shim (engine.polecats.launch), not
    # by putting our interpreter's bin directory first: that would also shadow the agent's
    # own `python`/`pip` with gastown's venv.
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.update(identity)
    return env


def missing_command(runtime: RuntimeSpec, env: dict[str, str]) -> str | None:
    """The runtime's executable when it cannot be found on the agent's PATH."""
    exe = runtime.argv[0]
    if os.path.isabs(exe):
        return None if os.access(exe, os.X_OK) else exe
    return None if shutil.which(exe, path=env.get("PATH")) else exe
