"""The Redis store, for teams and deployments (`SWARMCHAT_STORE=redis://...`).

swarmchat:s:NAME:meta   the SessionMeta as JSON (a string)
swarmchat:s:NAME:log    the journal of the item list: one list element per change (see journal.py)
swarmchat:sessions      a sorted set of names scored by last use: `list` reads metas, never logs
swarmchat:lock:NAME     the one-writer lock: SET NX PX with a random token and the holder's pid/host

Every write by an open session runs as one Lua script that first checks the lock token, so a
writer whose lock expired (a frozen laptop) can never clobber the new holder's history. A live
holder renews its lock from a background thread; a dead one's lock expires, or is taken over at
once when it names a pid on this host that no longer exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis

from swarmchat.errors import CorruptSession, NameTaken, SessionNotFound, StoreUnavailable, UsageError
from swarmchat.names import validate_name
from swarmchat.session import SessionMeta, parse_time
from swarmchat.store.base import BadSession, Listed, newest_first
from swarmchat.store.encoding import meta_bytes, parse_meta
from swarmchat.store.filelock import holder_info, holder_line
from swarmchat.store.journal import Replay
from swarmchat.store.journaled import JournaledStore, Lock, RawLog

PREFIX = "swarmchat"
INDEX = f"{PREFIX}:sessions"
LOCK_MS = 30_000
RENEW_SECONDS = 10.0

T = TypeVar("T")

# A lock's value is "TOKEN {holder json}"; a script that writes first checks the token.
_OWNS = """
local function owns(key, token)
  local value = redis.call('GET', key)
  return value and string.sub(value, 1, #token + 1) == token .. ' '
end
"""

# KEYS: lock, meta, log, index   ARGV: token, ttl seconds (0 = none), replace, meta json ('' = none), score, name,
# line...   Appends the lines to the log (replacing it when `replace` is 1), writes the meta if given,
# and restarts (or removes) the expiry of what exists.
_WRITE = (
    _OWNS
    + """
if not owns(KEYS[1], ARGV[1]) then return redis.error_reply('LOCKLOST') end
if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
for i = 7, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
end
local ttl = tonumber(ARGV[2])
for i = 2, 3 do
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) else redis.call('PERSIST', KEYS[i]) end
end
return 1
"""
)

# KEYS: lock   ARGV: token, ms
_RENEW = (
    _OWNS
    + """
if owns(KEYS[1], ARGV[1]) then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
)

# KEYS: lock   ARGV: token
_RELEASE = (
    _OWNS
    + """
if owns(KEYS[1], ARGV[1]) then return redis.call('DEL', KEYS[1]) end
return 0
"""
)

# KEYS: old meta, old log, new meta, new log, index, old lock, new lock   ARGV: old, new, token, new meta json
_RENAME = (
    _OWNS
    + """
if not (owns(KEYS[6], ARGV[3]) and owns(KEYS[7], ARGV[3])) then
  return redis.error_reply('LOCKLOST')
end
if redis.call('EXISTS', KEYS[3]) == 1 then return redis.error_reply('TAKEN') end
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('MISSING') end
local ttl = redis.call('TTL', KEYS[1])
redis.call('DEL', KEYS[4])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('RENAME', KEYS[2], KEYS[4]) end
redis.call('SET', KEYS[3], ARGV[4])
if ttl > 0 then redis.call('EXPIRE', KEYS[3], ttl) end
redis.call('DEL', KEYS[1])
local score = redis.call('ZSCORE', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[5], score or 0, ARGV[2])
return 1
"""
)

# KEYS: meta, log, index, lock   ARGV: name, token
# KEYS: lock   ARGV: the dead holder's value, ours, ms
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return false
"""

_DELETE = (
    _OWNS
    + """
if not owns(KEYS[4], ARGV[2]) then return redis.error_reply('LOCKLOST') end
local n = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return n
"""
)


def meta_key(name: str) -> str:
    return f"{PREFIX}:s:{name}:meta"


def log_key(name: str) -> str:
    return f"{PREFIX}:s:{name}:log"


def lock_key(name: str) -> str:
    return f"{PREFIX}:lock:{name}"


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


class RedisStore(JournaledStore):
    def __init__(self, url: str, *, client: redis.Redis | None = None) -> None:
        self.location = redact(url)
        try:
            self.client = client or redis.Redis.from_url(
                url, socket_connect_timeout=5, socket_timeout=30, health_check_interval=30
            )
            pool = self.client.connection_pool
            pool.connection_class(**pool.connection_kwargs)  # an unknown ?option fails here, not mid-command
        except (ValueError, TypeError) as exc:
            unknown = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
            problem = f"unknown option '{unknown[1]}'" if unknown else _first_line(exc)
            raise StoreUnavailable(
                f"SWARMCHAT_STORE is not a usable Redis URL ({problem}); e.g. redis://host:6379/0"
            ) from None
        self._write = self.client.register_script(_WRITE)
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._rename = self.client.register_script(_RENAME)
        self._delete = self.client.register_script(_DELETE)
        self._take_over = self.client.register_script(_TAKE_OVER)

    @contextlib.contextmanager
    def reachable(self) -> Iterator[None]:
        """Turn connection and protocol failures into one clear StoreUnavailable."""
        try:
            yield
        except redis.AuthenticationError:
            raise StoreUnavailable(f"Redis at {self.location} refused the password; fix SWARMCHAT_STORE") from None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(
                f"cannot reach Redis at {self.location} ({_first_line(exc)}); check SWARMCHAT_STORE and the server"
            ) from None
        except redis.ResponseError as exc:
            if "LOCKLOST" in str(exc):
                raise StoreUnavailable(
                    "lost the session's Redis lock (it expired while this process was stalled); "
                    "nothing was written: resume the session to continue"
                ) from None
            if "DB index is out of range" in str(exc):  # SELECT of a database the server does not have
                raise UsageError(
                    f"Redis at {self.location} has no such database ({_first_line(exc)}); "
                    "use a database number it has (0-15 by default) in SWARMCHAT_STORE"
                ) from None
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise StoreUnavailable(
                    f"Redis at {self.location} needs a password; put it in SWARMCHAT_STORE (redis://:PASS@host)"
                ) from None
            raise

    def call(self, fn: Callable[[], T]) -> T:
        with self.reachable():
            return fn()

    # reading ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        raw = self.call(lambda: self.client.zrange(INDEX, 0, -1))
        return sorted(_text(n) for n in raw)  # type: ignore[arg-type]

    def exists(self, name: str) -> bool:
        name = validate_name(name)
        return bool(self.call(lambda: self.client.exists(meta_key(name))))

    def read_meta(self, name: str) -> SessionMeta:
        name = validate_name(name)
        raw = self._get(name, meta_key(name), self.client.get)
        if raw is None:
            raise SessionNotFound(name)
        return parse_meta(name, self._where(meta_key(name)), _bytes(raw))

    def _get(self, name: str, key: str, fetch: Callable[[str], Any]) -> Any:
        try:
            return self.call(lambda: fetch(key))
        except redis.ResponseError as exc:
            if "WRONGTYPE" in str(exc):
                raise CorruptSession(name, self._where(key), "the key holds the wrong Redis type") from None
            raise

    def _where(self, key: str) -> str:
        return f"{self.location} key {key}"

    # the journaled store's primitives ---------------------------------------------------------
    def read_log(self, meta: SessionMeta) -> tuple[RawLog, str]:
        key = log_key(meta.name)
        lines = self._get(meta.name, key, lambda k: self.client.lrange(k, 0, -1))
        return list(lines), self._where(key)

    def lock(self, name: str, *, partner: Lock | None = None) -> RedisLock:
        # one operation's locks share a token: the rename script checks it owns both
        return RedisLock(self, name, token=partner.token if isinstance(partner, RedisLock) else None)

    def session_log(self, meta: SessionMeta, lock: Lock, rep: Replay | None) -> RedisLog:
        assert isinstance(lock, RedisLock)
        return RedisLog(self, meta, lock)

    def opened(self, meta: SessionMeta) -> None:
        if ttl := meta.ttl_seconds:  # opening is use: the expiry starts again
            self.call(lambda: [self.client.expire(k, ttl) for k in (meta_key(meta.name), log_key(meta.name))])

    def derived_dir(self) -> Path:
        from swarmchat.store.catalog.from_redis import machine_path

        return machine_path(self, "derived")

    def remove(self, name: str, lock: Lock) -> bool:
        assert isinstance(lock, RedisLock)
        keys = [meta_key(name), log_key(name), INDEX, lock_key(name)]
        return bool(self.call(lambda: self._delete(keys=keys, args=[name, lock.token])))

    def move(self, meta: SessionMeta, new: str, src: Lock, dst: Lock) -> None:
        assert isinstance(src, RedisLock)
        old = meta.name
        meta.name = new
        keys = [meta_key(old), log_key(old), meta_key(new), log_key(new), INDEX, lock_key(old), lock_key(new)]
        try:
            self.call(lambda: self._rename(keys=keys, args=[old, new, src.token, meta_bytes(meta)]))
        except redis.ResponseError as exc:
            if "TAKEN" in str(exc):
                raise NameTaken(new) from None
            if "MISSING" in str(exc):
                raise SessionNotFound(old) from None
            raise

    def _metas(self, names: list[str]) -> tuple[list[Listed], list[str]]:
        """The metas of `names` (damaged ones as BadSession), and the names whose keys expired."""
        if not names:
            return [], []
        raw = self.call(lambda: self.client.mget([meta_key(n) for n in names]))
        out: list[Listed] = []
        gone = []
        for name, data in zip(names, raw, strict=True):
            if data is None:
                gone.append(name)  # expired (--ttl)
                continue
            try:
                out.append(parse_meta(name, self._where(meta_key(name)), _bytes(data)))
            except CorruptSession as exc:
                out.append(BadSession(name, exc.path, exc.problem))
        return out, gone

    def recent(self, count: int) -> tuple[list[Listed], int]:
        """The newest `count` by the index's scores (the last-used times): one round trip for the names
        and the total, one for their metas, whatever the number of sessions."""
        if count <= 0:
            return [], len(self.names())

        def top() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            pipe.zrevrange(INDEX, 0, count - 1)
            pipe.zcard(INDEX)
            return pipe.execute()

        raw_names, total = self.call(top)
        listed, gone = self._metas([_text(n) for n in raw_names])
        if gone or any(isinstance(m, BadSession) for m in listed):
            # expired (--ttl) since, or damaged: the full listing drops the one, fills in for the other
            return newest_first(self.list(), count)
        return listed, int(total)

    def list(self) -> list[Listed]:  # last in the class: it shadows the builtin
        listed, gone = self._metas(self.names())
        if gone:
            self.call(lambda: self.client.zrem(INDEX, *gone))
        return listed


class RedisLock:
    """SET NX PX with a random token; the value also names the holder for error messages."""

    def __init__(self, store: RedisStore, name: str, *, token: str | None = None) -> None:
        self.store = store
        self.key = lock_key(name)
        self.token = token or secrets.token_hex(16)
        self.held = False

    def _value(self) -> str:
        return f"{self.token} {json.dumps(holder_info())}"

    def acquire(self) -> bool:
        client = self.store.client
        if self.store.call(lambda: client.set(self.key, self._value(), nx=True, px=LOCK_MS)):
            self.held = True
            return True
        raw = self.store.call(lambda: client.get(self.key))
        if raw is None or not _dead_here(_parse_holder(raw)):
            return False
        # the holder was a process on this host that no longer exists: take its lock over,
        # but only if nobody else did meanwhile (compare and swap on the old value)
        take = self.store._take_over
        took = self.store.call(lambda: take(keys=[self.key], args=[raw, self._value(), LOCK_MS]))
        self.held = bool(took)
        return self.held

    def holder(self) -> str:
        raw = self.store.call(lambda: self.store.client.get(self.key))
        info = _parse_holder(raw) if raw is not None else {}
        return holder_line(info) if info else "another swarmchat process"

    def renew(self) -> bool:
        return bool(self.store.call(lambda: self.store._renew(keys=[self.key], args=[self.token, LOCK_MS])))

    def release(self) -> None:
        if self.held:
            self.held = False
            with contextlib.suppress(StoreUnavailable):
                self.store.call(lambda: self.store._release(keys=[self.key], args=[self.token]))


def _parse_holder(raw: bytes | str) -> dict[str, Any]:
    try:
        info = json.loads(_text(raw).partition(" ")[2])
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _dead_here(info: dict[str, Any]) -> bool:
    """True if the lock names a process on this host that has exited."""
    pid = info.get("pid")
    if info.get("host") != socket.gethostname() or not isinstance(pid, int) or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RedisLog:
    """A session's keys, written by token-checked scripts; the lock is renewed in the background
    while the session is open."""

    def __init__(self, store: RedisStore, meta: SessionMeta, lock: RedisLock) -> None:
        """`meta` is the open session's own: its expiry setting applies to every write."""
        self.store = store
        self.meta = meta
        self.name = meta.name
        self._lock = lock
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._keep_lock, name="swarmchat-lock", daemon=True)
        self._renewer.start()

    def _keep_lock(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            with contextlib.suppress(StoreUnavailable):
                self._lock.renew()

    def append(self, lines: list[bytes]) -> None:
        self._run(lines, replace=False)

    def replace(self, lines: list[bytes]) -> None:
        self._run(lines, replace=True)

    def write_meta(self, meta: SessionMeta) -> None:
        self._run([], replace=False, meta=meta)

    def _run(self, lines: list[bytes], *, replace: bool, meta: SessionMeta | None = None) -> None:
        args: list[Any] = [
            self._lock.token,
            self.meta.ttl_seconds or 0,
            int(replace),
            meta_bytes(meta) if meta is not None else "",
            parse_time(meta.updated_at).timestamp() if meta is not None else 0,
            self.name,
            *(line.rstrip(b"\n") for line in lines),
        ]
        keys = [self._lock.key, meta_key(self.name), log_key(self.name), INDEX]
        self.store.call(lambda: self.store._write(keys=keys, args=args))

    def close(self) -> None:
        self._stop.set()


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
