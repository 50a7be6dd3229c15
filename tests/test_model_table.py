"""Prices and context windows come from the model table agency-swarm ships, read without importing
agency-swarm (a served agency's /status must not pay its 3 s import), and agree with agency-swarm's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from swarmchat.model_table import context_window, price_per_token

MODELS = ["gpt-4o", "gpt-4o-2024-08-06", "openai/gpt-4o", "gpt-5.6-luna", "gpt-4o-mini", "no-such-model-xyz"]


@pytest.mark.parametrize("model", MODELS)
def test_prices_agree_with_agency_swarms_own_lookup(model: str) -> None:
    from agency_swarm.utils.usage_tracking import get_model_pricing

    theirs = get_model_pricing(model.rsplit("/", 1)[-1])
    expected = None if not theirs else (theirs["input_cost_per_token"], theirs["output_cost_per_token"])
    assert price_per_token(model) == expected


def test_known_and_unknown_context_windows() -> None:
    assert context_window("gpt-4o") == 128_000
    assert context_window("no-such-model-xyz") is None


@pytest.mark.slow  # starts a process
def test_looking_up_a_price_imports_no_agency_swarm() -> None:
    code = (
        "import sys\nfrom swarmchat.model_table import price_per_token, context_window\n"
        "assert price_per_token('gpt-4o') and context_window('gpt-4o')\n"
        "print(sorted(m for m in ('agency_swarm', 'agents', 'openai', 'litellm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
