"""gt hosts: the engines sharing this town's ledger, one per machine; and where an agent of
another host runs (for gt attach and gt peek)."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from engine.cli.output import emit_json, say, table

if TYPE_CHECKING:
    from engine.json_shapes import ListedHost
    from engine.records import Agent


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "hosts",
        help="the hosts sharing this town's ledger",
        parents=[common],
        description=(
            "Each host is one engine on one machine (`gastown --engine-only --host NAME`): "
            "its state (live, lost, stopped), capacity, working polecats, last heartbeat and "
            "the rigs it serves."
        ),
    )
    p.add_argument("--json", action="store_true", help="one JSON array")
    p.set_defaults(handler=cmd_hosts)


def listed_hosts(ledger: Any) -> list[ListedHost]:
    now = ledger.now()
    busy = ledger.hosts.busy_counts()
    return [
        {
            "name": h["name"],
            "state": h["state"],
            "capacity": h["capacity"],
            "busy": busy.get(h["name"], 0),
            "heartbeat_age": round(max(0.0, now - h["heartbeat_at"]), 1),
            "lease_seconds": h["lease_seconds"],
            "rigs": h["rigs"],
            "address": h["address"],
            "town_root": h["town_root"],
            "epoch": h["epoch"],
        }
        for h in ledger.hosts.list()
    ]


def cmd_hosts(args: argparse.Namespace, ctx: Any) -> int:
    rows = listed_hosts(ctx.ledger)
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        say(
            "No hosts: one engine runs this town (start one per machine with "
            "`gastown --engine-only --host NAME` to share its ledger)."
        )
        return 0
    table(
        [
            [
                h["name"],
                h["state"],
                f"{h['busy']}/{h['capacity']}",
                f"{h['heartbeat_age']:g}s ago",
                ", ".join(h["rigs"]) or "all",
                h["address"],
            ]
            for h in rows
        ],
        ["HOST", "STATE", "BUSY", "HEARTBEAT", "RIGS", "ADDRESS"],
    )
    return 0


def elsewhere(ctx: Any, agent: Agent, session: str) -> str | None:
    """One line saying where an agent of another host runs and how to reach its session;
    None when its session is this town's (a single-host town, or this host's agent)."""
    from engine.adapters.tmux import socket_name

    host_name = agent.get("host")
    if not host_name:
        return None
    host = ctx.ledger.hosts.get(host_name)
    if host is None or host["town_root"] == os.path.realpath(ctx.town.root):
        return None
    socket = socket_name(host["town_root"])
    where = host["address"] or "its machine"
    return (
        f"{agent['name']} runs on host {host_name} ({where}, {host['state']}), not in this "
        f"town's tmux: attach there with `ssh -t {where} tmux -L {socket} attach-session "
        f"-t ={session}` (or `gt --town {host['town_root']} attach {agent['name']}` on it)"
    )
