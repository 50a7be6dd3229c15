"""Session storage: `open_store()` picks the backend from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from swarmchat.store.base import BadSession, Listed, OpenSession, SearchHit, SessionStore

__all__ = ["BadSession", "Listed", "OpenSession", "SearchHit", "SessionStore", "data_dir", "open_store"]


def data_dir() -> Path:
    override = os.environ.get("SWARMCHAT_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("swarmchat", appauthor=False))


def open_store(url: str | None = None) -> SessionStore:
    """The store named by `url` or SWARMCHAT_STORE (redis://, rediss://), else the file store."""
    url = url if url is not None else os.environ.get("SWARMCHAT_STORE", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            from swarmchat.store.redis import RedisStore
        except ModuleNotFoundError as exc:
            if exc.name != "redis":
                raise
            from swarmchat.errors import UsageError

            raise UsageError(
                "SWARMCHAT_STORE is a Redis URL but the redis package is not installed; "
                "run: pip install 'swarmchat[redis]'"
            ) from None

        return RedisStore(url)
    from swarmchat.store.files import FileStore

    return FileStore(data_dir())
