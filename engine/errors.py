"""Errors that reach a person as one clear line and an exit code."""


class GtError(Exception):
    """A refused or failed operation: printed as one line, exit code 1."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(GtError):
    """The command was called wrongly: exit code 2."""

    exit_code = 2


class NotFound(GtError):
    """An id, name or path that does not exist."""


class Conflict(GtError):
    """The operation would break a rule (cycle, duplicate, busy rig, stale attempt...)."""


class LedgerError(GtError):
    """The database could not be used (corrupt, locked, wrong version)."""
