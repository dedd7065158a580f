"""Generate big towns shaped like the real Beads ledgers in shared/data, and cache them.

Shape: ids with the rigs' prefixes (and a few town-level `hq-` beads), ~55% closed, chains
of `blocks` (A blocks B blocks C ...), epics with 3-20 children via `parent-child`, ~10%
cross-rig blocks, ~1% dangling blocks, related/discovered-from associations, priorities
0-4 (mostly 2), a few deferred, ephemeral, pinned and tombstone beads, some mail to the
mayor, and a fraction of the open work *slung* (the scheduler's candidates).

Everything goes in through the ledger API: `ledger.rigs.add`, `ledger.interop
.import_records` and `ledger.beads.set_slung`. Usage as a script:
    python bench/gen.py N [--seed S]   # prints the cached town's path and its counts
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from typing import TYPE_CHECKING, Any

from common import OUT

if TYPE_CHECKING:
    from engine.town import Town

GEN_VERSION = 2
RIGS = (
    ("alpha", "al"),
    ("bravo", "br"),
    ("charlie", "ch"),
    ("delta", "de"),
    ("echo", "ec"),
    ("foxtrot", "fo"),
    ("golf", "go"),
    ("hotel", "ho"),
)
CAPS = ("python", "frontend", "go", "docs", "infra")
WORK = (("task", 70), ("bug", 15), ("feature", 10), ("chore", 5))
PRIORITIES = ((0, 2), (1, 10), (2, 70), (3, 12), (4, 6))
BASE_EPOCH = 1_735_689_600.0  # 2025-01-01T00:00:00Z
SPAN = 365 * 86400.0
FAR_FUTURE = "2099-01-01T00:00:00.000000Z"
LONG_PAST = "2020-01-01T00:00:00.000000Z"
WORDS = (
    "refactor",
    "the",
    "ledger",
    "scheduler",
    "so",
    "readiness",
    "stays",
    "incremental",
    "while",
    "imports",
    "keep",
    "unknown",
    "fields",
    "verbatim",
    "and",
    "merge",
    "queue",
    "bisects",
    "failing",
    "batches",
    "before",
    "landing",
    "green",
    "work",
    "on",
    "main",
    "—",
    "élan,",
    "naïve,",
    "日本語,",
    "emoji",
    "✓",
)


def _pick(rng: random.Random, weighted: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def generate(
    n: int, rigs: list[tuple[str, str]], seed: int, slung_fraction: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(beads, deps, ids to sling) in the normalised shape of engine.beads_jsonl."""
    from engine.timeutil import iso

    rng = random.Random(seed)
    beads: list[dict[str, Any]] = []
    deps: list[dict[str, Any]] = []
    by_rig: dict[str | None, list[str]] = {name: [] for name, _ in rigs}
    counters: dict[str, int] = {}
    caps = {name: CAPS[i % len(CAPS)] for i, (name, _) in enumerate(rigs)}

    def new(rig: str | None, prefix: str, btype: str, status: str) -> dict[str, Any]:
        k = counters.get(prefix, 36**3)  # four base-36 digits and up, like gt's ids
        counters[prefix] = k + 1
        i = len(beads)
        created = iso(BASE_EPOCH + SPAN * i / n + rng.random() * 60)
        words = rng.randint(0, 120)
        bead = {
            "id": f"{prefix}-{_b36(k)}",
            "title": " ".join(rng.sample(WORDS, 6)).strip(),
            "body": " ".join(rng.choices(WORDS, k=words)),
            "status": status,
            "priority": _pick(rng, PRIORITIES),
            "type": btype,
            "assignee": None,
            "labels": [caps[rig]] if rig and rng.random() < 0.3 else [],
            "created_at": created,
            "updated_at": created,
            "closed_at": None,
            "close_reason": None,
            "created_by": "bench",
            "defer_until": None,
            "ephemeral": False,
            "metadata": {},
            "extra": {},
        }
        if status == "closed":
            bead["closed_at"] = bead["updated_at"] = created
            bead["close_reason"] = "done"
            if rng.random() < 0.02:
                bead["status"] = "tombstone"
        elif status == "open":
            r = rng.random()
            if r < 0.01:
                bead["defer_until"] = FAR_FUTURE
            elif r < 0.02:
                bead["defer_until"] = LONG_PAST
            elif r < 0.03:
                bead["ephemeral"] = True
            elif r < 0.04:
                bead["status"] = "pinned"
        beads.append(bead)
        by_rig.setdefault(rig, []).append(bead["id"])
        return bead

    def dep(child: str, parent: str, dtype: str) -> None:
        deps.append(
            {
                "bead_id": child,
                "depends_on": parent,
                "type": dtype,
                "created_at": beads[-1]["created_at"],
                "created_by": "bench",
                "extra": {},
            }
        )

    def statuses(k: int) -> list[str]:
        done = k if rng.random() < 0.1 else round(rng.random() * k)
        return ["closed"] * done + ["open"] * (k - done)

    while len(beads) < n:
        r = rng.random()
        if r < 0.01:  # mail to the mayor, half of it unread
            new(None, "hq", "message", rng.choice(("open", "closed")))["assignee"] = "mayor"
            continue
        rig, prefix = rng.choice(rigs) if rng.random() > 0.03 else (None, "hq")
        members: list[dict[str, Any]] = []
        if r < 0.25:  # an epic with 3-20 children, sometimes worked in sequence
            kids = rng.randint(3, 20)
            sts = statuses(kids)
            epic = new(rig, prefix, "epic", "closed" if "open" not in sts else "open")
            chained = rng.random() < 0.5
            for st in sts:
                prev = members[-1]["id"] if members else None
                members.append(new(rig, prefix, _pick(rng, WORK), st))
                dep(members[-1]["id"], epic["id"], "parent-child")
                if chained and prev:
                    dep(members[-1]["id"], prev, "blocks")
        else:  # a chain A blocks B blocks C ..., or a lone bead
            length = rng.randint(2, 8) if r < 0.55 else 1
            for st in statuses(length):
                prev = members[-1]["id"] if members else None
                members.append(new(rig, prefix, _pick(rng, WORK), st))
                if prev:
                    dep(members[-1]["id"], prev, "blocks")
        for m in members:
            x = rng.random()
            if x < 0.10:  # cross-rig blocks: always on an earlier bead, so no cycles
                others = [rn for rn, _ in rigs if rn != rig and by_rig[rn]]
                if others:
                    pool = by_rig[rng.choice(others)]
                    dep(m["id"], pool[rng.randrange(len(pool))], "blocks")
            elif x < 0.11:
                dep(m["id"], f"{prefix}-zz{_b36(rng.randrange(10**6))}", "blocks")  # dangling
            elif x < 0.14 and len(beads) > 1:
                dep(
                    m["id"],
                    beads[rng.randrange(len(beads) - 1)]["id"],
                    rng.choice(("related", "discovered-from")),
                )
    beads = beads[:n]
    ids = {b["id"] for b in beads}
    deps = [d for d in deps if d["bead_id"] in ids]
    work = {t for t, _ in WORK}
    slung = [
        b["id"]
        for b in beads
        if b["status"] == "open"
        and b["type"] in work
        and not b["ephemeral"]
        and rng.random() < slung_fraction
    ]
    return beads, deps, slung


def make_town(
    path: str, n_beads: int, rigs: int = 3, seed: int = 1, slung_fraction: float = 0.3
) -> Town:
    """A town at `path` holding n_beads generated beads in `rigs` rigs (no git clones)."""
    from engine.ledger import Ledger
    from engine.town import init_town

    town = init_town(path)
    chosen = list(RIGS[:rigs])
    t0 = time.perf_counter()
    beads, deps, slung = generate(n_beads, chosen, seed, slung_fraction)
    t1 = time.perf_counter()
    with Ledger(town.ledger_path) as ledger:
        for i, (name, prefix) in enumerate(chosen):
            ledger.rigs.add(
                name,
                prefix=prefix,
                source="/dev/null",
                path=os.path.join(town.rigs_dir, name),
                capabilities=[CAPS[i % len(CAPS)]],
                gates=[],
            )
        stats = ledger.interop.import_records(beads, deps, actor="bench")
        t2 = time.perf_counter()
        with ledger.transaction():
            for bid in slung:
                ledger.beads.set_slung(bid, actor="bench")
        t3 = time.perf_counter()
        counts = ledger.beads.status_counts()
        ready = len(ledger.beads.ready())
        candidates = len(ledger.beads.dispatch_candidates(after=None, limit=10**9))
    shown = next((d["bead_id"] for d in deps if d["type"] == "blocks"), beads[0]["id"])
    info = {
        "n": n_beads,
        "rigs": [r for r, _ in chosen],
        "seed": seed,
        "stats": stats,
        "deps": len(deps),
        "slung": len(slung),
        "status_counts": counts,
        "ready": ready,
        "dispatch_candidates": candidates,
        "show_id": shown,
        "seconds": {
            "generate": round(t1 - t0, 2),
            "import": round(t2 - t1, 2),
            "sling": round(t3 - t2, 2),
        },
    }
    with open(os.path.join(town.root, "bench-info.json"), "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=1)
    return town


def cached_town(
    n_beads: int, rigs: int = 3, seed: int = 1, slung_fraction: float = 0.3
) -> tuple[Town, dict[str, Any]]:
    """make_town once per (size, rigs, seed, slung) under bench/out/; (town, info)."""
    from engine.town import Town

    key = f"town-v{GEN_VERSION}-n{n_beads}-r{rigs}-s{seed}-sl{int(slung_fraction * 100)}"
    root = OUT / key
    marker = root / "bench-info.json"
    if not marker.exists():
        if root.exists():
            shutil.rmtree(root)
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = OUT / (key + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        print(f"[gen] building {key} ...", file=sys.stderr, flush=True)
        make_town(str(tmp), n_beads, rigs, seed, slung_fraction)
        os.replace(tmp, root)
        info = json.loads(marker.read_text())
        print(f"[gen] done in {info['seconds']}", file=sys.stderr, flush=True)
    return Town(str(root)), json.loads(marker.read_text())


def copy_town(src: Town, dest: str) -> Town:
    """A private copy (town.toml + ledger) to mutate freely; `dest` must not exist."""
    from engine.town import Town

    os.makedirs(dest)
    for name in ("town.toml", "ledger.db"):
        shutil.copyfile(os.path.join(src.root, name), os.path.join(dest, name))
    for sub in (".gastown", "logs", "rigs"):
        os.makedirs(os.path.join(dest, sub), exist_ok=True)
    return Town(dest)


def main() -> int:
    args = sys.argv[1:]
    n = int(args[0]) if args and args[0].isdigit() else 1000
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    town, info = cached_town(n, seed=seed)
    print(town.root)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
