"""Each polecat's private config home for its CLI: `<state>/homes/<rig>+<name>/<runtime>/`.

A real CLI keeps state in its config home (onboarding done, folders trusted, the bypass
warning accepted, transcripts). The town never edits the person's own: it gives each agent a
home of its own (0700), points the CLI at it through the variable the CLI reads for that
(`RuntimeSpec.home_env`: CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME — none of them
changes HOME, so the agent's shell, git and tools still see the person's), and writes there
only what unattended work needs (`RuntimeSpec.home_layout`), merged into whatever the CLI
wrote itself on earlier starts.

The person's login (`RuntimeSpec.login_files`, e.g. Claude Code's `.credentials.json`) is
*linked* into the agent's home, never copied: subscription logins rotate their refresh token,
so a copy goes stale the moment either side refreshes (and can log the other out), and a
person who logs in again would have to re-copy it. The original is never written by the town;
the CLI refreshing its own login through the link is what it does when the person runs it.
A file the CLI put in place of the link (a rename over it) is the agent's own and is kept.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from engine.polecats.launch import private_dir
from engine.runtime_specs import RuntimeSpec

log = logging.getLogger("gastown.fleet")


def home_path(state_dir: str, session: str, runtime_name: str) -> str:
    return os.path.join(state_dir, "homes", session, runtime_name)


def prepare(
    runtime: RuntimeSpec,
    runtime_name: str,
    *,
    state_dir: str,
    session: str,
    worktree: str,
    env: Mapping[str, str],
    person_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Make the agent's home and return the variables that point the CLI at it (none for a
    runtime without `home_env`). `env` is the agent's environment (what the CLI will see);
    `person_env` the engine's own, where the person's config home is looked up."""
    if not runtime.home_env:
        return {}
    person = os.environ if person_env is None else person_env
    home = home_path(state_dir, session, runtime_name)
    private_dir(os.path.dirname(home))
    private_dir(home)
    if runtime.home_layout:
        LAYOUTS[runtime.home_layout](home, worktree, env)
    own = _person_home(runtime, person)
    if own and os.path.realpath(own) != os.path.realpath(home):
        for rel in runtime.login_files:
            _link_login(os.path.join(own, rel), os.path.join(home, rel))
    return {runtime.home_env: home}


def _person_home(runtime: RuntimeSpec, person: Mapping[str, str]) -> str | None:
    """The person's own config home: their variable if set (and not a town's agent home),
    else the CLI's default."""
    assert runtime.home_env is not None
    own = person.get(runtime.home_env)
    if own:
        return own
    if not runtime.home_default:
        return None
    if runtime.home_default.startswith("~"):
        home = person.get("HOME")
        if not home:
            return None
        return home + runtime.home_default[1:]
    return runtime.home_default


def _link_login(source: str, target: str) -> None:
    if not os.path.isfile(source):
        return  # not logged in this way: an API key or token in the environment, perhaps
    private_dir(os.path.dirname(target))
    if os.path.islink(target):
        if os.readlink(target) == source:
            return
        os.unlink(target)  # a link to a login the person moved
    elif os.path.lexists(target):
        return  # the CLI's own file now (it renamed over the link): the agent's login
    os.symlink(source, target)


# ---- files per CLI ---------------------------------------------------------------------------


def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_private(path: str, text: str) -> None:
    """Whole or not at all (a CLI reading it mid-write must not see half), owner-only."""
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)


def _merge_json(path: str, update: Any) -> None:
    data = _read_json(path)
    merged = _deep_merge(data, update)
    if merged != data or not os.path.exists(path):
        _write_private(path, json.dumps(merged, indent=2) + "\n")


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def claude_home(home: str, worktree: str, env: Mapping[str, str]) -> None:
    """Claude Code 2.1: `.claude.json` (state) and `settings.json` (user settings) in
    CLAUDE_CONFIG_DIR. Onboarding done (its connectivity check goes to api.anthropic.com
    whatever the base URL: behind a gateway it fails and the CLI exits), the worktree
    trusted, the bypass-permissions warning accepted, and an ANTHROPIC_API_KEY the town
    passes approved (the CLI matches its last 20 characters; else it asks and defaults No)."""
    state: dict[str, Any] = {
        "hasCompletedOnboarding": True,
        "projects": {worktree: {"hasTrustDialogAccepted": True}},
    }
    key = env.get("ANTHROPIC_API_KEY")
    if key:
        approved = (
            _read_json(os.path.join(home, ".claude.json"))
            .get("customApiKeyResponses", {})
            .get("approved", [])
        )
        if not isinstance(approved, list):
            approved = []
        if key[-20:] not in approved:
            approved = [*approved, key[-20:]]
        state["customApiKeyResponses"] = {"approved": approved}
    _merge_json(os.path.join(home, ".claude.json"), state)
    _merge_json(os.path.join(home, "settings.json"), {"skipDangerousModePermissionPrompt": True})


CODEX_PROVIDER = "gastown"
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON's escapes (\" \\ \n \uXXXX, ASCII only) are valid in a TOML basic string
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise ValueError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else json.dumps(key)


def _toml_dump(data: dict[str, Any], prefix: str = "") -> str:
    """What tomllib read, written back: scalars and arrays first, then sub-tables."""
    lines = [
        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)
    ]
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in data.items():
        if isinstance(value, dict):
            name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
            out += f"\n[{name}]\n" + _toml_dump(value, name)
    return out


def codex_home(home: str, worktree: str, env: Mapping[str, str]) -> None:
    """Codex 0.171: `config.toml` in CODEX_HOME, which Codex also writes (notices seen, the
    model-migration answer): the town's keys are merged into it. The worktree is trusted
    (else it asks); commands run in a plain shell, not a login shell (a login shell's
    /etc/profile resets PATH and loses `gt`); no update check; text typed quickly is not
    taken for a paste (a nudge's Enter submits it). With OPENAI_BASE_URL set, a Responses
    provider on that URL keyed by OPENAI_API_KEY is the model provider (Codex refuses
    wire_api "chat")."""
    path = os.path.join(home, "config.toml")
    try:
        with open(path, "rb") as fh:
            current = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        current = {}
    ours: dict[str, Any] = {
        "allow_login_shell": False,
        "check_for_update_on_startup": False,
        "disable_paste_burst": True,
        "projects": {worktree: {"trust_level": "trusted"}},
    }
    base_url = env.get("OPENAI_BASE_URL")
    if base_url:
        ours["model_provider"] = CODEX_PROVIDER
        ours["model_providers"] = {
            CODEX_PROVIDER: {
                "name": CODEX_PROVIDER,
                "base_url": base_url,
                "env_key": "OPENAI_API_KEY",
                "wire_api": "responses",
            }
        }
    merged = _deep_merge(current, ours)
    if merged == current and os.path.exists(path):
        return
    try:
        text = _toml_dump(merged)
        if tomllib.loads(text) != merged:
            raise ValueError("it does not read back the same")
    except ValueError as exc:
        # a value this writer does not know (a date): the town's keys alone, Codex's lost
        log.warning("rewriting %s with gastown's keys only: %s", path, exc)
        text = _toml_dump(ours)
    _write_private(path, text)


def gemini_home(home: str, worktree: str, env: Mapping[str, str]) -> None:
    """Gemini CLI 0.61: GEMINI_CLI_HOME replaces the home it looks in (for `.gemini/`
    only; its shell tool keeps HOME). An auth method must be selected or it stops at a
    dialog (headless: exit 41): the API key when the town passes one, else the person's
    Google login (linked `oauth_creds.json`). Trust comes from GEMINI_CLI_TRUST_WORKSPACE."""
    folder = private_dir(os.path.join(home, ".gemini"))
    if env.get("GEMINI_API_KEY"):
        selected = "gemini-api-key"
    elif env.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() == "true":
        selected = "vertex-ai"
    else:
        selected = "oauth-personal"
    path = os.path.join(folder, "settings.json")
    # Kept when the agent's settings already say otherwise (a person tuned them).
    defaults = _deep_merge(GEMINI_GIVE_UP, _read_json(path))
    _merge_json(path, _deep_merge(defaults, {"security": {"auth": {"selectedType": selected}}}))


# Gemini CLI 0.61 with a failing model (a 500, a short 429) retries without end at its default
# error verbosity ("low": after its attempts it silently tries again). With "full" it stops
# after `maxAttempts` (back-off from 5 s: 3 take ~15 s) and shows "We are currently
# experiencing high demand." / "1. Keep trying / 2. Stop": the screen rules read that as
# crashed, and the bead's failure carries that line.
GEMINI_GIVE_UP: dict[str, Any] = {
    "general": {"maxAttempts": 3},
    "ui": {"errorVerbosity": "full"},
}


LAYOUTS = {"claude": claude_home, "codex": codex_home, "gemini": gemini_home}
