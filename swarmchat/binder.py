"""Which agency a session is bound to: served over HTTP when its SPEC is a URL (`remote/`, no agency-swarm on
this side), else built in this process with agency-swarm (`agency/`). The one module that knows both; neither
imports the other. Importing it imports neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from swarmchat.bound import BoundAgency, LiveSession
    from swarmchat.session import SessionMeta


def bind(meta: SessionMeta, live: LiveSession, spec_override: str | None = None) -> BoundAgency:
    """The session's agency, bound to it."""
    from swarmchat.project import DEFAULT_SPEC
    from swarmchat.remote import bind_remote, is_remote_spec

    spec = spec_override or meta.agency or DEFAULT_SPEC
    if is_remote_spec(spec):
        return bind_remote(meta, live, spec)
    from swarmchat.agency import bind as bind_here
    from swarmchat.errors import AgencyMissing

    try:
        return bind_here(meta, live, spec_override)
    except AgencyMissing as exc:  # moved, renamed, or the session was made in another folder
        raise AgencyMissing(f"{exc}; if it moved, run 'swarmchat resume {meta.name} --agency PATH'") from None


def check_spec(spec: str | None) -> None:
    """Fail early (exit 2, nothing written) if a SPEC does not name an Agency or a factory of one (or,
    for a URL, an agency server)."""
    from swarmchat.remote import check_remote_spec, is_remote_spec

    if is_remote_spec(spec):
        check_remote_spec(str(spec))
        return
    from swarmchat.agency import check_local_spec

    check_local_spec(spec)
