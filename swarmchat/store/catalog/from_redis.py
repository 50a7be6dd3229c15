"""Keeping a local catalog current for a Redis store, from the scores of its sorted set of names.

Every write to a Redis session sets its meta's `updated_at` and, in the same script, its score in
`swarmchat:sessions` to that time; so a name whose score is unchanged holds what was catalogued, and
one ZRANGE tells what to read again (through the store's public `read`). A score younger than
SETTLED_S could be followed by a write in the same millisecond, so it is not trusted yet (read again
next time). The catalog is a file of this machine: under SWARMCHAT_DATA_DIR when that is set, else the
user cache dir, named after the store's URL (its password removed).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swarmchat.errors import CorruptSession, InvalidName, SessionNotFound
from swarmchat.names import validate_name
from swarmchat.store.base import BadSession
from swarmchat.store.catalog.db import Catalog

if TYPE_CHECKING:
    from swarmchat.store.redis import RedisStore

SETTLED_S = 2.0


def path(store: RedisStore) -> Path:
    return machine_path(store, "catalog", ".sqlite3")


def machine_path(store: RedisStore, kind: str, suffix: str = "") -> Path:
    """A file or directory of this machine that belongs to the store: its catalog, its derived files."""
    override = os.environ.get("SWARMCHAT_DATA_DIR")
    if override:
        base = Path(override).expanduser()
    else:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("swarmchat", appauthor=False))
    key = hashlib.sha256(store.location.encode()).hexdigest()[:16]
    return base / f"{kind}-redis-{key}{suffix}"


def scores(store: RedisStore) -> dict[str, str]:
    """name -> score of every session not past its expiry (one round trip); read before the catalog is
    opened, so that an unreachable store fails before anything is written here."""
    from swarmchat.store.redis import EXPIRIES, INDEX

    def read() -> list[Any]:
        pipe = store.client.pipeline(transaction=False)
        pipe.zrange(INDEX, 0, -1, withscores=True)
        pipe.zrangebyscore(EXPIRIES, "-inf", time.time())
        return pipe.execute()

    raw, expired = store.call(read)
    gone = {_text(name) for name in expired}  # their keys expired: out of the results at once
    return {_text(name): repr(float(score)) for name, score in raw if _text(name) not in gone}


def catch_up(store: RedisStore, catalog: Catalog, found: dict[str, str]) -> None:
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
                catalog.put(name, trusted, (meta, items))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
