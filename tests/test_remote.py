"""A deployed agency (issue 13): swarmchat → HTTP → agency-swarm's own run_fastapi under uvicorn → Agents SDK
→ the scripted model server. The session lives on this side; the server only ever sees it as chat_history."""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import signal
import subprocess
import time

import zygote
from agency_server import ASSISTANT, AgencyServer, StartServer
from conftest import ROOT, Run, one_error_line, roles
from fake_openai import FakeOpenAI, Reply, send_message

from swarmchat.bound import LiveSession
from swarmchat.remote.client import parse_url
from swarmchat.session import item_text
from swarmchat.store import open_store


def test_new_and_resume_talk_to_the_served_agency_with_the_stored_history(
    cli: Run, served: tuple[FakeOpenAI, AgencyServer]
) -> None:
    server, srv = served
    url = srv.url("assistant")
    server.push(Reply("Paris is the capital of France.", usage=(20, 6)))
    first = cli("new", "trip", "--agency", url, "-m", "Capital of France?")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "Paris is the capital of France.\n"
    assert first.stderr == ""
    assert roles("trip") == [("user", "Capital of France?"), ("assistant", "Paris is the capital of France.")]

    server.push(Reply("About 2.1 million.", usage=(30, 5)))
    second = cli("resume", "trip", "-m", "And its population?")
    assert second.returncode == 0, second.stderr
    assert second.stdout == "About 2.1 million.\n"
    assert server.last.messages() == [  # the history this side stored reached the model through the server
        ("user", "Capital of France?"),
        ("assistant", "Paris is the capital of France."),
        ("user", "And its population?"),
    ]
    assert "helpful, knowledgeable assistant" in server.last.instructions  # the server's agency answered
    listed = json.loads(cli("list", "--json").stdout)
    assert [(s["name"], s["agency"], s["message_count"]) for s in listed] == [("trip", url, 4)]
    assert (listed[0]["input_tokens"], listed[0]["output_tokens"]) == (50, 11)  # the server's usage, both turns
    assert listed[0]["remote_agency"]["agents"] == ["Assistant"]  # cached for an instant prompt next time


def test_delegation_is_rendered_and_stored(term, served: tuple[FakeOpenAI, AgencyServer]) -> None:
    server, srv = served
    server.push(
        Reply(tool_calls=[send_message("Researcher", "Find the boiling point of water.")]),
        Reply("Water boils at 100 °C at sea level."),
        Reply("My researcher says: 100 °C."),
    )
    t = term("new", "lab", "--agency", srv.url("team"))
    t.prompt("Lead")  # the entry agent, from get_metadata
    t.line("How hot does water boil?")
    screen = t.expect("My researcher says: 100 °C.")
    t.prompt("Lead")
    assert re.search(r"→ Lead asks Researcher: Find the boiling point of water\.", screen), screen
    assert re.search(r"← Researcher: Water boils at 100 °C at sea level\.", screen), screen
    assert screen.rindex("Lead") > screen.index("asks Researcher")
    t.line("/agents")
    listing = t.expect(re.compile(r"Researcher"))
    t.prompt("Lead")
    assert "Lead" in listing + "Researcher"
    t.line("/model gpt-other")
    t.expect("chooses their models")
    t.prompt("Lead")
    t.exit()

    stored = open_store().read("lab")[1]
    calls = [i for i in stored if i.get("type") == "function_call" and i.get("name") == "send_message"]
    assert len(calls) == 1 and "boiling point" in str(calls[0]["arguments"])
    assert any(i.get("callerAgent") == "Lead" and item_text(i) == "Water boils at 100 °C at sea level." for i in stored)
    assert roles("lab")[0] == ("user", "How hot does water boil?")
    assert roles("lab")[-1] == ("assistant", "My researcher says: 100 °C.")
    assert open_store().read_meta("lab").model is None  # /model was refused: nothing stored


def test_ctrl_c_cancels_the_run_on_the_server_and_keeps_the_partial_reply(
    term, served: tuple[FakeOpenAI, AgencyServer]
) -> None:
    server, srv = served
    words = " ".join(f"word{n}" for n in range(400))
    server.push(Reply(words, delay=0.05))
    t = term("new", "long", "--agency", srv.url("assistant"))
    t.prompt("Assistant")
    t.line("tell me a long story")
    t.expect("word10")
    t.child.sendintr()
    t.expect("[interrupted]")
    t.prompt("Assistant")
    stored = open_store().read("long")[1]
    history = roles("long")
    assert history[0] == ("user", "tell me a long story")
    assert history[1][0] == "assistant" and history[1][1].startswith("word0 word1") and "[interrupted]" in history[1][1]
    assert "word399" not in history[1][1]
    assert "agent_run_id" in stored[0]  # the user message as the server's cancel answer returned it

    server.push(Reply("Back to you."))
    t.line("go on")
    t.expect("Back to you.")
    t.prompt()
    t.exit()
    assert [r for r, _ in roles("long")] == ["user", "assistant", "user", "assistant"]  # never two users in a row
    assert server.last.user_texts() == ["tell me a long story", "go on"]
    assert "[interrupted]" in server.last.transcript()  # the partial went back to the model as history


def test_a_wrong_or_missing_token_is_one_line_naming_the_variable(
    cli: Run, server: FakeOpenAI, agency_server: StartServer
) -> None:
    srv = agency_server({"assistant": ASSISTANT}, env={"APP_TOKEN": "s3cret"})
    url = srv.url("assistant")
    for env in ({"SWARMCHAT_AGENCY_TOKEN": "wrong"}, {}):
        done = cli("new", "locked", "--agency", url, "-m", "hi", env=env)
        assert done.returncode == 1
        line = one_error_line(done.stderr)
        assert "401" in line and "SWARMCHAT_AGENCY_TOKEN" in line and "APP_TOKEN" in line, line
    assert open_store().names() == []  # nothing stored

    ok = cli("new", "locked", "--agency", url, "-m", "hi", env={"SWARMCHAT_AGENCY_TOKEN": "s3cret"})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "echo: hi\n"
    before = open_store().read("locked")
    again = cli("resume", "locked", "-m", "again", env={"SWARMCHAT_AGENCY_TOKEN": "stale"})  # agents cached
    assert again.returncode == 1
    assert "SWARMCHAT_AGENCY_TOKEN" in one_error_line(again.stderr)
    assert open_store().read("locked")[1] == before[1]  # the session is intact
    assert "s3cret" not in json.dumps(open_store().read_meta("locked").to_dict())  # the token is never stored

    bare = cli("new", "bare", "--agency", srv.base + "/", "-m", "hi", env={"SWARMCHAT_AGENCY_TOKEN": "s3cret"})
    assert bare.returncode == 0, bare.stderr  # the URL names no agency: the server's only one is used
    assert bare.stdout == "echo: hi\n"
    assert bare.stderr.startswith("swarmchat: warning:") and "'assistant'" in bare.stderr
    assert open_store().read_meta("bare").agency == url  # stored as the agency it is
    again = cli("resume", "bare", "-m", "and now?", env={"SWARMCHAT_AGENCY_TOKEN": "s3cret"})
    assert (again.returncode, again.stdout, again.stderr) == (0, "echo: and now?\n", "")


def test_a_wrong_agency_name_lists_the_served_ones(cli: Run, served: tuple[FakeOpenAI, AgencyServer]) -> None:
    _, srv = served
    done = cli("new", "x", "--agency", srv.url("asistant"), "-m", "hi")
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "no agency 'asistant'" in line and "assistant, helper, team, desk" in line, line
    assert open_store().names() == []

    bare = cli("new", "x", "--agency", srv.base, "-m", "hi")  # two agencies: the URL must say which
    assert bare.returncode == 2
    assert "assistant, helper, team, desk" in one_error_line(bare.stderr)


def test_a_server_that_is_not_running_is_one_line(cli: Run) -> None:
    from redis_server import free_port

    nothing = f"http://127.0.0.1:{free_port()}/assistant"
    done = cli("new", "x", "--agency", nothing, "-m", "hi")
    assert done.returncode == 1
    assert "cannot reach the agency server" in one_error_line(done.stderr)
    assert open_store().names() == []


def test_not_an_agency_swarm_server(cli: Run, server: FakeOpenAI) -> None:
    """The scripted model server answers HTTP but is no agency server."""
    done = cli("new", "x", "--agency", f"http://127.0.0.1:{server.port}/v1", "-m", "hi")
    assert done.returncode == 1
    assert "not an agency-swarm agency" in one_error_line(done.stderr)
    assert open_store().names() == []


def test_a_server_killed_mid_stream_is_one_line_and_keeps_what_was_said(
    cli: Run, server: FakeOpenAI, agency_server: StartServer
) -> None:
    srv = agency_server({"assistant": ASSISTANT})
    server.push(Reply(" ".join(f"word{n}" for n in range(400)), delay=0.05))
    proc = zygote.popen(
        ["new", "cut", "--agency", srv.url("assistant"), "-m", "a long story"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stderr is not None
    shown = b""
    deadline = time.monotonic() + 60
    while b"word5 " not in shown:  # the reply is streaming: kill the server now
        assert time.monotonic() < deadline, shown
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            shown += os.read(proc.stdout.fileno(), 4096)
    os.kill(srv.proc.pid, signal.SIGKILL)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    line = one_error_line(err.decode())
    assert "mid-reply" in line or "before the reply was complete" in line, line
    history = roles("cut")
    assert history[0] == ("user", "a long story")
    partial = history[1][1]
    assert history[1][0] == "assistant" and "[interrupted]" in partial
    assert partial.split("[interrupted]")[0].split() == (shown + rest).decode().split()  # what was shown is kept

    before = open_store().read("cut")[1]
    again = cli("resume", "cut", "-m", "still there?")  # the agents are cached: the turn finds no server
    assert again.returncode == 1
    assert "cannot reach the agency server" in one_error_line(again.stderr)
    assert open_store().read("cut")[1] == before  # the session is intact


def test_compact_asks_the_server_for_the_summary(served: tuple[FakeOpenAI, AgencyServer]) -> None:
    from swarmchat.binder import bind
    from swarmchat.session import SessionMeta

    server, srv = served
    store = open_store()
    session = store.open("c", create=SessionMeta.fresh("c", agency=srv.url("assistant")))
    try:
        binding = bind(session.meta, LiveSession(session))
        server.push(Reply("They planned a trip to Lisbon."))
        summary = asyncio.run(binding.summarize("user: plan Lisbon\nassistant: sure", "Summarize it."))
    finally:
        session.close()
    assert summary == "They planned a trip to Lisbon."
    assert "plan Lisbon" in server.last.transcript() and "Summarize it." in server.last.instructions


def test_url_warnings() -> None:
    assert parse_url("https://agents.example.com/team").warnings == []
    assert parse_url("http://[::1]:8000/team").warnings == []
    clear = parse_url("http://10.0.0.5:8000/team")
    assert len(clear.warnings) == 1 and "unencrypted" in clear.warnings[0]
    nested = parse_url("http://127.0.0.1:8000/api/v2/team")
    assert (nested.base, nested.agency) == ("http://127.0.0.1:8000/api/v2", "team")
    assert "'team'" in nested.warnings[0]


def test_resume_with_a_url_moves_a_local_session_to_the_server(
    cli: Run, served: tuple[FakeOpenAI, AgencyServer]
) -> None:
    server, srv = served
    server.push(Reply("Noted: Lisbon in May."))
    first = cli("new", "moved", "--base-url", server.url, "-m", "Remember: Lisbon in May.")  # the local stack
    assert first.returncode == 0, first.stderr
    server.push(Reply("You said Lisbon in May."))
    moved = cli("resume", "moved", "--agency", srv.url("assistant"), "-m", "Where was I going?")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout == "You said Lisbon in May.\n"
    assert "--base-url do not apply" in moved.stderr  # a warning: the server chooses its models
    assert server.last.messages() == [
        ("user", "Remember: Lisbon in May."),
        ("assistant", "Noted: Lisbon in May."),
        ("user", "Where was I going?"),
    ]
    assert open_store().read_meta("moved").agency == srv.url("assistant")  # stored: resume goes there again


def test_a_handoff_on_the_server_is_seen_as_locally(served: tuple[FakeOpenAI, AgencyServer]) -> None:
    from fake_openai import ToolCall

    from swarmchat.binder import bind
    from swarmchat.events import Event, Handoff, TurnDone
    from swarmchat.session import SessionMeta

    server, srv = served
    server.push(
        Reply(tool_calls=[ToolCall("transfer_to_Billing", {"recipient_agent": "Billing"})]),
        Reply("Billing here: your invoice is paid."),
    )
    store = open_store()
    session = store.open("hand", create=SessionMeta.fresh("hand", agency=srv.url("desk")))
    try:
        binding = bind(session.meta, LiveSession(session))
        assert (binding.agent_names, binding.entry_agent) == (["Desk", "Billing"], "Desk")

        async def turn() -> list[Event]:
            return [event async for event in binding.turn("Is my invoice paid?")]

        events = asyncio.run(turn())
    finally:
        session.close()
    handoffs = [e for e in events if isinstance(e, Handoff)]
    assert handoffs[0] == Handoff("Desk", "Billing")  # (a local turn also adds Billing → Billing: lead informed)
    done = events[-1]
    assert isinstance(done, TurnDone) and (done.agent, done.text) == ("Billing", "Billing here: your invoice is paid.")
    assert roles("hand")[-1] == ("assistant", "Billing here: your invoice is paid.")
    assert open_store().read("hand")[1][-1]["agent"] == "Billing"
