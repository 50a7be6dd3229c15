"""The file store's listing cache, so that `list` reads one file instead of every history.

Each entry remembers the stat signature (mtime, size, inode) of the session's two files; an
entry whose files changed, by swarmchat or by hand, is read again, so the cache can be lost or go
stale at any time without harm. Only listing writes it, atomically.

The cache also remembers the sessions directory's own signature, once it is old enough to be
trusted (see `_dir_sig`). While the directory is unchanged no session was created, renamed,
deleted or rewritten by swarmchat (every meta write is a rename), so `recent` only stats the rows
it shows: a 10,000-session listing costs what a 50-session one does.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from swarmchat.errors import CorruptSession, InvalidName
from swarmchat.names import validate_name
from swarmchat.session import SessionMeta
from swarmchat.store.base import BadSession, Listed, newest_first
from swarmchat.store.journal import paused_gc

if TYPE_CHECKING:
    from swarmchat.store.files import FileStore

INDEX_VERSION = 3
FIELDS = [f.name for f in fields(SessionMeta)]
UPDATED_AT = 6 + FIELDS.index("updated_at")
NO_FILE = [0, 0, 0]
# A directory changed this recently may change again within the file system's timestamp granularity
# without its mtime moving, so its signature is not trusted yet (git's "racily clean" index entries).
SETTLED_NS = 2_000_000_000
# "sessions": name -> [the signature's six numbers, then the SessionMeta's values in FIELDS order]
# "damaged":  name -> [the signature's six numbers, the damaged file's path, what is wrong with it]
# "dir":      [mtime_ns, inode] of the sessions directory when the entries were all checked, or null
# Flat lists rather than objects: the cache of 10,000 sessions parses several times faster.
Entry = list[Any]


@dataclass
class Cache:
    good: dict[str, Entry] = field(default_factory=dict)
    bad: dict[str, Entry] = field(default_factory=dict)
    dir: list[int] | None = None


def listing(store: FileStore) -> list[Listed]:
    """Every session, each checked against its files."""
    with paused_gc():  # tens of thousands of small objects, no cycles
        return _listing(store, _read_cache(store.root / "index.json"))


def recent(store: FileStore, count: int) -> tuple[list[Listed], int]:
    """The `count` most recently used sessions, newest first, then every damaged one; and how many
    sessions there are in all. Only the rows returned are checked against their files when the
    sessions directory has not changed since the cache was written."""
    with paused_gc():
        cache = _read_cache(store.root / "index.json")
        try:
            now = _dir_sig(store)
        except FileNotFoundError:
            return [], 0
        if cache.dir == now:
            try:
                return _recent_from_cache(store, cache, count)
            except (FileNotFoundError, TypeError, IndexError, KeyError):
                pass  # a session vanished while we looked, or a cache edited by hand: check everything
        return newest_first(_listing(store, cache), count)


def _recent_from_cache(store: FileStore, cache: Cache, count: int) -> tuple[list[Listed], int]:
    total = len(cache.good) + len(cache.bad)
    order = sorted(cache.good, key=lambda name: cache.good[name][UPDATED_AT], reverse=True)
    shown: list[SessionMeta] = []
    damaged: list[BadSession] = []
    changed = False
    for name in [*cache.bad, *order]:  # the damaged first: every one is shown
        if name not in cache.bad and len(shown) == count:
            break
        was = cache.good.get(name) or cache.bad[name]
        sig = _file_sig(store, name)
        if sig == was[:6]:
            entry, bad = was, name in cache.bad
        else:  # changed in place (by hand, or a turn cut short before its meta was written)
            changed = True
            entry, bad = _read_entry(store, name, sig)
            cache.good.pop(name, None)
            cache.bad.pop(name, None)
            (cache.bad if bad else cache.good)[name] = entry
        if bad:
            damaged.append(BadSession(name, entry[6], entry[7]))
        else:
            shown.append(SessionMeta(*entry[6:]))
    if changed:
        _write_cache(store.root / "index.json", cache)
    shown.sort(key=lambda m: m.updated_at, reverse=True)
    return [*shown[:count], *damaged], total


def _listing(store: FileStore, cached: Cache) -> list[Listed]:
    """Every session, checked against `cached` (entries whose files changed are read again)."""
    path = store.root / "index.json"
    metas: dict[str, os.DirEntry[str]] = {}
    journals: dict[str, os.DirEntry[str]] = {}
    try:
        before = _dir_sig(store)
        with os.scandir(store.sessions) as scan:
            for e in scan:
                name = e.name
                if name.startswith("."):
                    continue
                if name.endswith(".json"):
                    metas[name[:-5]] = e
                elif name.endswith(".jsonl"):
                    journals[name[:-6]] = e
    except FileNotFoundError:
        return []
    fresh = Cache()
    good, bad = fresh.good, fresh.bad
    listed: list[Listed] = []
    changed = False
    for name, meta_file in metas.items():  # a journal alone: its session is being created or deleted
        journal_file = journals.get(name)
        sig = _sig(meta_file) + (_sig(journal_file) if journal_file is not None else NO_FILE)
        entry = cached.good.get(name)
        if isinstance(entry, list) and entry[:6] == sig:
            try:
                listed.append(SessionMeta(*entry[6:]))
            except TypeError:  # a cache edited by hand: read the session again
                pass
            else:
                good[name] = entry
                continue
        entry = cached.bad.get(name)
        if not (isinstance(entry, list) and len(entry) == 8 and entry[:6] == sig):
            changed = True
            entry, damaged = _read_entry(store, name, sig)
            if not damaged:
                good[name] = entry
                listed.append(SessionMeta(*entry[6:]))
                continue
        bad[name] = entry
        listed.append(BadSession(name, entry[6], entry[7]))
    try:
        after = _dir_sig(store)
    except FileNotFoundError:
        after = None
    if after == before and time.time_ns() - before[0] > SETTLED_NS:
        fresh.dir = before  # nothing moved while we looked, and long enough ago to be sure of it
    if changed or fresh.dir != cached.dir or len(good) != len(cached.good) or len(bad) != len(cached.bad):
        _write_cache(path, fresh)
    return listed


def _dir_sig(store: FileStore) -> list[int]:
    st = os.stat(store.sessions)
    return [st.st_mtime_ns, st.st_ino]


def _file_sig(store: FileStore, name: str) -> list[int]:
    meta = _stat_sig(os.stat(store.meta_path(name)))
    try:
        return meta + _stat_sig(os.stat(store.journal_path(name)))
    except FileNotFoundError:
        return meta + NO_FILE


def _sig(entry: os.DirEntry[str]) -> list[int]:
    return _stat_sig(entry.stat())


def _stat_sig(st: os.stat_result) -> list[int]:
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _read_entry(store: FileStore, name: str, sig: list[int]) -> tuple[Entry, bool]:
    """(the entry, whether the session is damaged), from the session's files."""
    try:
        meta, items = store.read(validate_name(name))
    except InvalidName as exc:
        return [*sig, str(store.meta_path(name)), str(exc)], True
    except CorruptSession as exc:
        return [*sig, exc.path, exc.problem], True
    meta.message_count = len(items)
    values = meta.to_dict()
    return [*sig, *(values[f] for f in FIELDS)], False


def _read_cache(path: os.PathLike[str]) -> Cache:
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
        if data.get("version") == INDEX_VERSION and data.get("fields") == FIELDS:
            good, bad, folder = data["sessions"], data["damaged"], data["dir"]
            if isinstance(good, dict) and isinstance(bad, dict):
                return Cache(good, bad, folder if isinstance(folder, list) else None)
    except (OSError, ValueError, AttributeError, KeyError):
        pass
    return Cache()


def _write_cache(path: os.PathLike[str], cache: Cache) -> None:
    tmp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    data = {"version": INDEX_VERSION, "fields": FIELDS, "dir": cache.dir, "sessions": cache.good, "damaged": cache.bad}
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache: listing works without it
