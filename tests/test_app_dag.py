"""The convoy graph in the app (issue 11 §1): whole at 200x50, a list at 80x24, the
selection's blockers and dependents lit, convoys shown from their roots, scrolling by nodes,
and the real ledgers' largest convoy-like shape.

Snapshots: `pytest tests/test_app_dag.py --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from gastown_tui.widgets.dag_view import NEEDED_BY_STYLE, NEEDS_STYLE, DagView
from tests.app_support import AppTown, build_town, run_async_tests, settle, until
from tests.conftest import DATA
from tests.test_dag_layout import real_components

WIDE = (200, 50)
SMALL = (80, 24)
CHAIN = 8  # a tall convoy: more layers than the pane shows at once

has_data = pytest.mark.skipif(
    not (DATA / "beads-issues.jsonl").exists(), reason="shared data set not present"
)


@pytest.fixture
def gtown(tmp_path, monkeypatch) -> AppTown:
    return build_town(tmp_path, monkeypatch)


def add_chain(t: AppTown) -> str:
    """A staged convoy of CHAIN beads, each needing the one before (nothing dispatches)."""
    planned = [
        {
            "key": f"k{i}",
            "title": f"Step {i}",
            "rig": "calc",
            "priority": 2,
            "type": "task",
            "needs": [f"k{i - 1}"] if i else [],
        }
        for i in range(CHAIN)
    ]
    ledger = t.ledger()
    try:
        return ledger.convoys.create_planned("Long chain", planned, staged=True, actor="mayor")[
            "id"
        ]
    finally:
        ledger.close()


async def select_node(pilot: Pilot[Any], dag: DagView, bead_id: str) -> None:
    """Walk the selection there by arrow keys, as a person would."""
    dag.focus()
    await pilot.pause()
    target = dag.canvas.nodes[bead_id] if dag.canvas else None
    for _ in range(20):
        if dag.selected == bead_id:
            return
        here = dag.canvas.nodes[dag.selected] if dag.canvas and dag.selected else None
        if target is None or here is None:
            await pilot.press("down")
        elif here.layer != target.layer:
            await pilot.press("down" if here.layer < target.layer else "up")
        else:
            await pilot.press("right" if here.x < target.x else "left")
        await pilot.pause()
    raise AssertionError(f"could not select {bead_id}")


def styles_over(dag: DagView, region: Any) -> set[str]:
    """The styles drawn over a node's first line."""
    line = dag.canvas.width + 1 if dag.canvas else 0
    start = region.y * line + region.x
    return {
        str(span.style)
        for span in dag.shown.spans
        if span.start < start + region.w and span.end > start
    }


# ---- pilot tests ---------------------------------------------------------------------------


async def test_demo_convoy_whole_at_200x50(gtown: AppTown) -> None:
    app = gtown.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        dag = app.query_one("#dag", DagView)
        assert dag.canvas is not None and len(dag.canvas.nodes) == 8
        view = dag.scrollable_content_region
        assert dag.canvas.width <= view.width and dag.canvas.height <= view.height
        assert dag.max_scroll_x == 0 and dag.max_scroll_y == 0  # nothing hidden


async def test_selecting_a_node_lights_its_blockers_and_dependents(gtown: AppTown) -> None:
    ids = gtown.ids
    app = gtown.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        dag = app.query_one("#dag", DagView)
        assert not dag.border_subtitle  # at rest the graph shows only states
        await select_node(pilot, dag, ids["wire"])
        sub = str(dag.border_subtitle)
        needs = ", ".join(sorted([ids["form"], ids["sub"], ids["mul"]]))
        assert sub.startswith(f"{ids['wire']} · needs ")
        assert sorted(sub.split(" · ")[1].removeprefix("needs ").split(", ")) == needs.split(", ")
        assert sub.endswith(f"needed by {ids['ship']}")
        assert dag.canvas is not None
        nodes = dag.canvas.nodes
        for blocker in ("form", "sub", "mul"):
            assert f"underline {NEEDS_STYLE}" in styles_over(dag, nodes[ids[blocker]])
        assert f"underline {NEEDED_BY_STYLE}" in styles_over(dag, nodes[ids["ship"]])
        assert "reverse" in styles_over(dag, nodes[ids["wire"]])
        assert not {"underline", "reverse"} & set(
            " ".join(styles_over(dag, nodes[ids["div"]])).split()
        )
        # the edges into the selection are lit too, the others stay dim
        lit_needs = sum(1 for s in dag.shown.spans if str(s.style) == NEEDS_STYLE)
        assert lit_needs >= 3
        # leaving the graph puts it back at rest
        app.query_one("#beads").focus()
        await pilot.pause()
        assert not dag.border_subtitle


async def test_switching_convoys_starts_at_the_roots(gtown: AppTown) -> None:
    chain = add_chain(gtown)
    app = gtown.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        dag = app.query_one("#dag", DagView)
        await until(pilot, lambda: dag.convoy is not None and dag.convoy["id"] == chain)
        assert dag.max_scroll_y > 0  # the chain is taller than the pane
        dag.scroll_to(y=dag.max_scroll_y, animate=False, immediate=True)
        await pilot.pause()
        assert dag.scroll_y > 0
        app.query_one("#beads").focus()
        await pilot.press("]")
        await until(pilot, lambda: dag.convoy is not None and dag.convoy["id"] != chain)
        await pilot.pause()
        assert dag.scroll_offset == (0, 0)
        await pilot.press("[")
        await until(pilot, lambda: dag.convoy is not None and dag.convoy["id"] == chain)
        await pilot.pause()
        assert dag.scroll_offset == (0, 0)
        assert "Step 0" in dag.shown.plain.splitlines()[1]  # the root is the top line shown


async def test_scrolling_moves_by_a_node(gtown: AppTown) -> None:
    add_chain(gtown)
    app = gtown.app()
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        dag = app.query_one("#dag", DagView)
        assert dag.canvas is not None and dag.max_scroll_y > 0
        tops = dag.canvas.layer_tops
        pitch = tops[1] - tops[0]
        dag.focus()
        await pilot.pause()
        moves = []
        for _ in range(CHAIN - 1):
            before = dag.scroll_y
            await pilot.press("down")
            await pilot.pause()
            if dag.scroll_y != dag.max_scroll_y:  # the end of the canvas may clamp a move
                moves.append(dag.scroll_y - before)
            node = dag.canvas.nodes[str(dag.selected)]
            top, bottom = dag.scroll_y, dag.scroll_y + dag.scrollable_content_region.height
            assert top <= node.y and node.y + node.h <= bottom  # the selected node shows whole
        assert dag.scroll_y == dag.max_scroll_y or dag.selected == list(dag.canvas.nodes)[-1]
        assert dag.scroll_y == dag.max_scroll_y  # the last step brought the end into view
        assert set(moves) - {0} == {pitch}, moves  # a node at a time, never a line


async def test_80x24_shows_a_list_with_needs(gtown: AppTown) -> None:
    ids = gtown.ids
    app = gtown.app()
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        dag = app.query_one("#dag", DagView)
        assert dag.canvas is None  # too small for a picture: not a clipped one
        lines = dag.shown.plain.splitlines()
        assert len(lines) == 8
        div = next(ln for ln in lines if ids["div"] in ln)
        assert div.startswith("    ! blocked") and f"needs: {ids['mul']} ·" in div
        assert lines[0].startswith("  ✓ closed " + ids["sub"])  # roots first, not indented
        await select_node(pilot, dag, ids["div"])
        marks = {ln[:1] for ln in dag.shown.plain.splitlines() if ids["mul"] in ln[:40]}
        assert "↑" in marks  # the blocker is marked without colour


# ---- snapshots -----------------------------------------------------------------------------


@pytest.fixture
def shot(snap_compare, gtown):
    def take(size: tuple[int, int], select: str | None = None) -> bool:
        async def run_before(pilot: Pilot[Any]) -> None:
            await settle(pilot)
            if select:
                await select_node(pilot, pilot.app.query_one("#dag", DagView), gtown.ids[select])
            await pilot.pause()

        return snap_compare(gtown.app(), terminal_size=size, run_before=run_before)

    return take


def test_demo_dag_selected_200x50(shot):
    assert shot(WIDE, select="wire")


def test_demo_dag_list_80x24(shot):
    assert shot(SMALL, select="div")


class DagHost(App[None]):
    """The graph alone, the whole screen: the pane as big as a person can make it."""

    CSS: ClassVar[str] = "#dag { height: 1fr; border: round $primary; }"

    def __init__(self, convoy: dict[str, Any]) -> None:
        super().__init__()
        self.convoy = convoy

    def compose(self) -> ComposeResult:
        yield DagView(id="dag")

    def on_mount(self) -> None:
        self.query_one(DagView).update_convoy(self.convoy)


def largest_real_convoy() -> dict[str, Any]:
    """The largest connected `blocks` subgraph of the real ledgers, as a convoy."""
    beads, edges = max(real_components(), key=lambda c: (len(c[0]), c[0][0]["id"]))
    closed = sum(1 for b in beads if b["status"] == "closed")
    return {
        "id": "real",
        "title": "largest blocks component of shared/data",
        "status": "open",
        "progress": {"closed": closed, "total": len(beads)},
        "beads": beads,
        "edges": edges,
    }


@has_data
@pytest.mark.parametrize("size", [WIDE, SMALL], ids=["200x50", "80x24"])
def test_real_data_convoy(snap_compare, size):
    convoy = largest_real_convoy()
    assert len(convoy["beads"]) >= 12

    async def run_before(pilot: Pilot[Any]) -> None:
        dag = pilot.app.query_one(DagView)
        await until(pilot, lambda: dag.shown.plain != "")
        # a fan-out of ten: a picture when the screen is the graph's, a list at 80x24
        assert (dag.canvas is not None) == (size == WIDE)

    assert snap_compare(DagHost(convoy), terminal_size=size, run_before=run_before)


run_async_tests(globals())
