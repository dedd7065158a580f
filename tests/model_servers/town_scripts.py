"""Scripts for a real CLI working a bead in a town: read the failing test, read the code, fix
it, run the test, commit and run `gt done` — each in the CLI's own tools (names checked
against claude 2.1.197, codex 0.171.0, gemini 0.61.0; see tests/test_real_cli_headless.py).

The worktree's path is only known once the polecat is named, so the scripts take it: the
file tools of Claude Code and Gemini CLI want absolute paths; Codex's shell and patch tools
run in the worktree.
"""

from __future__ import annotations

from tests.model_servers.script import Script, ToolCall, Turn, Usage

BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
CHECK = 'from calc import add\n\nassert add(2, 3) == 5, "add(2, 3) should be 5"\nprint("calc ok")\n'
TEST = "python3 test_calc.py"
FINISH = "git commit -q -am 'Fix add' && gt done --summary 'Fixed add()'"
DONE_TEXT = "Fixed add() and handed it to the refinery."


def usage(n: int) -> Usage:
    return Usage(input_tokens=1000 + 100 * n, output_tokens=20 + n)


def claude_bead_script(worktree: str) -> Script:
    test, calc = f"{worktree}/test_calc.py", f"{worktree}/calc.py"
    edit = {"file_path": calc, "old_string": "return a - b", "new_string": "return a + b"}
    return Script(
        [
            Turn("Let me read the failing test.", (ToolCall("Read", {"file_path": test}),)),
            Turn("", (ToolCall("Read", {"file_path": calc}),), usage(1)),
            Turn("", (ToolCall("Edit", edit),), usage(2)),
            Turn("", (ToolCall("Bash", {"command": TEST, "description": "Run the test"}),)),
            Turn("", (ToolCall("Bash", {"command": FINISH, "description": "Commit, done"}),)),
            Turn(DONE_TEXT, usage=usage(5)),
        ]
    )


PATCH = (
    "*** Begin Patch\n*** Update File: calc.py\n@@\n"
    " def add(a, b):\n-    return a - b\n+    return a + b\n*** End Patch\n"
)


def codex_bead_script() -> Script:
    return Script(
        [
            Turn(
                "Let me read the failing test.",
                (ToolCall("exec_command", {"cmd": "cat test_calc.py"}),),
            ),
            Turn("", (ToolCall("exec_command", {"cmd": "cat calc.py"}),), usage(1)),
            Turn("", (ToolCall("apply_patch", PATCH),), usage(2)),
            Turn("", (ToolCall("exec_command", {"cmd": TEST}),), usage(3)),
            Turn("", (ToolCall("exec_command", {"cmd": FINISH}),), usage(4)),
            Turn(DONE_TEXT, usage=usage(5)),
        ]
    )


def gemini_bead_script(worktree: str) -> Script:
    test, calc = f"{worktree}/test_calc.py", f"{worktree}/calc.py"
    edit = {
        "file_path": calc,
        "instruction": "Make add return the sum of its arguments.",
        "old_string": "return a - b",
        "new_string": "return a + b",
    }
    shell = "run_shell_command"
    return Script(
        [
            Turn("Let me read the failing test.", (ToolCall("read_file", {"file_path": test}),)),
            Turn("", (ToolCall("read_file", {"file_path": calc}),), usage(1)),
            Turn("", (ToolCall("replace", edit),), usage(2)),
            Turn("", (ToolCall(shell, {"command": TEST, "description": "Run the test"}),)),
            Turn("", (ToolCall(shell, {"command": FINISH, "description": "Commit, done"}),)),
            Turn(DONE_TEXT, usage=usage(5)),
        ]
    )
