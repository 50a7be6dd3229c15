"""Talking to a session: the one-turn scripting path (-m / stdin) and the REPL entry."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import TextIO

from swarmchat.attachments import Attachment, user_message
from swarmchat.bound import BoundAgency, LiveSession, Message
from swarmchat.budget import cap_problems
from swarmchat.errors import SwarmchatError
from swarmchat.events import Notice, TextDelta, TurnDone, TurnError
from swarmchat.json_events import JsonEvents
from swarmchat.safe_text import StreamGuard, safe_line
from swarmchat.session import SessionMeta
from swarmchat.store import OpenSession, SessionStore

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""Asked to stop (kill, the terminal closed): handled like Ctrl-C, the partial reply is kept."""


def one_shot(
    store: SessionStore,
    name: str,
    *,
    create: SessionMeta | None,
    agency: str | None,
    text: str,
    files: list[Attachment] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    announce: Callable[[], None] | None = None,
    as_json: bool = False,
    cap_set: bool = False,
) -> int:
    """Send one message (with `files`, read and checked before), print the reply as plain text (or,
    `as_json`, every event as JSON Lines), persist the turn. Returns the exit code. `announce` runs once
    the agency is bound, before the message is sent (a new session's generated name is printed only
    when it will exist). Without `out` and `err` given, what the agency writes to fds 1 and 2 itself
    is shown on stderr (see `diverted`): stdout is the reply (or the JSON Lines) only."""
    with contextlib.ExitStack() as stack:
        if out is None and err is None:
            from swarmchat.diverted import diverted

            out, err = stack.enter_context(diverted())
        out = out or sys.stdout
        err = err or sys.stderr
        events = JsonEvents(out) if as_json else None
        try:
            session = store.open(name, create=create)
        except SwarmchatError as exc:
            if events:
                events.error("usage" if exc.exit_code == 2 else "failed", str(exc))
            raise
        try:
            code = _bound_turn(session, agency, text, files, out, err, events, cap_set, announce)
        except BaseException as exc:
            if events and isinstance(exc, SwarmchatError):
                events.error("usage" if exc.exit_code == 2 else "failed", str(exc))
            with contextlib.suppress(SwarmchatError):  # the first failure is the one the user sees
                session.close()
            raise
        try:
            session.close()
        except SwarmchatError:
            if not code:
                raise
            # a save already failed and was reported in its one line; closing failed for the same cause
        return code


def _bound_turn(
    session: OpenSession,
    agency: str | None,
    text: str,
    files: list[Attachment] | None,
    out: TextIO,
    err: TextIO,
    events: JsonEvents | None,
    cap_set: bool = False,
    announce: Callable[[], None] | None = None,
) -> int:
    from swarmchat.binder import bind
    from swarmchat.project import DEFAULT_SPEC

    binding = bind(session.meta, LiveSession(session), agency)
    if announce is not None:
        announce()
    problems = list(binding.replay_problems)
    if cap_set:
        problems += cap_problems(binding)
    for problem in problems:
        err.write(f"swarmchat: warning: {safe_line(problem)}\n")
    if events:
        events.session(session.meta, binding, session.meta.agency or agency or DEFAULT_SPEC)
    message: Message = user_message(text, files) if files else text
    return asyncio.run(_one_turn(binding, message, session.meta.recipient, out, err, events))


async def _one_turn(
    binding: BoundAgency,
    message: Message,
    recipient: str | None,
    out: TextIO,
    err: TextIO,
    events: JsonEvents | None = None,
) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    stopped: list[signal.Signals] = []

    def stop(sig: signal.Signals) -> None:
        if not stopped:
            stopped.append(sig)
            task.cancel()

    # --json: Ctrl-C ends the stream with its `done` object too (interrupted), not a bare exit
    signals = (*STOP_SIGNALS, signal.SIGINT) if events else STOP_SIGNALS
    for sig in signals:
        loop.add_signal_handler(sig, stop, sig)
    wrote = ""
    speaker = ""
    code = 0
    before = len(binding.live_items())
    # On a terminal the reply's controls are shown, not obeyed; a pipe gets the exact text.
    guard = StreamGuard() if out.isatty() and not events else None
    try:
        async for event in binding.turn(message, recipient):
            if isinstance(event, TurnError):
                err.write(f"swarmchat: error: {safe_line(event.message)}\n")
                code = 1
            elif isinstance(event, Notice):
                err.write(f"swarmchat: warning: {safe_line(event.message)}\n")
            if events:
                events.event(event, binding, before)
            elif isinstance(event, TextDelta) and event.caller is None:
                if wrote and event.agent != speaker and not wrote.endswith("\n"):
                    out.write("\n")  # another agent took over (a handoff): start its text on a new line
                speaker = event.agent
                out.write(guard.feed(event.text) if guard else event.text)
                out.flush()
                wrote += event.text
            elif isinstance(event, TurnDone) and not wrote and event.text:
                out.write(guard.feed(event.text) if guard else event.text)
                wrote = event.text
    except asyncio.CancelledError:
        if not stopped:
            raise
        task.uncancel()
        name = stopped[0].name
        if events:
            events.interrupted(binding, before)
        err.write(f"swarmchat: error: stopped by {name}; the reply so far is kept, marked interrupted\n")
        code = 128 + stopped[0].value
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    if guard:
        out.write(guard.flush())
    if wrote and not wrote.endswith("\n"):
        out.write("\n")
    for notice in binding.live.take_notices():
        err.write(f"swarmchat: warning: {safe_line(notice)}\n")
    for problem in binding.live.take_errors():
        err.write(f"swarmchat: error: could not save the session: {safe_line(problem)}\n")
        if events:
            events.not_stored(f"could not save the session: {problem}")
        code = code or 1
    return code


def interactive(store: SessionStore, name: str, *, create: SessionMeta | None, agency: str | None) -> None:
    from swarmchat.repl import run_repl

    run_repl(store, name, create=create, agency=agency)
