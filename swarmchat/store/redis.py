"""The Redis store, for teams and deployments (`SWARMCHAT_STORE=redis://...`, a cluster, Sentinel: see
redis_connect). Its keys (redis_keys): per session a meta (JSON), a journal (a list, see journal.py)
and its end; a sorted set of names scored by last use (`list` reads metas, never logs); per session
a one-writer lock (SET NX PX with a random token and the holder's pid/host).

Every write by an open session runs as one Lua script that first checks the lock token, so a
writer whose lock expired (a frozen laptop) can never clobber the new holder's history. A live
holder renews its lock from a background thread; a dead one's lock expires, or is taken over at
once when it names a pid on this host that no longer exists. All of a store's keys share one hash
slot on a cluster, so each script runs on one shard.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis

from swarmchat.errors import CorruptSession, NameTaken, SessionNotFound, SessionTakenOver, StoreUnavailable
from swarmchat.names import validate_name
from swarmchat.session import SessionMeta, parse_time
from swarmchat.store.base import BadSession, Listed, N, newest_first
from swarmchat.store.encoding import meta_bytes, parse_meta
from swarmchat.store.filelock import holder_info, holder_line
from swarmchat.store.journal import Replay, line_seq
from swarmchat.store.journaled import JournaledStore, Lock, LogMoved, RawLog
from swarmchat.store.machine import machine_path
from swarmchat.store.redis_connect import Target, connect
from swarmchat.store.redis_errors import one_line
from swarmchat.store.redis_keys import Keys

if TYPE_CHECKING:
    from swarmchat.store.catalog.db import Catalog

_LEGACY = Keys()  # the layout of a standalone Redis without a prefix (the module's key functions)
INDEX = _LEGACY.index
EXPIRIES = _LEGACY.expiries  # a sorted set: name -> when its keys expire (sessions with --ttl)
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

# Restarts (or removes) the expiry of a session's keys and its deadline in the index of expiries.
# KEYS: meta, log, end, expiries   ARGV: ttl seconds (0 = none), name
_EXPIRY = """
local function expiry(keys, ttl, name)
  for i = 1, 3 do
    if ttl > 0 then redis.call('EXPIRE', keys[i], ttl) else redis.call('PERSIST', keys[i]) end
  end
  if ttl > 0 then
    redis.call('ZADD', keys[4], tonumber(redis.call('TIME')[1]) + ttl, name)
  else
    redis.call('ZREM', keys[4], name)
  end
end
"""

# KEYS: lock, meta, log, index, end, expiries, aside
# ARGV: token, ttl seconds (0 = none), mode, meta json ('' = none), score, name, expected length,
#       expected last seq, new last seq, line...
# mode: 'append' (only if the log ends where the client expects: LLEN and the `end` key's seq),
# 'replace' (the log becomes the lines), 'create' (replace; a log left without its meta is first
# renamed to `aside`). Writes the meta if given, restarts the expiry of what exists, and returns
# {the log's new length, whether it was there before}. A log that does not end where expected is
# refused: GONE when it is missing,
# else ENDMOVED with its length and last seq; the client then rewrites the whole history.
_WRITE = (
    _OWNS
    + _EXPIRY
    + """
if not owns(KEYS[1], ARGV[1]) then return redis.error_reply('LOCKLOST') end
local mode = ARGV[3]
local there = redis.call('EXISTS', KEYS[3])
if mode == 'append' then
  local length = redis.call('LLEN', KEYS[3])
  local last = redis.call('GET', KEYS[5])
  if length ~= tonumber(ARGV[7]) or (last and last ~= ARGV[8]) then
    if length == 0 then return redis.error_reply('GONE') end
    return redis.error_reply('ENDMOVED ' .. length .. ' ' .. tostring(last))
  end
else
  if mode == 'create' and redis.call('EXISTS', KEYS[3]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('RENAME', KEYS[3], KEYS[7])
  end
  redis.call('DEL', KEYS[3])
end
if #ARGV >= 10 then
  for i = 10, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
  redis.call('SET', KEYS[5], ARGV[9])
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[2], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
end
expiry({KEYS[2], KEYS[3], KEYS[5], KEYS[6]}, tonumber(ARGV[2]), ARGV[6])
return {redis.call('LLEN', KEYS[3]), there}
"""
)

# KEYS: lock, meta, log, end, expiries   ARGV: token, ms, ttl seconds (0 = none), name
# The lock's life and the session's expiry are renewed together: an open session never expires.
_RENEW = (
    _OWNS
    + _EXPIRY
    + """
if not owns(KEYS[1], ARGV[1]) then return 0 end
if tonumber(ARGV[3]) > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  expiry({KEYS[2], KEYS[3], KEYS[4], KEYS[5]}, tonumber(ARGV[3]), ARGV[4])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""
)

# KEYS: lock   ARGV: token, ms   Takes a lost lock back with the same token, if nobody holds it.
_RETAKE = """
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
"""

# KEYS: lock   ARGV: token
_RELEASE = (
    _OWNS
    + """
if owns(KEYS[1], ARGV[1]) then return redis.call('DEL', KEYS[1]) end
return 0
"""
)

# KEYS: old meta, old log, old end, new meta, new log, new end, index, expiries, old lock, new lock, aside
# ARGV: old, new, token, new meta json   A log under the new name without its meta is renamed aside.
_RENAME = (
    _OWNS
    + """
if not (owns(KEYS[9], ARGV[3]) and owns(KEYS[10], ARGV[3])) then
  return redis.error_reply('LOCKLOST')
end
if redis.call('EXISTS', KEYS[4]) == 1 then return redis.error_reply('TAKEN') end
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('MISSING') end
local ttl = redis.call('TTL', KEYS[1])
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('RENAME', KEYS[5], KEYS[11]) end
redis.call('DEL', KEYS[6])
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('RENAME', KEYS[i], KEYS[i + 3]) end
end
redis.call('SET', KEYS[4], ARGV[4])
if ttl > 0 then redis.call('EXPIRE', KEYS[4], ttl) end
redis.call('DEL', KEYS[1])
local score = redis.call('ZSCORE', KEYS[7], ARGV[1])
redis.call('ZREM', KEYS[7], ARGV[1])
redis.call('ZADD', KEYS[7], score or 0, ARGV[2])
local deadline = redis.call('ZSCORE', KEYS[8], ARGV[1])
redis.call('ZREM', KEYS[8], ARGV[1])
if deadline then redis.call('ZADD', KEYS[8], deadline, ARGV[2]) end
return 1
"""
)

# KEYS: lock   ARGV: the dead holder's value, ours, ms
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return false
"""

# KEYS: meta, log, end, index, expiries, lock   ARGV: name, token
_DELETE = (
    _OWNS
    + """
if not owns(KEYS[6], ARGV[2]) then return redis.error_reply('LOCKLOST') end
local n = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return n
"""
)

# KEYS: meta, log, end, expiries   ARGV: ttl seconds, name   Opening is use: the expiry starts again.
_TOUCH = (
    _EXPIRY
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then expiry(KEYS, tonumber(ARGV[1]), ARGV[2]) end
return 1
"""
)


meta_key, log_key, end_key = _LEGACY.meta, _LEGACY.log, _LEGACY.end
session_keys, lock_key = _LEGACY.session, _LEGACY.lock


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


class RedisStore(JournaledStore):
    def __init__(self, url: str) -> None:
        self.location = redact(url)
        self.target: Target = self.call(lambda: connect(url))
        self.client = self.target.client
        self.keys = self.target.keys
        self._write = self.client.register_script(_WRITE)
        self._renew = self.client.register_script(_RENEW)
        self._retake = self.client.register_script(_RETAKE)
        self._release = self.client.register_script(_RELEASE)
        self._rename = self.client.register_script(_RENAME)
        self._delete = self.client.register_script(_DELETE)
        self._touch = self.client.register_script(_TOUCH)
        self._take_over = self.client.register_script(_TAKE_OVER)

    @contextlib.contextmanager
    def reachable(self) -> Iterator[None]:
        """Turn every failure of Redis into one line (redis_errors); the store's own script replies
        (a lost lock, a log that moved...) pass through as redis.ResponseError."""
        try:
            yield
        except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
            error = one_line(exc, self.location)
            if error is None:
                raise
            raise error from None

    def checked(self) -> list[str]:
        """Refuse a Redis swarmchat cannot use; warnings about one that may lose sessions (see
        redis_checks: cached on this machine, each warning once a day)."""
        from swarmchat.store.redis_checks import checked

        cache = machine_path(self.location, "checked", ".json")
        warnings, due = self.call(lambda: checked(self.target.node(), self.location, cache))
        if due:  # the index may have lost names (evicted, deleted): found again by a scan, as often as the checks
            self.repair_index()
        return warnings

    def call(self, fn: Callable[[], T]) -> T:
        with self.reachable():
            return fn()

    def _scripted(self, fn: Callable[[], T]) -> T:
        """A one-shot change under a lock (delete, rename): a lock lost meanwhile is one line."""
        try:
            return self.call(fn)
        except redis.ResponseError as exc:
            if str(exc).startswith("LOCKLOST"):
                raise StoreUnavailable(
                    "lost the session's Redis lock (it expired while this process was stalled); "
                    "nothing was changed: try again"
                ) from None
            raise

    # reading ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        raw = self.call(lambda: self.client.zrange(self.keys.index, 0, -1))
        return sorted(_text(n) for n in raw)  # type: ignore[arg-type]

    def exists(self, name: str) -> bool:
        name = validate_name(name)
        return bool(self.call(lambda: self.client.exists(self.keys.meta(name))))

    def read_meta(self, name: str) -> SessionMeta:
        name = validate_name(name)
        raw = self._get(name, self.keys.meta(name), self.client.get)
        if raw is None:
            raise SessionNotFound(name)
        return parse_meta(name, self._where(self.keys.meta(name)), _bytes(raw))

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
        key = self.keys.log(meta.name)
        lines = self._get(meta.name, key, lambda k: self.client.lrange(k, 0, -1))
        return list(lines), self._where(key)

    def lock(self, name: str, *, partner: Lock | None = None) -> RedisLock:
        # one operation's locks share a token: the rename script checks it owns both
        return RedisLock(self, name, token=partner.token if isinstance(partner, RedisLock) else None)

    def session_log(self, meta: SessionMeta, lock: Lock, rep: Replay | None) -> RedisLog:
        assert isinstance(lock, RedisLock)
        return RedisLog(self, meta, lock, rep)

    def opened(self, meta: SessionMeta) -> None:
        if ttl := meta.ttl_seconds:  # opening is use: the expiry starts again
            keys = [*self.keys.session(meta.name), self.keys.expiries]
            self.call(lambda: self._touch(keys=keys, args=[ttl, meta.name]))

    def derived_dir(self) -> Path:
        return machine_path(self.location, "derived")

    def remove(self, name: str, lock: Lock) -> bool:
        assert isinstance(lock, RedisLock)
        keys = [*self.keys.session(name), self.keys.index, self.keys.expiries, self.keys.lock(name)]
        return bool(self._scripted(lambda: self._delete(keys=keys, args=[name, lock.token])))

    def move(self, meta: SessionMeta, new: str, src: Lock, dst: Lock) -> None:
        assert isinstance(src, RedisLock)
        old = meta.name
        meta.name = new
        k = self.keys
        keys = [*k.session(old), *k.session(new), k.index, k.expiries, k.lock(old), k.lock(new), k.aside(new)]
        try:
            self._scripted(lambda: self._rename(keys=keys, args=[old, new, src.token, meta_bytes(meta)]))
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

        def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            metas = [self.keys.meta(n) for n in names]
            pipe.execute_command("MGET", *metas)  # type: ignore[no-untyped-call]  # (a cluster pipeline refuses mget)
            for name in names:
                pipe.exists(self.keys.log(name))
            return pipe.execute()

        raw, *logs = self.call(read)
        out: list[Listed] = []
        gone = []
        for name, data, log in zip(names, raw, logs, strict=True):
            if data is None:
                gone.append(name)  # expired (--ttl)
                continue
            try:
                meta = parse_meta(name, self._where(self.keys.meta(name)), _bytes(data))
            except CorruptSession as exc:
                out.append(BadSession(name, exc.path, exc.problem))
                continue
            if meta.message_count and not log:
                problem = "its journal is missing (evicted, or lost in a restart); delete it or restore a backup"
                out.append(BadSession(name, self._where(self.keys.log(name)), problem))
            else:
                out.append(meta)
        return out, gone

    def recent(self, count: int) -> tuple[list[Listed], int]:
        """The newest `count` by the index's scores (the last-used times): one round trip for the names
        and the total, one for their metas, whatever the number of sessions."""
        if count <= 0:
            return [], len(self.names())

        def top() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            pipe.zrevrange(self.keys.index, 0, count - 1)
            pipe.zcard(self.keys.index)
            return pipe.execute()

        raw_names, total = self.call(top)
        if not total and self._reindexed():
            return self.recent(count)
        listed, gone = self._metas([_text(n) for n in raw_names])
        if gone or any(isinstance(m, BadSession) for m in listed):
            # expired (--ttl) since, or damaged: the full listing drops the one, fills in for the other
            return newest_first(self.list(), count)
        return listed, int(total)

    def scores(self) -> dict[str, str]:
        """name -> score of every session not past its expiry (one round trip); read before the catalog
        is opened, so that an unreachable store fails before anything is written on this machine."""

        def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            pipe.zrange(self.keys.index, 0, -1, withscores=True)
            pipe.zrangebyscore(self.keys.expiries, "-inf", time.time())
            return pipe.execute()

        raw, expired = self.call(read)
        gone = {_text(name) for name in expired}  # their keys expired: out of search results at once
        return {_text(name): repr(float(score)) for name, score in raw if _text(name) not in gone}

    def searched(self, query: Callable[[Catalog], list[N]]) -> list[N]:
        from swarmchat.store.catalog import db, from_redis

        found = self.scores()

        def on_redis(catalog: Catalog) -> list[N]:
            from_redis.catch_up(self, catalog, found)
            return query(catalog)

        return db.using(from_redis.path(self), on_redis)

    def repair_index(self) -> None:
        """Make the index of names agree with the metas stored (by SCAN): it may have been evicted or
        deleted, or miss sessions written around it. Costs the whole keyspace: run on connect, cached."""
        head, tail = self.keys.metas_pattern()
        found: set[str] = set()
        node = self.target.node()  # on a cluster, the one shard that holds the store's slot
        for key in self.call(lambda: list(node.scan_iter(match=f"{head}*{tail}", count=1000))):
            found.add(_text(key)[len(head) : -len(tail)])
        indexed = set(self.names())
        missing = sorted(found - indexed)
        if missing:
            metas, _ = self._metas(missing)
            scores = {m.name: _score(m) for m in metas}
            scores.update({name: 0.0 for name in missing if name not in scores})
            self.call(lambda: self.client.zadd(self.keys.index, scores))
        if stale := indexed - found:
            self.call(lambda: self.client.zrem(self.keys.index, *stale))

    def _reindexed(self) -> bool:
        """An empty index (evicted, deleted): rebuilt if sessions are stored; True if it found any."""
        self.repair_index()
        return bool(self.call(lambda: self.client.zcard(self.keys.index)))

    def list(self) -> list[Listed]:  # last in the class: it shadows the builtin
        names = self.names()
        if not names and self._reindexed():
            names = self.names()
        listed, gone = self._metas(names)
        if gone:
            self.call(lambda: self.client.zrem(self.keys.index, *gone))
        return listed


class RedisLock:
    """SET NX PX with a random token; the value also names the holder for error messages."""

    def __init__(self, store: RedisStore, name: str, *, token: str | None = None) -> None:
        self.store = store
        self.key = store.keys.lock(name)
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

    def retake(self) -> bool:
        """Take the lock back after it expired (Redis was away longer than its life), if it is free."""
        self.held = bool(self.store.call(lambda: self.store._retake(keys=[self.key], args=[self._value(), LOCK_MS])))
        return self.held

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
    """A session's keys, written by token-checked scripts that append only where the log is known
    to end; the lock (and the session's expiry) is renewed in the background while it is open."""

    def __init__(self, store: RedisStore, meta: SessionMeta, lock: RedisLock, rep: Replay | None) -> None:
        """`meta` is the open session's own: its expiry setting applies to every write. `rep` is what
        the log replayed to at open (None for a session being created): where the next append goes."""
        self.store = store
        self.meta = meta
        self.name = meta.name
        self._lock = lock
        self._length = rep.lines if rep is not None else 0
        self._seq = rep.seq if rep is not None else 0
        self._creating = rep is None
        self._taken: SessionTakenOver | None = None
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._keep_lock, name="swarmchat-lock", daemon=True)
        self._renewer.start()

    def _keep_lock(self) -> None:
        while not self._stop.wait(RENEW_SECONDS):
            with contextlib.suppress(StoreUnavailable):
                self.store.call(self._renew)

    def _renew(self) -> Any:
        keys = [self._lock.key, *self.store.keys.session(self.name), self.store.keys.expiries]
        args: list[Any] = [self._lock.token, LOCK_MS, self._open_ttl(), self.name]
        return self.store._renew(keys=keys, args=args)

    def _open_ttl(self) -> int:
        """The expiry while the session is open: never shorter than the lock's life, so its keys cannot
        expire between two renewals (`close` sets the session's own)."""
        ttl = self.meta.ttl_seconds or 0
        return max(ttl, LOCK_MS // 1000 * 2) if ttl else 0

    def append(self, lines: list[bytes]) -> None:
        self._run(lines, mode="append")

    def replace(self, lines: list[bytes]) -> bool:
        return self._run(lines, mode="create" if self._creating else "replace")

    def write_meta(self, meta: SessionMeta) -> None:
        self._run([], mode="append", meta=meta)

    def _run(self, lines: list[bytes], *, mode: str, meta: SessionMeta | None = None) -> bool:
        if self._taken is not None:  # another process holds the session now: never write again
            raise self._taken
        seq = line_seq(lines[-1]) if lines else self._seq
        args: list[Any] = [
            self._lock.token,
            self._open_ttl(),
            mode,
            meta_bytes(meta) if meta is not None else "",
            parse_time(meta.updated_at).timestamp() if meta is not None else 0,
            self.name,
            self._length,
            self._seq,
            seq,
            *(line.rstrip(b"\n") for line in lines),
        ]
        k = self.store.keys
        meta_k, log_k, end_k = k.session(self.name)
        keys = [self._lock.key, meta_k, log_k, k.index, end_k, k.expiries, k.aside(self.name)]
        try:
            length, there = self._attempt(keys, args)
        except redis.ResponseError as exc:
            reply = str(exc).split()[0]
            if reply not in ("GONE", "ENDMOVED"):
                raise
            raise LogMoved(gone=reply == "GONE") from None
        self._length, self._seq = int(length), seq
        self._creating = False
        return bool(there)

    def _attempt(self, keys: list[str], args: list[Any]) -> Any:
        """Run the write script. A lock that expired meanwhile (Redis away longer than its life) is
        taken back if it is free and nobody wrote since; else the session is another process's now."""
        try:
            return self.store.call(lambda: self.store._write(keys=keys, args=args))
        except redis.ResponseError as exc:
            if not str(exc).startswith("LOCKLOST"):
                raise
        if not self._lock.retake():
            self._taken = SessionTakenOver(self.name, self._lock.holder())
            raise self._taken
        last = self.store.call(lambda: self.store.client.get(self.store.keys.end(self.name)))
        if last is not None and int(last) > self._seq:  # written by another process while the lock was free
            self._lock.release()
            self._taken = SessionTakenOver(self.name, "another process wrote to it while this one was cut off")
            raise self._taken
        return self.store.call(lambda: self.store._write(keys=keys, args=args))

    def close(self) -> None:
        self._stop.set()
        if self._taken is None and self.meta.ttl_seconds:  # from now on the session's own expiry runs
            with contextlib.suppress(StoreUnavailable):
                self.store.opened(self.meta)


def _score(listed: Listed) -> float:
    """A session's score in the index: its last use (0 for a damaged one)."""
    if isinstance(listed, BadSession):
        return 0.0
    try:
        return parse_time(listed.updated_at).timestamp()
    except ValueError:
        return 0.0


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
