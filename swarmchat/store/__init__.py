"""Session storage: `open_store()` picks the backend from the environment."""

from __future__ import annotations

import os
import re
from pathlib import Path

from swarmchat.errors import UsageError
from swarmchat.store.base import BadSession, Listed, OpenSession, SessionStore

__all__ = ["BadSession", "Listed", "OpenSession", "SessionStore", "data_dir", "open_store"]


def data_dir() -> Path:
    override = os.environ.get("SWARMCHAT_DATA_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("swarmchat", appauthor=False))


_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://")
_FORMS = (
    "use redis://[:PASSWORD@]HOST:PORT/DB (a standalone Redis or a cluster node), rediss://... (TLS), "
    "unix:///path/to/redis.sock or redis+sentinel://[:PASSWORD@]HOST:PORT,HOST:PORT/MASTER/DB, "
    "each with ?prefix=NAME if teams share the Redis, or leave it empty for files in the data dir"
)


def open_store(url: str | None = None) -> SessionStore:
    """The store named by `url` or SWARMCHAT_STORE (redis://, rediss://, unix://, redis+sentinel://), else
    the file store.

    Anything else is refused rather than quietly falling back to the files: a typo such as
    `redis:/host` must not put a team's sessions on one laptop."""
    url = url if url is not None else os.environ.get("SWARMCHAT_STORE", "")
    if not url.strip():
        from swarmchat.store.files import FileStore

        return FileStore(data_dir())
    _check_url(url)
    try:
        from swarmchat.store.redis import RedisStore
    except ModuleNotFoundError as exc:
        if exc.name != "redis":
            raise
        raise UsageError(
            "SWARMCHAT_STORE is a Redis URL but the redis package is not installed; run: pip install 'swarmchat[redis]'"
        ) from None

    return RedisStore(url)


def _check_url(url: str) -> None:
    from urllib.parse import parse_qs, urlsplit

    shown = re.sub(r"//[^/@]*@", "//***@", url)  # never echo a password (made safe where errors are shown)
    if not url.startswith(_SCHEMES):
        raise UsageError(f"SWARMCHAT_STORE='{shown}' is not a store URL; {_FORMS}")
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2] if parts.scheme == "redis+sentinel" else parts.hostname
    if parts.scheme != "unix" and not host:
        raise UsageError(f"SWARMCHAT_STORE='{shown}' names no Redis host; {_FORMS}")
    if parts.scheme == "redis+sentinel":
        return  # its path names the master, then the database (checked by redis_connect)
    db = parts.path.strip("/") if parts.scheme != "unix" else ""
    for value in [db, *parse_qs(parts.query).get("db", [])]:
        if value and not (value.isascii() and value.isdigit()):
            raise UsageError(f"SWARMCHAT_STORE='{shown}': the Redis database must be a number such as 0, not '{value}'")
