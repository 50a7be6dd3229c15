"""`show NAME --follow`: the transcript as `show` prints it, then each item as another process stores it.

Read-only and lock-free (`store/tail.py` polls the journal); never imports agency-swarm. Ends on
Ctrl-C (exit 0), or when the session goes: renamed (one line naming the new name, exit 0) or
deleted (one error line, exit 1).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from swarmchat.errors import SessionNotFound, SwarmchatError
from swarmchat.item_view import markdown_lines
from swarmchat.session import Item, SessionMeta, count_turns
from swarmchat.store import SessionStore
from swarmchat.transcript import entries
from swarmchat.words import counted

POLL_SECONDS = 0.1
"""How often the journal is checked: one stat (files) or one round trip (Redis)."""


def follow(store: SessionStore, name: str, out: TextIO | None = None, *, interval: float = POLL_SECONDS) -> int:
    """Print the session, then follow it until Ctrl-C or until it goes. Returns the exit code."""
    from swarmchat.store.tail import open_tail

    out = out or sys.stdout
    tail = open_tail(store, name)
    view = _View(out, tail.meta)
    view.start(tail.items)
    shown = len(tail.items)
    try:
        while True:
            time.sleep(interval)
            try:
                first = tail.poll()
            except SessionNotFound:
                return _gone(store, tail.meta, out)
            if first is None:
                continue
            if first < shown:
                view.taken_back(shown - first)
                shown = first
            view.more(tail.items[:shown], tail.items[shown:])
            shown = len(tail.items)
    except KeyboardInterrupt:
        return 0


def _gone(store: SessionStore, meta: SessionMeta, out: TextIO) -> int:
    """The session is no longer under its name: renamed (found by its creation time) or deleted."""
    out.flush()
    for other in store.names():
        try:
            found = store.read_meta(other)
        except SwarmchatError:
            continue
        if found.created_at == meta.created_at and found.name != meta.name:
            sys.stderr.write(
                f"swarmchat: '{meta.name}' was renamed to '{found.name}'; follow it with: "
                f"swarmchat show {found.name} --follow\n"
            )
            return 0
    raise SessionGone(f"session '{meta.name}' was deleted; nothing more to follow")


class SessionGone(SwarmchatError):
    """The followed session was deleted (or expired) while it was followed: a run-time end, exit 1."""

    exit_code = 1


class _View:
    """`show`'s two renderings: rich on a terminal, Markdown through a pipe, an item at a time."""

    def __init__(self, out: TextIO, meta: SessionMeta) -> None:
        self.out = out
        self.meta = meta
        self.console = None
        if out.isatty():
            import os

            from rich.console import Console

            self.console = Console(file=out, highlight=False, no_color="NO_COLOR" in os.environ or None)

    def start(self, items: list[Item]) -> None:
        from swarmchat.render import untrusted_note

        if self.console is not None:
            from swarmchat.render import transcript

            transcript(self.console, self.meta, items)
        else:
            from swarmchat.transcript import to_markdown

            self.out.write(to_markdown(self.meta.title or self.meta.name, items, note=untrusted_note(self.meta)))
            self.out.flush()

    def more(self, before: list[Item], new: list[Item]) -> None:
        """Items stored after `before`, numbered on from its turns."""
        added = entries(new, turn=count_turns(before))
        if not added:
            return
        if self.console is not None:
            from swarmchat.item_view import draw

            draw(self.console, added, full=True)
        else:
            self.out.write("\n" + "\n".join(markdown_lines(added)).rstrip() + "\n")
            self.out.flush()

    def taken_back(self, count: int) -> None:
        """Stored items were replaced (an undo, a retry, a compaction of the history)."""
        line = f"↶ the last {counted(count, 'stored item')} {'was' if count == 1 else 'were'} taken back or replaced"
        if self.console is not None:
            from swarmchat.safe_text import text_line

            self.console.print(text_line(line, "dim"))
        else:
            self.out.write(f"\n> {line}\n")
            self.out.flush()
