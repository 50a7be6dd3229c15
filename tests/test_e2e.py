"""End to end through the real stack: swarmchat CLI → agency-swarm → Agents SDK → openai → HTTP → the
scripted server. Proves that `resume` rebuilds the agency and hands it the saved conversation."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from agencies import TWO_AGENTS, write_agency
from conftest import Run
from fake_openai import FakeOpenAI, Reply, send_message

from swarmchat.store import open_store


def messages(name: str) -> list[dict[str, object]]:
    return open_store().read(name)[1]


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_resume_sends_the_saved_conversation_to_the_model(cli: Run, server: FakeOpenAI, api: str) -> None:
    server.push(Reply("Paris is the capital of France.", delay=0.01))
    first = cli("new", "trip", "--base-url", server.url, "--model", "model-a", "--api", api, "-m", "Capital of France?")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "Paris is the capital of France.\n"

    server.push(Reply("About 2.1 million.", usage=(30, 5)))
    second = cli("resume", "trip", "-m", "And its population?")
    assert second.returncode == 0, second.stderr
    assert second.stdout == "About 2.1 million.\n"

    sent = server.requests[-1]
    assert sent.path.endswith("/chat/completions" if api == "chat" else "/responses")
    assert sent.model == "model-a"  # the session's model, stored at `new`, used again by `resume`
    assert sent.messages() == [
        ("user", "Capital of France?"),
        ("assistant", "Paris is the capital of France."),
        ("user", "And its population?"),
    ]
    listed = json.loads(cli("list", "--json").stdout)
    assert [(s["name"], s["title"], s["message_count"], s["api"]) for s in listed] == [
        ("trip", "Capital of France?", 4, api)
    ]
    assert (listed[0]["input_tokens"], listed[0]["output_tokens"]) == (12 + 30, 7 + 5)  # both turns, as reported


def test_delegation_through_send_message_is_saved_and_replayed(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    server.push(
        Reply(tool_calls=[send_message("Researcher", "Find the boiling point of water.")]),
        Reply("Water boils at 100 °C at sea level."),
        Reply("The researcher says: 100 °C."),
    )
    first = cli("new", "lab", "--agency", spec, "--base-url", server.url, "--model", "m", "-m", "Boiling point?")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "The researcher says: 100 °C.\n"
    assert "You are Researcher." in server.requests[1].instructions  # the delegation reached the other agent

    stored = messages("lab")
    assert [m.get("type", "message") for m in stored if m.get("callerAgent") == "Lead"] != []
    assert any(m.get("type") == "function_call" and m.get("name") == "send_message" for m in stored)

    server.push(Reply("Glad to help."))
    second = cli("resume", "lab", "-m", "Thanks!")
    assert second.returncode == 0, second.stderr
    resumed = server.requests[-1]
    assert "You are Lead." in resumed.instructions
    assert resumed.messages() == [
        ("user", "Boiling point?"),
        ("assistant", "The researcher says: 100 °C."),
        ("user", "Thanks!"),
    ]
    calls = [i for i in resumed.body["input"] if i.get("type") in ("function_call", "function_call_output")]
    assert [c["type"] for c in calls] == ["function_call", "function_call_output"]  # the delegation replayed
    assert "100 °C" in calls[1]["output"]


FACTORIES = {
    # agency-swarm's run_fastapi convention: load callback only (swarmchat patches the save side)
    "run_fastapi": """
        def create_agency(load_threads_callback=None):
            return Agency(Agent(name="Helper", instructions="You are Helper."),
                          load_threads_callback=load_threads_callback)
        """,
    # both callbacks taken by the factory
    "both_callbacks": """
        def create_agency(load_threads_callback=None, save_threads_callback=None):
            return Agency(Agent(name="Helper", instructions="You are Helper."),
                          load_threads_callback=load_threads_callback,
                          save_threads_callback=save_threads_callback)
        """,
    "zero_argument": """
        def build():
            return Agency(Agent(name="Helper", instructions="You are Helper."))
        """,
    "instance": """
        agency = Agency(Agent(name="Helper", instructions="You are Helper."))
        """,
}


@pytest.mark.parametrize("kind", FACTORIES)
def test_agency_spec_from_a_file_path_in_each_convention(
    cli: Run, server: FakeOpenAI, tmp_path: Path, kind: str
) -> None:
    source = "from agency_swarm import Agency, Agent\n" + textwrap.dedent(FACTORIES[kind])
    path = write_agency(tmp_path, source, f"agency_{kind}.py")
    attr = {"zero_argument": ":build", "instance": ":agency"}.get(kind, "")  # default attr: create_agency
    first = cli("new", "s", "--agency", f"{path}{attr}", "--base-url", server.url, "--model", "m", "-m", "one")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "echo: one\n"
    assert "You are Helper." in server.last.instructions

    second = cli("resume", "s", "-m", "two")
    assert second.returncode == 0, second.stderr
    assert server.last.messages() == [("user", "one"), ("assistant", "echo: one"), ("user", "two")]
    assert [m.get("role") for m in messages("s")] == ["user", "assistant", "user", "assistant"]


def test_agency_spec_as_a_module_path(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    write_agency(tmp_path, TWO_AGENTS, "team_agency.py")
    env = {"PYTHONPATH": str(tmp_path)}
    done = cli("new", "m", "--agency", "team_agency:create_agency", "--base-url", server.url, "-m", "hi", env=env)
    assert done.returncode == 0, done.stderr
    assert "You are Lead." in server.last.instructions
    assert open_store().read_meta("m").agency == "team_agency:create_agency"


def test_piped_stdin_is_one_turn(cli: Run, server: FakeOpenAI) -> None:
    done = cli("new", "piped", "--base-url", server.url, input="summarize this\nsecond line\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: summarize this\nsecond line\n"
    assert server.last.user_texts() == ["summarize this\nsecond line"]  # the pipe's final newline dropped


def test_new_without_a_name_generates_one(cli: Run, server: FakeOpenAI) -> None:
    done = cli("new", "--base-url", server.url, "-m", "hello")
    assert done.returncode == 0, done.stderr
    name = done.stderr.strip().removeprefix("session: ")
    assert open_store().names() == [name]
    again = cli("resume", "-m", "again")  # no NAME: the most recent session
    assert again.returncode == 0, again.stderr
    assert server.last.user_texts() == ["hello", "again"]


def test_a_dotenv_beside_the_install_does_not_override_the_users_environment(cli: Run, server: FakeOpenAI) -> None:
    """agency-swarm's import runs load_dotenv(override=True), which finds a .env walking up from the
    installed package. The user's OPENAI_BASE_URL must win over it."""
    dotenv = Path(sys.prefix) / ".env"
    assert not dotenv.exists(), f"{dotenv} exists; this test needs to create it"
    dotenv.write_text("OPENAI_BASE_URL=http://127.0.0.1:9/v1\nOPENAI_API_KEY=sk-from-dotenv\n")
    try:
        # a new interpreter: the import that reads the .env is what is tested
        done = cli("new", "env", "-m", "who answers?", env={"OPENAI_BASE_URL": server.url}, fresh=True)
    finally:
        dotenv.unlink()
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: who answers?\n"
    assert "sk-from-dotenv" not in server.last.transcript()
    assert "sk-" not in Path(open_store().location).joinpath("sessions", "env.json").read_text()


def test_spec_that_does_not_load_exits_2_and_writes_nothing(cli: Run, tmp_path: Path, data_dir: Path) -> None:
    broken = write_agency(tmp_path, "raise RuntimeError('boom')\n", "broken.py")
    for spec, problem in [
        (f"{broken}:create_agency", "boom"),
        (f"{tmp_path / 'absent.py'}:create_agency", "absent.py"),
        ("no_such_module_xyz:create_agency", "no_such_module_xyz"),
    ]:
        done = cli("new", "x", "--agency", spec, "-m", "hi")
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("swarmchat: error:") and problem in lines[0], lines
        assert not list(data_dir.glob("sessions/*")), "a failed new must leave nothing behind"


def test_unknown_session_exits_2(cli: Run) -> None:
    done = cli("resume", "nobody", "-m", "hi")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "nobody" in done.stderr and "swarmchat list" in done.stderr


RENAMED_RESEARCHER = TWO_AGENTS.replace('"Researcher"', '"Analyst"').replace("You are Researcher.", "You are Analyst.")


def test_a_changed_agency_still_opens_and_keeps_what_it_cannot_replay(
    cli: Run, server: FakeOpenAI, tmp_path: Path
) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    server.push(Reply(tool_calls=[send_message("Researcher", "Look it up.")]), Reply("100 °C."), Reply("It is 100 °C."))
    assert cli("new", "lab", "--agency", spec, "--base-url", server.url, "-m", "Boiling point?").returncode == 0
    meta = open_store().read_meta("lab")
    before = messages("lab")

    write_agency(tmp_path, RENAMED_RESEARCHER)  # the user renamed an agent in their agency file
    server.push(Reply("Still here."))
    changed = cli("resume", "lab", "-m", "are you there?")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout == "Still here.\n"
    warnings = [ln for ln in changed.stderr.splitlines() if ln.startswith("swarmchat: warning:")]
    assert len(warnings) == 1 and "no longer has (Researcher)" in warnings[0], changed.stderr
    after = messages("lab")
    assert after[: len(before)] == before  # nothing the agency cannot replay was dropped
    assert "You are Lead." in server.last.instructions
    assert meta.agency == spec

    server.push(Reply("Yes."))
    again = cli("resume", "lab", "-m", "again?")
    assert again.returncode == 0 and "warning" not in again.stderr  # told once


def test_a_stored_recipient_that_is_gone_falls_back_to_the_entry_agent(
    cli: Run, server: FakeOpenAI, tmp_path: Path
) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    assert cli("new", "lab", "--agency", spec, "--base-url", server.url, "-m", "hi").returncode == 0
    store = open_store()
    session = store.open("lab")
    session.update_meta(recipient="Researcher")
    session.close()
    write_agency(tmp_path, RENAMED_RESEARCHER)
    result = cli("resume", "lab", "-m", "who is this?")
    assert result.returncode == 0, result.stderr
    assert "agent 'Researcher' is gone; talking to 'Lead' instead" in result.stderr
    assert "You are Lead." in server.last.instructions
    assert open_store().read_meta("lab").recipient is None
