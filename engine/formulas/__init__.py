"""Formulas: TOML workflow templates (the original Gas Town's file shape) → molecules.

A `workflow` formula is poured into a molecule: a `molecule` bead tracking one bead per
step, `blocks` edges from each step's `needs` (engine/commands/formula_actions.py). A
`checklist` formula attaches its steps to the bead it is slung with; the agent ticks them
(`gt step done`). Formulas are found in layers, later ones overriding earlier ones by name:
the ones shipped here (shipped/), the town's `formulas/`, a rig's `.gastown/formulas/`.

formula_file.py is the file shape (pydantic: only cooking, listing and showing pay for it);
loader.py finds, reads, validates and resolves `extends`; render.py substitutes variables
and lays out the DAG; lean.py reads a simple checklist without pydantic for `gt prime`.
"""
