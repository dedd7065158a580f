"""What each `gt ... --json` prints, as one schema per output, documented from the records.

The shapes are `TypedDict`s (engine/records.py and engine/json_shapes.py); pydantic
turns them into validators and JSON Schemas. Only `gt schema` and the tests import this
module: pydantic stays off `gt`'s hot path (tests/test_boundaries.py).
tests/test_json_schemas.py runs every listed command against a real town and validates its
output here with extra keys refused, so this documentation cannot drift from the output.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, NamedTuple, NotRequired

import typing_extensions
from pydantic import Strict, TypeAdapter

from engine.deacon.rounds import PatrolRow
from engine.json_shapes import (
    BreakerState,
    Costs,
    DoneResult,
    EscalationDetail,
    EscalationRow,
    ListedAgent,
    ListedHost,
    ListedMergeRequest,
    MailCount,
    MolStatus,
    Placement,
    Primed,
    ShownBead,
    TownStatus,
)
from engine.records import (
    Agent,
    Bead,
    BeadWithExtra,
    BlockedBead,
    CancelledConvoy,
    Convoy,
    ConvoyStatus,
    EventRow,
    ListedConvoy,
    MailMessage,
    MergeRequest,
)

# --- the outputs -----------------------------------------------------------------------


class Output(NamedTuple):
    shape: Any
    commands: str  # the commands that print it


OUTPUTS: dict[str, Output] = {
    "bead": Output(Bead, "gt bead create|update|close|cancel|reopen --json, gt escalate MSG"),
    "bead-show": Output(ShownBead, "gt bead show --json"),
    "beads": Output(list[Bead], "gt bead list --json, gt ready --json"),
    "blocked": Output(list[BlockedBead], "gt blocked --json"),
    "agents": Output(list[ListedAgent], "gt agents --json"),
    "hosts": Output(list[ListedHost], "gt hosts --json"),
    "convoy": Output(Convoy, "gt convoy create|launch|add --json"),
    "convoy-cancel": Output(CancelledConvoy, "gt convoy cancel --json"),
    "convoy-status": Output(ConvoyStatus, "gt convoy status --json"),
    "convoys": Output(list[ListedConvoy], "gt convoy list --json"),
    "mail": Output(MailMessage, "gt mail send|read --json"),
    "mail-inbox": Output(list[MailMessage], "gt mail inbox --json"),
    "mail-check": Output(MailCount, "gt mail check --json"),
    "mq-list": Output(list[ListedMergeRequest], "gt mq list --json"),
    "mq-show": Output(MergeRequest, "gt mq show --json"),
    "status": Output(TownStatus, "gt status --json"),
    "breaker": Output(BreakerState, "gt breaker --json"),
    "events": Output(list[EventRow], "gt events --json"),
    "done": Output(DoneResult, "gt done --json"),
    "sling": Output(list[Placement], "gt sling --json"),
    "prime": Output(Primed, "gt prime --json"),
    "mol-status": Output(MolStatus, "gt mol status --json"),
    "costs": Output(Costs, "gt costs --json"),
    "escalation": Output(EscalationRow, "gt escalate ack|close --json"),
    "escalations": Output(list[EscalationRow], "gt escalate list --json"),
    "escalation-show": Output(EscalationDetail, "gt escalate show --json"),
    "patrols": Output(list[PatrolRow], "gt patrol list --json"),
}

# Records that are not printed whole by one command but are checked against the stores.
RECORDS: dict[str, Any] = {
    "agent": Agent,
    "bead": BeadWithExtra,
    "convoy": Convoy,
    "merge-request": MergeRequest,
    "mail": MailMessage,
    "event": EventRow,
}


# --- TypedDict -> pydantic -------------------------------------------------------------

# Extra keys refused; no coercion (1 is not true, "2" is not 2) except a StrEnum's value.
_CONFIG = {"extra": "forbid", "strict": True}
_converted: dict[Any, Any] = {}
# Called through a plain name: mypy reads a direct `TypedDict(...)` call as a class statement.
_make_typed_dict: Any = typing_extensions.TypedDict


def pydantic_ready(tp: Any) -> Any:
    """The same type with each `typing.TypedDict` rebuilt as a `typing_extensions` one,
    which pydantic needs on Python < 3.12, with extra keys refused and strict values.

    The records stay plain `typing.TypedDict`s so importing them costs nothing extra;
    only this module (off the hot path) pays for typing_extensions and pydantic.
    """
    if typing.is_typeddict(tp):
        if tp not in _converted:
            fields = {}
            for key, hint in typing.get_type_hints(tp, include_extras=True).items():
                # Read NotRequired from the hint: with string annotations (PEP 563)
                # Python 3.11 counts every key in __required_keys__.
                required = key in tp.__required_keys__
                if typing.get_origin(hint) in (NotRequired, typing.Required):
                    required = typing.get_origin(hint) is typing.Required
                    hint = typing.get_args(hint)[0]
                wrap = typing_extensions.Required if required else typing_extensions.NotRequired
                fields[key] = wrap[pydantic_ready(hint)]
            new = _make_typed_dict(tp.__name__, fields)
            new.__doc__ = tp.__doc__
            new.__pydantic_config__ = _CONFIG
            _converted[tp] = new
        return _converted[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        # Stores hand out plain strings ("open"): a StrEnum field takes its value.
        return typing.Annotated[tp, Strict(False)]
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(pydantic_ready(a) for a in args)]  # noqa: UP007
    if origin in (list, dict):
        return origin[tuple(pydantic_ready(a) for a in args)]
    return tp


def adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(pydantic_ready(tp))


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one output, its description naming the commands that print it."""
    out = OUTPUTS[name]
    doc = adapter(out.shape).json_schema()
    doc["title"] = name
    own = doc.get("description")  # the top shape's docstring, when it is one record
    doc["description"] = f"Printed by `{out.commands}`." + (f" {own}" if own else "")
    return doc
