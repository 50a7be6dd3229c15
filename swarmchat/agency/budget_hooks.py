"""The spending cap's check before every model call of a local agency, delegated agents' included.

Through the Agents SDK's public agent hooks (`on_llm_start` / `on_llm_end`), set on every agent of the
agency: agency-swarm runs a delegated agent in a run of its own that does not take the caller's run
hooks, but each agent's own hooks run in any run. An agent's own hooks are kept and called first.
At the cap, `on_llm_start` stops the turn (the binding's `trip`, like Ctrl-C) and ends the run it is
in as cancelled, so nothing is sent past it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import agents

from swarmchat.budget import Guard


@dataclass
class CapState:
    """What the hooks check against: the running turn's guard, how to stop it, each agent's model."""

    model_of: Callable[[str], str]
    guard: Guard | None = None
    trip: Callable[[], object] | None = None


class CapHooks(agents.AgentHooks[Any]):
    def __init__(self, inner: agents.AgentHooks[Any] | None, state: CapState) -> None:
        self.inner = inner
        self.state = state

    async def on_llm_start(self, context: Any, agent: Any, system_prompt: Any, input_items: Any) -> None:
        if self.inner is not None:
            await self.inner.on_llm_start(context, agent, system_prompt, input_items)
        guard = self.state.guard
        if guard is not None and not guard.allows_a_call():
            if self.state.trip is not None:
                self.state.trip()
            # the turn's cancellation reaches this run (a delegated agent's too) while it waits a moment;
            # else it ends cancelled here: either way no call is made
            for _ in range(50):
                await asyncio.sleep(0)
            raise asyncio.CancelledError("the session's spending cap is reached")

    async def on_llm_end(self, context: Any, agent: Any, response: Any) -> None:
        guard = self.state.guard
        usage = getattr(response, "usage", None)
        if guard is not None and usage is not None:
            spent_in = int(getattr(usage, "input_tokens", 0) or 0)
            name = str(agent.name)
            guard.add(name, self.state.model_of(name), spent_in, int(getattr(usage, "output_tokens", 0) or 0))
        if self.inner is not None:
            await self.inner.on_llm_end(context, agent, response)

    async def on_start(self, *args: Any) -> None:
        if self.inner is not None:
            await self.inner.on_start(*args)

    async def on_end(self, *args: Any) -> None:
        if self.inner is not None:
            await self.inner.on_end(*args)

    async def on_handoff(self, *args: Any) -> None:
        if self.inner is not None:
            await self.inner.on_handoff(*args)

    async def on_tool_start(self, *args: Any) -> None:
        if self.inner is not None:
            await self.inner.on_tool_start(*args)

    async def on_tool_end(self, *args: Any) -> None:
        if self.inner is not None:
            await self.inner.on_tool_end(*args)


def install(agency: Any, state: CapState) -> list[str]:
    """Put the check on every agent; the names of agents it cannot go on (their hooks are agency-swarm's
    own, which it finds by type: system reminders), whose calls the cap does not see."""
    missed = []
    for name, agent in agency.agents.items():
        hooks = getattr(agent, "hooks", None)
        if isinstance(hooks, CapHooks):
            continue
        if hooks is not None and type(hooks).__module__.startswith("agency_swarm"):
            missed.append(str(name))
            continue
        agent.hooks = CapHooks(hooks, state)
    return missed
