"""The fast tier's promise, enforced: while a test of `pytest -m "not slow"` runs, starting a process (fork,
exec, spawn, a pty) or listening on a socket fails the test at once, naming what it tried."""

from __future__ import annotations

import _posixsubprocess
import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

HINT = "a test of the fast tier started {what}: mark it slow (pytest.mark.slow) or keep it in-process"


def _refuse(what: str) -> Any:
    def refused(*args: object, **kwargs: object) -> Any:
        pytest.fail(HINT.format(what=what), pytrace=True)

    return refused


# (owner, attribute, what it starts): every route Python has to a new process or a listening socket
GUARDED: list[tuple[object, str, str]] = [
    (os, "fork", "a process (os.fork)"),
    (os, "forkpty", "a process in a pty (os.forkpty)"),
    (os, "posix_spawn", "a process (os.posix_spawn)"),
    (os, "posix_spawnp", "a process (os.posix_spawnp)"),
    (os, "system", "a process (os.system)"),
    (_posixsubprocess, "fork_exec", "a process (subprocess)"),
    (subprocess, "_fork_exec", "a process (subprocess)"),
    (socket.socket, "listen", "a server (socket.listen)"),
]


@contextlib.contextmanager
def no_process_or_server() -> Iterator[None]:
    """Within: every way to start a process or a server fails the test."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in GUARDED if hasattr(owner, name)]
    try:
        for owner, name, what in GUARDED:
            if hasattr(owner, name):
                setattr(owner, name, _refuse(what))
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
