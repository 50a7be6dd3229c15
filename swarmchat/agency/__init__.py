"""The local agency seam: agency-swarm in this process, bound to a session (`swarmchat.bound.BoundAgency`).

One job per module: `environment` (importing agency-swarm safely), `spec` (what a SPEC names),
`build` (the agency with its history callbacks), `models` (model, server and API of every agent),
`stream` (agency-swarm events → swarmchat events), `errors` (a failed turn in one line), `binding`
(the `Binding` the REPL and `-m` talk to), `guard` (a turn never stores a history that lost items it
did not add) and `openai_client` (the client agents talk through). Importing this package does not
import agency-swarm. It never imports `remote/`: `swarmchat.binder` chooses between them.
"""

from __future__ import annotations

from swarmchat.agency.binding import Binding, bind
from swarmchat.agency.environment import import_agency_swarm
from swarmchat.agency.models import configure_models
from swarmchat.agency.spec import factory_callbacks, resolve_spec
from swarmchat.events import INTERRUPTED
from swarmchat.project import DEFAULT_SPEC

__all__ = [
    "DEFAULT_SPEC",
    "INTERRUPTED",
    "Binding",
    "bind",
    "check_local_spec",
    "configure_models",
    "import_agency_swarm",
]


def check_local_spec(spec: str | None) -> None:
    """Fail early (exit 2, nothing written) if a SPEC does not name an Agency or a factory of one."""
    spec = spec or DEFAULT_SPEC
    agency_cls = import_agency_swarm().Agency
    target = resolve_spec(spec)
    if not isinstance(target, agency_cls):
        factory_callbacks(target, spec, agency_cls)
