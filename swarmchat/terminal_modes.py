"""Terminal settings while a reply streams."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator


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
