"""Output that bypasses the model, kept off swarmchat's own stdout: while an agency is built and runs with
`-m`, what anything writes to file descriptors 1 and 2 (a tool's print, a factory's banner, a library's
log, a child process) goes to a pipe, and each line of it is shown on stderr through `safe_text`, so a
terminal title or a stray byte can neither drive the terminal nor come before the reply on stdout.
swarmchat's own output goes to copies of the original descriptors."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from swarmchat.safe_text import safe_text


@contextlib.contextmanager
def diverted() -> Iterator[tuple[TextIO, TextIO]]:
    """Inside: (stdout, stderr) for swarmchat's own output; fds 1 and 2 lead to the pipe."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    out = open(saved[0], "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    err = open(saved[1], "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    read_end, write_end = os.pipe()
    os.dup2(write_end, 1)
    os.dup2(write_end, 2)
    os.close(write_end)
    reader = threading.Thread(target=_show, args=(read_end, err), name="swarmchat-diverted", daemon=True)
    reader.start()
    try:
        yield out, err
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os.dup2(saved[0], 1)  # the pipe's last writers here: the reader then sees its end
        os.dup2(saved[1], 2)
        reader.join(timeout=2)  # a thread or child still holding the pipe must not hold us
        for file in (out, err):
            with contextlib.suppress(Exception):
                file.flush()
        for fd in saved:
            os.close(fd)


def _show(read_end: int, err: TextIO) -> None:
    """Each line written to the pipe, on stderr, made safe (the last one even without its newline)."""
    held = b""
    with open(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, held = (held + chunk).split(b"\n")
            _write(err, lines)
    _write(err, [held] if held else [])


def _write(err: TextIO, lines: list[bytes]) -> None:
    if not lines:
        return
    with contextlib.suppress(Exception):
        err.write("".join(safe_text(line.decode("utf-8", "replace")) + "\n" for line in lines))
        err.flush()
