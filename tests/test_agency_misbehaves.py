"""Agencies that do what agency-swarm allows but a chat client must still survive: an input guardrail that
trips, a tool that needs approval, a factory that leaves a thread running. Each drives the installed
`swarmchat -m` against the scripted model server, and the stored session is compared with what was shown."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agencies import write_agency
from conftest import Run, one_error_line, stored
from fake_openai import FakeOpenAI, Reply, ToolCall

GUARDED = textwrap.dedent(
    """
    from agency_swarm import Agency, Agent, GuardrailFunctionOutput, input_guardrail

    @input_guardrail
    async def no_passwords(context, agent, user_input):
        return GuardrailFunctionOutput(
            output_info="Please do not share passwords.", tripwire_triggered="password" in str(user_input)
        )

    def create_agency(load_threads_callback=None):
        agent = Agent(name="Assistant", instructions="Help.", input_guardrails=[no_passwords])
        return Agency(agent, load_threads_callback=load_threads_callback)
    """
)

APPROVAL = textwrap.dedent(
    """
    from agency_swarm import Agency, Agent, function_tool

    @function_tool(needs_approval=True)
    def delete_files(path: str) -> str:
        '''Delete files.'''
        return "deleted " + path

    def create_agency(load_threads_callback=None):
        agent = Agent(name="Assistant", instructions="Help.", tools=[delete_files])
        return Agency(agent, load_threads_callback=load_threads_callback)
    """
)

NOISY = textwrap.dedent(
    """
    import os
    import sys

    from agency_swarm import Agency, Agent, function_tool

    print("factory says hi \\x1b]0;pwned\\x07")  # a terminal title, were it obeyed
    sys.stderr.write("a library's warning\\n")

    @function_tool
    def lookup(city: str) -> str:
        '''Look a city up.'''
        os.write(1, b"raw bytes from C code\\n")
        print("the tool prints", city)
        return "sunny in " + city

    def create_agency(load_threads_callback=None):
        agent = Agent(name="Assistant", instructions="Help.", tools=[lookup])
        return Agency(agent, load_threads_callback=load_threads_callback)
    """
)

THREADED = textwrap.dedent(
    """
    import threading

    from agency_swarm import Agency, Agent

    def create_agency(load_threads_callback=None):
        threading.Thread(target=threading.Event().wait, name="never-ends").start()  # not a daemon
        return Agency(Agent(name="Assistant", instructions="Help."), load_threads_callback=load_threads_callback)
    """
)


def spec(tmp_path: Path, source: str) -> str:
    return f"{write_agency(tmp_path, source)}:create_agency"


def test_a_tripped_input_guardrail_is_the_reply_marked_as_a_guardrail(
    cli: Run, server: FakeOpenAI, tmp_path: Path
) -> None:
    agency = spec(tmp_path, GUARDED)
    done = cli("new", "g", "--agency", agency, "--base-url", server.url, "-m", "my password is 1234")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Please do not share passwords.\n"
    assert (
        done.stderr == "swarmchat: warning: Assistant's input guardrail tripped: this is its answer, not the model's\n"
    )
    assert [(i["role"], i["content"], i.get("message_origin")) for i in stored("g")] == [
        ("user", "my password is 1234", None),
        ("assistant", "Please do not share passwords.", "input_guardrail_message"),
    ]


def test_a_tool_needing_approval_is_one_line_naming_it(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    server.push(Reply(tool_calls=[ToolCall("delete_files", {"path": "/tmp/x"})]), Reply("done"))
    done = cli("new", "a", "--agency", spec(tmp_path, APPROVAL), "--base-url", server.url, "-m", "clean up")
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "'delete_files' needs approval (needs_approval=True)" in line and "cannot pause" in line, line
    assert "model API" not in line
    assert done.stdout == ""
    assert not any(i.get("type") == "function_call_output" for i in stored("a"))  # the tool never ran
    assert stored("a")[0]["content"] == "clean up"


def test_a_thread_left_running_by_the_factory_does_not_keep_the_process_alive(
    cli: Run, server: FakeOpenAI, tmp_path: Path
) -> None:
    done = cli("new", "t", "--agency", spec(tmp_path, THREADED), "--base-url", server.url, "-m", "hi", timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "echo: hi\n", "")
    assert [(i["role"], i["content"]) for i in stored("t") if i.get("role") == "user"] == [("user", "hi")]


def test_what_the_agency_writes_itself_is_shown_on_stderr_made_safe(
    cli: Run, server: FakeOpenAI, tmp_path: Path
) -> None:
    server.push(Reply(tool_calls=[ToolCall("lookup", {"city": "Lisbon"})]), Reply("It is sunny in Lisbon."))
    done = cli("new", "n", "--agency", spec(tmp_path, NOISY), "--base-url", server.url, "-m", "weather?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "It is sunny in Lisbon.\n"  # the reply, and nothing else
    lines = done.stderr.splitlines()
    for said in (
        "factory says hi ␛]0;pwned␇",
        "a library's warning",
        "raw bytes from C code",
        "the tool prints Lisbon",
    ):
        assert said in lines, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    outputs = [i.get("output") for i in stored("n") if i.get("type") == "function_call_output"]
    assert outputs == ["sunny in Lisbon"]
