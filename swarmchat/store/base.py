"""The store interface both backends implement, and what a listing returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from swarmchat.errors import NameTaken, SessionLocked, SessionNotFound, SwarmchatError
from swarmchat.session import Item, SessionMeta

if TYPE_CHECKING:
    from swarmchat.store.catalog.db import Catalog


class Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)
"""Something found in the catalog that names its session (a search hit)."""


@dataclass
class BadSession:
    """A stored session that cannot be read; listed and marked, never rewritten."""

    name: str
    location: str
    problem: str


Listed = SessionMeta | BadSession


class OpenSession(Protocol):
    """A session held under its one-writer lock: the only way to change its messages."""

    meta: SessionMeta

    def load(self, start: int = 0) -> list[Item]:
        """The stored items (from index `start` on) as fresh objects, to hand to agency-swarm."""

    def items(self) -> list[Item]:
        """What is stored now (the store's private copy: do not mutate)."""

    def save(self, live: list[Item]) -> None:
        """Persist agency-swarm's live list; durable when this returns."""

    def begin_turn(self) -> None:
        """Items stored so far will not change during the coming turn (cheap saves)."""

    def end_turn(self, live: list[Item]) -> None:
        """Full check of the live list, then meta (count, title, time) updated."""

    def write_all(self, items: list[Item]) -> None:
        """Store a whole list at once into a session just created (fork, import)."""

    def update_meta(self, **changes: object) -> None:
        """Change settings such as recipient or model, written at once if the session exists."""

    def take_notices(self) -> list[str]:
        """What the store did that the user should know (a vanished session stored again), once."""

    def close(self) -> None:
        """Release the lock; a session that never got a message leaves nothing behind."""


class SessionStore(Protocol):
    location: str

    def checked(self) -> list[str]:
        """Refuse (StoreUnavailable) a store that cannot keep sessions; warnings to show about one that
        may lose them. Cheap: a backend that must ask a server caches the answer."""
        ...

    def names(self) -> list[str]: ...

    def exists(self, name: str) -> bool: ...

    def read(self, name: str) -> tuple[SessionMeta, list[Item]]: ...

    def read_meta(self, name: str) -> SessionMeta: ...

    def open(self, name: str, *, create: SessionMeta | None = None) -> OpenSession:
        """Take the session's lock; with `create`, reserve a new name (NameTaken if it exists)."""

    def write_new(self, meta: SessionMeta, items: list[Item]) -> None:
        """Store a complete new session at once (fork, import); NameTaken if it exists."""

    def delete(self, name: str) -> None: ...

    def rename(self, old: str, new: str) -> None: ...

    def searched(self, query: Callable[[Catalog], list[N]]) -> list[N]:
        """What `query` finds in the store's catalog (store/catalog/), brought up to date first (and again,
        should what it found have changed meanwhile)."""
        ...

    def recent(self, count: int) -> tuple[list[Listed], int]:
        """The `count` most recently used sessions, newest first, then the damaged ones found (every one
        whenever the store had to check them all); and how many sessions there are in all. Cheaper
        than `list` where the store can tell the newest without reading them all."""
        ...

    def list(self) -> list[Listed]:
        """Every session (damaged ones as BadSession). Last in the class: it shadows `list`."""
        ...


def newest_first(listed: list[Listed], count: int) -> tuple[list[Listed], int]:
    """`recent` from a whole listing: the `count` newest sessions, then every damaged one; the total."""
    good = sorted((m for m in listed if isinstance(m, SessionMeta)), key=lambda m: m.updated_at, reverse=True)
    return [*good[:count], *(m for m in listed if isinstance(m, BadSession))], len(listed)


def lock_refusal(name: str, creating: bool, holder: str, exists: Callable[[], bool]) -> SwarmchatError:
    """Why `open` failed when another process holds the name's lock."""
    if creating:
        return NameTaken(name, f"in use by {holder}")
    if not exists():
        return SessionNotFound(name)
    return SessionLocked(name, holder)


class _Opens(Protocol):
    def open(self, name: str, *, create: SessionMeta | None = None) -> OpenSession: ...


class WritesNew:
    """`write_new` for a store, built on its `open(create=...)` and the session's `write_all`."""

    def write_new(self: _Opens, meta: SessionMeta, items: list[Item]) -> None:
        session = self.open(meta.name, create=meta)
        try:
            session.write_all(items)
        finally:
            session.close()
