"""The convoy graph's layout, without Textual: every edge traceable, crossings marked.

Invariants checked on the demo convoy, on seeded random DAGs and on every `blocks`
component of the real ledgers in shared/data: cells shared by edges of different sources
are crossings (`┼`) and `┼` is never a join; every edge's cells join its parent to its
child; a child has one arrowhead per parent; the demo fits the 200x50 pane whole.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from typing import Any

import pytest

from engine.views.dag import DagCanvas, drawn_edges, layout, to_text
from engine.views.dag_forms import choose, list_form, list_text
from tests.conftest import DATA
from tests.readiness_oracle import blocked_ids, load_backup, load_embedded

# the demo convoy's shape (tests/app_support.py PLAN): key, title, needs
PLAN = (
    ("sub", "Add subtraction", ()),
    ("mul", "Add multiplication", ()),
    ("div", "Add division", ("mul",)),
    ("form", "Page: input form", ()),
    ("wire", "Page: wire the buttons", ("form", "sub", "mul")),
    ("docs", "Document the operations", ("sub", "div")),
    ("style", "Page: styles", ()),
    ("ship", "Release notes", ("wire", "docs")),
)
DEMO_BEADS = [
    {"id": f"calc-{k}", "title": t, "rig": "calc", "status": "open", "blocked": bool(n)}
    for k, t, n in PLAN
]
DEMO_EDGES = [(f"calc-{a}", f"calc-{k}") for k, _t, n in PLAN for a in n]
# the DAG pane's inside at 200x50 (styles/app.tcss: rigs 34, logs 40%, DAG half the centre)
PANE_200x50 = (84, 16)


def beads_of(ids: list[str]) -> list[dict[str, Any]]:
    return [{"id": i, "title": f"title of {i}", "status": "open"} for i in ids]


def check_traceable(canvas: DagCanvas, beads: list[dict[str, Any]], edges: list[Any]) -> None:
    drawn = drawn_edges([b["id"] for b in beads], edges)
    cells: dict[int, set[tuple[int, int]]] = defaultdict(set)

    def bus(e: int, y: int) -> str:
        """The item an edge leaves from in the channel below layer r: its source bead, or
        the pass-through slot of a long edge (two slots of one bead are two buses)."""
        r = max(i for i, top in enumerate(canvas.layer_tops) if top <= y)
        a = drawn[e][0]
        return a if canvas.nodes[a].layer == r else f"~{e}.{r}"

    for y, row in enumerate(canvas.rows):
        for x, cell in enumerate(row):
            sources = {bus(e, y) for e in cell.edges}
            for e in cell.edges:
                cells[e].add((y, x))
            if len(sources) > 1:  # two edges of different sources meet only by crossing
                assert cell.char == "┼" and cell.style == "cross", (y, x, cell, to_text(canvas))
            if cell.char == "┼":  # and a ┼ is never a join of one source's edges
                assert len(sources) == 2, (y, x, cell, to_text(canvas))
    arrows: dict[str, int] = defaultdict(int)
    for e, (a, b) in enumerate(drawn):
        pa, pb = canvas.nodes[a], canvas.nodes[b]
        path = cells[e]
        assert path, (a, b)
        # leaves the parent right under it and arrives right above the child
        assert any(y == pa.y + pa.h and pa.x <= x < pa.x + pa.w for y, x in path), (a, b)
        into = [(y, x) for y, x in path if y == pb.y - 1 and pb.x <= x < pb.x + pb.w]
        assert len(into) == 1 and canvas.rows[into[0][0]][into[0][1]].char == "▼", (a, b)
        arrows[b] += 1
        # one unbroken run of cells from end to end
        seen, todo = set(), [next(iter(path))]
        while todo:
            y, x = todo.pop()
            if (y, x) in seen:
                continue
            seen.add((y, x))
            todo += [p for p in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)) if p in path]
        assert seen == path, (a, b, to_text(canvas))
    for b in canvas.nodes:
        want = sum(1 for _a, bb in drawn if bb == b)
        top = canvas.nodes[b]
        heads = sum(
            1
            for x in range(top.x, top.x + top.w)
            if top.y and canvas.rows[top.y - 1][x].char == "▼"
        )
        assert heads == want == arrows[b], (b, heads, want, to_text(canvas))


def check_all_forms(beads: list[dict[str, Any]], edges: list[Any]) -> None:
    check_traceable(layout(beads, edges, "full"), beads, edges)
    for w in (12, 17, 30):
        check_traceable(layout(beads, edges, "compact", w), beads, edges)


def test_demo_every_edge_traceable() -> None:
    check_all_forms(DEMO_BEADS, DEMO_EDGES)


def test_demo_fits_whole_at_200x50() -> None:
    width, height = PANE_200x50
    canvas = choose(DEMO_BEADS, DEMO_EDGES, width, height)
    assert canvas is not None and canvas.form == "compact"
    assert canvas.width <= width and canvas.height <= height
    assert len(canvas.nodes) == 8 and canvas.layers == 4
    text = to_text(canvas)
    assert "Add division" in text and "Release notes" in text
    # wide enough, the full boxes come back
    assert (full := choose(DEMO_BEADS, DEMO_EDGES, 200, 40)) is not None and full.form == "full"


def test_demo_too_small_for_a_picture_is_a_list() -> None:
    assert choose(DEMO_BEADS, DEMO_EDGES, 50, 3) is None  # the 80x24 main screen's pane
    lines = {ln.bead_id: ln for ln in list_form(DEMO_BEADS, DEMO_EDGES)}
    assert lines["calc-div"].needs == ["calc-mul"]  # division needs only multiplication
    assert sorted(lines["calc-wire"].needs) == ["calc-form", "calc-mul", "calc-sub"]
    assert lines["calc-sub"].needs == [] and lines["calc-sub"].layer == 0
    assert [lines[f"calc-{k}"].layer for k in ("div", "wire", "docs", "ship")] == [1, 1, 2, 3]
    bead = next(b for b in DEMO_BEADS if b["id"] == "calc-docs")
    indent, words, rest = list_text(lines["calc-docs"], bead, 80)
    assert indent == "    " and words == "! blocked"
    assert rest == " calc-docs · needs: calc-sub, calc-div · Document the operations"


def test_list_text_fits_its_width_and_deep_chains_stop_indenting() -> None:
    ids = [f"n{i}" for i in range(12)]
    chain = list(itertools.pairwise(ids))
    lines = list_form(beads_of(ids), chain)
    bead = {"id": "n11", "title": "x" * 200}
    indent, words, rest = list_text(lines[-1], bead, 40)
    assert len(indent + words + rest) <= 40 and "11" in indent and len(indent) <= 12


@pytest.mark.parametrize("seed", range(40))
def test_random_dags_traceable(seed: int) -> None:
    rnd = random.Random(seed)
    ids = [f"b{i}" for i in range(rnd.randint(3, 18))]
    edges = [
        (ids[i], ids[j]) for j in range(len(ids)) for i in range(j) if rnd.random() < 2.5 / len(ids)
    ]
    check_all_forms(beads_of(ids), edges)


def real_components() -> list[tuple[list[dict[str, Any]], list[tuple[str, str]]]]:
    """Every weakly connected `blocks` component (3+ beads) of both real ledgers."""
    out = []
    for issues, deps in (
        load_embedded(DATA / "beads-issues.jsonl"),
        load_backup(DATA / "gastown-backup"),
    ):
        by_id = {i["id"]: i for i in issues}
        blocked = blocked_ids(issues, deps)
        edges = [(b, a) for a, b, t in deps if t == "blocks" and a in by_id and b in by_id]
        adj: dict[str, set[str]] = defaultdict(set)
        for a, b in edges:
            adj[a].add(b)
            adj[b].add(a)
        seen: set[str] = set()
        for start in sorted(adj):
            if start in seen:
                continue
            comp, todo = set(), [start]
            while todo:
                n = todo.pop()
                if n not in comp:
                    comp.add(n)
                    todo += adj[n]
            seen |= comp
            if len(comp) >= 3:
                beads = [
                    {
                        "id": n,
                        "title": by_id[n].get("title") or "",
                        "status": by_id[n].get("status") or "open",
                        "blocked": n in blocked,
                    }
                    for n in sorted(comp)
                ]
                out.append((beads, [e for e in edges if e[0] in comp]))
    return out


@pytest.mark.skipif(not (DATA / "beads-issues.jsonl").exists(), reason="no shared data")
def test_real_ledger_shapes_traceable() -> None:
    comps = real_components()
    assert len(comps) > 20 and max(len(b) for b, _e in comps) >= 12
    for beads, edges in comps:
        check_all_forms(beads, edges)
