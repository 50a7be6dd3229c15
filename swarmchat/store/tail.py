"""Reading a session as another process writes it (`show --follow`): never a lock, never a write.

A tail reads the journal once, then polls cheaply for what was added: the file store compares the
journal's inode and size (one `stat`) and reads only the new bytes; Redis asks the log's length
(one round trip) and reads only the new lines. A replaced journal (a compaction, a rewrite after a
failed write, a rename's new copy) is read again whole, once. Storage only: nothing of the screen.
"""

from __future__ import annotations

import os
from typing import Protocol

from swarmchat.errors import CorruptSession, SessionNotFound
from swarmchat.session import Item, SessionMeta
from swarmchat.store.base import SessionStore
from swarmchat.store.datafiles import open_file
from swarmchat.store.encoding import check_replay
from swarmchat.store.journal import Change, JournalError, parse_line, replay


class Tail(Protocol):
    meta: SessionMeta
    items: list[Item]
    """The stored list as of the last poll (the tail's own copy)."""

    def poll(self) -> int | None:
        """Take in what was stored since the last poll: the first index of `items` that changed, or
        None if nothing did. SessionNotFound once the session is gone (deleted, renamed, expired)."""
        ...


def open_tail(store: SessionStore, name: str) -> Tail:
    """Read the session `name` now (SessionNotFound, CorruptSession as `show`) and follow it."""
    from swarmchat.store.files import FileStore

    if isinstance(store, FileStore):
        return FileTail(store, name)
    from swarmchat.store.redis import RedisStore

    assert isinstance(store, RedisStore), type(store)
    return RedisTail(store, name)


class _Applied:
    """The list as replayed so far and how to take in new journal lines or a whole new journal."""

    name: str
    where: str
    items: list[Item]
    seq: int

    def _apply(self, lines: list[bytes]) -> int | None:
        """Apply appended lines; None if they do not follow on (the journal was replaced meanwhile)."""
        first = len(self.items)
        changes: list[Change] = []
        try:
            for number, line in enumerate(lines, 1):
                changes.append(parse_line(line, number))
        except JournalError:
            return None
        seq = self.seq
        for change in changes:
            if change.seq != seq + 1 or change.at > len(self.items):
                return None
            seq = change.seq
        for change in changes:
            del self.items[change.at :]
            self.items.extend(change.items)
            first = min(first, change.at)
        self.seq = seq
        return first

    def _whole(self, data: bytes | list[bytes]) -> int | None:
        """The journal read whole again: where the new list first differs from the one held."""
        try:
            rep = replay(data)
        except JournalError as exc:
            raise CorruptSession(self.name, self.where, str(exc)) from None
        old, self.items, self.seq = self.items, rep.items, rep.seq
        same = 0
        for mine, theirs in zip(old, rep.items, strict=False):
            if mine != theirs:
                break
            same += 1
        return None if same == len(old) == len(rep.items) else same


class FileTail(_Applied):
    def __init__(self, store: object, name: str) -> None:
        from swarmchat.store.files import FileStore

        assert isinstance(store, FileStore)
        self.store = store
        self.name = name
        self.meta = store.read_meta(name)
        self.path = store.journal_path(self.meta.name)
        self.where = str(self.path)
        data, self.inode = self._read()
        rep = check_replay(self.meta, self.where, data)
        self.items, self.seq, self.offset = rep.items, rep.seq, rep.good_bytes

    def _read(self, start: int = 0) -> tuple[bytes, int]:
        """The journal's bytes from `start`, and its inode (b"" and 0 if there is none)."""
        with self.store.guard(self.name, self.path, "read"):
            try:
                fd = open_file(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return b"", 0
            try:
                inode = os.fstat(fd).st_ino
                chunks = []
                while chunk := os.pread(fd, 1 << 20, start):
                    chunks.append(chunk)
                    start += len(chunk)
                return b"".join(chunks), inode
            finally:
                os.close(fd)

    def poll(self) -> int | None:
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if not os.path.lexists(self.store.meta_path(self.name)):
            raise SessionNotFound(self.name)
        if st is None:
            return None  # being deleted (the journal goes first): the meta follows
        if st.st_ino == self.inode and st.st_size == self.offset:
            return None
        if st.st_ino == self.inode and st.st_size > self.offset:
            data, inode = self._read(self.offset)
            if inode == self.inode:
                complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits for the next poll
                if not complete:
                    return None
                first = self._apply(complete.split(b"\n")[:-1])
                if first is not None:
                    self.offset += len(complete)
                    return first
        data, self.inode = self._read()
        self.offset = len(data) - len(data.rsplit(b"\n", 1)[-1]) if data else 0
        return self._whole(data[: self.offset])


class RedisTail(_Applied):
    def __init__(self, store: object, name: str) -> None:
        from swarmchat.store.redis import RedisStore

        assert isinstance(store, RedisStore)
        self.store = store
        self.name = name
        self.meta = store.read_meta(name)
        self.log_key, self.meta_key = store.keys.log(self.meta.name), store.keys.meta(self.meta.name)
        data, self.where = store.read_log(self.meta)
        assert isinstance(data, list)
        rep = check_replay(self.meta, self.where, data)
        self.items, self.seq, self.length = rep.items, rep.seq, len(data)

    def poll(self) -> int | None:
        client = self.store.client

        def length() -> list[int]:
            pipe = client.pipeline(transaction=False)
            pipe.exists(self.meta_key)
            pipe.llen(self.log_key)
            return [int(n) for n in pipe.execute()]

        exists, count = self.store.call(length)
        if not exists:
            raise SessionNotFound(self.name)
        if count == self.length:
            return None
        if count > self.length:
            start = self.length
            lines = [_as_bytes(line) for line in self.store.call(lambda: client.lrange(self.log_key, start, -1))]
            first = self._apply(lines)
            if first is not None:
                self.length += len(lines)
                return first
        everything = [_as_bytes(line) for line in self.store.call(lambda: client.lrange(self.log_key, 0, -1))]
        self.length = len(everything)
        return self._whole(everything)


def _as_bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
