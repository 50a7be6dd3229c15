"""Routing every agent to the session's model, server and API, through the Agents SDK's process-global
default client; and the client settings users tune through the environment, checked up front."""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmchat.errors import UsageError
from swarmchat.session import SessionMeta


@dataclass(frozen=True)
class ClientSettings:
    timeout: float = 120.0
    max_retries: int = 2


def client_settings() -> ClientSettings:
    """SWARMCHAT_TIMEOUT (seconds, > 0) and SWARMCHAT_MAX_RETRIES (an integer >= 0), or a UsageError
    naming the variable; the CLI calls this before it creates anything."""
    defaults = ClientSettings()
    timeout, retries = os.environ.get("SWARMCHAT_TIMEOUT", ""), os.environ.get("SWARMCHAT_MAX_RETRIES", "")
    seconds = defaults.timeout
    if timeout.strip():
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = math.nan
        if not (math.isfinite(seconds) and seconds > 0):
            raise UsageError(
                f"SWARMCHAT_TIMEOUT={timeout!r} is not a number of seconds; "
                "set it to a positive number such as 120, or unset it"
            )
    count = defaults.max_retries
    if retries.strip():
        if not retries.strip().isdigit():
            raise UsageError(
                f"SWARMCHAT_MAX_RETRIES={retries!r} is not a count; set it to a whole number 0 or more "
                "such as 2, or unset it"
            )
        count = int(retries)
    return ClientSettings(seconds, count)


def configure_models(agency: Any, meta: SessionMeta) -> Any:
    """Route every agent to the session's model, server and API; the client they talk through
    (None: the SDK's own, or no network at all)."""
    from swarmchat import echo_model

    if echo_model.configure(agency, meta.model):  # the built-in model: no client, no key, no network
        return None
    import agents

    from swarmchat.agency.openai_client import build_client

    settings = client_settings()
    api_key = os.environ.get("OPENAI_API_KEY") or ("not-needed" if meta.base_url else None)
    client = None
    if api_key or meta.base_url or os.environ.get("OPENAI_BASE_URL"):
        client = build_client(
            api_key=api_key or "missing",
            base_url=meta.base_url or None,
            max_retries=settings.max_retries,
            timeout=settings.timeout,
        )
        agents.set_default_openai_client(client, use_for_tracing=False)
    agents.set_default_openai_api("chat_completions" if meta.api == "chat" else "responses")
    if not meta.model:
        return client
    for agent in agency.agents.values():
        if "/" in meta.model and client is not None:
            model_cls = agents.OpenAIChatCompletionsModel if meta.api == "chat" else agents.OpenAIResponsesModel
            agent.model = model_cls(model=meta.model, openai_client=client)
        else:
            agent.model = meta.model
    return client


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
