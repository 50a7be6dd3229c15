"""One-writer locks for the file store: flock(2) on a small file that also names its holder.

The kernel drops a flock when its process dies (kill -9 included), so a dead holder's lock is
taken over without guessing from pids; the file's content only tells the user who holds it.
A symlink or anything but a regular file planted as the lock is refused (`NotAFile`), never
written through.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from pathlib import Path

from swarmchat.store.datafiles import NotAFile, open_file, read_file


def holder_line(info: dict[str, object]) -> str:
    """'pid 123 on host box since 12:00:01' from a lock's recorded holder."""
    since = info.get("since")
    when = time.strftime(" since %H:%M:%S", time.localtime(since)) if isinstance(since, float) else ""
    return f"pid {info.get('pid', '?')} on host {info.get('host', '?')}{when}"


def holder_info() -> dict[str, object]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if a live process holds it."""
        while True:
            fd = open_file(self.path, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            try:
                same = os.lstat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # else a releasing holder unlinked the file between our open and flock
                break
            os.close(fd)
        with contextlib.suppress(OSError):  # who holds it is only for messages: a full disk must not stop the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder_info()).encode(), 0)
        self._fd = fd
        return True

    def holder(self) -> str:
        try:
            info = json.loads(read_file(self.path) or b"{}")
        except (OSError, ValueError, NotAFile):
            info = {}
        return holder_line(info) if info else "another swarmchat process"

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):  # the entry itself: a link put in its place is not followed
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None
