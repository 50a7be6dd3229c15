"""Keeping a local catalog current for a Redis store, from the scores of its sorted set of names.

Every write to a Redis session sets its meta's `updated_at` and, in the same script, its score in
`swarmchat:sessions` to that time; so a name whose score is unchanged holds what was catalogued, and
one ZRANGE tells what to read again (through the store's public `read`). A score younger than
SETTLED_S could be followed by a write in the same millisecond, so it is not trusted yet (read again
next time). The catalog is a file of this machine (store/machine.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from swarmchat.errors import CorruptSession, InvalidName, SessionNotFound
from swarmchat.names import validate_name
from swarmchat.session import Item, SessionMeta, count_turns
from swarmchat.store.base import BadSession
from swarmchat.store.catalog.db import Catalog
from swarmchat.store.machine import machine_path


class Scored(Protocol):
    """What the catalog uses of the Redis store: where it is, its public read, its derived files."""

    location: str

    def read(self, name: str) -> tuple[SessionMeta, list[Item]]: ...

    def forget_derived(self, name: str) -> None: ...


SETTLED_S = 2.0


def path(store: Scored) -> Path:
    return machine_path(store.location, "catalog", ".sqlite3")


def catch_up(store: Scored, catalog: Catalog, found: dict[str, str]) -> None:
    """Bring the catalog to the sessions `found` (name -> score, see `RedisStore.scores`)."""
    known = catalog.signatures()
    stale = [name for name, sig in found.items() if known.get(name) != sig]
    gone = [name for name in known if name not in found]
    if not (stale or gone):
        return
    with catalog.writing():
        known = catalog.signatures()
        for name in gone:
            catalog.drop(name)
            store.forget_derived(name)  # deleted or expired elsewhere
        cutoff = time.time() - SETTLED_S
        for name in stale:
            sig = found[name]
            if known.get(name) == sig:
                continue
            trusted = sig if float(sig) < cutoff else None
            try:
                meta, items = store.read(validate_name(name))
            except SessionNotFound:  # expired (--ttl); `list` takes its name out of the set
                catalog.mark_gone(name, sig)
            except InvalidName as exc:
                catalog.put(name, trusted, BadSession(name, store.location, str(exc)))
            except CorruptSession as exc:
                catalog.put(name, trusted, BadSession(name, exc.path, exc.problem))
            else:
                meta.message_count = len(items)
                meta.turn_count = count_turns(items)
                catalog.put(name, trusted, (meta, items))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
