"""The local agency seam: agency-swarm in this process, bound to a session (`swarmchat.bound.BoundAgency`).

One job per module: `environment` (importing agency-swarm safely), `spec` (what a SPEC names),
`build` (the agency with its history callbacks), `models` (model, server and API of every agent),
`stream` (agency-swarm events → swarmchat events), `errors` (a failed turn in one line), `binding`
(the `Binding` the REPL and `-m` talk to), `openai_client` (the client agents talk through) and
`standin` (one item standing in for the settled history, expanded by that client) and
`capture_cache` (the stand-in's capture, kept with the session for the next process). Importing this
package does not import agency-swarm.
"""

from __future__ import annotations

from swarmchat.agency.binding import Binding
from swarmchat.agency.binding import bind as bind_local
from swarmchat.agency.environment import import_agency_swarm
from swarmchat.agency.models import configure_models, context_window, price_per_token
from swarmchat.agency.spec import DEFAULT_SPEC, factory_callbacks, resolve_spec
from swarmchat.bound import BoundAgency, LiveSession
from swarmchat.errors import AgencyMissing
from swarmchat.events import INTERRUPTED
from swarmchat.session import SessionMeta

__all__ = [
    "DEFAULT_SPEC",
    "INTERRUPTED",
    "Binding",
    "bind",
    "check_spec",
    "configure_models",
    "context_window",
    "import_agency_swarm",
    "price_per_token",
]


def bind(meta: SessionMeta, live: LiveSession, spec_override: str | None = None) -> BoundAgency:
    """The session's agency, bound to it: served over HTTP when its SPEC is a URL (no agency-swarm on
    this side), else built here with agency-swarm."""
    from swarmchat.remote import bind_remote, is_remote_spec

    spec = spec_override or meta.agency or DEFAULT_SPEC
    if is_remote_spec(spec):
        return bind_remote(meta, live, spec)
    try:
        return bind_local(meta, live, spec_override)
    except AgencyMissing as exc:  # moved, renamed, or the session was made in another folder
        raise AgencyMissing(f"{exc}; if it moved, run 'swarmchat resume {meta.name} --agency PATH'") from None


def check_spec(spec: str | None) -> None:
    """Fail early (exit 2, nothing written) if a SPEC does not name an Agency or a factory of one (or,
    for a URL, an agency server)."""
    from swarmchat.remote import check_remote_spec, is_remote_spec

    if is_remote_spec(spec):
        check_remote_spec(str(spec))
        return
    spec = spec or DEFAULT_SPEC
    agency_cls = import_agency_swarm().Agency
    target = resolve_spec(spec)
    if not isinstance(target, agency_cls):
        factory_callbacks(target, spec, agency_cls)
