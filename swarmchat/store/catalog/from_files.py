"""Keeping the catalog current for the file store, from file stats (what `list` and `search` trust).

A session's signature is the (mtime, size, inode) of its two files: a session whose files changed,
by swarmchat or by hand, is read again; one whose files are gone is dropped. The catalog also
remembers the sessions directory's own (mtime, inode), once it is old enough to be trusted (see
SETTLED_NS). Every create, rename, delete and meta write of swarmchat is a rename in that directory,
so while it is unchanged nothing was created, renamed or deleted, and only the rows about to be shown
are checked: a 10,000-session listing costs what a 50-session one does. Edits made in place by hand
to a session that is not shown are seen at the directory's next change (or by `list --all`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Protocol

from swarmchat.errors import CorruptSession, InvalidName, SessionNotFound
from swarmchat.names import validate_name
from swarmchat.session import Item, SessionMeta, count_turns
from swarmchat.store.base import BadSession, Listed, newest_first
from swarmchat.store.catalog.db import Catalog, Entry, using
from swarmchat.store.journal import paused_gc

FILE = "catalog.sqlite3"
# A directory changed this recently may change again within the file system's timestamp granularity
# without its mtime moving, so its signature is not trusted yet (git's "racily clean" index entries).
SETTLED_NS = 2_000_000_000
NO_FILE = "-"


class Files(Protocol):
    """What the catalog uses of the file store: its layout and its public read."""

    root: Path
    sessions: Path

    def meta_path(self, name: str) -> Path: ...

    def journal_path(self, name: str) -> Path: ...

    def read(self, name: str) -> tuple[SessionMeta, list[Item]]: ...

    def stored_any(self) -> bool: ...


def path(store: Files) -> Path:
    return store.root / FILE


def listing(store: Files) -> list[Listed]:
    """Every session, each checked against its files."""
    if not store.stored_any():  # nothing stored yet: nothing to create either
        return []
    with paused_gc():
        return using(path(store), lambda catalog: _checked_all(store, catalog))


def recent(store: Files, count: int) -> tuple[list[Listed], int]:
    """The `count` most recently used sessions, newest first, then every damaged one; and how many
    sessions there are in all. Only the rows returned are checked against their files while the
    sessions directory has not changed since the catalog last saw it settled."""
    if not store.stored_any():
        return [], 0
    with paused_gc():
        return using(path(store), lambda catalog: _recent(store, catalog, count))


def catch_up(store: Files, catalog: Catalog, *, trust_settled: bool = True) -> bool:
    """Bring the catalog up to date with the sessions directory; False if it was only checked against
    the directory's settled signature (then the caller checks the rows it shows with `recheck`)."""
    if trust_settled:
        try:
            if catalog.setting("dir") == _dir_sig(store):
                return False
        except FileNotFoundError:
            pass
    _sync(store, catalog)
    return True


def recheck(store: Files, catalog: Catalog, names: list[str]) -> bool:
    """Check `names` against their files, reading again those that changed; True if any did."""
    known = catalog.signatures(names)
    stale = {}
    for name in names:
        sig = file_sig(store, name)
        if known.get(name) != sig:
            stale[name] = sig
    if stale:
        _update(store, catalog, stale, [])
    return bool(stale)


def _recent(store: Files, catalog: Catalog, count: int) -> tuple[list[Listed], int]:
    try:
        if not catch_up(store, catalog):
            checked: set[str] = set()
            while True:  # a row read again may move down and let an unchecked one in
                shown = catalog.newest(count)
                names = [m.name for m in shown if m.name not in checked]
                if not names:
                    return shown, catalog.count()
                checked.update(names)
                if not recheck(store, catalog, names):
                    return shown, catalog.count()
    except FileNotFoundError:  # a session vanished while we looked: check everything
        pass
    return newest_first(_checked_all(store, catalog), count)


def _checked_all(store: Files, catalog: Catalog) -> list[Listed]:
    _sync(store, catalog)
    return catalog.every()


def _sync(store: Files, catalog: Catalog) -> None:
    """Every session checked against its files; the directory's signature kept once it has settled."""
    try:
        before = _dir_sig(store)
        found = _scan(store)
    except FileNotFoundError:
        before, found = None, {}
    known = catalog.signatures()
    stale = {name: sig for name, sig in found.items() if known.get(name) != sig}
    gone = [name for name in known if name not in found]
    if stale or gone:
        _update(store, catalog, stale, gone)
    try:
        after = _dir_sig(store)
    except FileNotFoundError:
        after = None
    settled = before if before == after and before is not None and _age_ns(before) > SETTLED_NS else None
    if catalog.setting("dir") != settled:
        with catalog.writing():
            catalog.set_setting("dir", settled)


def _update(store: Files, catalog: Catalog, stale: dict[str, str], gone: list[str]) -> None:
    with catalog.writing():
        known = catalog.signatures([*stale, *gone])  # again, under the lock: another process may have done it
        for name in gone:
            if name in known:
                catalog.drop(name)
        for name, sig in stale.items():
            if name not in known:
                catalog.put(name, sig, _read(store, name), new=True)
            elif known[name] != sig:
                catalog.put(name, sig, _read(store, name))


def _read(store: Files, name: str) -> Entry:
    try:
        meta, items = store.read(validate_name(name))
    except InvalidName as exc:
        return BadSession(name, str(store.meta_path(name)), str(exc))
    except CorruptSession as exc:
        return BadSession(name, exc.path, exc.problem)
    except SessionNotFound:
        return None
    meta.message_count = len(items)
    meta.turn_count = count_turns(items)
    return meta, items


def _scan(store: Files) -> dict[str, str]:
    """name -> signature of every session in the directory (a journal alone belongs to a session being
    created or deleted, and is not one)."""
    metas: dict[str, os.DirEntry[str]] = {}
    journals: dict[str, os.DirEntry[str]] = {}
    with os.scandir(store.sessions) as scan:
        for e in scan:
            name = e.name
            if name.startswith("."):
                continue
            if name.endswith(".json"):
                metas[name[:-5]] = e
            elif name.endswith(".jsonl"):
                journals[name[:-6]] = e
    found = {}
    for name, meta in metas.items():
        journal = journals.get(name)
        try:
            found[name] = _sig(
                meta.stat(follow_symlinks=False), journal.stat(follow_symlinks=False) if journal is not None else None
            )
        except FileNotFoundError:
            continue  # deleted while we looked
    return found


def file_sig(store: Files, name: str) -> str:
    meta = os.lstat(store.meta_path(name))
    try:
        journal: os.stat_result | None = os.lstat(store.journal_path(name))
    except FileNotFoundError:
        journal = None
    return _sig(meta, journal)


def _sig(meta: os.stat_result, journal: os.stat_result | None) -> str:
    tail = NO_FILE if journal is None else f"{journal.st_mtime_ns}:{journal.st_size}:{journal.st_ino}"
    return f"{meta.st_mtime_ns}:{meta.st_size}:{meta.st_ino}/{tail}"


def _dir_sig(store: Files) -> str:
    st = os.stat(store.sessions)
    return f"{st.st_mtime_ns}:{st.st_ino}"


def _age_ns(dir_sig: str) -> int:
    return time.time_ns() - int(dir_sig.split(":")[0])
