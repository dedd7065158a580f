"""Mail addresses: who a message is for, in the town's words.

`mayor` (the human operator), an agent's display name (`Toast`), a polecat in a rig
(`<rig>/polecats/<name>`), or a role in a rig (`<rig>/witness`, `<rig>/refinery`).
Everything resolves to one canonical address so a mailbox is one indexed query.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from engine import vocab
from engine.errors import NotFound, UsageError
from engine.safetext import check_typed

if TYPE_CHECKING:
    from engine.ledger import Ledger

ROLES = ("witness", "refinery")
_PART = r"[A-Za-z0-9_-]+"


def check_message(subject: str, body: str) -> tuple[str, str]:
    """A message as it may be sent: a one-line subject and a body of lines, neither holding
    a control character (agents mail the mayor: their text reaches a person's terminal)."""
    subject = check_typed(subject, "a mail subject")
    body = check_typed(body.replace("\r\n", "\n"), "a mail body", newlines=True, empty=True)
    return subject, body


def resolve_address(ledger: Ledger, address: str) -> str:
    addr = address.strip()
    if not addr:
        raise UsageError("an empty mail address")
    if addr.lower() == vocab.MAYOR:
        return vocab.MAYOR
    m = re.fullmatch(rf"({_PART})/({_PART})(?:/({_PART}))?", addr)
    if m:
        rig, kind, name = m.groups()
        ledger.rigs.require(rig)
        if name is None and kind in ROLES:
            return f"{rig}/{kind}"
        if kind == "polecats" and name:
            agent = ledger.agents.get(f"{rig}/polecats/{name}")
            return agent["id"] if agent else f"{rig}/polecats/{name}"
        raise UsageError(
            f"bad address {addr!r}: use mayor, NAME, RIG/witness, RIG/refinery or RIG/polecats/NAME"
        )
    if re.fullmatch(_PART, addr):
        agent = ledger.agents.get(addr)
        if agent is None:
            raise NotFound(
                f"no live agent named {addr!r} (addresses: mayor, NAME, "
                f"RIG/witness, RIG/refinery, RIG/polecats/NAME)"
            )
        return str(agent["id"])
    raise UsageError(
        f"bad address {addr!r}: use mayor, NAME, RIG/witness, RIG/refinery or RIG/polecats/NAME"
    )
