"""Read and write Beads' JSONL ledgers, losslessly.

Two layouts exist in the wild:

* embedded: one issue per line, its dependencies embedded in a ``dependencies`` array;
* backup (``.beads/backup/``): ``issues.jsonl`` plus ``dependencies.jsonl``, ``labels.jsonl``
  and ``comments.jsonl``, one row per line, keys sorted, Go-style escaping.

Issues become normalised bead dicts (the ledger's field names); every field we do not map
is kept verbatim in ``extra``, together with ``extra["_keys"]`` (the original key order) and
``extra["_raw"]`` (original values whose form the default serialisation would not reproduce),
so that exporting an untouched import gives back the same JSON objects.

Import-light: the ``gt`` CLI imports this package, and pydantic (the line models of
beads_issue.py) is imported only when a file is read. The format's rooms: fields.py (layouts
and the key map), beads_issue.py (a line's validation), read.py, write.py.
"""

from engine.beads_jsonl.fields import BACKUP, EMBEDDED, LAYOUTS, ImportBatch
from engine.beads_jsonl.read import read_beads_jsonl, refusal_message
from engine.beads_jsonl.write import write_beads_jsonl

__all__ = [
    "BACKUP",
    "EMBEDDED",
    "LAYOUTS",
    "ImportBatch",
    "read_beads_jsonl",
    "refusal_message",
    "write_beads_jsonl",
]
