"""The `script` runtime: a built-in agent for demos and tests, with no LLM.

It reads its hook with `gt prime --json`, carries out the steps written in the bead's body,
and calls `gt done` — through exactly the paths a real agent uses (tmux, worktree, commits,
`gt` calls, the refinery). Steps go in a fenced block in the body:

    ```gt-script
    write hello.txt Hello, world      # create/overwrite a file (rest of the line)
    append notes.md another line      # append a line to a file
    run pytest -q                     # run a command in the worktree (no shell); fails the
                                      # attempt if it exits non-zero
    log 20 0.1                        # print 20 log lines, 0.1 s apart
    sleep 2                           # wait
    commit "a message"                # git add -A && git commit
    handoff "a note"                  # ask for a fresh session (once); the next one goes on
    fail "why"                        # exit with failure, without `gt done`
    hang                              # never finish (for witness tests)
    ```

Without a block it writes `<bead-id>.txt` with the title, commits, and is done.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time

BLOCK_RE = re.compile(r"```gt-script[^\n]*\n(.*?)```", re.DOTALL)


def gt(*args: str) -> subprocess.CompletedProcess[str]:
    # By its plain name, as any agent calls it: if the session cannot find `gt`, this
    # runtime fails the same way a real one would, instead of hiding it.
    try:
        return subprocess.run(["gt", *args], text=True, capture_output=True)
    except FileNotFoundError:
        return subprocess.CompletedProcess(["gt", *args], 127, "", "gt: command not found")


def parse_steps(body: str, bead_id: str, title: str) -> list[list[str]]:
    match = BLOCK_RE.search(body or "")
    if not match:
        return [["write", f"{bead_id}.txt", title], ["commit", f"{bead_id}: {title}"]]
    steps = []
    for raw in match.group(1).splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        steps.append(shlex.split(line, comments=True))
    return steps


def say(text: str) -> None:
    print(f"[script] {text}", flush=True)


def run_steps(steps: list[list[str]], bead_id: str, hook_note: str | None = None) -> int:
    committed = False
    for step in steps:
        verb, args = step[0], step[1:]
        if verb in ("write", "append"):
            path = safe_path(args[0])
            text = " ".join(args[1:])
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w" if verb == "write" else "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
            say(f"{verb} {args[0]}")
        elif verb == "run":
            say("run " + " ".join(shlex.quote(a) for a in args))
            try:
                proc = subprocess.run(args)
            except OSError as exc:  # a command not found fails the attempt, in one line
                say(f"cannot run {args[0] if args else '(nothing)'}: {exc.strerror}")
                return 1
            if proc.returncode != 0:
                say(f"command failed with exit code {proc.returncode}")
                return 1
        elif verb == "log":
            count = int(args[0]) if args else 10
            pause = float(args[1]) if len(args) > 1 else 0.1
            for i in range(count):
                say(f"working on {bead_id}: step {i + 1}/{count}")
                time.sleep(pause)
        elif verb == "sleep":
            time.sleep(float(args[0]) if args else 1.0)
        elif verb == "commit":
            message = " ".join(args) or f"{bead_id}: work"
            subprocess.run(["git", "add", "-A"], check=True)
            proc = subprocess.run(
                [
                    "git",
                    "-c",
                    "user.name=" + os.environ.get("GT_AGENT", "agent"),
                    "-c",
                    "user.email=agent@gastown.local",
                    "commit",
                    "-q",
                    "-m",
                    message,
                ]
            )
            committed = committed or proc.returncode == 0
            say(f"commit {message!r}")
        elif verb == "handoff":
            if hook_note:
                say("already handed off once: carrying on")
                continue
            say("handing off: " + " ".join(args))
            gt("handoff", "--note", " ".join(args))
            while True:  # the engine restarts this session
                time.sleep(3600)
        elif verb == "fail":
            say("failing: " + (" ".join(args) or "asked to fail"))
            return 1
        elif verb == "hang":
            say("hanging")
            while True:
                time.sleep(3600)
        else:
            say(f"unknown step {verb!r}")
            return 1
    return 0


def safe_path(rel: str) -> str:
    root = os.path.realpath(os.getcwd())
    path = os.path.realpath(os.path.join(root, rel))
    if os.path.commonpath([root, path]) != root:
        raise SystemExit(f"[script] refusing to write outside the worktree: {rel}")
    return path


def main() -> int:
    prime = gt("prime", "--json")
    if prime.returncode != 0:
        say(f"gt prime failed: {prime.stderr.strip()}")
        return 1
    hook = json.loads(prime.stdout)["hook"]
    if not hook:
        say("nothing on my hook")
        return 0
    say(f"{os.environ.get('GT_AGENT')} on {hook['id']}: {hook['title']}")
    meta = hook.get("metadata") or {}
    if meta.get("rework_of"):
        # A merge conflict sent back: bring main in, keeping this branch's side.
        say(f"rework of {meta['rework_of']}: merging main")
        main = (
            subprocess.run(
                ["git", "config", "--get", "gastown.main"], text=True, capture_output=True
            ).stdout.strip()
            or "main"
        )
        subprocess.run(
            [
                "git",
                "-c",
                "user.name=agent",
                "-c",
                "user.email=agent@gastown.local",
                "merge",
                "-q",
                "--no-edit",
                "-X",
                "ours",
                main,
            ],
            check=False,
        )
        done = gt("done", "--summary", f"merged main into the work for {meta['rework_of']}")
        say(done.stdout.strip() or done.stderr.strip())
        return 0 if done.returncode == 0 else 1
    note = meta.get("handoff_note")
    code = run_steps(parse_steps(hook.get("body", ""), hook["id"], hook["title"]), hook["id"], note)
    if code != 0:
        return code
    done = gt("done", "--summary", f"script finished {hook['id']}")
    say(done.stdout.strip() or done.stderr.strip())
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
