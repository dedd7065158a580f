"""gt init, gt status, gt breaker, gt events."""

from __future__ import annotations

import argparse
import os
from typing import Any

from engine.cli.output import count, emit_json, say, table


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "init",
        help="create a town",
        parents=[common],
        description="Create a town: town.toml, the ledger, logs/ and rigs/.",
    )
    p.add_argument("path", nargs="?", default=".", help="where (default: the current directory)")
    p.add_argument(
        "--ledger-url",
        metavar="URL",
        help="keep the ledger on PostgreSQL (postgresql://user@host/db); an empty database "
        "gets a new town, one holding a town's ledger is joined as one more host "
        "(or set GASTOWN_LEDGER_URL; keep a password in ~/.pgpass)",
    )
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("status", help="the town at a glance", parents=[common])
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "breaker", help="show or reset the dispatch circuit breaker", parents=[common]
    )
    p.add_argument("action", nargs="?", choices=["show", "reset"], default="show")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_breaker)

    p = sub.add_parser("events", help="the event history of the town", parents=[common])
    p.add_argument("--bead", help="only this bead's events")
    p.add_argument("-n", "--limit", type=count, default=30, help="how many (newest last)")
    p.add_argument("--kinds", action="store_true", help="list every event kind and its meaning")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_events)


def cmd_init(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.town_actions import init

    url = args.ledger_url or os.environ.get("GASTOWN_LEDGER_URL") or None
    town = init(args.path, ledger_url=url)
    say(f"Created town {town.name} at {town.root}")
    if town.ledger != "ledger.db":
        say(f"Its ledger: {town.ledger}")
    if town.rigs:  # a shared ledger that already holds a town: this directory joins it
        say(f"It joins a town of {len(town.rigs)} rig(s): {', '.join(town.rigs)}")
        say("Next: gastown --engine-only --host NAME   (this machine's engine, as one host)")
        return 0
    say("Next: gt rig add NAME SOURCE   (a git repository to work on)")
    return 0


def engine_pid(town_root: str) -> int | None:
    from engine.lock import holder_pid

    return holder_pid(os.path.join(town_root, ".gastown", "engine.lock"))


def cmd_status(args: argparse.Namespace, ctx: Any) -> int:
    ledger = ctx.ledger
    cfg = ctx.config
    from engine.cli.patrol_cmds import status_lines
    from engine.commands.costs import spent_budgets
    from engine.deacon.rounds import rows as patrol_rows
    from engine.scheduler.breaker import Breaker, summarize
    from engine.scheduler.parking import parked as parked_beads
    from engine.scheduler.runtime_pauses import RuntimePauses, pause_rows

    with ledger.snapshot():
        total, per_rig = ledger.agents.busy_counts()
        rigs = ledger.rigs.list()
        counts = ledger.beads.status_counts()
        breaker = Breaker(ledger, cfg.scheduler).state()
        violations = ledger.agents.invariant_violations()
        parked = ledger.inbox.parked()
        held = parked_beads(ledger)
        pauses = pause_rows(RuntimePauses(ledger).active())
        spent = spent_budgets(ledger)
        patrols = patrol_rows(ledger, cfg.deacon)
    pid = engine_pid(ctx.town.root)
    data = {
        "town": ctx.town.root,
        "engine_pid": pid,
        "working": total,
        "capacity": cfg.scheduler.max_polecats,
        "rigs": [
            {
                "name": r["name"],
                "prefix": r["prefix"],
                "working": per_rig.get(r["name"], 0),
                "capacity": cfg.rig_capacity(r["name"]),
            }
            for r in rigs
        ],
        "beads": counts,
        "breaker": breaker,
        "violations": violations,
        "parked_requests": len(parked),
        "parked_beads": [{"id": k, **v} for k, v in held.items()],
        "runtime_pauses": pauses,
        "budget_spent": spent,
        "patrols": patrols,
    }
    if args.json:
        emit_json(data)
        return 0
    say(f"Town {ctx.town.root}")
    say("Engine: " + (f"running (pid {pid})" if pid else "not running (gastown --engine-only)"))
    say(f"Polecats working: {total}/{cfg.scheduler.max_polecats}")
    for r in data["rigs"]:
        say(f"  {r['name']:<16} {r['working']}/{r['capacity']}  prefix {r['prefix']}-")
    say("Beads: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    say(
        f"Breaker: {breaker['state']}"
        + (f" after {summarize(breaker)}" if breaker["state"] != "closed" else "")
    )
    for p in pauses:
        say(
            f"! runtime {p['runtime']} paused until {p['until']}"
            f"{'' if p['shown'] else ' (backoff)'}: {p['reason']} "
            f"(`gt runtime resume {p['runtime']}`)"
        )
    for s in spent:
        say(f"! {s['reason']} (`gt costs`)")
    for v in violations:
        say(f"! invariant: {v}")
    if parked:
        say(f"! {len(parked)} parked engine requests (they failed repeatedly)")
    for bead_id, entry in held.items():
        say(f"! parked {bead_id} (while {entry.get('stage')}): {entry.get('reason')}")
    say("Patrols (`gt patrol list`):")
    for line in status_lines(patrols):
        say(line)
    return 0


def cmd_breaker(args: argparse.Namespace, ctx: Any) -> int:
    if args.action == "reset":
        from engine.commands.town_actions import reset_breaker

        reset_breaker(ctx.ledger, ctx.config, actor=ctx.actor)
        say("Circuit breaker reset: dispatch resumes.")
        return 0
    from engine.scheduler.breaker import Breaker

    st = Breaker(ctx.ledger, ctx.config.scheduler).state()
    if args.json:
        emit_json(st)
    else:
        from engine.scheduler.breaker import summarize
        from engine.timeutil import relative

        # the ledger keeps epoch seconds; a person reads "retries in 4 min"
        now = ctx.ledger.now()
        retry = ""
        if st["state"] == "open" and "until" in st:
            retry = f" (dispatch retries {relative(st['until'], now)})"
        elif st["state"] == "half_open":
            retry = " (the next dispatch is a probe)"
        say(f"Breaker: {st['state']}{retry}")
        if st["state"] != "closed":
            tripped = st.get("tripped_at")
            when = f" {relative(tripped, now)}" if tripped else ""
            say(f"  tripped{when} after {summarize(st)}")
    return 0


def cmd_events(args: argparse.Namespace, ctx: Any) -> int:
    import json

    from engine.events import from_row

    if args.kinds:
        return _event_kinds(args.json)
    events = [from_row(r) for r in ctx.ledger.state.recent(bead_id=args.bead, limit=args.limit)]
    if args.json:
        emit_json([e.to_row() for e in events])  # the rows as recorded: the JSON is the ledger's
        return 0
    table(
        [
            [
                e.at[:19],
                e.kind,
                e.bead_id or "-",
                e.actor or "-",
                json.dumps(e.data, ensure_ascii=False)[:80],
            ]
            for e in events
        ],
        ["AT", "EVENT", "BEAD", "ACTOR", "DATA"],
    )
    return 0


def _event_kinds(as_json: bool) -> int:
    from engine.events import REGISTRY, describe

    rows: list[dict[str, Any]] = [
        {"kind": kind, "event": cls.__name__, "data": list(cls.fields), "meaning": describe(kind)}
        for kind, cls in sorted(REGISTRY.items())
    ]
    if as_json:
        emit_json(rows)
    else:
        table(
            [[r["kind"], r["event"], ", ".join(r["data"]) or "-", r["meaning"]] for r in rows],
            ["KIND", "EVENT", "DATA", "MEANING"],
        )
    return 0
