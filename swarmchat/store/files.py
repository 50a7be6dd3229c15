"""The default store: JSON files under the data dir.

sessions/NAME.json   the SessionMeta (replaced atomically)
sessions/NAME.jsonl  the journal of the item list (appended; see journal.py)
locks/NAME.lock      the one-writer lock (see filelock.py)
catalog.sqlite3      the catalog that serves list and search (store/catalog/), checked against file stats
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from swarmchat.errors import CorruptSession, NameTaken, SessionNotFound, StoreUnavailable
from swarmchat.names import validate_name
from swarmchat.session import Item, SessionMeta, first_user_text, now_iso, title_from
from swarmchat.store.base import Listed, WritesNew, lock_refusal
from swarmchat.store.filelock import FileLock
from swarmchat.store.journal import Change, JournalError, Mirror, Replay, replay

COMPACT_AFTER_LINES = 200


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStore(WritesNew):
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

    def _lock(self, name: str) -> FileLock:
        return FileLock(self.locks / f"{name}.lock")

    def _ensure_dirs(self) -> None:
        try:
            for path in (self.root, self.sessions, self.locks):
                path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the data dir {self.root}: {exc.strerror}") from None

    # reading ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        try:
            entries = os.listdir(self.sessions)
        except FileNotFoundError:
            return []
        return sorted(e[:-5] for e in entries if e.endswith(".json") and not e.startswith("."))

    def exists(self, name: str) -> bool:
        return self.meta_path(validate_name(name)).exists()

    def read_meta(self, name: str) -> SessionMeta:
        name = validate_name(name)
        path = self.meta_path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise SessionNotFound(name) from None
        return parse_meta(name, str(path), raw)

    def read(self, name: str) -> tuple[SessionMeta, list[Item]]:
        meta = self.read_meta(name)
        return meta, self._replay(meta)[0].items

    def _replay(self, meta: SessionMeta) -> tuple[Replay, bytes]:
        path = self.journal_path(meta.name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        return check_replay(meta, str(path), data), data

    # writing ------------------------------------------------------------------------------
    def open(self, name: str, *, create: SessionMeta | None = None) -> FileSession:
        name = validate_name(name)
        self._ensure_dirs()
        lock = self._lock(name)
        if not lock.acquire():
            raise lock_refusal(name, create is not None, lock.holder(), lambda: self.exists(name))
        try:
            if create is not None:
                if self.meta_path(name).exists():
                    raise NameTaken(name)
                create.name = name
                return FileSession(self, create, lock, Replay([], 0, 0, 0, 0), [], created=False)
            meta = self.read_meta(name)
            rep, data = self._replay(meta)
            # parsed once here, as the private copy; the agency's own copy is parsed from the same
            # bytes when it asks (load), which the REPL does off the prompt's path
            return FileSession(self, meta, lock, rep, rep.items, created=True, journal=data)
        except BaseException:
            lock.release()
            raise

    def delete(self, name: str) -> None:
        name = validate_name(name)
        lock = self._hold(name)
        try:
            if not (self.meta_path(name).exists() or self.journal_path(name).exists()):
                raise SessionNotFound(name)
            # journal first: a crash in between leaves a session that reports its missing
            # journal (and can be deleted again), never an orphan journal for a future session
            self.journal_path(name).unlink(missing_ok=True)
            self.meta_path(name).unlink(missing_ok=True)
            fsync_dir(self.sessions)
        finally:
            lock.release()

    def rename(self, old: str, new: str) -> None:
        old, new = validate_name(old), validate_name(new)
        src_lock = self._hold(old)
        try:
            dst_lock = self._lock(new)
            if not dst_lock.acquire():
                raise NameTaken(new, f"in use by {dst_lock.holder()}")
            try:
                meta = self.read_meta(old)
                self._replay(meta)  # refuse to move a damaged session
                if self.meta_path(new).exists():
                    raise NameTaken(new)
                # link, write, unlink: a crash leaves one or two complete copies, never none
                self.journal_path(new).unlink(missing_ok=True)
                if self.journal_path(old).exists():
                    os.link(self.journal_path(old), self.journal_path(new))
                meta.name = new
                write_atomic(self.meta_path(new), meta_bytes(meta))
                self.meta_path(old).unlink()
                self.journal_path(old).unlink(missing_ok=True)
                fsync_dir(self.sessions)
            finally:
                dst_lock.release()
        finally:
            src_lock.release()

    def recent(self, count: int) -> tuple[list[Listed], int]:
        from swarmchat.store.catalog import from_files

        return from_files.recent(self, count)

    def list(self) -> list[Listed]:  # last in the class: it shadows the builtin
        from swarmchat.store.catalog import from_files

        return from_files.listing(self)

    def _hold(self, name: str) -> FileLock:
        """Take an existing session's lock for a one-shot change (SessionLocked if held)."""
        self._ensure_dirs()
        lock = self._lock(name)
        if not lock.acquire():
            raise lock_refusal(name, False, lock.holder(), lambda: self.exists(name))
        return lock


class FileSession:
    """An open session: journal appends under the lock, meta written at turn ends."""

    def __init__(
        self,
        store: FileStore,
        meta: SessionMeta,
        lock: FileLock,
        rep: Replay,
        stored: list[Item],
        *,
        created: bool,
        journal: bytes | None = None,
    ) -> None:
        """`stored` is the private copy to diff against; the agency gets `rep.items`, or a fresh
        parse of the `journal` bytes they were read from (they must not be the same objects)."""
        self.store = store
        self.meta = meta
        self._lock = lock
        self._created = created
        self._loaded: list[Item] | None = rep.items if journal is None else None
        self._journal = journal
        self._journal_seq = rep.seq
        self._mirror = Mirror(stored, rep.seq)
        self._lines = rep.lines
        self._fd: int | None = None
        if created:
            self._open_journal(rep)

    def _open_journal(self, rep: Replay) -> None:
        path = self.store.journal_path(self.meta.name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(path, flags | (0 if self._created else os.O_TRUNC), 0o600)
        if rep.torn_tail:  # a crash tore the last line: drop it so appends start on a clean line
            os.ftruncate(self._fd, rep.good_bytes)
        if rep.lines > COMPACT_AFTER_LINES:
            self._compact()

    def load(self) -> list[Item]:
        journal, self._journal = self._journal, None
        if journal is not None and self._mirror.seq == self._journal_seq:  # nothing saved since open
            return replay(journal).items
        if self._loaded is not None:  # the first call hands over the objects read at open
            items, self._loaded = self._loaded, None
            return items
        return copy.deepcopy(self._mirror.items)

    def save(self, live: list[Item]) -> None:
        self._write(self._mirror.diff(live))

    def _write(self, change: Change | None, *, full: bool = False) -> None:
        if change is None:
            return
        if self._fd is None:  # lazy creation, journal first (see _create)
            self._open_journal(Replay([], 0, 0, 0, 0))
        assert self._fd is not None
        line = change.encode()
        os.write(self._fd, line)
        os.fdatasync(self._fd)
        self._mirror.record(change, line)
        self._lines += 1
        if not self._created:
            self._create()

    def _create(self) -> None:
        """Lazy creation: the files appear with the first item, not with `new`. The meta comes after
        the journal's first line: a crash in between leaves a bare journal, which nothing lists and
        the next creation of the name truncates, never an empty session."""
        self.meta.updated_at = now_iso()
        write_atomic(self.store.meta_path(self.meta.name), meta_bytes(self.meta))
        self._created = True

    def write_all(self, items: list[Item]) -> None:
        """Store a whole list as a fresh session (fork, import)."""
        self._write(self._mirror.diff(items, full=True))
        self._finish_turn()

    def begin_turn(self) -> None:
        self._mirror.stable = len(self._mirror.items)

    def end_turn(self, live: list[Item]) -> None:
        self._write(self._mirror.diff(live, full=True))
        self._finish_turn()
        if self._lines > COMPACT_AFTER_LINES:
            self._compact()

    def _finish_turn(self) -> None:
        if not self._created:
            return
        self.meta.message_count = len(self._mirror.items)
        self.meta.journal_seq = self._mirror.seq
        self.meta.updated_at = now_iso()
        if not self.meta.title:
            self.meta.title = title_from(first_user_text(self._mirror.items))
        write_atomic(self.store.meta_path(self.meta.name), meta_bytes(self.meta))

    def items(self) -> list[Item]:
        """What is stored now (a private copy: do not mutate)."""
        return self._mirror.items

    def update_meta(self, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self.meta, key, value)
        if self._created:
            write_atomic(self.store.meta_path(self.meta.name), meta_bytes(self.meta))

    def _compact(self) -> None:
        """Checkpoint: the journal rewritten as one line, atomically."""
        path = self.store.journal_path(self.meta.name)
        snapshot = Change(seq=self._mirror.seq, at=0, items=self._mirror.items).encode()
        write_atomic(path, snapshot)
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._lines = 1

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        if self._fd is not None:
            if self.meta.journal_seq != self._mirror.seq:
                self._finish_turn()
            os.close(self._fd)
            self._fd = None
        self._lock.release()


def meta_bytes(meta: SessionMeta) -> bytes:
    return json.dumps(meta.to_dict(), ensure_ascii=False, indent=1).encode() + b"\n"


def parse_meta(name: str, where: str, raw: bytes) -> SessionMeta:
    try:
        meta = SessionMeta.from_dict(json.loads(raw))
    except UnicodeDecodeError:
        raise CorruptSession(name, where, "not text (binary data)") from None
    except json.JSONDecodeError as exc:
        problem = "empty file" if not raw.strip() else f"not valid JSON ({exc.msg} at byte {exc.pos})"
        raise CorruptSession(name, where, problem) from None
    except (ValueError, TypeError) as exc:
        raise CorruptSession(name, where, str(exc)) from None
    meta.name = name
    return meta


def check_replay(meta: SessionMeta, where: str, data: bytes | list[bytes]) -> Replay:
    """Replay a journal and check it holds every change the meta says was stored."""
    try:
        rep = replay(data)
    except JournalError as exc:
        raise CorruptSession(meta.name, where, str(exc)) from None
    if rep.seq < meta.journal_seq:
        what = "is missing" if not data else "is truncated"
        raise CorruptSession(meta.name, where, f"the journal {what}: it ends at change {rep.seq} of {meta.journal_seq}")
    return rep
