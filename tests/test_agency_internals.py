"""The two places swarmchat reaches into agency-swarm's private attributes (swarmchat/agency/build.py):
these fail loudly, naming the attribute, the day an agency-swarm release renames or stops using them."""

from __future__ import annotations

from typing import Any

from swarmchat.agency import import_agency_swarm
from swarmchat.agency.build import attach_callbacks, stored_items
from swarmchat.session import Item


def plain_agency() -> Any:
    agency_swarm = import_agency_swarm()
    return agency_swarm.Agency(agency_swarm.Agent(name="Helper", instructions="You are Helper."))


def message(text: str) -> Item:
    return {"role": "user", "content": text, "agent": "Helper", "callerAgent": None, "type": "message"}


def test_the_private_attributes_exist_before_swarmchat_sets_them() -> None:
    agency = plain_agency()
    for owner, name in [
        (agency.thread_manager, "_save_threads_callback"),
        (agency, "_save_threads_callback"),
        (agency, "_load_threads_callback"),
        (agency.thread_manager, "_store"),
        (agency.thread_manager._store, "messages"),
    ]:
        assert name in vars(owner), f"agency-swarm no longer has {type(owner).__name__}.{name}; update build.py"


def test_an_attached_save_callback_is_what_agency_swarm_calls() -> None:
    agency = plain_agency()
    saved: list[list[Item]] = []
    attach_callbacks(agency, lambda: [], lambda items: saved.append(list(items)), save_too=True)
    agency.thread_manager.add_message(message("hello"))
    assert saved, "agency-swarm did not call the save callback set on thread_manager._save_threads_callback"
    assert [m["content"] for m in saved[-1]] == ["hello"]


def test_the_stored_items_are_the_live_history() -> None:
    agency = plain_agency()
    agency.thread_manager.replace_messages([message("one")])
    agency.thread_manager.add_message(message("two"))
    assert [m["content"] for m in stored_items(agency)] == ["one", "two"]
    assert stored_items(agency) == agency.thread_manager.get_all_messages()
