"""The machinery of events (engine/events/): the Event root, its metaclass, the registry,
and the row <-> object conversion. The kinds are in bead_events.py and town_events.py.

The classes are frozen `__slots__` classes built by a small metaclass rather than
dataclasses: `gt`'s write paths import the registry, and ~70 dataclasses cost several
milliseconds of start-up (each one compiles its methods); these cost a plain class each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = [
    "REGISTRY",
    "AgentStatusChanged",
    "Event",
    "StatusChanged",
    "UnknownEvent",
    "UnknownEventKind",
    "check_kind",
    "describe",
    "from_row",
]

REGISTRY: dict[str, type[Event]] = {}

# what every event carries besides its data, in the ledger's column order
_ROW = ("id", "at", "bead_id", "kind", "actor", "attempt")


class _EventType(type):
    """Makes each subclass's annotations its slots and data keys, and registers its kind.

    Done here, not in __init_subclass__, because slots must exist before the class does.
    `abstract=True` makes a base that shares keys (a status change's from/to) but records
    no kind of its own."""

    def __new__(
        mcs,
        name: str,
        bases: tuple[type, ...],
        ns: dict[str, Any],
        kind: str = "",
        more: str = "",
        abstract: bool = False,
    ) -> _EventType:
        if "__slots__" not in ns:  # the root and UnknownEvent declare their own
            if not kind and not abstract:
                raise TypeError(f"{name}: an event class needs its kind")
            if kind in REGISTRY:
                raise TypeError(f"{name}: kind {kind!r} is {REGISTRY[kind].__name__}'s")
            own = tuple(ns.get("__annotations__", {}))
            taken = {a for a in own if a in _ROW or a in ("extra", "data")}
            if taken:
                raise TypeError(f"{name}: {sorted(taken)} name the row, not its data")
            ns["__slots__"] = own
            inherited: tuple[str, ...] = getattr(bases[0], "_attrs", ())
            ns["_attrs"] = attrs = inherited + own
            ns["_key_attr"] = {(a[:-1] if a.endswith("_") else a): a for a in attrs}
            ns["fields"] = (*ns["_key_attr"], *((more,) if more else ()))
        cls = super().__new__(mcs, name, bases, ns)
        if kind:
            cls.kind = kind  # type: ignore[attr-defined]
            REGISTRY[kind] = cls  # type: ignore[assignment]
        return cls


class Event(metaclass=_EventType):
    """One event as the ledger recorded it. Subclasses name a kind in the past tense,
    document its data with annotations, and are matched on by class."""

    __slots__ = ("_order", "actor", "at", "attempt", "bead_id", "extra", "id")
    kind: str = ""
    fields: ClassVar[tuple[str, ...]] = ()  # the documented data keys, for `gt events --kinds`
    _attrs: ClassVar[tuple[str, ...]] = ()
    _key_attr: ClassVar[dict[str, str]] = {}

    id: int | None
    at: str
    bead_id: str | None
    actor: str | None
    attempt: int | None
    extra: dict[str, Any]  # data keys the class does not document, so nothing is lost
    _order: tuple[str, ...]  # the data's keys as recorded: `to_row` keeps JSON byte-identical

    def __init__(
        self,
        *,
        id: int | None = None,  # the ledger's column name
        at: str = "",
        bead_id: str | None = None,
        actor: str | None = None,
        attempt: int | None = None,
        **data: Any,
    ) -> None:
        """Build an event from its row's columns and its data keys (by key: `from`, or
        its attribute name `from_`)."""
        _fill(self, {"id": id, "at": at, "bead_id": bead_id, "actor": actor}, attempt, data)

    @property
    def data(self) -> dict[str, Any]:
        """The data as the ledger stores it: documented keys and extra ones, in order."""
        key_attr, extra = self._key_attr, self.extra
        return {k: getattr(self, key_attr[k]) if k in key_attr else extra[k] for k in self._order}

    def to_row(self) -> dict[str, Any]:
        """The row this event was read from (the ledger's columns, in order)."""
        return {
            "id": self.id,
            "at": self.at,
            "bead_id": self.bead_id,
            "kind": self.kind,
            "actor": self.actor,
            "attempt": self.attempt,
            "data": self.data,
        }

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: an event is history")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: an event is history")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event) or type(other) is not type(self):
            return NotImplemented
        return self.to_row() == other.to_row()

    __hash__ = None  # type: ignore[assignment]  # data holds lists: equal events need not hash

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._items())
        return f"{type(self).__name__}({shown})"

    def _items(self) -> Iterator[tuple[str, Any]]:
        yield from (("id", self.id), ("bead_id", self.bead_id))
        yield from ((a, getattr(self, a)) for a in self._attrs)
        if self.extra:
            yield "extra", self.extra


class UnknownEvent(Event):
    """An event whose kind this code does not know (a newer or older ledger wrote it): its
    data is all in `extra`."""

    __slots__ = ("kind",)
    kind: str  # per event, not per class

    def __init__(self, kind: str = "", **row: Any) -> None:
        object.__setattr__(self, "kind", kind)
        super().__init__(**row)

    def _items(self) -> Iterator[tuple[str, Any]]:
        yield "kind", self.kind
        yield from super()._items()


def _fill(ev: Event, cols: dict[str, Any], attempt: int | None, data: Mapping[str, Any]) -> None:
    put = object.__setattr__
    for name, value in cols.items():
        put(ev, name, value)
    put(ev, "attempt", attempt)
    key_attr = ev._key_attr
    for a in ev._attrs:
        put(ev, a, None)
    extra: dict[str, Any] = {}
    order = []
    for key, value in data.items():
        attr = key_attr.get(key)
        if attr is None and key in ev._attrs:  # given by attribute name (`from_=`)
            attr, key = key, key[:-1]
        if attr is None:
            extra[key] = value
        else:
            put(ev, attr, value)
        order.append(key)
    put(ev, "extra", extra)
    put(ev, "_order", tuple(order))


def from_row(row: Mapping[str, Any]) -> Event:
    """The event object for a ledger row (`data` already decoded from JSON)."""
    kind = row["kind"]
    cls = REGISTRY.get(kind)
    ev = object.__new__(cls or UnknownEvent)
    if cls is None:
        object.__setattr__(ev, "kind", kind)
    cols = {"id": row.get("id"), "at": row["at"], "bead_id": row.get("bead_id")}
    cols["actor"] = row.get("actor")
    _fill(ev, cols, row.get("attempt"), row.get("data") or {})
    return ev


class UnknownEventKind(ValueError):
    """A kind no Event class registers: a programming error, never a user's."""


def check_kind(kind: str) -> str:
    if kind not in REGISTRY:
        raise UnknownEventKind(f"event kind {kind!r} is not registered in engine/events/")
    return kind


def describe(kind: str) -> str:
    """The first line of the kind's documentation."""
    doc = REGISTRY[kind].__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


class StatusChanged(Event, abstract=True):
    """A bead's status changed (`BeadStore.set_status` always records from and to)."""

    from_: str | None
    to: str | None


class AgentStatusChanged(Event, abstract=True):
    """An agent's status changed: recorded as `agent_<status>` by the scheduler (reason) or
    the witness (agent, status)."""

    reason: str | None
    agent: str | None
    status: str | None
