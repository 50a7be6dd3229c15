"""The redis-py client a SWARMCHAT_STORE URL names, and the key layout it uses (redis_keys):

redis://, rediss://, unix://   one server; if it is a node of a Redis Cluster (`INFO cluster`), the
                               cluster, through redis-py's RedisCluster (database 0 only)
redis+sentinel://[[USER]:PASS@]H1:P1,H2:P2/MASTER[/DB]   the master Sentinel names, found again after
                               a failover (redis-py's Sentinel.master_for); PASS is the master's
?prefix=P                      (any form) the store's keys under the hash tag {P}: teams share a
                               cluster, or a database, without database numbers
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import redis
from redis.cluster import RedisCluster  # (redis itself imports it: no cost)

from swarmchat.errors import StoreUnavailable, UsageError
from swarmchat.store.redis_errors import first_line
from swarmchat.store.redis_keys import LEGACY, PREFIX_RULE, Keys

SENTINEL = "redis+sentinel://"
TIMEOUTS: dict[str, Any] = {"socket_connect_timeout": 5, "socket_timeout": 30, "health_check_interval": 30}


@dataclass
class Target:
    client: redis.Redis  # or a RedisCluster, which answers the same commands (routed by key)
    keys: Keys
    cluster: bool = False

    def node(self) -> redis.Redis:
        """A client of the one server that holds the store's keys (for the checks and SCAN)."""
        if not self.cluster:
            return self.client
        client: Any = self.client
        node: redis.Redis = client.get_redis_connection(client.get_node_from_key(self.keys.index))
        return node


def split_prefix(url: str) -> tuple[str, str | None]:
    """The URL without its `prefix` option, and the prefix (UsageError for one that cannot be a hash tag)."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [value for key, value in pairs if key == "prefix"]
    if not prefixes:
        return url, None
    prefix = prefixes[-1]
    if len(prefixes) > 1 or not PREFIX_RULE.fullmatch(prefix):
        raise UsageError(
            f"SWARMCHAT_STORE: the key prefix must be 1-64 letters, digits, '.', '_' or '-' (e.g. ?prefix=team-a), "
            f"not '{prefix}'"
        )
    rest = urlencode([(key, value) for key, value in pairs if key != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


def connect(url: str) -> Target:
    """The client for `url` (the `prefix` option removed) and its layout. Talks to the server only to
    tell a cluster node from a standalone one; redis-py errors propagate (the store makes them one line)."""
    url, prefix = split_prefix(url)
    keys = Keys.tagged(prefix) if prefix else Keys()
    if url.startswith(SENTINEL):
        return Target(sentinel_master(url), keys)
    client = plain(url)
    if not client.info("cluster").get("cluster_enabled"):
        return Target(client, keys)
    client.close()
    try:
        cluster = _Cluster.from_url(url, **TIMEOUTS)
    except redis.exceptions.RedisClusterException as exc:
        if "db" in str(exc):
            raise UsageError("a Redis Cluster has only database 0: end SWARMCHAT_STORE with /0") from None
        raise
    return Target(cast(redis.Redis, cluster), keys if prefix else Keys.tagged(LEGACY), cluster=True)


USED = (
    "get", "set", "del", "exists", "mget", "type", "dump", "keys", "scan", "lrange", "llen", "lindex", "rpush",
    "zadd", "zrem", "zscore", "zcard", "zrange", "zrevrange", "zrangebyscore", "expire", "pexpire", "persist",
    "ttl", "pttl", "eval", "evalsha", "script", "info", "config", "ping", "dbsize", "flushall",
)  # fmt: skip
"""The commands swarmchat (and its tests) send through a cluster client: their key positions are all it asks."""


class _Cluster(RedisCluster):
    """redis-py's RedisCluster, told the key positions of the commands in USED only (COMMAND INFO, a small
    reply) instead of the whole command table (COMMAND: some 40 ms in every process). A command not in
    USED makes redis-py ask again: then the whole table."""

    _asked = False

    def command(self, **kwargs: Any) -> Any:
        if self._asked:
            return super().command(**kwargs)
        self._asked = True
        return self.execute_command("COMMAND", "INFO", *USED)  # type: ignore[no-untyped-call]


def plain(url: str) -> redis.Redis:
    """A client of one server; an unknown ?option fails here, not mid-command."""
    try:
        client = redis.Redis.from_url(url, **TIMEOUTS)
        pool = client.connection_pool
        pool.connection_class(**pool.connection_kwargs)
    except (ValueError, TypeError) as exc:
        raise _not_usable(exc) from None
    return client


def sentinel_master(url: str) -> redis.Redis:
    """The master the Sentinels name (asked again on every new connection: after a failover, the new one)."""
    parts = urlsplit(url)
    shape = "e.g. redis+sentinel://:PASS@host1:26379,host2:26379/MASTER/0"
    hosts = parts.netloc.rpartition("@")[2]
    sentinels = []
    for host in hosts.split(","):
        found = re.fullmatch(r"\[?([^\[\]]+?)\]?(?::(\d+))?", host)
        if not found:
            raise UsageError(f"SWARMCHAT_STORE names no Sentinel host ({shape})")
        sentinels.append((found[1], int(found[2] or 26379)))
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not 1 <= len(path) <= 2 or not (len(path) == 1 or path[1].isdigit()):
        raise UsageError(f"SWARMCHAT_STORE: a Sentinel URL names the master and maybe a database ({shape})")
    if parts.query:
        option = parse_qsl(parts.query, keep_blank_values=True)[0][0]
        raise StoreUnavailable(f"SWARMCHAT_STORE is not a usable Redis URL (unknown option '{option}'); {shape}")
    auth = {"username": unquote(parts.username) if parts.username else None}
    auth["password"] = unquote(parts.password) if parts.password else None
    timeouts = {"socket_connect_timeout": 5, "socket_timeout": 5}
    sentinel = redis.Sentinel(sentinels, sentinel_kwargs=timeouts)  # type: ignore[no-untyped-call]
    db = int(path[1]) if len(path) == 2 else 0
    master: redis.Redis = sentinel.master_for(path[0], db=db, **auth, **TIMEOUTS)  # type: ignore[no-untyped-call]
    return master


def _not_usable(exc: Exception) -> StoreUnavailable:
    unknown = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
    problem = f"unknown option '{unknown[1]}'" if unknown else first_line(exc)
    return StoreUnavailable(f"SWARMCHAT_STORE is not a usable Redis URL ({problem}); e.g. redis://host:6379/0")
