"""Tokens and cost per agent (issue 16 item 2): each model call booked to the agent that made it, a
delegated worker's calls to the worker, stored with each turn; the session totals are their sum.
Through the real CLI and stack against the scripted server, and /status in a real pty."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from agencies import TWO_AGENTS, write_agency
from conftest import Run
from fake_openai import FakeOpenAI, Reply, send_message

from swarmchat.session import Item, SessionMeta
from swarmchat.store import open_store

pytestmark = pytest.mark.timeout(400)  # several processes per test, each paying the imports

LEAD_ASKS = Reply(tool_calls=[send_message("Researcher", "Find the boiling point of water.")], usage=(100, 10))
WORKER_ANSWERS = Reply("Water boils at 100 °C at sea level.", usage=(50, 5))
LEAD_REPLIES = Reply("The researcher says: 100 °C.", usage=(200, 20))


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_the_workers_tokens_are_booked_to_the_worker(cli: Run, server: FakeOpenAI, tmp_path: Path, api: str) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    server.push(LEAD_ASKS, WORKER_ANSWERS, LEAD_REPLIES)
    args = ("--agency", spec, "--base-url", server.url, "--model", "m", "--api", api)
    first = cli("new", "lab", *args, "-m", "Boiling point?")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "The researcher says: 100 °C.\n"

    server.push(Reply("Glad to help.", usage=(400, 3)))
    second = cli("resume", "lab", "-m", "Thanks!")
    assert second.returncode == 0, second.stderr

    [listed] = json.loads(cli("list", "--json").stdout)
    assert listed["usage_by_agent"] == {
        "Lead": {"input_tokens": 100 + 200 + 400, "output_tokens": 10 + 20 + 3, "requests": 3},
        "Researcher": {"input_tokens": 50, "output_tokens": 5, "requests": 1},
    }
    # the session totals are the per-agent sum: the worker's call counts (it did not before)
    assert (listed["input_tokens"], listed["output_tokens"]) == (750, 38)


def test_a_cut_fork_starts_its_per_agent_counts_at_zero(cli: Run) -> None:
    counts = {"Lead": {"input_tokens": 5, "output_tokens": 1, "requests": 1}}
    items: list[Item] = [
        {"role": "user", "content": "q", "agent": "Lead", "callerAgent": None, "timestamp": 1},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a", "annotations": []}],
         "agent": "Lead", "callerAgent": None, "timestamp": 2},
    ]  # fmt: skip
    open_store().write_new(SessionMeta.fresh("src", input_tokens=5, output_tokens=1, usage_by_agent=counts), items)
    assert cli("fork", "src", "cut", "--at", "-1").returncode == 0
    assert cli("fork", "src", "whole").returncode == 0
    assert open_store().read("cut")[0].usage_by_agent == {}
    assert open_store().read("whole")[0].usage_by_agent == counts


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"Lead": 5},
        {"Lead": {"input_tokens": "5"}},
        {"Lead": {"input_tokens": -1}},
        {"Lead": {"input_tokens": True}},
        {"Lead": {"cost": 1}},
    ],
)
def test_a_damaged_usage_table_is_refused_with_the_field_named(bad: object) -> None:
    data = {**SessionMeta.fresh("s").to_dict(), "usage_by_agent": bad}
    with pytest.raises(ValueError, match="usage_by_agent"):
        SessionMeta.from_dict(data)
    with pytest.raises(ValueError, match="show_thinking"):
        SessionMeta.from_dict({**SessionMeta.fresh("s").to_dict(), "show_thinking": "yes"})


PRICED_AND_NOT = textwrap.dedent(
    """
    from agency_swarm import Agency, Agent

    def create_agency(load_threads_callback=None):
        lead = Agent(name="Lead", instructions="You are Lead.", model="gpt-4o")
        researcher = Agent(name="Researcher", instructions="You are Researcher.", model="house-model-7")
        return Agency(lead, communication_flows=[(lead, researcher)], load_threads_callback=load_threads_callback)
    """
)


def test_status_shows_each_agent_at_its_own_models_price(term, server: FakeOpenAI, tmp_path: Path) -> None:
    spec = f"{write_agency(tmp_path, PRICED_AND_NOT)}:create_agency"
    server.push(LEAD_ASKS, WORKER_ANSWERS, LEAD_REPLIES)
    t = term("new", "priced", "--agency", spec, "--base-url", server.url)
    t.prompt("Lead")
    t.line("Boiling point?")
    t.expect("The researcher says: 100 °C.")
    t.prompt("Lead")
    t.line("/status")
    t.expect(re.compile(r"total\s+3\s+350\s+35\s+\S+"))
    t.prompt("Lead")
    rows = "\n".join(t.scrollback())
    # Lead: 300 in, 30 out at gpt-4o's $2.50/$10 per million; the worker's model has no price
    assert re.search(r"Lead\s+gpt-4o\s+2\s+300\s+30\s+\$0\.001050", rows), rows
    assert re.search(r"Researcher\s+house-model-7\s+1\s+50\s+5\s+no price", rows), rows
    assert re.search(r"total\s+3\s+350\s+35\s+\$0\.001050 \(priced agents only\)", rows), rows
    t.exit()
