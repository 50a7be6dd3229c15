"""The default store: JSON files under the data dir.

sessions/NAME.json   the SessionMeta (replaced atomically)
sessions/NAME.jsonl  the journal of the item list (appended; see journal.py)
locks/NAME.lock      the one-writer lock (see filelock.py)
catalog.sqlite3      the catalog that serves list and search (store/catalog/), checked against file stats
derived/NAME.KIND    caches older releases kept beside a session (journaled.DERIVED_KINDS), removed with it

Every file is opened without following links and only if it is a regular file (datafiles.py);
every failure of the file system becomes one line: a damaged session (CorruptSession), a data dir
that is not a directory (UsageError), or a store that cannot be used now (StoreUnavailable: a full
disk, no permission).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from swarmchat.errors import CorruptSession, SessionNotFound, StoreUnavailable, SwarmchatError, UsageError
from swarmchat.names import validate_name
from swarmchat.session import SessionMeta
from swarmchat.store.base import Listed, N
from swarmchat.store.datafiles import NotAFile, fsync_dir, open_file, read_file, remove, write_atomic, write_fully
from swarmchat.store.encoding import meta_bytes, parse_meta
from swarmchat.store.filelock import FileLock
from swarmchat.store.journal import Replay
from swarmchat.store.journaled import JournaledStore, Lock, RawLog

if TYPE_CHECKING:
    from swarmchat.store.catalog.db import Catalog

__all__ = ["FileStore", "meta_bytes", "write_atomic"]

ADVICE = {
    errno.ENOSPC: "the disk is full; free some space, then try again",
    errno.EDQUOT: "the disk quota is used up; free some space, then try again",
    errno.EACCES: "permission denied; check the data dir's owner and permissions (or set SWARMCHAT_DATA_DIR)",
    errno.EPERM: "not permitted; check the data dir's owner and permissions (or set SWARMCHAT_DATA_DIR)",
    errno.EROFS: "the file system is read-only; set SWARMCHAT_DATA_DIR to a writable directory",
}


class FileStore(JournaledStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sessions = root / "sessions"
        self.locks = root / "locks"
        self.location = str(root)

    # paths -------------------------------------------------------------------------------
    def meta_path(self, name: str) -> Path:
        return self.sessions / f"{name}.json"

    def journal_path(self, name: str) -> Path:
        return self.sessions / f"{name}.jsonl"

    def lock_path(self, name: str) -> Path:
        return self.locks / f"{name}.lock"

    def derived_dir(self) -> Path:
        return self.root / "derived"

    @contextlib.contextmanager
    def guard(self, name: str, path: Path, doing: str) -> Iterator[None]:
        """Turn what the file system raises into one line: a damaged session, or why the store
        cannot be used (naming the path and the cause)."""
        try:
            yield
        except NotAFile as exc:
            raise CorruptSession(name, str(exc.path), exc.problem) from None
        except OSError as exc:
            raise self.failure(exc, path, doing) from None

    def failure(self, exc: OSError, path: Path, doing: str) -> SwarmchatError:
        for folder in (self.root, self.sessions, self.locks):
            if os.path.lexists(folder) and not os.path.isdir(folder):
                return UsageError(
                    f"the data dir {folder} is not a directory; move it aside or set SWARMCHAT_DATA_DIR to a directory"
                )
        where = exc.filename or path
        advice = ADVICE.get(exc.errno or 0, "check the data dir")
        return StoreUnavailable(f"cannot {doing} {where}: {exc.strerror or exc}; {advice}")

    def _ensure_dirs(self) -> None:
        with self.guard("", self.root, "create the data dir"):
            for path in (self.root, self.sessions, self.locks):
                path.mkdir(mode=0o700, parents=True, exist_ok=True)

    def checked(self) -> list[str]:
        return []  # every failure of the file system is one line when it happens

    # reading ------------------------------------------------------------------------------
    def stored_any(self) -> bool:
        """Whether anything was ever stored (the sessions directory exists). A data dir or sessions
        dir that is not a directory is a UsageError line, never taken for an empty store."""
        with self.guard("", self.sessions, "read"):
            try:
                mode = os.lstat(self.sessions).st_mode
            except FileNotFoundError:
                return False
            if not stat.S_ISDIR(mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(self.sessions))
        return True

    def names(self) -> list[str]:
        with self.guard("", self.sessions, "read"):
            try:
                entries = os.listdir(self.sessions)
            except FileNotFoundError:
                return []
        return sorted(e[:-5] for e in entries if e.endswith(".json") and not e.startswith("."))

    def exists(self, name: str) -> bool:
        return os.path.lexists(self.meta_path(validate_name(name)))

    def read_meta(self, name: str) -> SessionMeta:
        name = validate_name(name)
        path = self.meta_path(name)
        with self.guard(name, path, "read"):
            raw = read_file(path)
        if raw is None:
            raise SessionNotFound(name)
        return parse_meta(name, str(path), raw)

    def read_log(self, meta: SessionMeta) -> tuple[RawLog, str]:
        path = self.journal_path(meta.name)
        with self.guard(meta.name, path, "read"):
            data = read_file(path)
        return data or b"", str(path)

    def recent(self, count: int) -> tuple[list[Listed], int]:
        from swarmchat.store.catalog import from_files

        with self.guard("", self.sessions, "read"):
            return from_files.recent(self, count)

    # the journaled store's primitives ---------------------------------------------------------
    def lock(self, name: str, *, partner: Lock | None = None) -> Lock:
        self._ensure_dirs()
        return GuardedLock(self, name)

    def session_log(self, meta: SessionMeta, lock: Lock, rep: Replay | None) -> FileLog:
        return FileLog(self, meta.name, rep.good_bytes if rep is not None and rep.torn_tail else None)

    def remove(self, name: str, lock: Lock) -> bool:
        # journal first: a crash in between leaves a session that reports its missing journal (and
        # can be deleted again), never an orphan journal for a future session
        found = False
        for path in (self.journal_path(name), self.meta_path(name)):
            with self.guard(name, path, "delete"):
                found = remove(path) or found
        with self.guard(name, self.sessions, "delete"):
            fsync_dir(self.sessions)
        return found

    def move(self, meta: SessionMeta, new: str, src: Lock, dst: Lock) -> None:
        old = meta.name
        with self.guard(old, self.sessions, "rename in"):
            # link, write, unlink: a crash leaves one or two complete copies, never none
            remove(self.journal_path(new))  # a bare journal: a creation that was cut short
            if os.path.lexists(self.journal_path(old)):
                os.link(self.journal_path(old), self.journal_path(new), follow_symlinks=False)
            meta.name = new
            write_atomic(self.meta_path(new), meta_bytes(meta))
            os.unlink(self.meta_path(old))
            remove(self.journal_path(old))
            fsync_dir(self.sessions)

    def searched(self, query: Callable[[Catalog], list[N]]) -> list[N]:
        from swarmchat.store.catalog import db, from_files

        if not self.stored_any():
            return []

        def on_files(catalog: Catalog) -> list[N]:
            if from_files.catch_up(self, catalog):
                return query(catalog)
            found = query(catalog)  # the directory is settled: check what is shown
            try:
                changed = from_files.recheck(self, catalog, [f.name for f in found])
            except FileNotFoundError:  # one was deleted while we looked
                changed = from_files.catch_up(self, catalog, trust_settled=False)
            return query(catalog) if changed else found

        return db.using(from_files.path(self), on_files)

    def list(self) -> list[Listed]:  # last in the class: it shadows the builtin
        from swarmchat.store.catalog import from_files

        with self.guard("", self.sessions, "read"):
            return from_files.listing(self)


class GuardedLock:
    """A FileLock whose failures are one line: a planted link or directory is a damaged session."""

    def __init__(self, store: FileStore, name: str) -> None:
        self.store = store
        self.name = name
        self.path = store.lock_path(name)
        self._lock = FileLock(self.path)

    def acquire(self) -> bool:
        with self.store.guard(self.name, self.path, "lock"):
            return self._lock.acquire()

    def holder(self) -> str:
        return self._lock.holder()

    def release(self) -> None:
        self._lock.release()


class FileLog:
    """A session's journal and meta files: appends through one descriptor, replacements atomic."""

    def __init__(self, store: FileStore, name: str, torn_at: int | None) -> None:
        """`torn_at`: where a torn last line (a crash artifact) starts; cut before the first append."""
        self.store = store
        self.name = name
        self.path = store.journal_path(name)
        self._torn_at = torn_at
        self._fd: int | None = None

    def append(self, lines: list[bytes]) -> None:
        with self.store.guard(self.name, self.path, "write"):
            if self._fd is None:
                self._fd = open_file(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            if self._torn_at is not None:
                os.ftruncate(self._fd, self._torn_at)
                self._torn_at = None
            end = os.fstat(self._fd).st_size
            try:
                write_fully(self._fd, b"".join(lines))
                os.fdatasync(self._fd)
            except OSError:
                with contextlib.suppress(OSError):  # no torn line left behind
                    os.ftruncate(self._fd, end)
                raise

    def replace(self, lines: list[bytes]) -> bool:
        self.close()  # later appends go to the new file
        self._torn_at = None
        there = os.path.lexists(self.path)
        with self.store.guard(self.name, self.path, "write"):
            write_atomic(self.path, b"".join(lines))
        return there

    def write_meta(self, meta: SessionMeta) -> None:
        path = self.store.meta_path(self.name)
        with self.store.guard(self.name, path, "write"):
            write_atomic(path, meta_bytes(meta))

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
