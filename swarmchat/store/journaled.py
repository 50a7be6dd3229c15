"""The journaled session both backends share: what is stored when, whatever it is stored in.

A backend provides primitives only: a lock, reading a session's meta and log, and a `SessionLog`
that appends lines, replaces the log and writes the meta. Everything else is decided here, once:

- saves: `Mirror` turns agency-swarm's live list into the smallest change, one appended line;
- lazy creation: nothing is stored before the first item; then the log first, the meta after it
  (a crash in between leaves a bare log, which nothing lists and the next creation replaces);
- meta writes: at turn ends (and at creation, on a settings change, at close), only when the meta
  no longer describes what is stored; never on a save, so a save costs one append;
- compaction: at a turn end, once the log holds more than COMPACT_AFTER_LINES lines, it is
  replaced by one line holding the whole list (a rewrite costs the history's size: never paid
  while a reply streams);
- failures: a failed write leaves the mirror as it was, so the next save writes everything the
  agency holds, and as a checkpoint (a whole new log): whatever the failed write left cannot
  matter (a lost reply from Redis, a torn line the disk took part of);
- a log that no longer ends where this session left it (`LogMoved`: Redis evicted, expired or lost
  it in a restart or failover, or a retried append landed twice) is rewritten whole from memory,
  meta included; a session that had vanished says so once (`take_notices`);
- loading: the agency gets its own objects, parsed from JSON (the log as read at open while
  nothing was saved since, else the mirror re-encoded), never the mirror's;
- derived files: `derived/NAME.standin.json`, a cache of a session's content that releases before
  0.4 kept on this machine; nothing writes them now, but one left behind is still moved by a rename
  and removed with its session (it holds the conversation).
"""

from __future__ import annotations

import contextlib
import json
import os
from abc import ABC, abstractmethod
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from swarmchat.errors import NameTaken, SessionNotFound, StoreUnavailable
from swarmchat.names import validate_name
from swarmchat.session import Item, SessionMeta, count_turns, first_user_text, now_iso, parse_time, title_from
from swarmchat.store.base import WritesNew, lock_refusal
from swarmchat.store.encoding import check_replay, meta_bytes
from swarmchat.store.journal import Change, Mirror, Replay, dumps, replay

COMPACT_AFTER_LINES = 200
DERIVED_KINDS = ("standin.json",)  # derived files older releases kept beside a session (see the docstring)

RawLog = bytes | list[bytes]
"""A log as a backend reads it: the file's bytes, or Redis's list of lines."""


class Lock(Protocol):
    """A session's one-writer lock."""

    def acquire(self) -> bool:
        """Take it without waiting; False if a live process holds it."""
        ...

    def holder(self) -> str:
        """Who holds it, for messages."""
        ...

    def release(self) -> None: ...


class LogMoved(Exception):
    """The stored log does not end where this session last left it; `gone`: it is not there at all."""

    def __init__(self, *, gone: bool) -> None:
        super().__init__("gone" if gone else "moved")
        self.gone = gone


class SessionLog(Protocol):
    """One session's stored state, written under its lock. Each call is durable when it returns and
    raises a SwarmchatError (StoreUnavailable, CorruptSession) when it is not."""

    def append(self, lines: list[bytes]) -> None:
        """Add complete lines at the end of the log; on failure none of them is there. LogMoved
        (writing nothing) if the log does not end where this session's last write left it."""
        ...

    def replace(self, lines: list[bytes]) -> bool:
        """Make the log exactly `lines`, atomically (a new session's first write, a checkpoint);
        False if there was no log before (for an existing session: it had vanished)."""
        ...

    def write_meta(self, meta: SessionMeta) -> None:
        """Replace the meta atomically (LogMoved, writing nothing, as for `append`)."""
        ...

    def close(self) -> None:
        """Stop writing (descriptors, lock renewal); the lock is released by the session."""
        ...


class JournaledStore(WritesNew, ABC):
    """The store operations common to both backends, over each backend's primitives."""

    location: str

    # primitives ----------------------------------------------------------------------------
    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def read_meta(self, name: str) -> SessionMeta: ...

    @abstractmethod
    def read_log(self, meta: SessionMeta) -> tuple[RawLog, str]:
        """The session's log as stored, and where it is (for messages); empty if there is none."""

    @abstractmethod
    def lock(self, name: str, *, partner: Lock | None = None) -> Lock:
        """The name's lock (not yet taken); `partner` is a lock the same operation holds."""

    @abstractmethod
    def session_log(self, meta: SessionMeta, lock: Lock, rep: Replay | None) -> SessionLog:
        """The primitives of the session `meta` names, held under `lock`; `rep` is what its log
        replayed to at open (None for a session being created)."""

    @abstractmethod
    def remove(self, name: str, lock: Lock) -> bool:
        """Delete the session's stored state; False if there was none."""

    @abstractmethod
    def move(self, meta: SessionMeta, new: str, src: Lock, dst: Lock) -> None:
        """Store the session `meta` names under `new` (free, its lock held) and remove the old name."""

    def opened(self, meta: SessionMeta) -> None:
        """Called when an existing session is opened (Redis restarts its expiry)."""

    @abstractmethod
    def derived_dir(self) -> Path:
        """The directory of this machine that holds the store's derived files."""

    def forget_derived(self, name: str) -> None:
        """Remove a session's derived files (they hold its content); best effort, as they are only caches."""
        for kind in DERIVED_KINDS:
            with contextlib.suppress(OSError):
                os.unlink(self.derived_dir() / f"{name}.{kind}")

    # shared --------------------------------------------------------------------------------
    def read(self, name: str) -> tuple[SessionMeta, list[Item]]:
        meta = self.read_meta(name)
        return meta, self._replay(meta)[0].items

    def _replay(self, meta: SessionMeta) -> tuple[Replay, RawLog]:
        raw, where = self.read_log(meta)
        return check_replay(meta, where, raw), raw

    def open(self, name: str, *, create: SessionMeta | None = None) -> JournaledSession:
        name = validate_name(name)
        lock = self.lock(name)
        if not lock.acquire():
            raise lock_refusal(name, create is not None, lock.holder(), lambda: self.exists(name))
        try:
            if create is not None:
                if self.exists(name):
                    raise NameTaken(name)
                create.name = name
                return JournaledSession(create, self.session_log(create, lock, None), lock)
            meta = self.read_meta(name)
            rep, raw = self._replay(meta)
            self.opened(meta)
            return JournaledSession(meta, self.session_log(meta, lock, rep), lock, rep, raw)
        except BaseException:
            lock.release()
            raise

    def delete(self, name: str) -> None:
        """Delete a session, damaged ones included (the user may always remove what cannot be read)."""
        name = validate_name(name)
        lock = self._hold(name)
        try:
            if not self.remove(name, lock):
                raise SessionNotFound(name)
        finally:
            lock.release()
        self.forget_derived(name)

    def rename(self, old: str, new: str) -> None:
        old, new = validate_name(old), validate_name(new)
        src = self._hold(old)
        try:
            dst = self.lock(new, partner=src)
            if not dst.acquire():
                raise NameTaken(new, f"in use by {dst.holder()}")
            try:
                meta = self.read_meta(old)
                self._replay(meta)  # refuse to move a damaged session
                if self.exists(new):
                    raise NameTaken(new)
                self.move(meta, new, src, dst)
                self._move_derived(old, new)
            finally:
                dst.release()
        finally:
            src.release()

    def _move_derived(self, old: str, new: str) -> None:
        """A renamed session keeps its derived files (best effort: a cache missing is only slower)."""
        self.forget_derived(new)  # a deleted session's, should one have been left behind
        for kind in DERIVED_KINDS:
            with contextlib.suppress(OSError):
                os.replace(self.derived_dir() / f"{old}.{kind}", self.derived_dir() / f"{new}.{kind}")

    def _hold(self, name: str) -> Lock:
        """Take an existing session's lock for a one-shot change (SessionLocked if held)."""
        lock = self.lock(name)
        if not lock.acquire():
            raise lock_refusal(name, False, lock.holder(), lambda: self.exists(name))
        return lock


class JournaledSession:
    """An open session (see the module's docstring for what is written when)."""

    def __init__(
        self,
        meta: SessionMeta,
        log: SessionLog,
        lock: Lock,
        rep: Replay | None = None,
        raw: RawLog | None = None,
    ) -> None:
        """`rep` is what the stored log replayed to, with the `raw` log it was parsed from; both None for
        a session being created."""
        self.meta = meta
        self._log = log
        self._lock = lock
        self._created = rep is not None
        rep = rep or Replay.empty()
        self._mirror = Mirror(rep.items, rep.seq)
        self._lines = rep.lines
        self._raw = raw
        self._raw_seq = rep.seq
        self._rewrite = not self._created  # the next write replaces the log (creation, after a failure)
        self._written = _meta_key(meta) if self._created else b""
        self._turn_seq = rep.seq if self._created else -1  # the log's seq the meta's time of last use is for
        self._notices: list[str] = []

    def load(self, start: int = 0) -> list[Item]:
        raw, self._raw = self._raw, None
        if not start and raw is not None and self._mirror.seq == self._raw_seq:  # nothing saved since open
            return replay(raw).items
        items: list[Item] = json.loads(dumps(self._mirror.items[start:]))
        return items

    def items(self) -> list[Item]:
        """What is stored now (a private copy: do not mutate)."""
        return self._mirror.items

    def save(self, live: list[Item]) -> None:
        self._write(self._mirror.diff(live))

    def begin_turn(self) -> None:
        self._mirror.stable = len(self._mirror.items)

    def end_turn(self, live: list[Item]) -> None:
        self._write(self._mirror.diff(live, full=True))
        if self._created and self._lines > COMPACT_AFTER_LINES:
            with contextlib.suppress(StoreUnavailable):  # it only saves space: tried again next turn
                self._compact()
        self._finish()

    def write_all(self, items: list[Item]) -> None:
        """Store a whole list as a fresh session (fork, import)."""
        self._write(self._mirror.diff(items, full=True))
        self._finish()

    def update_meta(self, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self.meta, key, value)
        self._finish()

    def close(self) -> None:
        """Write what the meta must say, then release the lock (StoreUnavailable if the write fails)."""
        try:
            self._finish()
        finally:
            try:
                self._log.close()
            finally:
                self._lock.release()

    def take_notices(self) -> list[str]:
        """What the store did that the user should know (a vanished session stored again), once."""
        notices, self._notices = self._notices, []
        return notices

    def _write(self, change: Change | None) -> None:
        if change is None:
            return
        try:
            self._put(change, self._rewrite)
        except LogMoved:  # whatever the log holds now, the whole history replaces it
            self._put(change, True)
            self._restored()
            self._finish()
        if not self._created:
            self._created = True
            self._finish()

    def _restored(self) -> None:
        """After a rewrite because the log had moved: the meta may be gone with it, so it is written again."""
        self._written = b""

    def _replace(self, lines: list[bytes]) -> None:
        """Replace the log; an existing session whose log had vanished says so, once."""
        if not self._log.replace(lines) and self._created:
            self._notices.append(
                f"session '{self.meta.name}' had vanished from the store (expired, evicted, or lost in a restart "
                f"or failover); stored again from this window"
            )

    def _put(self, change: Change, rewrite: bool) -> None:
        if rewrite:  # the whole list as one line, replacing whatever the log holds
            change = Change(seq=change.seq, at=0, items=self._mirror.items[: change.at] + change.items)
        line = change.encode()
        self._rewrite = True  # until this write is known to have succeeded
        if rewrite:
            self._replace([line])
        else:
            self._log.append([line])
        self._rewrite = False
        self._mirror.record(change, line)
        self._lines = 1 if rewrite else self._lines + 1

    def _compact(self) -> None:
        """Checkpoint: the log replaced by one line holding the whole list."""
        self._replace([Change(seq=self._mirror.seq, at=0, items=self._mirror.items).encode()])
        self._lines = 1

    def _finish(self) -> None:
        """Write the meta if it no longer describes what is stored (count, seq, title, settings)."""
        if not self._created:
            return
        meta = self.meta
        meta.message_count = len(self._mirror.items)
        meta.turn_count = count_turns(self._mirror.items)
        meta.journal_seq = self._mirror.seq
        if not meta.title:
            meta.title = title_from(first_user_text(self._mirror.items))
        key = _meta_key(meta)
        if key == self._written:
            return
        used = meta.journal_seq != self._turn_seq
        meta.updated_at = now_iso() if used else _moment_after(meta.updated_at)
        try:
            self._log.write_meta(meta)
        except LogMoved:
            self._compact()
            self._restored()
            self._log.write_meta(meta)
        self._written = key
        self._turn_seq = meta.journal_seq


def _moment_after(stamp: str) -> str:
    """The time of last use is the last turn's: a change of the meta alone (tags, settings, a confirmed
    SPEC) keeps it, moved by one millisecond so that the Redis index's score (which tells catalogs what
    changed) still moves."""
    try:
        return (parse_time(stamp) + timedelta(milliseconds=1)).isoformat(timespec="milliseconds")
    except (ValueError, OverflowError):
        return now_iso()


def _meta_key(meta: SessionMeta) -> bytes:
    """The meta's content apart from its time of last use."""
    stamp = meta.updated_at
    meta.updated_at = ""
    try:
        return meta_bytes(meta)
    finally:
        meta.updated_at = stamp
