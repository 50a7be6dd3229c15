"""The built-in agency used when no SPEC is given: one general assistant."""

from __future__ import annotations

from typing import Any

INSTRUCTIONS = (
    "You are a helpful, knowledgeable assistant talking with a user in a terminal. "
    "Answer clearly and concisely; use Markdown where it helps."
)


def create_agency(load_threads_callback: Any = None, save_threads_callback: Any = None) -> Any:
    from agency_swarm import Agency, Agent

    assistant = Agent(name="Assistant", description="A general assistant.", instructions=INSTRUCTIONS)
    return Agency(
        assistant,
        name="swarmchat",
        load_threads_callback=load_threads_callback,
        save_threads_callback=save_threads_callback,
    )
