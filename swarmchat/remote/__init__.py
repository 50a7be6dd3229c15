"""Agencies served over HTTP by agency-swarm's own `run_fastapi`: a SPEC `http(s)://host:port/<agency>`.

The session stays on this side; each turn sends its history and stores what the server returns.
Nothing here imports agency-swarm (httpx only, and only when a remote session is bound).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swarmchat.bound import LiveSession
    from swarmchat.remote.binding import RemoteBinding
    from swarmchat.session import SessionMeta


def is_remote_spec(spec: str | None) -> bool:
    """A SPEC that is the URL of a served agency (not a module or file)."""
    return bool(spec) and str(spec).startswith(("http://", "https://"))


def check_remote_spec(spec: str) -> None:
    """Fail early (UsageError, nothing written) on a URL that cannot name an agency."""
    from swarmchat.remote.client import parse_url

    parse_url(spec)


def bind_remote(meta: SessionMeta, live: LiveSession, spec: str) -> RemoteBinding:
    """Bind the session to the agency at `spec` (its agents from get_metadata, or the session's cache)."""
    from swarmchat.remote.binding import bind

    return bind(meta, live, spec)
