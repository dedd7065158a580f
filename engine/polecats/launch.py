"""The fixed command every agent session starts with.

`python -m engine.polecats.launch PROMPT_FILE -- ARGV...`: waits until the session's log
pipe is attached (so no first line is lost), reads the prompt from its file, puts it into
the argv template element-wise, and execs the runtime. Bead text never meets a shell.
"""

from __future__ import annotations

import os
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: launch PROMPT_FILE -- ARGV...\n")
        return 2
    prompt_file, template = argv[0], argv[2:]
    log = os.environ.get("GT_LOG")
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
        os.execvp(args[0], args)
    except OSError as exc:
        sys.stderr.write(f"gastown: cannot start {args[0]}: {exc.strerror}\n")
        return 127
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
