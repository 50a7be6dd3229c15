"""A swarmchat REPL in a real pseudo-terminal, seen through a VT100 emulator (tests and docs/make_demo.py)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import pexpect
import pyte
import zygote

PROMPT = re.compile(r"(\w+|…) › ")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>]|\r")


def unwrapped(text: str) -> str:
    """`text` without its whitespace: what was said, wherever the terminal or rich wrapped the line (a long
    temp path wraps it anywhere) and however it was padded. Compare both sides through it."""
    return "".join(text.split())


def wrap_tolerant(literal: str) -> re.Pattern[str]:
    """A pattern for `literal` that still matches when the line wrapped (or was padded) anywhere in it."""
    chars = [re.escape(c) for c in literal if not c.isspace()]
    return re.compile(r"\s*".join(chars) if chars else re.escape(literal))


class AnsweringScreen(pyte.HistoryScreen):
    def write_process_input(self, data: str) -> None:  # replaced per instance
        pass


class Terminal:
    """A swarmchat REPL in a real pseudo-terminal, 40 lines of 120 columns unless told otherwise.

    Output is read once and kept two ways: as text (escape codes removed) to wait for what was
    printed, and fed to a VT100 emulator (pyte) to see the screen as the user does, since
    prompt-toolkit redraws only what changed."""

    def __init__(
        self,
        *args: str,
        timeout: float = 60,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        columns: int = 120,
        lines: int = 40,
        fresh: bool = False,
    ) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "EDITOR": "true", **(env or {})}
        self.child = zygote.spawn(args, env=env, fresh=fresh, dimensions=(lines, columns), encoding="utf-8", cwd=cwd)
        self.timeout = timeout
        self.started = time.monotonic()
        self.raw = ""
        self.text = ""
        self.seen = 0  # how far `expect` has read in `text`
        self.screen = AnsweringScreen(columns, lines, history=4000)
        self.screen.write_process_input = self.child.send  # type: ignore[method-assign]  # answers cursor-position requests, as terminals do
        self.stream = pyte.Stream(self.screen)

    def _read(self, wait: float) -> None:
        try:
            chunk = self.child.read_nonblocking(65536, timeout=wait)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            raise AssertionError(f"swarmchat exited; it printed:\n{self.text[-3000:]}") from None
        self.raw += chunk
        self.text = ANSI.sub("", self.raw)
        self.stream.feed(chunk)

    def _until(self, found: Callable[[], bool], what: str, timeout: float | None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not found():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{self.display()}")
            self._read(0.05)

    def expect(self, pattern: str | re.Pattern[str], timeout: float | None = None) -> str:
        """Wait until `pattern` is printed: a literal wherever its line wrapped (`wrap_tolerant`), or a regex as
        given; returns the text printed before it."""
        wanted = wrap_tolerant(pattern) if isinstance(pattern, str) else pattern
        match: list[re.Match[str]] = []

        def found() -> bool:
            hit = wanted.search(self.text, self.seen)
            if hit:
                match.append(hit)
            return hit is not None

        self._until(found, repr(pattern), timeout)
        before = self.text[self.seen : match[0].start()]
        self.seen = match[0].end()
        return before

    def printed(self, text: str, timeout: float | None = None) -> None:
        """Wait until `text` has been printed, wherever the terminal wrapped it (whitespace ignored)."""
        wanted = "".join(text.split())
        self._until(lambda: wanted in "".join(self.text.split()), repr(text), timeout)

    def scrollback(self) -> list[str]:
        """Every line the user can scroll back to, then the screen."""
        width = self.screen.columns
        old = ["".join(line[x].data for x in range(width)).rstrip() for line in self.screen.history.top]
        return old + [line.rstrip() for line in self.screen.display]

    def on_screen(self, text: str, timeout: float | None = None) -> str:
        """Wait until `text` is on the screen, wherever its line wrapped (the toolbar is drawn after the prompt);
        returns the screen."""
        self._until(lambda: unwrapped(text) in unwrapped(self.display()), repr(text), timeout)
        return self.display()

    def display(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def prompt(self, agent: str | None = None, timeout: float | None = None) -> str:
        """Wait until the cursor sits on an input prompt (for `agent`, if given); returns the screen."""

        def ready() -> bool:
            line = self.screen.display[self.screen.cursor.y]
            hit = PROMPT.match(line)
            return hit is not None and (agent is None or hit.group(1) == agent)

        self._until(ready, f"the prompt of {agent or 'any agent'}", timeout)
        self.seen = len(self.text)
        return self.display()

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def exit(self) -> None:
        self.prompt()  # before it, the terminal is in cooked mode and would swallow Ctrl-D
        self.child.sendcontrol("d")
        self.child.expect(pexpect.EOF, timeout=30)
        self.child.close()
        assert self.child.exitstatus == 0, self.text[-2000:]

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
