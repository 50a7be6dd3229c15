"""/search: the same ranked sessions as `swarmchat search`, without leaving the chat."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from swarmchat import search_view
from swarmchat.repl.registry import command
from swarmchat.safe_text import say
from swarmchat.store.search import search_sessions
from swarmchat.stream_view import error_line

if TYPE_CHECKING:
    from swarmchat.repl.loop import Repl

SHOWN = 10


@command("search", "TEXT", 'find sessions: words, "a phrase", prefix* (best first)')
async def search(repl: Repl, arg: str) -> None:
    if not arg.strip():
        error_line(repl.console, 'give something to look for: /search hotel, /search "exact phrase"')
        return
    found = await asyncio.to_thread(search_sessions, repl.store, arg, SHOWN)
    if not found:
        repl.console.print(say((f"no session mentions '{arg}'", "dim")))
        return
    search_view.highlighted(repl.console, found)
