"""The deacon: the town-level patrols, in one place.

Each patrol is a small module with the same shape (engine/deacon/patrol.py): a `Patrol`
with a `name`, an `interval` read from town.toml's [deacon] table, and three steps that
run on the thread each belongs to — `look` (the ledger's thread: what to check), `work`
(the adapters' thread: git and files, never the ledger) and `act` (the ledger's thread:
write through the stores and commands, return the findings). engine/deacon/rounds.py runs
the due ones once per reconcile tick, each at its own interval, and keeps each patrol's
last run, findings and next run in the ledger (town_state, key `deacon.<name>`), which
`gt status`, `gt patrol list` and the app read.

Kept light: engine/config.py imports the [deacon] settings from here.
"""
