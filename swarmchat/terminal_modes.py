"""Terminal settings while a reply streams, and the keys typed meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Iterator

ESC = 0x1B
ESC_ALONE_AFTER = 0.1
"""Seconds without a following byte after which an ESC is the Esc key, not the start of a sequence
(an arrow key's bytes arrive together; the user's next key does not come that fast)."""


@contextlib.contextmanager
def streaming_input() -> Iterator[None]:
    """While a reply is drawn: Ctrl-C neither echoes `^C` into it nor makes the kernel drop output
    already written (which would leave the live region half erased), and keys typed ahead are not
    echoed over it; they wait for the next prompt. A no-op when stdin is not a terminal."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError):  # not a terminal (or not POSIX)
        yield
        return
    quiet = list(saved)
    quiet[3] = (quiet[3] & ~(termios.ECHO | termios.ECHOCTL)) | termios.NOFLSH
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


class TypedKeys:
    """The bytes typed while a reply streams, less a lone Esc (which stopped it)."""

    def __init__(self, on_escape: Callable[[], object]) -> None:
        self.data = bytearray()
        self.on_escape = on_escape
        self._timer: asyncio.TimerHandle | None = None

    def add(self, chunk: bytes, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:  # more bytes came: that ESC began a sequence (an arrow key...)
            self._timer.cancel()
            self._timer = None
        self.data += chunk
        if self.data and self.data[-1] == ESC:
            self._timer = loop.call_later(ESC_ALONE_AFTER, self._escape)

    def _escape(self) -> None:
        self._timer = None
        del self.data[-1]
        self.on_escape()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


@contextlib.contextmanager
def watching_keys(on_escape: Callable[[], object]) -> Iterator[TypedKeys]:
    """While a reply streams, read what is typed (not echoed): a lone Esc calls `on_escape`; every
    other byte is kept in the returned `TypedKeys` for the next prompt. Ctrl-C still signals. Only
    on a terminal, inside a running event loop; elsewhere nothing is read."""
    typed = TypedKeys(on_escape)
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
        loop = asyncio.get_running_loop()
    except (ImportError, OSError, ValueError, RuntimeError):
        yield typed
        return
    raw = list(saved)
    raw[3] = (raw[3] & ~(termios.ECHO | termios.ECHOCTL | termios.ICANON)) | termios.NOFLSH
    raw[6] = list(raw[6])
    raw[6][termios.VMIN] = 1
    raw[6][termios.VTIME] = 0

    def readable() -> None:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b""
        if chunk:
            typed.add(chunk, loop)
        else:  # the terminal is gone
            loop.remove_reader(fd)

    termios.tcsetattr(fd, termios.TCSANOW, raw)
    loop.add_reader(fd, readable)
    try:
        yield typed
    finally:
        loop.remove_reader(fd)
        typed.stop()
        with contextlib.suppress(OSError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)
