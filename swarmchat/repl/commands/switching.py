"""/sessions, /new, /resume, /fork: move the chat to another session without leaving it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarmchat import lifecycle
from swarmchat.errors import UsageError
from swarmchat.names import validate_name
from swarmchat.repl.registry import command
from swarmchat.repl.switch import switch_to
from swarmchat.safe_text import say
from swarmchat.session import SessionMeta
from swarmchat.stream_view import error_line

if TYPE_CHECKING:
    from swarmchat.repl.loop import Repl

PICKER_LIMIT = 1000
"""Sessions the picker lists at most (newest first); typing filters among them."""


def other_sessions(repl: Repl) -> list[str]:
    """Session names to complete /resume with (this one left out)."""
    return [name for name in repl.store.names() if name != repl.meta.name]


@command("sessions", "", "pick a session to switch to (type to filter, Enter to switch)")
async def sessions(repl: Repl, arg: str) -> None:
    from swarmchat.repl.picker import pick

    listed, _ = repl.store.recent(PICKER_LIMIT)  # stored metas only: no history is read
    metas = [m for m in listed if isinstance(m, SessionMeta) and m.name != repl.meta.name]
    if not metas:
        repl.console.print("[dim]no other session yet; /new starts one[/dim]")
        return
    from swarmchat.store.holders import open_elsewhere

    chosen = await pick(metas, open_elsewhere(repl.store, [m.name for m in metas]))
    if chosen is not None:
        await switch_to(repl, chosen)


@command("new", "[NAME]", "start a new session (same agency and model) and switch to it")
async def new(repl: Repl, arg: str) -> None:
    name = validate_name(arg) if arg else lifecycle.fresh_name(repl.store)
    now = repl.meta
    meta = SessionMeta.fresh(
        name, agency=now.agency, agency_dir=now.agency_dir, model=now.model, base_url=now.base_url, api=now.api
    )
    await switch_to(repl, name, create=meta)


@command("resume", "NAME", "switch to the session NAME", complete=other_sessions)
async def resume(repl: Repl, arg: str) -> None:
    if not arg:
        error_line(repl.console, "give the session to switch to: /resume NAME (/sessions picks one)")
        return
    await switch_to(repl, validate_name(arg))


@command("fork", "[NAME] [--at TURN]", "copy this session (up to turn TURN) and continue in the copy")
async def fork(repl: Repl, arg: str) -> None:
    name, at = fork_arguments(arg)
    source = repl.meta.name
    if not repl.store.exists(source):
        error_line(repl.console, "nothing to fork yet: the session has no messages")
        return
    copy = lifecycle.fork(repl.store, source, name or lifecycle.fork_name(repl.store, source), at=at)
    repl.console.print(say(("forked ", "dim"), source, (" → ", "dim"), (copy.name, "bold")))
    await switch_to(repl, copy.name)


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
