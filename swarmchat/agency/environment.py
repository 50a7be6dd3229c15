"""Importing agency-swarm without letting it change the user's environment or chatter on stderr."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

QUIET_LOGGERS = ("agency_swarm", "openai.agents", "openai", "httpx", "LiteLLM")


def import_agency_swarm() -> Any:
    """Import agency-swarm (once) and undo what its import does to the process.

    Its import runs `load_dotenv(override=True)`, which finds a `.env` near the installed
    package and overrides variables the user set; those are put back. Tracing export is
    switched off unless SWARMCHAT_TRACING=1 (conversations stay on the user's machine).
    """
    if "agency_swarm" in sys.modules:
        return sys.modules["agency_swarm"]
    if os.environ.get("SWARMCHAT_TRACING", "") not in ("1", "true", "yes"):
        os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    before = dict(os.environ)
    import agency_swarm

    if not os.environ.get("SWARMCHAT_DEBUG"):
        # agency-swarm logs (and swallows) model errors; swarmchat reports them in one line
        for logger_name in QUIET_LOGGERS:
            logging.getLogger(logger_name).setLevel(logging.CRITICAL)

    for key, value in before.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    if os.environ.get("OPENAI_AGENTS_DISABLE_TRACING") == "1":
        from agents import set_tracing_disabled

        set_tracing_disabled(True)
    return agency_swarm
