"""What swarmchat checks of a Redis before it keeps sessions there, on connect and cached for a while
(never on a save): a replica or a Redis too old is refused in one line; a Redis that may drop what it
holds (an eviction policy other than noeviction, neither AOF nor RDB snapshots) is warned about once a
day, naming the setting to change."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import redis

from swarmchat.errors import StoreUnavailable

CHECK_EVERY_S = 600.0
WARN_EVERY_S = 86_400.0
MIN_VERSION = (6, 0)


def findings(client: redis.Redis, where: str) -> list[str]:
    """Warnings about the server at `where` (StoreUnavailable for one swarmchat cannot use); on a cluster,
    `client` is the shard that holds the store's keys."""
    info: dict[str, Any] = client.info()
    version = str(info.get("redis_version", "0"))
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < MIN_VERSION:
        raise StoreUnavailable(
            f"Redis at {where} is version {version}; swarmchat needs {'.'.join(map(str, MIN_VERSION))} or newer"
        )
    if info.get("role") == "slave":
        master = f"{info.get('master_host', '?')}:{info.get('master_port', '?')}"
        raise StoreUnavailable(
            f"Redis at {where} is a read-only replica (of {master}); "
            "point SWARMCHAT_STORE at the master (or use redis+sentinel://)"
        )
    warnings = []
    policy = info.get("maxmemory_policy", "noeviction")
    if policy != "noeviction":
        warnings.append(
            f"Redis at {where} evicts keys when full (maxmemory-policy {policy}): sessions may vanish; "
            "set maxmemory-policy noeviction"
        )
    if not info.get("aof_enabled") and not _snapshots(client):
        warnings.append(
            f"Redis at {where} keeps nothing on disk (appendonly no, no save rules): a restart loses every "
            "session; set appendonly yes"
        )
    return warnings


def _snapshots(client: redis.Redis) -> bool:
    """Whether RDB snapshots are configured (True when CONFIG is not allowed: then it cannot be told)."""
    try:
        save: dict[str, str] = client.config_get("save")  # type: ignore[assignment]
    except redis.ResponseError:
        return True
    return bool(save.get("save", "").strip())


def checked(client: redis.Redis, where: str, cache: Path) -> tuple[list[str], bool]:
    """The warnings to show now: `findings` at most every CHECK_EVERY_S (cached in `cache`, a file of
    this machine), each warning once a day; and whether the checks ran (were due). A refusal is never
    cached."""
    now = time.time()
    state = _read(cache)
    if now - float(state.get("at", 0)) < CHECK_EVERY_S:
        return [], False
    found = findings(client, where)
    warned: dict[str, float] = state.get("warned", {}) if isinstance(state.get("warned"), dict) else {}
    due = [w for w in found if now - float(warned.get(w, 0)) >= WARN_EVERY_S]
    _write(cache, {"at": now, "warned": {w: (now if w in due else warned[w]) for w in found}})
    return due, True


def _read(cache: Path) -> dict[str, Any]:
    try:
        data = json.loads(cache.read_bytes())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(cache: Path, data: dict[str, Any]) -> None:
    """Best effort: a cache that cannot be written only means checking again next time."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, cache)
    except OSError:
        pass
