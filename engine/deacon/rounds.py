"""The deacon's rounds: each tick, the patrols that are due run, one after another.

The engine's reconcile loop calls `run_due(engine)` once per tick, after the reconcile
(engine/reconcile_loop.py); `run_here` runs them on the caller's thread (`gt patrol run`,
the tests). Each patrol's last run, findings and next run are kept in the ledger's
town_state under `deacon.<name>`, so `gt status`, `gt patrol list` and the app read them
and a restarted engine keeps each patrol's rhythm. A patrol that raises is recorded with
its error and tried again at its next interval; it never stops the loop or the others.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, TypedDict

from engine.deacon.patrol import Finding, Patrol, PatrolContext

if TYPE_CHECKING:
    from engine.deacon.settings import DeaconSettings
    from engine.engine import Engine
    from engine.ledger import Ledger

log = logging.getLogger("gastown.deacon")

# Each module defines PATROL, an instance of its Patrol; the order is the order they run
# in when several are due in the same tick. (engine/deacon/forecast.py, the conflict
# forecast, is another helper's: it joins the rounds when its module defines PATROL.)
MODULES = ("stranded", "hooks", "crashloop", "reaper", "logrotate", "compaction", "forecast")
KEY = "deacon.{}"
KEPT_FINDINGS = 50  # per patrol, in the ledger: enough for a screen, never a growing list


class PatrolFinding(TypedDict):
    subject: str  # the bead, convoy, agent or file it is about
    text: str
    problem: bool  # a person should act on it (it is in the app's Problems tab too)


class PatrolRow(TypedDict):
    """One patrol as `gt patrol list --json` and `gt status --json` show it."""

    name: str
    title: str  # what it patrols
    interval: float  # seconds between runs ([deacon] in town.toml)
    last_run: str | None  # ISO; None: never ran
    next_run: str | None  # ISO; None: at the engine's next tick
    found: int  # findings at its last run (only the first 50 are kept)
    findings: list[PatrolFinding]
    error: str | None  # why its last run failed


def patrols() -> list[Patrol]:
    out = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"engine.deacon.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"engine.deacon.{name}":
                raise
            continue  # a patrol not built yet (the forecast)
        patrol = getattr(module, "PATROL", None)
        if isinstance(patrol, Patrol):
            out.append(patrol)
    return out


def context(engine: Engine) -> PatrolContext:
    assert engine.ledger is not None and engine.config is not None
    return PatrolContext(
        engine.ledger,
        engine.config,
        engine.town,
        engine.ledger.now(),
        engine.dispatcher,
        engine.host,
    )


def _due_now(engine: Engine) -> tuple[PatrolContext, list[Patrol]]:
    ctx = context(engine)
    return ctx, due(ctx.ledger, ctx, patrols())


def due(ledger: Ledger, ctx: PatrolContext, only: list[Patrol]) -> list[Patrol]:
    out = []
    for p in only:
        state = ledger.state.get(KEY.format(p.name)) or {}
        if state.get("next_run") is None or ctx.now >= float(state["next_run"]):
            out.append(p)
    return out


def record(ctx: PatrolContext, patrol: Patrol, findings: list[Finding], error: str | None) -> None:
    with ctx.ledger.transaction():
        ctx.ledger.state.put(
            KEY.format(patrol.name),
            {
                "last_run": ctx.now,
                "next_run": ctx.now + patrol.interval(ctx.settings),
                "findings": [list(f) for f in findings[:KEPT_FINDINGS]],
                "found": len(findings),
                "error": error,
            },
        )


def run_here(
    ctx: PatrolContext, *, force: bool = False, only: list[str] | None = None
) -> dict[str, list[Finding]]:
    """Every due patrol (every one, with `force`; those named in `only`) on this thread:
    findings by patrol."""
    from engine.scheduler.parking import describe

    chosen = [p for p in patrols() if only is None or p.name in only]
    if not force:
        chosen = due(ctx.ledger, ctx, chosen)
    out: dict[str, list[Finding]] = {}
    for p in chosen:
        try:
            findings = p.act(ctx, p.work(ctx, p.look(ctx)))
        except Exception as exc:
            log.exception("the %s patrol failed; it runs again at its next interval", p.name)
            record(ctx, p, [], describe(exc))
            continue
        record(ctx, p, findings, None)
        out[p.name] = findings
    return out


async def run_due(engine: Engine) -> dict[str, list[Finding]]:
    """The due patrols, each step on its thread; between reconciles (one at a time: a
    patrol acts on the agents and beads a reconcile would)."""
    from engine.scheduler.parking import describe

    if engine.mode != "embedded" or engine.ledger is None:
        return {}
    try:
        ctx, chosen = await engine.call(_due_now, engine)
    except Exception:  # the rounds are per tick: the loop goes on without them
        log.exception("could not read which patrols are due; trying again next tick")
        return {}
    out: dict[str, list[Finding]] = {}
    for p in chosen:
        async with engine.reconciling:
            try:
                looked = await engine.call(p.look, ctx)
                worked = await engine.on_adapters(p.work, ctx, looked)
                findings = await engine.call(p.act, ctx, worked)
            except Exception as exc:
                log.exception("the %s patrol failed; it runs again at its next interval", p.name)
                await engine.call(record, ctx, p, [], describe(exc))
                continue
            await engine.call(record, ctx, p, findings, None)
        out[p.name] = findings
    return out


def rows(ledger: Ledger, settings: DeaconSettings) -> list[PatrolRow]:
    """Every patrol's last run, findings and next run, as the ledger holds them."""
    from engine.timeutil import iso

    out: list[PatrolRow] = []
    for p in patrols():
        s = ledger.state.get(KEY.format(p.name)) or {}
        last, nxt = s.get("last_run"), s.get("next_run")
        out.append(
            {
                "name": p.name,
                "title": p.title,
                "interval": p.interval(settings),
                "last_run": iso(last) if last is not None else None,
                "next_run": iso(nxt) if nxt is not None else None,
                "found": int(s.get("found") or 0),
                "findings": [
                    {"subject": f.subject, "text": f.text, "problem": f.problem}
                    for f in (Finding(*f) for f in s.get("findings") or [])
                ],
                "error": s.get("error"),
            }
        )
    return out


def patrol_problems(ledger: Ledger) -> list[dict[str, str]]:
    """For the app's Problems tab: each patrol whose last run failed, and each finding a
    person should act on (kind "patrol"; the id is the finding's subject)."""
    out = []
    for p in patrols():
        s = ledger.state.get(KEY.format(p.name)) or {}
        if s.get("error"):
            out.append(
                {
                    "kind": "patrol",
                    "id": p.name,
                    "text": f"the {p.title} patrol failed: {s['error']}",
                }
            )
        for f in (Finding(*f) for f in s.get("findings") or []):
            if f.problem:
                out.append({"kind": "patrol", "id": f.subject, "text": f.text})
    return out
