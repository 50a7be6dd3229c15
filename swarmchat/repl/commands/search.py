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
    from swarmchat.repl.context import ReplContext

SHOWN = 10


@command("search", "TEXT", 'find sessions: words, "a phrase", prefix* (best first)')
async def search(ctx: ReplContext, arg: str) -> None:
    if not arg.strip():
        error_line(ctx.console, 'give something to look for: /search hotel, /search "exact phrase"')
        return
    found = await asyncio.to_thread(search_sessions, ctx.store, arg, SHOWN)
    if not found:
        ctx.console.print(say((f"no session mentions '{arg}'", "dim")))
        return
    search_view.highlighted(ctx.console, found, numbered=True)
    chosen = await pick_hit(ctx, [f.name for f in found])
    if chosen is not None:
        await ctx.switch_to(chosen)


async def pick_hit(ctx: ReplContext, names: list[str]) -> str | None:
    """Ask which hit to open (its number); Enter, or the session already open, stays."""
    while True:
        answer = (await ctx.ask(f"open which? 1-{len(names)}, Enter to stay: ")).strip()
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(names):
            name = names[int(answer) - 1]
            return None if name == ctx.meta.name else name
        error_line(ctx.console, f"'{answer}' is not one of the numbers 1 to {len(names)}; Enter stays here")
