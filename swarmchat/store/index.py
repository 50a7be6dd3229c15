"""The file store's listing cache, so that `list` reads one file instead of every history.

Each entry remembers the stat signature (mtime, size, inode) of the session's two files; an
entry whose files changed, by swarmchat or by hand, is read again, so the cache can be lost or go
stale at any time without harm. Only `list` writes it, atomically.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from swarmchat.errors import CorruptSession, InvalidName
from swarmchat.names import validate_name
from swarmchat.session import SessionMeta
from swarmchat.store.base import BadSession, Listed

if TYPE_CHECKING:
    from swarmchat.store.files import FileStore

INDEX_VERSION = 1
Entry = dict[str, Any]


def listing(store: FileStore) -> list[Listed]:
    path = store.root / "index.json"
    cached = _read_cache(path)
    files: dict[str, list[os.DirEntry[str] | None]] = {}
    try:
        with os.scandir(store.sessions) as scan:
            for e in scan:
                if e.name.startswith("."):
                    continue
                if e.name.endswith(".json"):
                    files.setdefault(e.name[:-5], [None, None])[0] = e
                elif e.name.endswith(".jsonl"):
                    files.setdefault(e.name[:-6], [None, None])[1] = e
    except FileNotFoundError:
        return []
    entries: dict[str, Entry] = {}
    changed = False
    for name, (meta_file, journal_file) in files.items():
        if meta_file is None:
            continue  # a journal whose session is being created or deleted
        sig = _sig(meta_file) + (_sig(journal_file) if journal_file else [0, 0, 0])
        entry = cached.get(name)
        if entry is None or entry.get("sig") != sig:
            entry = _read_entry(store, name, sig)
            changed = True
        entries[name] = entry
    if changed or len(entries) != len(cached):
        _write_cache(path, entries)
    return [_listed(name, entry) for name, entry in entries.items()]


def _sig(entry: os.DirEntry[str]) -> list[int]:
    st = entry.stat()
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _read_entry(store: FileStore, name: str, sig: list[int]) -> Entry:
    try:
        meta, items = store.read(validate_name(name))
    except InvalidName as exc:
        return {"sig": sig, "bad": [str(store.meta_path(name)), str(exc)]}
    except CorruptSession as exc:
        return {"sig": sig, "bad": [exc.path, exc.problem]}
    meta.message_count = len(items)
    return {"sig": sig, "meta": meta.to_dict()}


def _listed(name: str, entry: Entry) -> Listed:
    if "bad" in entry:
        location, problem = entry["bad"]
        return BadSession(name, location, problem)
    return SessionMeta(**entry["meta"])


def _read_cache(path: os.PathLike[str]) -> dict[str, Entry]:
    try:
        with open(path, "rb") as fh:
            data = json.load(fh)
        if data.get("version") == INDEX_VERSION and isinstance(data.get("entries"), dict):
            return data["entries"]  # type: ignore[no-any-return]
    except (OSError, ValueError, AttributeError):
        pass
    return {}


def _write_cache(path: os.PathLike[str], entries: dict[str, Entry]) -> None:
    tmp = f"{os.fspath(path)}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": INDEX_VERSION, "entries": entries}, fh, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass  # a cache: listing works without it
