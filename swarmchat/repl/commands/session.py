"""/history, /undo, /retry, /rename, /export, /clear: the session's history and name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from swarmchat.attachments import shown_text
from swarmchat.bound import Message
from swarmchat.item_view import draw
from swarmchat.names import validate_name
from swarmchat.repl.lines import one_line
from swarmchat.repl.registry import command
from swarmchat.safe_text import say
from swarmchat.session import Item, count_turns
from swarmchat.stream_view import error_line
from swarmchat.transcript import turns
from swarmchat.words import counted

if TYPE_CHECKING:
    from swarmchat.repl.context import ReplContext


@command("history", "[N]", "show the last N turns (default 5)")
async def history(ctx: ReplContext, arg: str) -> None:
    count = 5
    if arg:
        if not arg.isdigit():
            error_line(ctx.console, f"'/history {arg}': give a number of turns, e.g. /history 10")
            return
        count = int(arg)
    shown = [entry for turn in turns(ctx.items())[-count:] for entry in turn] if count else []
    draw(ctx.console, shown)


@command("undo", "", "remove the last turn from the session")
async def undo(ctx: ReplContext, arg: str) -> None:
    asked = await drop_last_turn(ctx)
    if asked is not None:
        ctx.console.print(say((f"removed the last turn: {one_line(shown_text(asked.get('content')))}", "dim")))


@command("retry", "", "ask the last message again")
async def retry(ctx: ReplContext, arg: str) -> None:
    binding = await ctx.ready()
    items = binding.live_items()
    start = last_user_index(items)
    if start is None:
        error_line(ctx.console, "nothing to retry: the session has no messages")
        return
    agent = items[start].get("agent")
    asked = await drop_last_turn(ctx)
    if asked is not None:
        content = asked.get("content")
        ctx.console.print(say((f"asking again: {one_line(shown_text(content))}", "dim")))
        # the same message again, with the files it carried
        message: Message = content if isinstance(content, str) else [{"role": "user", "content": content}]
        await ctx.turn(binding, message, agent if isinstance(agent, str) else None)


@command("rename", "NEW", "rename this session")
async def rename(ctx: ReplContext, arg: str) -> None:
    if not arg:
        error_line(ctx.console, "give the new name: /rename NEW")
        return
    new = validate_name(arg)
    old = ctx.meta.name
    if ctx.store.exists(new):
        error_line(ctx.console, f"a session named '{new}' already exists; pick another name")
        return
    await ctx.rename(new)
    ctx.console.print(say(("renamed ", "dim"), old, (" → ", "dim"), (new, "bold")))


@command("export", "[FILE]", "write the session to a new JSON file (default NAME.json)")
async def export(ctx: ReplContext, arg: str) -> None:
    from swarmchat.files_out import write_new_file
    from swarmchat.lifecycle import export_text

    name = ctx.meta.name
    items = ctx.items()  # what the window holds: the same as stored, or more when the store failed
    if not items:
        error_line(ctx.console, "nothing to export yet: the session has no messages")
        return
    path = Path(arg or f"{name}.json").expanduser()
    write_new_file(path, export_text(ctx.meta, items).encode("utf-8"))
    ctx.console.print(say(("exported to ", "dim"), str(path)))


@command("clear", "", "start the session over (asks first)")
async def clear(ctx: ReplContext, arg: str) -> None:
    binding = await ctx.ready()
    items = binding.live_items()
    if not items:
        ctx.console.print("[dim]the session is already empty[/dim]")
        return
    if not await ctx.confirm(f"Delete {_all(count_turns(items))} of '{ctx.meta.name}'? [y/N] "):
        ctx.console.print("[dim]nothing was changed[/dim]")
        return
    binding.set_items([])
    ctx.console.print("[dim]the session starts over[/dim]")


def _all(turns: int) -> str:
    return "the only turn" if turns == 1 else f"all {counted(turns, 'turn')}"


def last_user_index(items: list[Item]) -> int | None:
    """Where the last turn starts: the last message the user typed."""
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if item.get("role") == "user" and item.get("callerAgent") is None and item.get("type") in (None, "message"):
            return index
    return None


async def drop_last_turn(ctx: ReplContext) -> Item | None:
    """Remove the last turn; returns the message the user had sent, or None if there was nothing."""
    binding = await ctx.ready()
    items = list(binding.live_items())
    start = last_user_index(items)
    if start is None:
        error_line(ctx.console, "nothing to undo: the session has no messages")
        return None
    asked = items[start]
    binding.set_items(items[:start])
    return asked


@command("tag", "[TAG...] [--remove]", "tag this session (list --tag finds it); alone: show its tags")
async def tag(ctx: ReplContext, arg: str) -> None:
    from swarmchat.lifecycle import retag

    words = arg.split()
    remove = any(word in ("--remove", "-r") for word in words)
    tags = [word for word in words if word not in ("--remove", "-r")]
    if tags:
        retag(ctx, tags, remove=remove)
    elif remove:
        error_line(ctx.console, "give the tags to remove: /tag TAG... --remove")
        return
    shown = " ".join(f"#{t}" for t in ctx.meta.tags)
    later = "" if ctx.store.exists(ctx.meta.name) else "  (stored with the session's first message)"
    ctx.console.print(say((ctx.meta.name, "bold"), ": ", shown or ("no tags", "dim"), (later, "dim")))
