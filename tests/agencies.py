"""Agency files the end-to-end and REPL tests load by path, as users do."""

from __future__ import annotations

import textwrap
from pathlib import Path

TWO_AGENTS = textwrap.dedent(
    """
    from agency_swarm import Agency, Agent

    def create_agency(load_threads_callback=None):
        lead = Agent(name="Lead", instructions="You are Lead. Delegate research to Researcher.")
        researcher = Agent(name="Researcher", instructions="You are Researcher.")
        return Agency(lead, communication_flows=[(lead, researcher)], load_threads_callback=load_threads_callback)
    """
)


def write_agency(tmp_path: Path, source: str, name: str = "my_agency.py") -> Path:
    path = tmp_path / name
    path.write_text(source)
    return path


HANDOFF = textwrap.dedent(
    """
    from agency_swarm import Agency, Agent
    from agency_swarm.tools.send_message import Handoff

    def create_agency(load_threads_callback=None):
        desk = Agent(name="Desk", instructions="You are Desk. Hand billing questions to Billing.")
        billing = Agent(name="Billing", instructions="You are Billing.", description="Billing questions")
        return Agency(desk, communication_flows=[(desk, billing, Handoff)], load_threads_callback=load_threads_callback)
    """
)
