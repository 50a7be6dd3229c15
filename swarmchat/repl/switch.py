"""Moving the REPL to another session in place (/sessions, /new, /resume, /fork), or its session to
another name (/rename).

The other session's lock is taken first: if another process holds it, that is one red line (as at
start-up) and the REPL stays where it was. Only then is the current session closed (its lock
freed) and the REPL's session, input history and agency swapped; the new agency builds in the
background while the prompt is already up.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession

from swarmchat.errors import SwarmchatError, UsageError
from swarmchat.repl.screen import move_history, use_history
from swarmchat.safe_text import safe_line, say
from swarmchat.session import SessionMeta
from swarmchat.store import OpenSession
from swarmchat.stream_view import error_line

if TYPE_CHECKING:
    from swarmchat.repl.loop import Repl


async def switch_to(repl: Repl, name: str, *, create: SessionMeta | None = None) -> bool:
    """Continue the chat in session `name` (a new one if `create` is given); False if the REPL
    stayed in its session. What refuses the switch (a lock held elsewhere, no such session, an
    unconfirmed SPEC) is raised as a SwarmchatError: the command prints it as one red line."""
    if create is None and name == repl.meta.name:
        repl.console.print(say(("already in ", "dim"), (name, "bold")))
        return False
    session = repl.store.open(name, create=create)  # SessionLocked / SessionNotFound: nothing changed
    try:
        await confirm_agency(repl, session)
        await repl.loader.settled()
    except BaseException:
        with contextlib.suppress(Exception):
            session.close()
        raise
    leaving = repl.live.session
    try:
        leaving.close()
    except (OSError, SwarmchatError) as exc:  # its items saved before are kept; say so and move on
        error_line(repl.console, f"could not close session '{safe_line(leaving.meta.name)}': {exc}")
    repl.adopt(session)
    repl.greet()
    return True


async def confirm_agency(repl: Repl, session: OpenSession) -> None:
    """An imported session's agency SPEC is code its file chose: ask before it is imported (as
    `resume` does on a terminal); a yes makes the session trusted like any other, anything else
    refuses (UsageError) and the REPL stays where it was."""
    from swarmchat.lifecycle import untrusted

    meta = session.meta
    what = untrusted(meta)
    if not what:
        return
    repl.console.print(say("This session was imported. It names ", (what, "bold"), "."))
    repl.console.print("Switching to it runs that module's code and sends the conversation (and your API key) there.")
    try:
        answer = await PromptSession[str]().prompt_async("Go on? [y/N] ")
    except (KeyboardInterrupt, EOFError):
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError(f"session '{meta.name}' was not confirmed; staying in '{repl.meta.name}'")
    session.update_meta(agency_trusted=True)


async def rename_session(repl: Repl, new: str) -> None:
    """Rename the open session to `new` (free and valid: the command checked) and reopen it under that
    name, its input history moved along; should that fail, the old name is reopened and the error raised."""
    live = (await repl.ready()).live
    store = repl.store
    old = live.meta.name
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
    use_history(repl.prompt, move_history(old, new, repl.history_failed))
