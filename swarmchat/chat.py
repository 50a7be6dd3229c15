"""Talking to a session: the one-turn scripting path (-m / stdin) and the REPL entry."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, TextIO

from swarmchat.events import TextDelta, TurnDone, TurnError
from swarmchat.session import SessionMeta
from swarmchat.store import SessionStore

if TYPE_CHECKING:
    from swarmchat.agency import Binding


def one_shot(
    store: SessionStore,
    name: str,
    *,
    create: SessionMeta | None,
    agency: str | None,
    text: str,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Send one message, print the reply as plain text, persist the turn. Returns the exit code."""
    from swarmchat.agency import bind

    out = out or sys.stdout
    err = err or sys.stderr
    session = store.open(name, create=create)
    try:
        binding = bind(session.meta, session, agency)
        for problem in binding.replay_problems:
            err.write(f"swarmchat: warning: {problem}\n")
        return asyncio.run(_one_turn(binding, text, session.meta.recipient, out, err))
    finally:
        session.close()


async def _one_turn(binding: Binding, text: str, recipient: str | None, out: TextIO, err: TextIO) -> int:
    """`binding` is the local Binding or a remote one (swarmchat.remote): both offer turn and save_errors."""
    wrote = ""
    speaker = ""
    code = 0
    async for event in binding.turn(text, recipient):
        if isinstance(event, TextDelta) and event.caller is None:
            if wrote and event.agent != speaker and not wrote.endswith("\n"):
                out.write("\n")  # another agent took over (a handoff): start its text on a new line
            speaker = event.agent
            out.write(event.text)
            out.flush()
            wrote += event.text
        elif isinstance(event, TurnError):
            err.write(f"swarmchat: error: {event.message}\n")
            code = 1
        elif isinstance(event, TurnDone) and not wrote and event.text:
            out.write(event.text)
            wrote = event.text
    if wrote and not wrote.endswith("\n"):
        out.write("\n")
    for problem in binding.save_errors:
        err.write(f"swarmchat: error: could not save the session: {problem}\n")
        code = 1
    return code


def interactive(store: SessionStore, name: str, *, create: SessionMeta | None, agency: str | None) -> None:
    from swarmchat.repl import run_repl

    run_repl(store, name, create=create, agency=agency)
