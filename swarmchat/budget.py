"""A session's spending cap (`--max-cost USD`, `/budget`): what it has spent, and whether it may call
a model again. Pure: prices come from `model_table.price_per_token` (the model table agency-swarm
ships, read without importing it), nothing here imports agency-swarm.

A local agency is checked before every model call, delegated agents' calls included (see
`agency/budget_hooks.py`); a served agency runs its calls on the server, so it is checked between turns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from swarmchat.errors import UsageError
from swarmchat.session import SessionMeta

if TYPE_CHECKING:
    from swarmchat.bound import BoundAgency
    from swarmchat.store import SessionStore

WARN_AT = 0.8
"""The toolbar warns once this share of the cap is spent."""


def parse_cost(text: str, what: str = "--max-cost") -> float:
    """A cap in dollars: a positive number such as 0.50 (a leading $ allowed)."""
    try:
        value = float(text.strip().removeprefix("$"))
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{what} takes an amount of dollars above 0, such as 0.50, not '{text}'")
    return value


def price(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """What one model call cost, or None for a model without a known price."""
    from swarmchat.model_table import price_per_token

    prices = price_per_token(model) if model else None
    return None if prices is None else input_tokens * prices[0] + output_tokens * prices[1]


def spent(meta: SessionMeta, model_of: Callable[[str], str]) -> float:
    """What the session's model calls cost so far: each agent's tokens at its model's price (agents
    on a model without a known price count nothing)."""
    total = 0.0
    for agent, counts in meta.usage_by_agent.items():
        total += price(model_of(agent), counts.get("input_tokens", 0), counts.get("output_tokens", 0)) or 0.0
    return total


def toolbar_budget(meta: SessionMeta, binding: BoundAgency | None) -> tuple[float, float] | None:
    """(spent, cap) for the REPL's toolbar once a cap is set (before the agency is built, every agent is
    taken to use the session's model); None without one."""
    if meta.max_cost is None:
        return None
    model_of = binding.model_name if binding else (lambda agent: meta.model or "")
    return spent(meta, model_of), meta.max_cost


def unpriced(models: list[str]) -> list[str]:
    """Those of `models` a cap cannot count (no known price)."""
    return sorted({m for m in models if price(m, 1, 1) is None})


def set_cap(store: SessionStore, name: str, cap: float | None) -> None:
    """Store a session's cap (resume --max-cost), under its lock like any change."""
    session = store.open(name)
    try:
        session.update_meta(max_cost=cap)
    finally:
        session.close()


def cap_problems(binding: BoundAgency) -> list[str]:
    """What to say once when a cap is set: the agents whose model has no known price (never counted),
    and that a served agency is checked only between turns."""
    models = {agent: binding.model_name(agent) for agent in binding.agent_names}
    free = unpriced(list(models.values()))
    said = []
    if free:
        names = ", ".join(sorted(a for a, m in models.items() if m in free))
        said.append(
            f"no known price for {', '.join(m or '(unknown model)' for m in free)} ({names}): "
            "the cap cannot count what those agents spend"
        )
    if getattr(binding, "checks_cap_between_turns", False):
        said.append("a served agency's cap is checked between turns: a turn under way runs to its end")
    return said


def dollars(amount: float) -> str:
    return f"${amount:.4f}" if amount >= 0.01 else f"${amount:.6f}"


def reached_line(cap: float, spent_now: float, *, stopped: bool = True) -> str:
    """The one line a turn stopped at the cap ends with (`stopped`: mid-turn, else before it sent anything)."""
    what = "the reply so far is kept, marked interrupted" if stopped else "nothing was sent"
    return (
        f"spending cap reached: {dollars(spent_now)} spent of the {dollars(cap)} cap; {what}; "
        "raise it with /budget USD (or --max-cost USD), or lift it with /budget off"
    )


class Guard:
    """One turn's check: the session's spending before it, plus each model call as it ends."""

    def __init__(self, cap: float | None, before: float) -> None:
        self.cap = cap
        self.spent = before
        self.tripped = False
        self.usage: dict[str, dict[str, int]] = {}  # this turn's calls as they ended, as book_usage takes them

    def add(self, agent: str, model: str, input_tokens: int, output_tokens: int) -> None:
        self.spent += price(model, input_tokens, output_tokens) or 0.0
        counts = self.usage.setdefault(agent, {"input_tokens": 0, "output_tokens": 0, "requests": 0})
        counts["input_tokens"] += input_tokens
        counts["output_tokens"] += output_tokens
        counts["requests"] += 1

    def booked(self, streamed: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        """The turn's usage to book: what the stream reported, or what the calls' ends counted where the
        stream was stopped before their usage reached it (the same calls, seen twice: the larger count)."""
        agents = set(streamed) | set(self.usage)
        keys = ("input_tokens", "output_tokens", "requests")
        return {
            a: {k: max(streamed.get(a, {}).get(k, 0), self.usage.get(a, {}).get(k, 0)) for k in keys} for a in agents
        }

    def allows_a_call(self) -> bool:
        """False (and tripped) once the cap is reached."""
        if self.cap is not None and self.spent >= self.cap:
            self.tripped = True
        return not self.tripped
