"""Tokens and what they cost, for the toolbar and /status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def cost_line(model: str, usage: Usage) -> str:
    from swarmchat.agency import price_per_token

    prices = price_per_token(model)
    if prices is None:
        return f"unknown (no price for '{model}' in agency-swarm's table)"
    cost = usage.input_tokens * prices[0] + usage.output_tokens * prices[1]
    return f"${cost:.4f}" if cost >= 0.01 else f"${cost:.6f}"  # a few turns cost fractions of a cent
