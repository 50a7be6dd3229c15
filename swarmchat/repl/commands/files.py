"""/attach, /detach: files that go with the next message (see swarmchat.attachments).

A file is read and checked when it is attached, so a bad one is refused at once; what is pending
shows in the toolbar and goes with the next message sent. It stays pending until a message carrying
it reaches the agency (see `Repl.send`).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit.completion import PathCompleter

from swarmchat.attachments import files_count, human_size, read_attachments
from swarmchat.errors import UsageError
from swarmchat.repl.registry import command
from swarmchat.safe_text import say
from swarmchat.stream_view import error_line

if TYPE_CHECKING:
    from swarmchat.repl.context import ReplContext


@command(
    "attach",
    "[PATH...]",
    "send files with the next message (images, PDFs, text); alone: list them",
    complete=PathCompleter(expanduser=True),
)
async def attach(ctx: ReplContext, arg: str) -> None:
    if not arg:
        show_pending(ctx)
        return
    try:
        paths = shlex.split(arg)
    except ValueError as exc:
        error_line(ctx.console, f"'/attach {arg}': {exc}; quote a path with spaces as 'my file.pdf'")
        return
    known = {f.path for f in ctx.pending}
    given = list(dict.fromkeys(str(Path(p).expanduser()) for p in paths))
    for path in given:
        if path in known:
            ctx.console.print(say(("already attached: ", "dim"), path))
    fresh = [p for p in given if p not in known]
    try:
        added = read_attachments(fresh, ctx.pending)  # all or nothing
    except UsageError as exc:
        none = "the file was not attached" if len(fresh) == 1 else f"none of the {len(fresh)} files was attached"
        error_line(ctx.console, f"{exc}; {none}")
        if ctx.pending:
            show_pending(ctx)
        return
    ctx.pending.extend(added)
    for item in added:
        ctx.console.print(say(("attached ", "dim"), item.describe()))
    ctx.console.print(say((f"{files_count(len(ctx.pending))} will go with your next message", "dim")))


@command("detach", "", "drop the files attached to the next message")
async def detach(ctx: ReplContext, arg: str) -> None:
    count = len(ctx.pending)
    ctx.pending.clear()
    ctx.console.print(say((f"detached {files_count(count)}" if count else "nothing attached", "dim")))


def show_pending(ctx: ReplContext) -> None:
    if not ctx.pending:
        ctx.console.print(say(("nothing attached; /attach PATH adds a file to your next message", "dim")))
        return
    total = sum(f.size for f in ctx.pending)
    ctx.console.print(say((f"with your next message ({human_size(total)}):", "dim")))
    for item in ctx.pending:
        ctx.console.print(say("  📎 ", (item.name, "bold"), (f"  {item.label}, {human_size(item.size)}", "dim")))
