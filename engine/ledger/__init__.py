"""The ledger: the town's single source of truth, and the only place SQL lives.

`Ledger` is a facade over small stores (beads, graph, rigs, agents, ...), each owning
the SQL for its part. Stores are created on first use so a short `gt` command imports
only the modules it touches.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from engine.errors import LedgerError
from engine.ledger.db import Db

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from engine.ledger.agents import AgentStore
    from engine.ledger.beads import BeadStore
    from engine.ledger.convoys import ConvoyStore
    from engine.ledger.graph import GraphStore
    from engine.ledger.hosts import HostStore
    from engine.ledger.inbox import InboxStore
    from engine.ledger.interop import InteropStore
    from engine.ledger.mail import MailStore
    from engine.ledger.merge_queue import MergeQueueStore
    from engine.ledger.pg_db import PgDb
    from engine.ledger.rigs import RigStore
    from engine.ledger.state import StateStore
    from engine.ledger.usage import UsageStore

LEDGER_FILE = "ledger.db"


class Ledger:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        clock: Callable[[], float] = time.time,
        town_root: str | None = None,
    ) -> None:
        target = os.fspath(path)
        self.db: Db | PgDb
        if target.startswith(("postgresql://", "postgres://")):
            from engine.ledger.pg_db import PgDb

            # What messages name the ledger by: the URL without its password.
            self.db = PgDb(target, create=create)
            self.path = self.db.path
        else:
            self.path = target
            self.db = Db(self.path, create=create)
        # the town directory this ledger is opened for (its formulas, its rigs' clones);
        # a SQLite ledger lives at its town's root, a shared one is told
        self.town_root = town_root or (
            os.path.dirname(os.path.abspath(target)) if self.db.backend == "sqlite" else None
        )
        self.clock = clock
        from engine.ledger import schema

        try:
            if create and schema.is_empty(self.db):
                schema.create(self.db)
            elif create and self.db.backend == "sqlite":
                raise LedgerError(f"{self.path} is not empty; refusing to create a ledger in it")
            else:  # an existing ledger (or, for PostgreSQL, a town joining a shared one)
                schema.check(self.db)
        except BaseException:
            self.db.close()
            raise
        self._stores: dict[str, object] = {}

    def close(self) -> None:
        self.db.close()

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        return self.db.backend

    def skip_locked(self) -> str:
        """The clause a claim adds to its SELECT: SKIP LOCKED where the backend has it."""
        return self.db.skip_locked()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> float:
        return self.clock()

    @contextmanager
    def transaction(self, *, durable: bool = False) -> Iterator[Ledger]:
        """One write transaction, owned here: callers use the stores inside it and never
        see a connection. Nested calls join the outer one; `durable` waits for the disk
        (claims, merges, mail) before the commit returns."""
        with self.db.write(durable=durable):
            yield self

    @contextmanager
    def snapshot(self) -> Iterator[Ledger]:
        """One consistent view for several reads (joins an open transaction)."""
        with self.db.read():
            yield self

    @contextmanager
    def savepoint(self) -> Iterator[Ledger]:
        """Inside a transaction: all or nothing for one part while the rest goes on."""
        with self.db.savepoint():
            yield self

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap cross-process wake-up."""
        return self.db.data_version()

    @property
    def notify_commits(self) -> bool:
        """Whether each commit wakes the town's engine (engine/ledger/wake.py); the engine
        turns it off for its own ledger: it knows what it wrote."""
        return self.db.notify_commits

    @notify_commits.setter
    def notify_commits(self, value: bool) -> None:
        self.db.notify_commits = value

    def _store(self, name: str, module: str, cls: str) -> object:
        store = self._stores.get(name)
        if store is None:
            import importlib

            store = getattr(importlib.import_module(module), cls)(self)
            self._stores[name] = store
        return store

    @property
    def beads(self) -> BeadStore:
        return self._store("beads", "engine.ledger.beads", "BeadStore")  # type: ignore[return-value]

    @property
    def graph(self) -> GraphStore:
        return self._store("graph", "engine.ledger.graph", "GraphStore")  # type: ignore[return-value]

    @property
    def rigs(self) -> RigStore:
        return self._store("rigs", "engine.ledger.rigs", "RigStore")  # type: ignore[return-value]

    @property
    def agents(self) -> AgentStore:
        return self._store("agents", "engine.ledger.agents", "AgentStore")  # type: ignore[return-value]

    @property
    def convoys(self) -> ConvoyStore:
        return self._store("convoys", "engine.ledger.convoys", "ConvoyStore")  # type: ignore[return-value]

    @property
    def mail(self) -> MailStore:
        return self._store("mail", "engine.ledger.mail", "MailStore")  # type: ignore[return-value]

    @property
    def inbox(self) -> InboxStore:
        return self._store("inbox", "engine.ledger.inbox", "InboxStore")  # type: ignore[return-value]

    @property
    def state(self) -> StateStore:
        return self._store("state", "engine.ledger.state", "StateStore")  # type: ignore[return-value]

    @property
    def interop(self) -> InteropStore:
        return self._store("interop", "engine.ledger.interop", "InteropStore")  # type: ignore[return-value]

    @property
    def mq(self) -> MergeQueueStore:
        return self._store("mq", "engine.ledger.merge_queue", "MergeQueueStore")  # type: ignore[return-value]

    @property
    def usage(self) -> UsageStore:
        return self._store("usage", "engine.ledger.usage", "UsageStore")  # type: ignore[return-value]

    @property
    def hosts(self) -> HostStore:
        return self._store("hosts", "engine.ledger.hosts", "HostStore")  # type: ignore[return-value]
