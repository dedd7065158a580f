"""gt formula list | show | cook, gt mol status, gt step done (an agent's tick)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from engine.cli.output import emit_json, say, table

if TYPE_CHECKING:
    from engine.commands.formula_actions import ChecklistView


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    formula = sub.add_parser(
        "formula", help="workflow templates: list, show, cook into a molecule", parents=[common]
    )
    fs = formula.add_subparsers(
        dest="formula_command", metavar="ACTION", parser_class=type(formula), required=True
    )
    p = fs.add_parser("list", help="the formulas this town (or a rig) can use", parents=[common])
    p.add_argument("--rig", help="include this rig's .gastown/formulas/")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_list)

    p = fs.add_parser("show", help="one formula: variables and steps", parents=[common])
    p.add_argument("name")
    p.add_argument("--rig", help="as this rig sees it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_show)

    p = fs.add_parser(
        "cook",
        help="pour a workflow formula: a molecule bead and one bead per step",
        parents=[common],
        description="Validate a workflow formula and pour it: a molecule bead tracking one "
        "bead per step, with `blocks` edges from `needs`, all or nothing. The steps are "
        "slung (unless --staged) and run as they become ready.",
    )
    p.add_argument("name")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--rig", help="the rig of steps that name none (and its formulas)")
    p.add_argument("--staged", action="store_true", help="dispatch nothing until launched")
    p.add_argument("--dry-run", action="store_true", help="print the DAG; write nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_cook)

    mol = sub.add_parser("mol", help="molecules and checklists: progress", parents=[common])
    ms = mol.add_subparsers(
        dest="mol_command", metavar="ACTION", parser_class=type(mol), required=True
    )
    p = ms.add_parser(
        "status", help="a molecule's steps, or a bead's checklist with ticks", parents=[common]
    )
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_mol_status)

    step = sub.add_parser("step", help="(agents) tick my hook's checklist", parents=[common])
    ss = step.add_subparsers(
        dest="step_command", metavar="ACTION", parser_class=type(step), required=True
    )
    from engine.cli.agent_cmds import identity_args

    p = ss.add_parser("done", help="tick STEP of my hook's checklist", parents=[common])
    p.add_argument("step")
    identity_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_step_done)


def cmd_list(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.formula_actions import list_formulas

    found = list_formulas(ctx.ledger, args.rig)
    if args.json:
        emit_json(found)
        return 0
    table(
        [[f["name"], f["type"], str(f["steps"]), f["layer"], f["description"][:60]] for f in found],
        ["NAME", "TYPE", "STEPS", "FROM", "DESCRIPTION"],
    )
    return 0


def cmd_show(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.formula_actions import show_formula

    f = show_formula(ctx.ledger, args.name, args.rig)
    if args.json:
        emit_json(f)
        return 0
    extends = f"  extends {f['extends']}" if f["extends"] else ""
    say(f"{f['name']} ({f['type']}, version {f['version']}, from {f['layer']}){extends}")
    say(f"  {f['path']}")
    for hidden in f["overrides"]:
        say(f"  overrides {hidden}")
    if f["description"]:
        say(f["description"])
    if f["vars"]:
        say("\nVariables:")
        for name, v in f["vars"].items():
            how = "required" if v["required"] else f"default {v['default']!r}"
            say(f"  {name:<14} {how}  {v['description']}")
    say("\nSteps:")
    for s in f["steps"]:
        needs = f"  (needs {', '.join(s['needs'])})" if s["needs"] else ""
        rig = f"  [rig {s['rig']}]" if s["rig"] else ""
        say(f"  {s['id']:<14} {s['title']}{needs}{rig}")
    return 0


def cmd_cook(args: argparse.Namespace, ctx: Any) -> int:
    from engine.commands.formula_actions import Cook, cook

    request = Cook(args.name, tuple(args.var), args.rig, args.staged, args.dry_run)
    cooked = cook(ctx.ledger, request, actor=ctx.actor, config=ctx.config)
    if args.json:
        emit_json(cooked.as_dict())
        return 0
    if cooked.molecule is None:
        say(f"Would pour {cooked.title!r} ({len(cooked.steps)} steps); nothing was written:")
    else:
        state = (
            f"staged (launch with: gt convoy launch {cooked.molecule})"
            if cooked.staged
            else "slung: each step runs when the steps it needs have landed"
        )
        say(f"Poured molecule {cooked.molecule} {cooked.title!r}, {state}")
    for wave in range(max(s.wave for s in cooked.steps) + 1):
        say(f"  wave {wave + 1}:")
        for s in (s for s in cooked.steps if s.wave == wave):
            needs = f"  ← {', '.join(s.needs)}" if s.needs else ""
            where = f" [{s.rig}]" if s.rig else ""
            bead = f"{s.bead} " if s.bead else ""
            say(f"    {bead}{s.id}{where}: {s.title}{needs}")
    return 0


def cmd_mol_status(args: argparse.Namespace, ctx: Any) -> int:
    from engine.cli.output import glyph
    from engine.commands.formula_actions import mol_status

    st = mol_status(ctx.ledger, args.id)
    if args.json:
        emit_json(st)
        return 0
    prog = st["progress"]
    say(
        f"{st['kind'].capitalize()} {st['id']}  {st['title']}  ({st['formula']})  "
        f"{prog['done']}/{prog['total']} done"
    )
    rows = []
    for s in st["steps"]:
        mark = ("✓ done" if s["done"] else "☐ todo") if s["bead"] is None else glyph(s["status"])
        who = s["done_by"] or s["assignee"] or "-"
        rows.append([s["id"], mark, s["bead"] or "-", who.rsplit("/", 1)[-1], s["title"]])
    table(rows, ["STEP", "STATUS", "BEAD", "AGENT", "TITLE"])
    return 0


def cmd_step_done(args: argparse.Namespace, ctx: Any) -> int:
    from engine.cli.agent_cmds import need_identity
    from engine.commands.formula_actions import StepDone, step_done

    agent_id, bead_id, attempt = need_identity(args, ctx)  # a zombie is refused first
    ticked = step_done(ctx.ledger, StepDone(agent_id, bead_id, attempt, args.step))
    if args.json:
        emit_json(ticked.as_dict())
        return 0
    already = "" if ticked.newly else " (it was ticked already)"
    nxt = ticked.checklist.next_step
    say(f"Ticked {ticked.step}{already}. " + (f"Next: {nxt}." if nxt else "All steps done."))
    return 0


def say_checklist(view: ChecklistView) -> None:
    """The checklist in `gt prime`: ticks, and where this session picks up."""
    say(f"\nChecklist ({view.formula}); tick each step with `gt step done STEP`:")
    nxt = view.next_step
    for n, s in enumerate(view.steps, 1):
        mark = "[x]" if s["done"] else ("[>]" if s["id"] == nxt else "[ ]")
        say(f"  {mark} {n}. {s['id']}: {s['title']}")
        if s["id"] == nxt:
            for extra in (s["description"], s["acceptance"] and "Done when: " + s["acceptance"]):
                if extra:
                    say(f"        {extra}")
    if nxt is None:
        say("  All steps are ticked.")
    elif any(s["done"] for s in view.steps):
        say(f"  Resume at step {nxt}: the steps before it are done.")
