"""The whole town at once: a convoy across two rigs, worked by script polecats in tmux,
queued, gated and landed by the refineries, with the engine running headless."""

from __future__ import annotations

import signal

from engine import vocab
from engine.adapters.tmux import Tmux, socket_name
from engine.ledger import Ledger
from engine.town import init_town
from tests.conftest import first_parent_history, gt, make_source_repo
from tests.test_engine import start_engine, wait_for

PLAN = """
[[bead]]
key = "schema"
title = "Add the schema"
rig = "api"
body = '''```gt-script
write schema.sql create table t;
commit "schema"
```'''

[[bead]]
key = "model"
title = "Model on the schema"
rig = "api"
needs = ["schema"]
body = '''```gt-script
write model.py MODEL = 1
commit "model"
```'''

[[bead]]
key = "client"
title = "Web client"
rig = "web"
needs = ["schema"]

[[bead]]
key = "page"
title = "Web page"
rig = "web"
needs = ["client", "model"]

[[bead]]
key = "docs"
title = "Docs"
rig = "web"

[[bead]]
key = "release"
title = "Release notes"
rig = "api"
needs = ["page", "docs"]
"""


def test_a_convoy_of_six_across_two_rigs_is_worked_gated_and_landed(tmp_path):
    town = init_town(str(tmp_path / "town"))
    with open(town.config_path, "a") as fh:
        fh.write(
            '\n[rigs.web]\ngates = { test = "test -f README.md" }\n'
            '[rigs.api]\ngates = { test = "test -f README.md" }\n'
        )
    for name, prefix in (("web", "gt"), ("api", "ap")):
        src = make_source_repo(tmp_path / f"src-{name}")
        res = gt("rig", "add", name, str(src), "--prefix", prefix, town=town)
        assert res.returncode == 0, res.stderr
    (tmp_path / "plan.toml").write_text(PLAN)
    res = gt(
        "convoy", "create", "Ship it", "--plan", str(tmp_path / "plan.toml"), "--json", town=town
    )
    assert res.returncode == 0, res.stderr
    import json

    convoy = json.loads(res.stdout)
    ledger = Ledger(town.ledger_target)
    proc = start_engine(town.root, str(tmp_path / "engine.log"))
    try:
        wait_for(
            lambda: ledger.convoys.get(convoy["id"])["status"] == vocab.CONVOY_LANDED, timeout=120
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        Tmux(socket_name(town.root)).kill_server()
    beads = {b: ledger.beads.get(b) for b in convoy["beads"]}
    assert all(b["status"] == vocab.CLOSED for b in beads.values())
    # downstream beads were hooked only after their blockers merged
    for bead_id in beads:
        deps = [
            d["id"] for d in ledger.graph.edges_of(bead_id)["depends_on"] if d["type"] == "blocks"
        ]
        hooked = min(e["id"] for e in ledger.beads.history(bead_id) if e["kind"] == "hooked")
        for dep in deps:
            merged = [e["id"] for e in ledger.beads.history(dep) if e["kind"] == "merged"]
            assert merged and merged[0] < hooked, f"{bead_id} started before {dep} merged"
    for rig in ("web", "api"):
        repo = ledger.rigs.require(rig)["path"]
        assert len(first_parent_history(repo)) >= 2
    assert any(m["subject"] == "Convoy landed: Ship it" for m in ledger.mail.inbox(["mayor"]))
    assert "Traceback" not in (tmp_path / "engine.log").read_text()
    ledger.close()
