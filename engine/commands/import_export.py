"""Import and export of Beads JSONL (both layouts; the format is engine/beads_jsonl/)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from engine.ledger import Ledger


class ImportRequest(NamedTuple):
    path: str  # a .jsonl file or a backup directory
    rig: str | None = None  # every bead into this rig (default: routed by id prefix)
    skip_bad: bool = False  # import the good lines and report the bad ones


class BadLine(NamedTuple):
    """A line refused by the format (only with `skip_bad`: else nothing is imported)."""

    line: int
    file: str
    error: str


class Imported(NamedTuple):
    layout: str  # "embedded" or "backup"
    stats: dict[str, int]  # created, updated, unchanged, deps_added, deps_removed
    kept: tuple[dict[str, str], ...]  # records the ledger kept as it has them: id, reason
    bad_lines: tuple[BadLine, ...]

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape (`gt import --json`)."""
        return {
            **self.stats,
            "skipped": [b._asdict() for b in self.bad_lines],
            "skipped_beads": list(self.kept),
            "layout": self.layout,
        }


class ExportRequest(NamedTuple):
    dest: Any  # a file path or text stream; a directory for the backup layout
    rig: str | None = None  # only this rig's beads
    layout: str = "embedded"


class Exported(NamedTuple):
    beads: int  # how many were written


def import_beads(ledger: Ledger, request: ImportRequest, *, actor: str) -> Imported:
    """All or nothing unless `skip_bad`; re-importing the same file changes nothing. The
    newer record wins (by updated_at), live work is never changed (such records are kept,
    with the reason), and imported beads are not dispatched until slung."""
    from engine.beads_jsonl import read_beads_jsonl

    batch = read_beads_jsonl(request.path, skip_bad=request.skip_bad)
    with ledger.transaction(durable=True):
        stats = ledger.interop.import_records(batch.beads, batch.deps, rig=request.rig, actor=actor)
    kept = tuple(stats.pop("skipped_beads"))
    return Imported(
        layout=batch.layout,
        stats=stats,
        kept=kept,
        bad_lines=tuple(BadLine(n, f, m) for n, f, m in batch.errors),
    )


def export_beads(ledger: Ledger, request: ExportRequest) -> Exported:
    """Write the town's beads (town records included) and their dependencies."""
    from engine.beads_jsonl import write_beads_jsonl
    from engine.errors import UsageError

    if request.layout == "backup" and (request.dest is None or hasattr(request.dest, "write")):
        raise UsageError("--layout backup writes a directory: give FILE as a directory path")
    with ledger.snapshot():  # beads and their dependencies from one moment
        beads, deps = ledger.interop.export_records(rig=request.rig)
    return Exported(write_beads_jsonl(beads, deps, request.dest, layout=request.layout))
