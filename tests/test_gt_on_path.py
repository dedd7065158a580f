"""`gt` is callable by its plain name from every agent session, whatever the install:
also when the directory it was installed into is not on the person's PATH."""

from __future__ import annotations

import shutil

import pytest

from engine import vocab
from tests.conftest import script_body

BARE_PATH = "/usr/bin:/bin"


@pytest.fixture
def bare_path(monkeypatch: pytest.MonkeyPatch) -> str:
    """The person's PATH knows nothing of the venv gastown was installed into."""
    monkeypatch.setenv("PATH", BARE_PATH)
    assert shutil.which("gt", path=BARE_PATH) is None
    return BARE_PATH


@pytest.mark.slow
def test_a_plain_shell_runtime_finds_gt_without_the_venv_on_path(bare_path, real_town_factory):
    commit = (
        "echo x > f && git add f && "
        "git -c user.name=a -c user.email=a@a commit -qm x && gt prime && gt done"
    )
    rt = real_town_factory(
        {"runtime": {"default": "plain", "plain": {"argv": ["sh", "-c", commit + "; sleep 30"]}}}
    )
    bead = rt.ledger.beads.create("plain shell", rig="web", slung=True)["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_REVIEW, timeout=30)
    mrs = rt.ledger.beads.list(bead_type="merge-request")
    assert [m["metadata"]["source"] for m in mrs] == [bead]
    kinds = [e["kind"] for e in rt.ledger.beads.history(bead)]
    assert "primed" in kinds and "done" in kinds  # both calls found the real `gt`


@pytest.mark.slow
def test_a_script_step_can_run_gt_by_its_name(bare_path, real_town):
    rt = real_town
    bead = rt.ledger.beads.create(
        "mail the mayor",
        rig="web",
        slung=True,
        body=script_body("run gt mail send mayor from-a-step", "write a.txt a", "commit 'a'"),
    )["id"]
    rt.drive(lambda: rt.ledger.beads.get(bead)["status"] == vocab.IN_REVIEW, timeout=30)
    subjects = [m["subject"] for m in rt.ledger.mail.inbox(["mayor"], unread_only=False)]
    assert "from-a-step" in subjects
