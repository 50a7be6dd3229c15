"""Model API faults (issue 4) in the scripting path, through the real stack against the scripted server:
each fault is one clear stderr line and exit 1, and the user's message stays in the session so that
nothing typed is lost and the next `resume` sends it to the model."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import Run, one_error_line
from fake_openai import FakeOpenAI, Reply
from redis_server import free_port

from swarmchat.session import item_text


def fails_with(done: subprocess.CompletedProcess[str], words: list[str]) -> str:
    """A failed model call: exit 1, one error line containing `words` (what happened, what to do)."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    line = one_error_line(done.stderr)
    for word in words:
        assert word in line, line
    return line


def stored_user_texts(cli: Run, name: str) -> list[str]:
    """What the user said in session `name`, as `swarmchat show NAME --format json` prints it."""
    shown = cli("show", name, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    messages = json.loads(shown.stdout)["messages"]
    return [item_text(m) for m in messages if m.get("role") == "user" and m.get("callerAgent") is None]


def assert_listed_intact(cli: Run, name: str) -> None:
    rows = json.loads(cli("list", "--json").stdout)
    assert [(r["name"], "damaged" in r) for r in rows] == [(name, False)]


# fault: (the scripted reply, extra `new` options, words the error line must hold)
FAULTS: dict[str, tuple[Reply, list[str], list[str]]] = {
    "401": (Reply(status=401, error="Incorrect API key provided"), [], ["401", "OPENAI_API_KEY"]),
    "429": (Reply(status=429, error="Rate limit reached"), [], ["429", "send again"]),
    "500": (Reply(status=500, error="The server had an error"), [], ["server error", "try again"]),
    "stream-cut": (Reply("one two three four five six seven", cut_after=2), [], ["cut off", "send again"]),
    "stream-cut-chat-api": (
        Reply("one two three four five six seven", cut_after=2),
        ["--api", "chat"],
        ["cut off", "send again"],
    ),
    "timeout": (Reply("far too late", hang=8), [], ["did not answer in time", "send again"]),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_model_fault_is_one_line_exit_1_and_keeps_the_message(
    fault: str, cli: Run, server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply, options, words = FAULTS[fault]
    if fault == "timeout":
        monkeypatch.setenv("SWARMCHAT_TIMEOUT", "3")
    server.push(reply)
    fails_with(cli("new", "x", "--base-url", server.url, *options, "-m", "first"), words)
    assert stored_user_texts(cli, "x") == ["first"]

    server.push(reply)
    fails_with(cli("resume", "x", "-m", "second"), words)
    assert stored_user_texts(cli, "x") == ["first", "second"]
    assert_listed_intact(cli, "x")

    again = cli("resume", "x", "-m", "again")  # the server answers normally now
    assert again.returncode == 0, again.stderr
    assert again.stdout == "echo: again\n"
    assert server.last.user_texts() == ["first", "second", "again"]  # nothing the user typed was lost
    assert stored_user_texts(cli, "x") == ["first", "second", "again"]


def test_connection_refused_is_one_line_exit_1_and_keeps_the_message(cli: Run) -> None:
    port = free_port()  # nothing listens here until the server "comes back" below
    url = f"http://127.0.0.1:{port}/v1"
    words = ["cannot reach the model API", "--base-url"]
    fails_with(cli("new", "x", "--base-url", url, "-m", "first"), words)
    assert stored_user_texts(cli, "x") == ["first"]
    fails_with(cli("resume", "x", "-m", "second"), words)
    assert stored_user_texts(cli, "x") == ["first", "second"]
    assert_listed_intact(cli, "x")

    server = FakeOpenAI().start(port)
    try:
        again = cli("resume", "x", "-m", "again")
        assert again.returncode == 0, again.stderr
        assert again.stdout == "echo: again\n"
        assert server.last.user_texts() == ["first", "second", "again"]
    finally:
        server.stop()


def test_a_model_the_server_does_not_have_names_the_endpoint_and_the_model_used(cli: Run, server: FakeOpenAI) -> None:
    """A 404 for the model: one line naming where the request went and the model it asked for, and what to
    give instead; the message is kept, as for every fault."""
    server.push(Reply(status=404, error="The model `gpt-nope` does not exist or you do not have access to it."))
    done = cli("new", "x", "--base-url", server.url, "--model", "gpt-nope", "-m", "first")
    assert done.returncode == 1, done.stderr
    assert one_error_line(done.stderr) == (
        f"swarmchat: error: the model API at {server.url} has no model 'gpt-nope' (404: The model `gpt-nope` "
        "does not exist or you do not have access to it.); give a model it serves with --model NAME "
        "(/model NAME in the chat)"
    )
    assert stored_user_texts(cli, "x") == ["first"]
