"""Routing every agent to the session's model, server and API, through the Agents SDK's process-global
default client; and the client settings users tune through the environment, checked up front."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
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
