"""The fixed command every agent session starts with.

`python -m engine.polecats.launch ENV_FILE PROMPT_FILE -- ARGV...`:

- reads the session's environment (API keys, the agent's identity and token) from ENV_FILE
  and deletes it. The fleet wrote it 0600 in a 0700 folder: a variable given to
  `tmux new-session -e` would sit in /proc/*/cmdline of the tmux client — and of the tmux
  server it forks, for the server's whole life — where any local user can read it;
- puts `gt` first on PATH through a one-command folder (a shim that execs this very
  interpreter), because the person's PATH may not hold the venv gastown was installed into,
  and tmux 3.3a replaces a PATH given with `-e` by the client's own;
- waits, at most 2 s, for the session's log file ($GT_LOG) to exist: the fleet's
  `pipe-pane` creates it when the pipe attaches, so the first lines are not lost (after
  2 s it goes on regardless; a late pipe loses only what came before it);
- reads the prompt from its file, puts it into the argv template element-wise, and execs
  the runtime.

Bead text never meets a shell. This module stays small: it runs once per session start.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import stat
import sys
import time
from typing import Any

SHIM_NAME = "gt"


class LaunchError(Exception):
    """The session cannot start; the message is one line for the pane and the log."""


def private_dir(path: str) -> str:
    """A folder only the owner can enter (0700 whatever the umask; an existing one is
    tightened)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def write_env_file(
    folder: str, session: str, env: dict[str, str], *, gt_dir: str | None = None
) -> str:
    """The session's environment, for the launcher alone: 0600 in a 0700 folder, created
    exclusively (never through a planted file or link). Returns its path."""
    private_dir(folder)
    path = os.path.join(folder, f"{session}.{os.urandom(6).hex()}.env")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        data = json.dumps({"env": env, "gt_dir": gt_dir}).encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return path


def read_env_file(path: str) -> dict[str, Any]:
    """Read and delete the session's file; refuse one that others could have read or
    written (it is not the one the fleet wrote)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise LaunchError(f"cannot read the session file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise LaunchError(
                f"refusing the session file {path}: it is readable or writable by others "
                "(or not ours)"
            )
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read()
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)  # read once: the secrets it holds live on only in the runtime
    try:
        data = json.loads(raw)
        env = data["env"]
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise LaunchError(f"the session file {path} is not valid") from None
    return {"env": env, "gt_dir": data.get("gt_dir")}


def shim_text(python: str) -> str:
    return (
        "#!/bin/sh\n"
        "# gastown: `gt` for agent sessions, whatever the PATH; runs the interpreter the\n"
        "# engine runs on, so it reaches the same installation.\n"
        f'exec {shlex.quote(python)} -m engine.cli.main "$@"\n'
    )


def ensure_gt_shim(folder: str, python: str | None = None) -> str:
    """`folder/gt`, executing this interpreter's `gt`; rewritten atomically when stale."""
    private_dir(folder)
    path = os.path.join(folder, SHIM_NAME)
    text = shim_text(python or sys.executable)
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text and os.access(path, os.X_OK):
                return path
    except OSError:
        pass
    # a unique temporary name: two sessions starting at once each replace it whole
    tmp = f"{path}.{os.getpid()}.{os.urandom(4).hex()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o700)
    try:
        os.fchmod(fd, 0o700)
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def with_gt_first(path_var: str, gt_dir: str) -> str:
    rest = [p for p in path_var.split(os.pathsep) if p and p != gt_dir]
    return os.pathsep.join([gt_dir, *rest])


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: launch ENV_FILE PROMPT_FILE -- ARGV...\n")
        return 2
    env_file, prompt_file, template = argv[0], argv[1], argv[3:]
    try:
        session = read_env_file(env_file)
        env = {**os.environ, **session["env"]}
        if session["gt_dir"]:
            ensure_gt_shim(session["gt_dir"])
            env["PATH"] = with_gt_first(
                env.get("PATH") or "/usr/local/bin:/usr/bin:/bin", session["gt_dir"]
            )
    except LaunchError as exc:
        sys.stderr.write(f"gastown: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"gastown: cannot put gt on PATH: {exc.strerror}\n")
        return 1
    log = env.get("GT_LOG")
    deadline = time.monotonic() + 2.0
    while log and not os.path.exists(log) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        with open(prompt_file, encoding="utf-8") as fh:
            prompt = fh.read()
    except OSError as exc:
        sys.stderr.write(f"gastown: cannot read the prompt {prompt_file}: {exc.strerror}\n")
        return 1
    args = [
        prompt if a == "{prompt}" else prompt_file if a == "{prompt_file}" else a for a in template
    ]
    try:
        os.execvpe(args[0], args, env)
    except OSError as exc:
        sys.stderr.write(f"gastown: cannot start {args[0]}: {exc.strerror}\n")
        return 127
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
