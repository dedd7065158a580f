"""The application layer: every action a person, a script or an agent can take, once.

A command is a plain function: typed arguments in, a typed result out, one ledger
transaction inside, no printing. `gt` handlers parse, call a command and render its result;
the Engine facade calls the same commands for the app. A rule lives here, not in either
front end.

Nothing is imported here: `gt` imports only the command its handler needs. Arguments and
results are typed `NamedTuple`s (immutable, and `typing` is already loaded), not
dataclasses: `dataclasses` pulls in `inspect`, ~7 ms on every `gt done` and `gt nudge`.
"""
