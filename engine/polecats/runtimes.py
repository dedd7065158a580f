"""Agent runtimes as data: adding a runtime is adding an entry (here or in town.toml).

An argv template's `{prompt}` element becomes the bead's prompt text and `{prompt_file}`
its path — element-wise, after the session started; no shell ever parses either.
"""

from __future__ import annotations

import os
import shutil
import sys

from engine.adapters.tmux import SERVER_ENV_ALLOW
from engine.errors import GtError
from engine.runtime_specs import RuntimeSpec

# The environment an agent gets: these from the engine's own, then identity variables.
BASE_ENV_ALLOW = (*SERVER_ENV_ALLOW, "COLORTERM")

# Proxies and extra CA certificates: a person behind a corporate proxy needs them in every CLI.
NETWORK_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE")

# Claude Code, Codex and Gemini CLI: checked against claude 2.1.197, codex 0.171.0 and gemini
# 0.61.0 (agents/package.json) — tests/test_real_agents_e2e.py runs each through a bead.
# Each runs its interactive TUI in the tmux session (the town watches and nudges it there),
# the prompt given as an argument (a typed prompt would race the start-up); its config home
# is the agent's own (engine/polecats/agent_homes.py); what its screen shows is read by its
# screen rules (engine/polecats/screens/).
PRESETS: dict[str, RuntimeSpec] = {
    "claude": RuntimeSpec(
        argv=["claude", "--dangerously-skip-permissions", "{prompt}"],
        prompt="argument",
        autonomy="--dangerously-skip-permissions",
        ready_delay=3.0,
        env=[
            # endpoint and auth: a gateway takes ANTHROPIC_AUTH_TOKEN (sent as a Bearer token)
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_CUSTOM_HEADERS",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "CLAUDE_CODE_USE_BEDROCK",
            "ANTHROPIC_BEDROCK_BASE_URL",
            "AWS_REGION",
            "AWS_PROFILE",
            "CLAUDE_CODE_USE_VERTEX",
            "ANTHROPIC_VERTEX_PROJECT_ID",
            "CLOUD_ML_REGION",
            # models and behaviour
            "ANTHROPIC_MODEL",
            "ANTHROPIC_SMALL_FAST_MODEL",
            "ANTHROPIC_DEFAULT_OPUS_MODEL",
            "ANTHROPIC_DEFAULT_SONNET_MODEL",
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "CLAUDE_CODE_SUBAGENT_MODEL",
            "CLAUDE_CODE_MAX_RETRIES",
            "API_TIMEOUT_MS",
            *NETWORK_ENV,
        ],
        set_env={
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "DISABLE_AUTOUPDATER": "1",
        },
        # --dangerously-skip-permissions is refused as root unless the CLI is told it runs
        # in a sandbox; set only then, so an ordinary user's agent keeps the CLI's checks.
        root_env={"IS_SANDBOX": "1"},
        home_env="CLAUDE_CONFIG_DIR",
        home_layout="claude",
        home_default="~/.claude",
        login_files=[".credentials.json"],
    ),
    "codex": RuntimeSpec(
        # --no-daemon: else the TUI copies ~424 MB into its home and starts an app-server
        # that outlives the session.
        argv=["codex", "--no-daemon", "--dangerously-bypass-approvals-and-sandbox", "{prompt}"],
        prompt="argument",
        autonomy="--dangerously-bypass-approvals-and-sandbox",
        ready_delay=2.0,
        env=[
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",  # makes the agent's config.toml name a provider on it
            "OPENAI_ORGANIZATION",
            "CODEX_CA_CERTIFICATE",
            *NETWORK_ENV,
        ],
        home_env="CODEX_HOME",
        home_layout="codex",
        home_default="~/.codex",
        login_files=["auth.json"],
    ),
    "gemini": RuntimeSpec(
        argv=["gemini", "--yolo", "--prompt-interactive", "{prompt}"],
        prompt="flag --prompt-interactive",
        autonomy="--yolo",
        ready_delay=2.0,
        env=[
            "GEMINI_API_KEY",
            "GOOGLE_GEMINI_BASE_URL",
            "GOOGLE_API_KEY",
            "GOOGLE_CLOUD_PROJECT",
            "GOOGLE_CLOUD_LOCATION",
            "GOOGLE_GENAI_USE_VERTEXAI",
            "GOOGLE_VERTEX_BASE_URL",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GEMINI_MODEL",
            *NETWORK_ENV,
        ],
        # Without trust YOLO is switched off, and its trust dialog appears while the prompt
        # already runs (a key meant for it lands in a tool-approval box): trusted up front.
        set_env={"GEMINI_CLI_TRUST_WORKSPACE": "true"},
        home_env="GEMINI_CLI_HOME",
        home_layout="gemini",
        home_default="~",
        login_files=[".gemini/oauth_creds.json", ".gemini/google_accounts.json"],
        # its shell tool runs git with GIT_CONFIG_GLOBAL=/dev/null: no user.name of the
        # person's, so `git commit` fails unless the commit's identity comes by variables
        git_identity=True,
        submit_delay=0.5,
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
        if base is not None and "set_env" in written:
            # values are added to the preset's (a base URL must not drop its telemetry off)
            written["set_env"] = {**base.set_env, **written["set_env"]}
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
    if os.geteuid() == 0:
        env.update(runtime.root_env)
    if runtime.git_identity and "GT_AGENT" in identity:
        name, email = identity["GT_AGENT"], f"{identity['GT_AGENT'].lower()}@gastown.local"
        for key, value in (("NAME", name), ("EMAIL", email)):
            for who in ("AUTHOR", "COMMITTER"):
                # the person's own, when the engine has them, else the polecat's
                env[f"GIT_{who}_{key}"] = os.environ.get(f"GIT_{who}_{key}", value)
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
