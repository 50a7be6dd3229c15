"""The model table agency-swarm prices with (LiteLLM's, as agency-swarm ships it): each model's price
per token and context window, read as a file, without importing agency-swarm or LiteLLM, so that a
served agency's `/status` and the spending cap cost no 3 s import."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path


def price_per_token(model: str) -> tuple[float, float] | None:
    """(input, output) dollars per token from the model table agency-swarm prices with, or None if
    unknown. Read without importing agency-swarm, so a served agency's /status costs no 3 s import."""
    entry = _model_entry(model) if model else None
    prices = (_price(entry, "input_cost_per_token"), _price(entry, "output_cost_per_token")) if entry else None
    return None if prices is None or None in prices else (prices[0] or 0.0, prices[1] or 0.0)


def _price(entry: dict[str, object], key: str) -> float | None:
    value = entry.get(key, 0.0)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


MODEL_TABLE = "data/model_prices_and_context_window.json"
"""LiteLLM's model table as agency-swarm ships it (its prices come from here too), read without importing
LiteLLM (2.5 s) or agency-swarm."""


@functools.cache
def _model_table() -> dict[str, dict[str, object]]:
    found = importlib.util.find_spec("agency_swarm")
    if found is None or not found.submodule_search_locations:
        return {}
    path = Path(next(iter(found.submodule_search_locations))) / MODEL_TABLE
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in table.items() if isinstance(v, dict)} if isinstance(table, dict) else {}


def _model_entry(model: str) -> dict[str, object] | None:
    """The table's entry for `model`, looked up as agency-swarm looks up prices: as named, without a
    provider prefix, without a date, without its last part."""
    table = _model_table()
    base = model.rsplit("/", 1)[-1]
    for name in (model, base, re.sub(r"-\d{4}-\d{2}-\d{2}$", "", base), base.rsplit("-", 1)[0]):
        if name in table:
            return table[name]
    return None


def context_window(model: str) -> int | None:
    """How many input tokens `model` takes, from the model table, or None if it is not known there."""
    entry = _model_entry(model)
    size = entry.get("max_input_tokens") if entry else None
    return size if isinstance(size, int) and size > 0 else None
