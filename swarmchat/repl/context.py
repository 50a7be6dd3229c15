"""What a slash command may use of the REPL (as gptme's `CommandContext`): the screen, the store, the
session's settings, the agency and the few moves that change where the chat goes on. Commands never see
the loop's wiring (its prompt, loader or open session); `Repl` (loop.py) is the one implementation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.console import Console

    from swarmchat.attachments import Attachment
    from swarmchat.bound import BoundAgency, Message
    from swarmchat.repl.usage import Usage
    from swarmchat.session import Item, SessionMeta
    from swarmchat.store import SessionStore


class ReplContext(Protocol):
    @property
    def console(self) -> Console: ...

    @property
    def store(self) -> SessionStore: ...

    @property
    def meta(self) -> SessionMeta:
        """The open session's meta (its name, settings and counts), as stored."""

    @property
    def pending(self) -> list[Attachment]:
        """Files attached (/attach) to go with the next message: changed in place."""

    @property
    def usage(self) -> Usage:
        """Tokens spent in this run."""

    def update_meta(self, **changes: object) -> None:
        """Change the open session's settings (recipient, model, tags...), stored at once."""

    async def ready(self) -> BoundAgency:
        """The session's agency, once built (it builds in the background from start-up)."""

    def recipient(self) -> str: ...

    def agent_names(self) -> list[str]: ...

    def agent_model(self) -> str: ...

    def items(self) -> list[Item]:
        """What the window holds of the conversation (as stored, or more when a save failed)."""

    def session_usage(self) -> Usage: ...

    async def ask(self, question: str) -> str:
        """One line of answer ('' for Ctrl-C or Ctrl-D)."""

    async def confirm(self, question: str) -> bool: ...

    async def turn(self, binding: BoundAgency, message: Message, recipient: str | None) -> None:
        """Send `message` and draw the reply as it streams."""

    async def switch_to(self, name: str, *, create: SessionMeta | None = None) -> bool:
        """Go on in session `name` (created from `create`); False if the chat stayed where it was."""

    async def rename(self, new: str) -> None:
        """Rename the open session to `new` (a free, valid name), its input history with it."""
