"""/history, /undo, /retry, /rename, /export, /clear: the session's history and name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession

from swarmchat.attachments import shown_text
from swarmchat.bound import Message
from swarmchat.errors import SwarmchatError
from swarmchat.item_view import draw
from swarmchat.names import validate_name
from swarmchat.repl import screen
from swarmchat.repl.lines import one_line
from swarmchat.repl.registry import command
from swarmchat.safe_text import say
from swarmchat.session import Item, count_turns
from swarmchat.stream_view import error_line
from swarmchat.transcript import turns
from swarmchat.words import counted

if TYPE_CHECKING:
    from swarmchat.repl.loop import Repl


@command("history", "[N]", "show the last N turns (default 5)")
async def history(repl: Repl, arg: str) -> None:
    count = 5
    if arg:
        if not arg.isdigit():
            error_line(repl.console, f"'/history {arg}': give a number of turns, e.g. /history 10")
            return
        count = int(arg)
    shown = [entry for turn in turns(repl.items())[-count:] for entry in turn] if count else []
    draw(repl.console, shown)


@command("undo", "", "remove the last turn from the session")
async def undo(repl: Repl, arg: str) -> None:
    asked = await drop_last_turn(repl)
    if asked is not None:
        repl.console.print(say((f"removed the last turn: {one_line(shown_text(asked.get('content')))}", "dim")))


@command("retry", "", "ask the last message again")
async def retry(repl: Repl, arg: str) -> None:
    binding = await repl.ready()
    items = binding.live_items()
    start = last_user_index(items)
    if start is None:
        error_line(repl.console, "nothing to retry: the session has no messages")
        return
    agent = items[start].get("agent")
    asked = await drop_last_turn(repl)
    if asked is not None:
        content = asked.get("content")
        repl.console.print(say((f"asking again: {one_line(shown_text(content))}", "dim")))
        # the same message again, with the files it carried
        message: Message = content if isinstance(content, str) else [{"role": "user", "content": content}]
        await repl.turn(binding, message, agent if isinstance(agent, str) else None)


@command("rename", "NEW", "rename this session")
async def rename(repl: Repl, arg: str) -> None:
    if not arg:
        error_line(repl.console, "give the new name: /rename NEW")
        return
    new = validate_name(arg)
    live = (await repl.ready()).live
    store = repl.store
    old = live.meta.name
    if store.exists(new):
        error_line(repl.console, f"a session named '{new}' already exists; pick another name")
        return
    existed = store.exists(old)  # a session without messages yet is only a reserved name
    meta = replace(live.meta, name=new)
    live.session.close()
    try:
        if existed:
            store.rename(old, new)
        renamed = store.open(new) if existed else store.open(new, create=meta)
    except SwarmchatError:
        live.switch(store.open(old) if existed else store.open(old, create=replace(meta, name=old)))
        raise
    live.switch(renamed)
    screen.use_history(repl.prompt, screen.move_history(old, new, repl.history_failed))
    repl.console.print(say(("renamed ", "dim"), old, (" → ", "dim"), (new, "bold")))


@command("export", "[FILE]", "write the session to a new JSON file (default NAME.json)")
async def export(repl: Repl, arg: str) -> None:
    from swarmchat.files_out import write_new_file
    from swarmchat.lifecycle import export_text

    name = repl.meta.name
    items = repl.items()  # what the window holds: the same as stored, or more when the store failed
    if not items:
        error_line(repl.console, "nothing to export yet: the session has no messages")
        return
    path = Path(arg or f"{name}.json").expanduser()
    write_new_file(path, export_text(repl.meta, items).encode("utf-8"))
    repl.console.print(say(("exported to ", "dim"), str(path)))


@command("clear", "", "start the session over (asks first)")
async def clear(repl: Repl, arg: str) -> None:
    binding = await repl.ready()
    items = binding.live_items()
    if not items:
        repl.console.print("[dim]the session is already empty[/dim]")
        return
    question = f"Delete {_all(count_turns(items))} of '{repl.meta.name}'? [y/N] "
    try:
        answer = await PromptSession[str]().prompt_async(question)
    except (KeyboardInterrupt, EOFError):
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        repl.console.print("[dim]nothing was changed[/dim]")
        return
    binding.set_items([])
    repl.console.print("[dim]the session starts over[/dim]")


def _all(turns: int) -> str:
    return "the only turn" if turns == 1 else f"all {counted(turns, 'turn')}"


def last_user_index(items: list[Item]) -> int | None:
    """Where the last turn starts: the last message the user typed."""
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if item.get("role") == "user" and item.get("callerAgent") is None and item.get("type") in (None, "message"):
            return index
    return None


async def drop_last_turn(repl: Repl) -> Item | None:
    """Remove the last turn; returns the message the user had sent, or None if there was nothing."""
    binding = await repl.ready()
    items = list(binding.live_items())
    start = last_user_index(items)
    if start is None:
        error_line(repl.console, "nothing to undo: the session has no messages")
        return None
    asked = items[start]
    binding.set_items(items[:start])
    return asked


@command("tag", "[TAG...] [--remove]", "tag this session (list --tag finds it); alone: show its tags")
async def tag(repl: Repl, arg: str) -> None:
    from swarmchat.lifecycle import retag

    words = arg.split()
    remove = any(word in ("--remove", "-r") for word in words)
    tags = [word for word in words if word not in ("--remove", "-r")]
    if tags:
        retag(repl.live.session, tags, remove=remove)
    elif remove:
        error_line(repl.console, "give the tags to remove: /tag TAG... --remove")
        return
    shown = " ".join(f"#{t}" for t in repl.meta.tags)
    later = "" if repl.store.exists(repl.meta.name) else "  (stored with the session's first message)"
    repl.console.print(say((repl.meta.name, "bold"), ": ", shown or ("no tags", "dim"), (later, "dim")))
