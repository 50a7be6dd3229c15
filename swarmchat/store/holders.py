"""Which sessions are open in another process right now, and who holds them (for `list` and /sessions).

Read from what the one-writer locks record, never by taking a lock (a probe could make a `resume`
starting at that instant fail): a file lock's holder counts while its pid lives (on this host; a
lock from another host counts as held), a Redis lock while its key has not expired.
"""

from __future__ import annotations

import json
import os
import socket

from swarmchat.store.base import SessionStore
from swarmchat.store.datafiles import NotAFile, read_file
from swarmchat.store.filelock import holder_line


def open_elsewhere(store: SessionStore, names: list[str]) -> dict[str, str]:
    """{name: "pid N on host H since T"} for those of `names` held by another live process."""
    from swarmchat.store.files import FileStore

    if not names:
        return {}
    if isinstance(store, FileStore):
        found = {}
        for name in names:
            try:
                raw = read_file(store.lock_path(name))
            except (OSError, NotAFile):
                continue
            info = _info(raw)
            if info and _alive(info):
                found[name] = holder_line(info)
        return found
    from swarmchat.store.redis import RedisStore

    if not isinstance(store, RedisStore):
        return {}
    values = store.call(lambda: store.client.mget([store.keys.lock(n) for n in names]))
    return {
        name: holder_line(info)
        for name, value in zip(names, values, strict=True)
        if value is not None and (info := _info(value if isinstance(value, bytes) else value.encode(), True))
    }


def _info(raw: bytes | None, token_first: bool = False) -> dict[str, object]:
    """The holder a lock records (a Redis lock's value starts with its token)."""
    if not raw:
        return {}
    text = raw.decode("utf-8", "replace")
    try:
        info = json.loads(text.partition(" ")[2] if token_first else text)
    except ValueError:
        return {}
    return info if isinstance(info, dict) and "pid" in info else {}


def _alive(info: dict[str, object]) -> bool:
    """A lock file outlives a killed holder (the kernel drops only the flock): on this host, its pid must live."""
    pid = info.get("pid")
    if info.get("host") != socket.gethostname() or not isinstance(pid, int):
        return True
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
