"""Every failure redis-py raises, as the one line the user sees: what happened and what to do."""

from __future__ import annotations

import redis
from redis import exceptions

from swarmchat.errors import StoreUnavailable, SwarmchatError, UsageError

OURS = ("LOCKLOST", "GONE", "ENDMOVED", "TAKEN", "MISSING", "WRONGTYPE")
"""Replies that are not failures of the server: the store's scripts' refusals, a key of the wrong type."""

_CLUSTER = (
    "nothing was written: try again (keys move while a cluster is resharded); if it persists, "
    "point SWARMCHAT_STORE at a node of the cluster itself, not at a proxy or a copy of one"
)


def one_line(exc: redis.RedisError | exceptions.RedisClusterException, where: str) -> SwarmchatError | None:
    """The error to raise for `exc` from Redis at `where`; None for the store's own replies (OURS)."""
    text = first_line(exc)
    at = f"Redis at {where}"
    if isinstance(exc, exceptions.RedisClusterException):  # the cluster client's own: no node answered
        return StoreUnavailable(f"cannot reach the Redis Cluster at {where} ({text}); check SWARMCHAT_STORE, its nodes")
    if isinstance(exc, exceptions.AuthenticationError):
        return StoreUnavailable(f"{at} refused the password; fix SWARMCHAT_STORE")
    if isinstance(exc, exceptions.BusyLoadingError):
        return StoreUnavailable(f"{at} is loading its data after a restart; nothing was written: try again shortly")
    if isinstance(exc, (exceptions.ConnectionError, exceptions.TimeoutError)):
        return StoreUnavailable(f"cannot reach {at} ({text}); check SWARMCHAT_STORE and the server")
    if isinstance(exc, exceptions.OutOfMemoryError) or text.startswith("OOM"):
        return StoreUnavailable(
            f"{at} is out of memory (maxmemory reached); nothing was written: "
            "raise its maxmemory or free memory there (keep maxmemory-policy noeviction)"
        )
    if isinstance(exc, exceptions.ReadOnlyError) or text.startswith("READONLY"):
        return StoreUnavailable(
            f"{at} is a read-only replica (after a failover?); nothing was written: "
            "point SWARMCHAT_STORE at the master (or use redis+sentinel://)"
        )
    if text.startswith("MISCONF"):
        return StoreUnavailable(
            f"{at} refuses writes because it cannot save its snapshot (MISCONF); nothing was written: "
            "fix the server's disk or its 'dir' setting"
        )
    if text.startswith("BUSY"):
        return StoreUnavailable(f"{at} is busy running a long script (BUSY); nothing was written: try again shortly")
    if isinstance(exc, exceptions.ClusterDownError) or text.startswith("CLUSTERDOWN"):
        return StoreUnavailable(f"the Redis Cluster at {where} is down (CLUSTERDOWN); try again when it is back")
    if isinstance(exc, (exceptions.MovedError, exceptions.AskError)):  # redis-py strips the reply's first word
        kind = "ASK" if isinstance(exc, exceptions.AskError) else "MOVED"
        return StoreUnavailable(f"{at} is a node of a Redis Cluster ({kind}); {_CLUSTER}")
    if text.startswith(("MOVED", "ASK", "CROSSSLOT")):
        return StoreUnavailable(f"{at} is a node of a Redis Cluster ({text.split()[0]}); {_CLUSTER}")
    if text.startswith("NOPERM"):
        return StoreUnavailable(f"{at} denies this user a command ({text}); grant it in the server's ACL")
    if text.startswith(("NOAUTH", "WRONGPASS")):
        return StoreUnavailable(f"{at} needs a password; put it in SWARMCHAT_STORE (redis://:PASS@host)")
    if "SELECT is not allowed in cluster mode" in text:
        return UsageError(f"{at} is a node of a Redis Cluster, which has only database 0: end SWARMCHAT_STORE with /0")
    if "DB index is out of range" in text:  # SELECT of a database the server does not have
        return UsageError(
            f"{at} has no such database ({text}); use a database number it has (0-15 by default) in SWARMCHAT_STORE"
        )
    if text.startswith(OURS):
        return None
    return StoreUnavailable(f"{at} failed ({text}); nothing was written: check the server")


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
