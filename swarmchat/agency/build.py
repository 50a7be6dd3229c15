"""Building the agency a SPEC names, with the session's history loaded and every change saved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swarmchat.agency.environment import import_agency_swarm
from swarmchat.agency.spec import factory_callbacks
from swarmchat.errors import AgencyLoadError
from swarmchat.session import Item

Load = Callable[[], list[Item]]
Save = Callable[[list[Item]], None]


def construct(target: Any, spec: str, load: Load, save: Save) -> Any:
    """The agency from a factory (given the callbacks it accepts) or an instance (callbacks attached)."""
    agency_cls = import_agency_swarm().Agency
    if isinstance(target, agency_cls):
        agency, passed = target, set()
    else:
        passed = factory_callbacks(target, spec, agency_cls)
        given = {"load_threads_callback": load, "save_threads_callback": save}
        try:
            agency = target(**{name: given[name] for name in passed})
        except Exception as exc:
            raise AgencyLoadError(f"agency SPEC '{spec}': the factory raised {type(exc).__name__}: {exc}") from None
    if not isinstance(agency, agency_cls):
        raise AgencyLoadError(f"agency SPEC '{spec}': the factory returned {type(agency).__name__}, not an Agency")
    if "load_threads_callback" not in passed:
        agency.thread_manager.replace_messages(load())
    attach_callbacks(agency, load, save, save_too="save_threads_callback" not in passed)
    return agency


def attach_callbacks(agency: Any, load: Load, save: Save, *, save_too: bool) -> None:
    """PRIVATE agency-swarm attributes (1.11): an Agency built without our callbacks (an instance, or a
    factory that does not take `save_threads_callback`) only takes them through its constructor, so
    they are set where its ThreadManager and Agency keep them. tests/test_agency_internals.py fails
    loudly if agency-swarm renames them."""
    if save_too:
        agency.thread_manager._save_threads_callback = save
        agency._save_threads_callback = save
    agency._load_threads_callback = load


def stored_items(agency: Any) -> list[Item]:
    """PRIVATE agency-swarm attribute (1.11): the ThreadManager's live list of items, read without the
    copy `get_all_messages()` makes on every call (the toolbar reads it twice a second).
    tests/test_agency_internals.py fails loudly if agency-swarm renames it."""
    return agency.thread_manager._store.messages  # type: ignore[no-any-return]
