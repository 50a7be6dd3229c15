"""The seam between the screen and an agency: what a bound agency offers the REPL and the one-shot
path, local (agency-swarm in this process) or remote (an agency served over HTTP), and the handle
through which every change to its history reaches the open session.

Nothing here imports agency-swarm: the REPL and `-m` talk to a `BoundAgency` without knowing
which kind it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from swarmchat.errors import SessionTakenOver
from swarmchat.events import Event
from swarmchat.session import Item, SessionMeta
from swarmchat.store import OpenSession

Message = str | list[Item]
"""What the user sends: plain text, or Responses input items (text with attachments)."""


class LiveSession:
    """The open session an agency's saves go to. `/rename` (and switching sessions) swap the session
    it holds, so the agency's callbacks never need rebinding. Each failed save is kept once, to be
    reported once, when it happens; a session another process took over is reported once in all; so is
    each notice (something the user should know that lost nothing)."""

    def __init__(self, session: OpenSession) -> None:
        self.session = session
        self._errors: list[str] = []
        self._notices: list[str] = []
        self._taken_over = False

    @property
    def meta(self) -> SessionMeta:
        return self.session.meta

    def switch(self, session: OpenSession) -> None:
        """Send every later save to `session` (the caller closes the old one)."""
        self.session = session

    def load(self) -> list[Item]:
        return self.session.load()

    def save(self, items: list[Item]) -> None:
        """agency-swarm's save callback: persist, or keep the failure to report (it would swallow it)."""
        try:
            self.session.save(items)
        except Exception as exc:
            self.failed(exc)
            raise

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, SessionTakenOver):
            if self._taken_over:
                return  # said once: the messages stay in the window, /export saves them
            self._taken_over = True
        line = str(exc) or type(exc).__name__
        if line not in self._errors:
            self._errors.append(line)

    def take_errors(self) -> list[str]:
        """The save failures since the last call (each once)."""
        errors, self._errors = self._errors, []
        return errors

    def notice(self, line: str) -> None:
        if line not in self._notices:
            self._notices.append(line)

    def take_notices(self) -> list[str]:
        """What the user should know that lost nothing (the binding's notices, and what the store did: a
        vanished session stored again), each once."""
        notices, self._notices = self._notices, []
        return notices + self.session.take_notices()


class BoundAgency(Protocol):
    """An agency bound to a session: its history is the session's, every change is persisted."""

    live: LiveSession
    replay_problems: list[str]
    """What could not be replayed on resume (agents gone...): shown once, then cleared."""

    @property
    def agent_names(self) -> list[str]: ...

    @property
    def entry_agent(self) -> str: ...

    def describe(self, agent: str) -> str:
        """One line about an agent (its description), for /agents."""
        ...

    def model_name(self, agent: str | None = None) -> str:
        """The model an agent (default: the entry agent) runs on."""
        ...

    def set_model(self, model: str) -> None:
        """Route every agent to `model` (the session's meta is updated by the caller)."""
        ...

    def live_items(self) -> list[Item]:
        """The agency's history now (its own list: do not mutate)."""
        ...

    def set_items(self, items: list[Item]) -> None:
        """Replace the history (undo, clear, compact) and persist the change."""
        ...

    def turn(self, message: Message, recipient: str | None = None) -> AsyncIterator[Event]:
        """Run one turn, yielding events; persisted as it goes. Cancelling the task that iterates
        stops the reply: the partial reply is stored, marked as interrupted."""
        ...

    async def summarize(self, transcript: str, instructions: str) -> str:
        """A summary of `transcript` by the entry agent's model (for /compact)."""
        ...
