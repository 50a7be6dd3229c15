"""The interactive chat: a prompt-toolkit prompt over a session, replies drawn by stream_view.

`loop` holds the loop and its wiring, `registry` the slash commands (declared in `commands/`, each given
a `context.ReplContext`),
`background` the agency built while the prompt is up, `screen` the prompt's keys and toolbar.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from rich.console import Console

from swarmchat.errors import StoreUnavailable, SwarmchatError
from swarmchat.session import SessionMeta
from swarmchat.store import OpenSession, SessionStore

if TYPE_CHECKING:
    from swarmchat.repl.loop import Repl


def run_repl(store: SessionStore, name: str, *, create: SessionMeta | None, agency: str | None) -> None:
    """Chat in the session until Ctrl-D, /exit, SIGTERM or SIGHUP; the session is closed (its lock
    freed) whatever happens. A signal ends the process with 128 + its number, as shells expect."""
    import swarmchat.repl.commands  # noqa: F401  (registers every slash command)
    from swarmchat.repl.loop import Repl

    session = store.open(name, create=create)
    repl: Repl | None = None
    try:
        repl = Repl(store, session, agency, Console(highlight=False, no_color="NO_COLOR" in os.environ or None))
        asyncio.run(repl.run())
    except BaseException:
        with contextlib.suppress(Exception):
            (repl.live.session if repl else session).close()
        raise
    stored = repl.flush()
    close(repl.live.session)
    if repl.leaving is not None:
        raise SystemExit(128 + repl.leaving)
    if not stored:  # said in its one line: what the window showed last is not stored
        raise SystemExit(1)


def close(session: OpenSession) -> None:
    """Release the session; a failure is one line."""
    try:
        session.close()
    except (OSError, SwarmchatError) as exc:
        raise StoreUnavailable(f"could not close session '{session.meta.name}': {exc}") from None
