"""The README's first two commands are true: the first installs Gas Town into a fresh venv
and opens the app on the demo town; the second is exactly what CI (.ci/run) runs."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess

import pytest

from tests.cli_support import REPO
from tests.test_readme_commands import EXIT_MARK, Place, Terminal
from tests.test_readme_commands import place as place  # the fixture


def first_block() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, flags=re.S)
    assert block, "the README starts with a shell block"
    return [ln for ln in block.group(1).splitlines() if ln.strip()]


def test_the_readme_starts_with_exactly_two_commands_and_ci_runs_the_second():
    lines = first_block()
    assert len(lines) == 2, lines
    assert lines[0].endswith("gastown --demo")
    ci = [
        ln
        for ln in (REPO / ".ci" / "run").read_text().splitlines()
        if ln.strip() and not ln.startswith(("#", "set ", "cd "))
    ]
    assert ci[-1].strip() == lines[1].strip()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_the_readmes_install_command_opens_the_demo_app_from_a_fresh_clone(place: Place, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--", str(REPO), str(clone)], check=True, capture_output=True
    )
    # The command as written, with the demo town put in a temporary place.
    command = first_block()[0] + " " + shlex.quote(str(place.demo))
    # The clone's own install, not this checkout's modules (gt_env puts them on PYTHONPATH).
    term = Terminal({k: v for k, v in place.env.items() if k != "PYTHONPATH"})
    try:
        term.tmux(
            "new-session", "-d", "-s", "app", "-x", "160", "-y", "45", "-c", str(clone), "--",
            "/bin/sh", "-c", f'{command}; echo "{EXIT_MARK}$?"; exec sleep 600',
        )  # fmt: skip
        screen = term.wait("the installed app's screen", " q Quit", timeout=600)
        assert "Traceback" not in screen, screen
        term.tmux("send-keys", "-t", "app:0.0", "q")
        screen = term.wait("the app to exit", EXIT_MARK)
    finally:
        term.tmux("kill-server", check=False)
    assert f"{EXIT_MARK}0" in screen, screen
    assert (clone / ".venv" / "bin" / "gt").exists()
