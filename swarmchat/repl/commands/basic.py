"""/help, /exit, /copy: the REPL itself."""

from __future__ import annotations

import base64
import sys
from typing import TYPE_CHECKING

from swarmchat.repl.registry import command, show_help
from swarmchat.session import Item, item_text
from swarmchat.stream_view import error_line

if TYPE_CHECKING:
    from swarmchat.repl.context import ReplContext


@command("help", "", "show this help")
async def help_(ctx: ReplContext, arg: str) -> None:
    show_help(ctx.console)


@command("exit", "", "leave (Ctrl-D does too)", aliases=("quit",))
async def exit_(ctx: ReplContext, arg: str) -> bool:
    return False


@command("copy", "", "copy the last reply to the clipboard (OSC 52, works over ssh)")
async def copy(ctx: ReplContext, arg: str) -> None:
    text = last_reply(ctx.items())
    if not text:
        error_line(ctx.console, "nothing to copy yet: no reply in this session")
        return
    payload = base64.b64encode(text.encode()).decode()
    sys.stdout.write(f"\x1b]52;c;{payload}\x07")
    sys.stdout.flush()
    ctx.console.print(f"[dim]copied the last reply ({len(text)} characters)[/dim]")


def last_reply(items: list[Item]) -> str:
    for item in reversed(items):
        if item.get("role") == "assistant" and item.get("callerAgent") is None:
            text = item_text(item)
            if text:
                return text
    return ""
