"""The file store's listing cache, so that `list` reads one file instead of every history.

Each entry remembers the stat signature (mtime, size, inode) of the session's two files; an
entry whose files changed, by swarmchat or by hand, is read again, so the cache can be lost or go
stale at any time without harm. Only `list` writes it, atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from swarmchat.errors import CorruptSession, InvalidName
from swarmchat.names import validate_name
from swarmchat.session import SessionMeta
from swarmchat.store.base import BadSession, Listed
from swarmchat.store.journal import paused_gc

if TYPE_CHECKING:
    from swarmchat.store.files import FileStore

INDEX_VERSION = 2
FIELDS = [f.name for f in fields(SessionMeta)]
NO_FILE = [0, 0, 0]
# "sessions": name -> [the signature's six numbers, then the SessionMeta's values in FIELDS order]
# "damaged":  name -> [the signature's six numbers, the damaged file's path, what is wrong with it]
# Flat lists rather than objects: the cache of 10,000 sessions parses several times faster.
Entry = list[Any]


def listing(store: FileStore) -> list[Listed]:
    with paused_gc():  # tens of thousands of small objects, no cycles
        return _listing(store)


def _listing(store: FileStore) -> list[Listed]:
    path = store.root / "index.json"
    cached, cached_bad = _read_cache(path)
    metas: dict[str, os.DirEntry[str]] = {}
    journals: dict[str, os.DirEntry[str]] = {}
    try:
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
    good: dict[str, Entry] = {}
    bad: dict[str, Entry] = {}
    listed: list[Listed] = []
    changed = False
    for name, meta_file in metas.items():  # a journal alone: its session is being created or deleted
        journal_file = journals.get(name)
        sig = _sig(meta_file) + (_sig(journal_file) if journal_file is not None else NO_FILE)
        entry = cached.get(name)
        if isinstance(entry, list) and entry[:6] == sig:
            try:
                listed.append(SessionMeta(*entry[6:]))
            except TypeError:  # a cache edited by hand: read the session again
                pass
            else:
                good[name] = entry
                continue
        entry = cached_bad.get(name)
        if not (isinstance(entry, list) and len(entry) == 8 and entry[:6] == sig):
            changed = True
            entry, damaged = _read_entry(store, name, sig)
            if not damaged:
                good[name] = entry
                listed.append(SessionMeta(*entry[6:]))
                continue
        bad[name] = entry
        listed.append(BadSession(name, entry[6], entry[7]))
    if changed or len(good) != len(cached) or len(bad) != len(cached_bad):
        _write_cache(path, good, bad)
    return listed


def _sig(entry: os.DirEntry[str]) -> list[int]:
    st = entry.stat()
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


def _read_cache(path: os.PathLike[str]) -> tuple[dict[str, Entry], dict[str, Entry]]:
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
        if data.get("version") == INDEX_VERSION and data.get("fields") == FIELDS:
            good, bad = data["sessions"], data["damaged"]
            if isinstance(good, dict) and isinstance(bad, dict):
                return good, bad
    except (OSError, ValueError, AttributeError, KeyError):
        pass
    return {}, {}


def _write_cache(path: os.PathLike[str], good: dict[str, Entry], bad: dict[str, Entry]) -> None:
    tmp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    data = {"version": INDEX_VERSION, "fields": FIELDS, "sessions": good, "damaged": bad}
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache: listing works without it
