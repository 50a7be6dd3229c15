"""The data dir's files, opened only as what swarmchat made: regular files, never through a link.

A symlink or a directory planted where a session's file belongs must not let swarmchat read or
write anything else (as root, a lock written through a link would overwrite a system file), so
every open uses O_NOFOLLOW and checks the opened file is a regular one; such an entry is reported
as `NotAFile`, which the store turns into a damaged session. O_NONBLOCK keeps a planted FIFO
from hanging an open.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class NotAFile(Exception):
    """An entry of the data dir that is not a regular file swarmchat could have made."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "is a symlink, not a file"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    return "is not a regular file"


def open_file(path: Path, flags: int, mode: int = 0o600) -> int:
    """`os.open` that refuses a symlink (never followed) and anything but a regular file."""
    try:
        fd = os.open(path, flags | NOFOLLOW, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EOPNOTSUPP):
            try:
                found = os.lstat(path).st_mode
            except OSError:
                raise exc from None
            if not stat.S_ISREG(found):
                raise NotAFile(path, _kind(found)) from None
        raise
    found = os.fstat(fd).st_mode
    if not stat.S_ISREG(found):
        os.close(fd)
        raise NotAFile(path, _kind(found))
    return fd


def read_file(path: Path) -> bytes | None:
    """The file's bytes, or None if there is no such entry."""
    try:
        fd = open_file(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def write_fully(fd: int, data: bytes) -> None:
    """Write all of `data` (a disk filling up can take part of a write before it fails)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_atomic(path: Path, data: bytes) -> None:
    """Replace the entry `path` with a file holding `data`: a crash leaves the old or the new file, a
    failure (a full disk) leaves the old one and no temporary file. A link at `path` is replaced,
    never written through."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)  # left by a killed process that had our pid
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            write_fully(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if stat.S_ISDIR(_lstat_mode(path)):
            raise NotAFile(path, "is a directory, not a file")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def _lstat_mode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return stat.S_IFREG


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: Path) -> bool:
    """Remove the entry itself (a link is removed, not followed; an empty directory planted where
    a file belongs is removed too). False if there was none."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        try:
            os.rmdir(path)
        except OSError as exc:
            if exc.errno == errno.ENOTEMPTY:
                raise NotAFile(path, "is a directory holding files; remove it by hand") from None
            raise
    return True
