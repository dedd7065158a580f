"""The commands agents call (identity from their environment), and a person's view of them:
gt prime, done, heartbeat, checkpoint, escalate, nudge, handoff, peek, attach, runtime, seance.

Every call is recorded with the agent's identity and attempt; a call from a stale attempt
(a zombie of an earlier session) is refused without effect.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from engine.cli.output import count, emit_json, say, table
from engine.errors import GtError, UsageError

if TYPE_CHECKING:
    from engine.records import Agent


def identity_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--agent",
        default=None,
        help="agent id (default: this session's own, $GT_AGENT_ID; an agent session may "
        "name only itself)",
    )
    p.add_argument(
        "--bead", default=os.environ.get("GT_BEAD"), help="the hooked bead (default: $GT_BEAD)"
    )
    p.add_argument(
        "--attempt",
        type=int,
        default=int(os.environ["GT_ATTEMPT"])
        if os.environ.get("GT_ATTEMPT", "").isdigit()
        else None,
        help="the attempt (default: $GT_ATTEMPT)",
    )


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "prime", help="who am I, my hook, my mail, what to do when finished", parents=[common]
    )
    identity_args(p)
    p.add_argument(
        "--role", choices=["polecat", "mayor"], default=None, help="mayor: the mayor's briefing"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_prime)

    p = sub.add_parser(
        "done", help="submit my branch to the refinery and free me", parents=[common]
    )
    identity_args(p)
    p.add_argument("--status", choices=["completed", "escalated", "deferred"], default="completed")
    p.add_argument("--summary", help="what was done (or why not)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_done)

    p = sub.add_parser("heartbeat", help="tell the witness I am alive", parents=[common])
    identity_args(p)
    p.set_defaults(handler=cmd_note, kind="heartbeat")

    p = sub.add_parser("checkpoint", help="record progress on my hook", parents=[common])
    p.add_argument("text")
    identity_args(p)
    p.set_defaults(handler=cmd_note, kind="checkpoint")

    from engine.cli.escalate_cmds import add_escalate  # with list/show/ack/close

    add_escalate(sub, common)

    p = sub.add_parser(
        "nudge", help="type a short message into an agent's session", parents=[common]
    )
    p.add_argument("agent", help="agent name or id")
    p.add_argument("message")
    p.add_argument("--ttl", type=float, default=300, help="seconds before it expires")
    p.set_defaults(handler=cmd_nudge)

    p = sub.add_parser(
        "handoff", help="restart my session with a fresh context, hook intact", parents=[common]
    )
    identity_args(p)
    p.add_argument("--note", default="", help="what the next session should know")
    p.set_defaults(handler=cmd_handoff)

    p = sub.add_parser("peek", help="an agent's recent output", parents=[common])
    p.add_argument("agent")
    p.add_argument("-n", "--lines", type=count, default=40)
    p.set_defaults(handler=cmd_peek)

    p = sub.add_parser(
        "attach", help="attach this terminal to an agent's tmux session", parents=[common]
    )
    p.add_argument("agent")
    p.set_defaults(handler=cmd_attach)

    p = sub.add_parser("runtime", help="agent runtimes (presets and custom)", parents=[common])
    rs = p.add_subparsers(dest="runtime_command", metavar="ACTION", required=True)
    q = rs.add_parser("list", help="the runtimes this town can use", parents=[common])
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_runtime_list)
    from engine.cli import pause_cmds

    pause_cmds.register(rs, common)

    p = sub.add_parser(
        "seance", help="what earlier sessions on a bead or agent said", parents=[common]
    )
    p.add_argument("target", nargs="?", help="a bead id or agent name (default: my hook)")
    p.add_argument("--grep", help="only lines containing TEXT")
    p.add_argument("-n", "--lines", type=count, default=60, help="lines per session")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_seance)


def in_agent_session() -> bool:
    return any(os.environ.get(k) for k in ("GT_AGENT_ID", "GT_AGENT", "GT_ROLE"))


def need_identity(args: argparse.Namespace, ctx: Any) -> tuple[str, str, int]:
    """The calling agent, its hook and attempt. A stale attempt (a zombie) is refused
    first, so it hears that; then the identity is checked against the session's token."""
    if not args.agent and not in_agent_session():
        raise UsageError(
            "this runs inside an agent session ($GT_AGENT_ID is not set); "
            "or pass --agent, --bead and --attempt"
        )
    if not args.bead or args.attempt is None:
        raise UsageError("no hook: $GT_BEAD/$GT_ATTEMPT are not set (pass --bead/--attempt)")
    ctx.check_fence(args.bead, args.attempt)
    agent_id = ctx.agent_identity(args.agent)
    assert agent_id is not None  # in a session, or --agent was given
    return agent_id, args.bead, args.attempt


def cmd_prime(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.reports import AgentReport, prime

    if args.role == "mayor" or (args.role is None and os.environ.get("GT_ROLE") == "mayor"):
        from engine.mayor.prime import render  # the town's state, for the mayor

        text = render(ctx.ledger, ctx.config)
        if args.json:
            emit_json({"role": "mayor", "briefing": text})
        else:
            say(text.rstrip("\n"))
        return 0
    if not args.agent and not in_agent_session():
        raise UsageError("gt prime runs inside an agent session ($GT_AGENT_ID is not set)")
    primed = prime(ctx.ledger, AgentReport(ctx.agent_identity(args.agent), args.attempt))
    agent, hook, mail = primed.agent, primed.hook, primed.unread
    from engine.commands.formula_actions import checklist_of

    checklist = checklist_of(ctx.ledger, hook) if hook else None
    if args.json:
        emit_json({**primed.as_dict(), "checklist": checklist.as_dict() if checklist else None})
        return 0
    say(f"You are {agent['name']} ({agent['id']}), a polecat in rig {agent['rig']}.")
    if hook:
        say(
            f"Your hook: {hook['id']} — {hook['title']} (attempt {hook['attempt']}, "
            f"{hook['status']})"
        )
        if agent.get("branch"):
            say(f"Branch: {agent['branch']}")
        if hook["body"]:
            say("")
            say(hook["body"])
        for d in primed.depends_on:
            say(f"  depends on {d['id']} ({d['status']}): {d['title']}")
        if checklist:
            from engine.cli.formula_cmds import say_checklist

            say_checklist(checklist)
    else:
        say("Your hook is empty: nothing to do.")
    say(f"\nUnread mail: {len(mail)}" + (" — gt mail inbox" if mail else ""))
    for m in mail:
        say(f"  {m['id']} from {m['from']}: {m['subject']}")
    say('\nWhen finished: commit, then `gt done --summary "..."`. Stuck: `gt escalate`.')
    return 0


def cmd_done(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.done import DoneRequest, done

    # a zombie is refused before anything else is looked at (need_identity fences first)
    agent_id, bead_id, attempt = need_identity(args, ctx)
    request = DoneRequest(
        agent_id=agent_id,
        bead_id=bead_id,
        attempt=attempt,
        worktree=os.environ.get("GT_WORKTREE") or os.getcwd(),
        status=args.status,
        summary=args.summary,
    )
    # town.toml (pydantic) is read only for an escalation: `gt done` is on the hot path
    routes = ctx.config.escalation if args.status == "escalated" else None
    result = done(ctx.ledger, request, routes)
    if args.json:
        emit_json(result.as_dict())
    elif args.status == "completed":
        commit = result.commit[:10] if result.commit else "?"
        say(
            f"Submitted {result.branch} ({commit}) as {result.merge_request}"
            f"; {bead_id} is in review. You are free."
        )
    else:
        say(f"{bead_id} handed back ({args.status}). You are free.")
    return 0


def cmd_note(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.reports import AgentReport, checkpoint, heartbeat

    if not args.agent and not in_agent_session():
        raise UsageError(f"gt {args.kind} runs inside an agent session ($GT_AGENT_ID is not set)")
    ctx.check_fence(args.bead, args.attempt)  # a zombie hears "stale attempt" first
    request = AgentReport(ctx.agent_identity(args.agent), args.attempt)
    if args.kind == "checkpoint":
        checkpoint(ctx.ledger, request, args.text)
        say("Checkpoint recorded.")
    else:
        heartbeat(ctx.ledger, request)
    return 0


def cmd_nudge(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.nudge import Nudge, nudge

    request = Nudge.of(args.agent, args.message, args.ttl)  # refuses bad text first
    ctx.check_fence()  # then a zombie hears "stale attempt", before any lookup
    queued = nudge(ctx.ledger, request, actor=ctx.actor)
    say(f"Nudge queued for {queued.agent_name}.")
    return 0


def cmd_handoff(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.reports import Handoff, handoff

    agent_id, bead_id, attempt = need_identity(args, ctx)
    handoff(ctx.ledger, Handoff(agent_id, bead_id, attempt, note=args.note))
    say("Handoff requested: a fresh session starts on the same hook with your note.")
    return 0


def session_for(ctx: Any, ident: str) -> tuple[Agent, str, Any]:
    from engine.adapters.tmux import Tmux, socket_name
    from engine.polecats.fleet import session_of_agent

    agent = ctx.ledger.agents.require(ident)
    session = session_of_agent(agent["id"])
    if agent.get("host"):  # a town shared across machines: its session may be elsewhere
        from engine.cli.host_cmds import elsewhere

        where = elsewhere(ctx, agent, session)
        if where:
            raise GtError(where)
    return agent, session, Tmux(socket_name(ctx.town.root))


def cmd_peek(args: argparse.Namespace, ctx: Any) -> int:
    agent, session, tmux = session_for(ctx, args.agent)
    if tmux.has_session(session):
        text = tmux.capture(session, args.lines).rstrip("\n")
        say("\n".join(text.splitlines()[-args.lines :]))
        return 0
    from engine.polecats import seance

    logs = seance.find_logs(ctx.town.logs_dir, agent=agent["name"], rig=agent["rig"])
    if not logs:
        raise GtError(f"{agent['name']} has no session and no logs yet")
    say(f"({agent['name']} has no live session; the end of its last log:)")
    say("\n".join(seance.tail(logs[-1].path, args.lines)))
    return 0


def cmd_attach(args: argparse.Namespace, ctx: Any) -> int:
    agent, session, tmux = session_for(ctx, args.agent)
    if not tmux.has_session(session):
        raise GtError(
            f"{agent['name']} has no live session (gt peek {agent['name']} shows its last output)"
        )
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}  # nested in the user's tmux
    argv = tmux.attach_argv(session)
    os.execvpe(argv[0], argv, env)
    return 0  # pragma: no cover


def cmd_runtime_list(args: argparse.Namespace, ctx: Any) -> int:
    from engine.polecats import runtimes

    cfg = ctx.config
    known = runtimes.all_runtimes(cfg.runtime.custom)
    rows = []
    for name, spec in sorted(known.items()):
        rows.append(
            {
                "name": name,
                "argv": spec.argv,
                "prompt": spec.prompt,
                "autonomy": spec.autonomy,
                "ready_delay": spec.ready_delay,
                "env": spec.env,
                # names only: a value set in town.toml may be a token
                "set_env": sorted(spec.set_env),
                "home_env": spec.home_env,
                "custom": spec.custom,
                "default": name == cfg.runtime.default,
            }
        )
    if args.json:
        emit_json(rows)
        return 0
    table(
        [
            [
                ("* " if r["default"] else "  ") + r["name"],
                " ".join(r["argv"])[:60],
                str(r["prompt"]),
                str(r["autonomy"]),
                str(r["home_env"] or "-"),
            ]
            for r in rows
        ],
        ["RUNTIME", "COMMAND", "PROMPT", "AUTONOMY", "AGENT HOME"],
    )
    return 0


def cmd_seance(args: argparse.Namespace, ctx: Any) -> int:
    from engine.polecats import seance

    target = args.target or os.environ.get("GT_BEAD")
    if not target:
        raise UsageError("name a bead id or an agent (or run inside an agent session)")
    bead = ctx.ledger.beads.get(target)
    if bead is not None:
        logs = seance.find_logs(ctx.town.logs_dir, bead=target)
    else:
        agent = ctx.ledger.agents.get(target)
        name = agent["name"] if agent else target
        logs = seance.find_logs(ctx.town.logs_dir, agent=name, rig=agent["rig"] if agent else None)
        if agent is None and not logs:
            # a typo is an error (exit 1), not "no sessions": a script must be able to tell
            from engine.errors import NotFound

            raise NotFound(f"no bead or agent named {target!r} (and no session logs)")
    sessions: list[dict[str, Any]] = []
    for lg in logs:
        lines = seance.grep(lg.path, args.grep) if args.grep else seance.tail(lg.path, args.lines)
        sessions.append(
            {
                "agent": lg.agent,
                "rig": lg.rig,
                "bead": lg.bead,
                "attempt": lg.attempt,
                "log": lg.path,
                "lines": lines,
            }
        )
    if args.json:
        emit_json(sessions)
        return 0
    if not sessions:
        say(f"No sessions found for {target}.")
        return 0
    for s in sessions:
        say(f"=== {s['agent']} on {s['bead']} (attempt {s['attempt']}) — {s['log']}")
        say("\n".join(s["lines"]) or "(nothing)")
    return 0
