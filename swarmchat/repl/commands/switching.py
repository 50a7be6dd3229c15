"""/sessions, /new, /resume, /fork: move the chat to another session without leaving it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarmchat import lifecycle
from swarmchat.errors import UsageError
from swarmchat.names import validate_name
from swarmchat.repl.registry import command
from swarmchat.safe_text import say
from swarmchat.session import SessionMeta
from swarmchat.stream_view import error_line

if TYPE_CHECKING:
    from swarmchat.repl.context import ReplContext

PICKER_LIMIT = 1000
"""Sessions the picker lists at most (newest first); typing filters among them."""


def other_sessions(ctx: ReplContext) -> list[str]:
    """Session names to complete /resume with (this one left out)."""
    return [name for name in ctx.store.names() if name != ctx.meta.name]


@command("sessions", "", "pick a session to switch to (type to filter, Enter to switch)")
async def sessions(ctx: ReplContext, arg: str) -> None:
    from swarmchat.repl.picker import pick

    listed, _ = ctx.store.recent(PICKER_LIMIT)  # stored metas only: no history is read
    metas = [m for m in listed if isinstance(m, SessionMeta) and m.name != ctx.meta.name]
    if not metas:
        ctx.console.print("[dim]no other session yet; /new starts one[/dim]")
        return
    from swarmchat.store.holders import open_elsewhere

    chosen = await pick(metas, open_elsewhere(ctx.store, [m.name for m in metas]))
    if chosen is not None:
        await ctx.switch_to(chosen)


@command("new", "[NAME]", "start a new session (same agency and model) and switch to it")
async def new(ctx: ReplContext, arg: str) -> None:
    name = validate_name(arg) if arg else lifecycle.fresh_name(ctx.store)
    now = ctx.meta
    meta = SessionMeta.fresh(
        name, agency=now.agency, agency_dir=now.agency_dir, model=now.model, base_url=now.base_url, api=now.api
    )
    await ctx.switch_to(name, create=meta)


@command("resume", "NAME", "switch to the session NAME", complete=other_sessions)
async def resume(ctx: ReplContext, arg: str) -> None:
    if not arg:
        error_line(ctx.console, "give the session to switch to: /resume NAME (/sessions picks one)")
        return
    await ctx.switch_to(validate_name(arg))


@command("fork", "[NAME] [--at TURN]", "copy this session (up to turn TURN) and continue in the copy")
async def fork(ctx: ReplContext, arg: str) -> None:
    name, at = fork_arguments(arg)
    source = ctx.meta.name
    if not ctx.store.exists(source):
        error_line(ctx.console, "nothing to fork yet: the session has no messages")
        return
    copy = lifecycle.fork(ctx.store, source, name or lifecycle.fork_name(ctx.store, source), at=at)
    ctx.console.print(say(("forked ", "dim"), source, (" → ", "dim"), (copy.name, "bold")))
    await ctx.switch_to(copy.name)


def fork_arguments(arg: str) -> tuple[str | None, int | None]:
    """`[NAME] [--at TURN]` in either order (`--at=TURN` too)."""
    words = arg.split()
    name: str | None = None
    at: str | None = None
    while words:
        word = words.pop(0)
        if word == "--at":
            if not words:
                raise UsageError("--at needs a turn number: /fork [NAME] --at 3 (-1: the last turn, unanswered)")
            at = words.pop(0)
        elif word.startswith("--at="):
            at = word.removeprefix("--at=")
        elif name is None and not word.startswith("-"):
            name = word
        else:
            raise UsageError(f"'/fork {arg}': give at most a name and --at TURN, e.g. /fork idea --at 3")
    if at is None:
        return name, None
    try:
        return name, int(at)
    except ValueError:
        raise UsageError(f"--at '{at}' is not a turn number; give one such as 3, or -1 for the last turn") from None
