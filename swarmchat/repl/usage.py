"""Tokens and what they cost, for the toolbar and /status."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table

from swarmchat.safe_text import text_line


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def cost_line(model: str, usage: Usage) -> str:
    from swarmchat.model_table import price_per_token

    prices = price_per_token(model)
    if prices is None:
        return f"unknown (no price for '{model}' in agency-swarm's table)"
    amount = usage.input_tokens * prices[0] + usage.output_tokens * prices[1]
    return dollars(amount)  # a few turns cost fractions of a cent


def cost(model: str, usage: Usage) -> float | None:
    from swarmchat.model_table import price_per_token

    prices = price_per_token(model) if model else None
    return None if prices is None else usage.input_tokens * prices[0] + usage.output_tokens * prices[1]


def dollars(amount: float) -> str:
    return f"${amount:.4f}" if amount >= 0.01 else f"${amount:.6f}"


def agent_table(spent: dict[str, Usage], models: dict[str, str]) -> Table:
    """Tokens and cost per agent (each at its own model's price) and the total; "no price" where the
    model is not in agency-swarm's table, and then the total cost covers only the priced agents."""
    table = Table(box=None, padding=(0, 2), show_footer=True)
    for title, justify in (("agent", "left"), ("model", "left"), ("calls", "right"), ("tokens in", "right"),
                           ("tokens out", "right"), ("cost", "right")):  # fmt: skip
        # on a narrow screen the names are cut, never a number
        table.add_column(title, justify=justify, no_wrap=justify == "right")  # type: ignore[arg-type]
    total, priced, unpriced = Usage(), 0.0, False
    for agent, usage in spent.items():
        model = models.get(agent, "")
        amount = cost(model, usage)
        unpriced = unpriced or amount is None
        priced += amount or 0.0
        total.input_tokens += usage.input_tokens
        total.output_tokens += usage.output_tokens
        total.requests += usage.requests
        table.add_row(text_line(agent), text_line(model or "?"), f"{usage.requests:,}", f"{usage.input_tokens:,}",
                      f"{usage.output_tokens:,}", "no price" if amount is None else dollars(amount))  # fmt: skip
    cost_total = dollars(priced)
    if unpriced:
        cost_total = f"{cost_total} (priced agents only)" if priced else "no price"
    footers = ["total", "", f"{total.requests:,}", f"{total.input_tokens:,}", f"{total.output_tokens:,}", cost_total]
    for column, footer in zip(table.columns, footers, strict=True):
        column.footer = footer
    return table
