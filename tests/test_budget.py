"""The spending cap (`--max-cost`, `/budget`): checked before every model call, a delegated agent's
included; at the cap the turn stops like an interrupt and nothing more reaches the model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from agencies import TWO_AGENTS, write_agency
from conftest import Run, one_error_line, roles
from fake_openai import FakeOpenAI, Reply, send_message

from swarmchat.budget import Guard, parse_cost
from swarmchat.errors import UsageError
from swarmchat.store import open_store

# gpt-4o: $2.50 per million input tokens, $10 per million output tokens (agency-swarm's model table)
EXPENSIVE = (100_000, 1_000)  # $0.26 for the CEO's call


def test_the_cap_stops_a_turn_between_the_ceo_and_the_worker(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    server.push(Reply(tool_calls=[send_message("Researcher", "Find the boiling point.")], usage=EXPENSIVE))
    args = ("--agency", spec, "--base-url", server.url, "--model", "gpt-4o")
    done = cli("new", "capped", *args, "--max-cost", "0.10", "-m", "Boiling point?", timeout=240)
    assert done.returncode == 1, done.stderr
    line = one_error_line(done.stderr)
    assert "spending cap reached" in line and "$0.2600 spent of the $0.1000 cap" in line and "/budget" in line
    assert len(server.requests) == 1  # the Researcher's call never left: nothing sent past the cap
    assert "You are Lead." in server.requests[0].instructions
    assert roles("capped")[0] == ("user", "Boiling point?")
    assert roles("capped")[-1][1].endswith("[interrupted]")  # the partial turn kept, marked
    meta = open_store().read_meta("capped")
    assert meta.max_cost == 0.10  # stored with the session
    assert meta.usage_by_agent["Lead"]["input_tokens"] == EXPENSIVE[0]  # what was spent is booked

    # still over the cap: the next turn stops before its first call (--json: an error of kind budget)
    again = cli("resume", "capped", "-m", "and now?", "--json", timeout=240)
    assert again.returncode == 1
    events = [json.loads(line) for line in again.stdout.splitlines()]
    assert events[-1]["type"] == "error" and events[-1]["kind"] == "budget"
    assert len(server.requests) == 1

    # raising the cap lets the session go on
    server.push(Reply("Water boils at 100 °C."))
    raised = cli("resume", "capped", "--max-cost", "5", "-m", "go on", timeout=240)
    assert raised.returncode == 0, raised.stderr
    assert raised.stdout == "Water boils at 100 °C.\n"
    assert len(server.requests) == 2
    assert open_store().read_meta("capped").max_cost == 5.0


def test_a_cap_on_a_model_without_a_price_is_said_once(cli: Run, server: FakeOpenAI) -> None:
    done = cli(
        "new", "free", "--base-url", server.url, "--model", "my-local-model", "--max-cost", "1", "-m", "hi", timeout=240
    )
    assert done.returncode == 0, done.stderr
    assert "no known price for my-local-model" in done.stderr
    again = cli("resume", "free", "-m", "again", timeout=240)
    assert again.returncode == 0 and "no known price" not in again.stderr  # said when the cap was set only


def test_a_bad_cap_is_exit_2_and_creates_nothing(cli: Run) -> None:
    done = cli("new", "x", "--max-cost", "cheap", "-m", "hi", timeout=240)
    assert done.returncode == 2
    assert "--max-cost takes an amount of dollars" in one_error_line(done.stderr)
    assert not open_store().exists("x")


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "abc", ""])
def test_parse_cost_refuses_what_is_not_a_positive_amount(text: str) -> None:
    with pytest.raises(UsageError):
        parse_cost(text)


def test_parse_cost_and_guard() -> None:
    assert parse_cost("$0.50") == 0.5
    guard = Guard(0.01, 0.0)
    assert guard.allows_a_call()
    guard.add("Lead", "gpt-4o", 4_000, 0)  # $0.01
    assert not guard.allows_a_call() and guard.tripped
    assert Guard(None, 100.0).allows_a_call()  # no cap
    streamed = {"Lead": {"input_tokens": 10, "output_tokens": 1, "requests": 1}}
    assert guard.booked(streamed) == {"Lead": {"input_tokens": 4_000, "output_tokens": 1, "requests": 1}}


def test_budget_in_the_repl_sets_shows_and_stops(term, server: FakeOpenAI, tmp_path: Path) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    t = term("new", "rb", "--agency", spec, "--base-url", server.url, "--model", "gpt-4o")
    t.prompt("Lead")
    t.line("/budget 0.10")
    t.expect("spending cap $0.1000")
    t.prompt("Lead")
    server.push(Reply(tool_calls=[send_message("Researcher", "Find it.")], usage=EXPENSIVE))
    t.line("Boiling point?")
    t.expect("spending cap reached")
    t.prompt("Lead")
    assert len(server.requests) == 1  # the Researcher's call never left
    t.line("/budget")
    t.expect(re.compile(r"spent \$0\.2600\s+cap \$0\.1000"))
    t.prompt("Lead")
    t.on_screen("$0.2600 / $0.1000")  # the toolbar (past 80 % of the cap: highlighted)
    t.line("/budget off")
    t.expect("no spending cap")
    t.prompt("Lead")
    t.exit()
    assert open_store().read_meta("rb").max_cost is None
