"""Long output on a terminal goes through a pager, as `git log` does: `$PAGER`, else `less -FRX`.

Output that fits the screen is printed as it is (no pager started), so a short transcript never
leaves the user in `less`. An empty `PAGER` (or `cat`) turns paging off, as it does for git.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

from rich.pager import Pager

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT = "less -FRX"  # -F: quit if it fits, -R: keep colours, -X: leave the text on the screen


def pager_command() -> str | None:
    """The shell command to page through, or None to print directly."""
    chosen = os.environ.get("PAGER")
    if chosen is None:
        return DEFAULT if shutil.which("less") else None
    chosen = chosen.strip()
    return None if chosen in ("", "cat") else chosen


class ScreenPager(Pager):
    """rich's Pager for `console.pager(pager=..., styles=True)`: pages only what is taller than the screen."""

    def __init__(self, console: Console) -> None:
        self.height = console.size.height

    def show(self, content: str) -> None:
        command = pager_command()
        if command is None or content.count("\n") < self.height or not page(command, content):
            sys.stdout.write(content)
            sys.stdout.flush()


def page(command: str, content: str) -> bool:
    """Run `command` (through the shell, as git runs $PAGER) on `content`; False if it could not start."""
    env = {**os.environ}
    env.setdefault("LESS", "FRX")  # as git: colours kept when PAGER is a bare `less`
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the pager while it runs
    try:
        done = subprocess.run(command, shell=True, input=content.encode(), env=env, check=False)
    except OSError:
        return False
    finally:
        signal.signal(signal.SIGINT, previous)
    return done.returncode != 127  # 127: the shell found no such program
