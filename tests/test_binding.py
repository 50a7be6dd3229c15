"""The local Binding as the REPL and `-m` use it through `BoundAgency`, in-process, against the real
agency-swarm stack and the scripted server: structured messages, describe, set_model, the live session
switching under it (/rename), and failures arriving typed (context overflow, status codes)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Reply

from swarmchat.agency import bind
from swarmchat.bound import BoundAgency, LiveSession
from swarmchat.events import Event, TurnDone, TurnError
from swarmchat.session import SessionMeta, item_text
from swarmchat.store import OpenSession, open_store


@pytest.fixture
def session(server: FakeOpenAI) -> Iterator[OpenSession]:
    opened = open_store().open("b", create=SessionMeta.fresh("b", base_url=server.url, model="fake-model"))
    try:
        yield opened
    finally:
        opened.close()


def run(binding: BoundAgency, message: str | list[dict[str, Any]]) -> list[Event]:
    async def collect() -> list[Event]:
        return [event async for event in binding.turn(message)]  # type: ignore[arg-type]

    return asyncio.run(collect())


def test_a_structured_message_reaches_the_model_and_the_session(server: FakeOpenAI, session: OpenSession) -> None:
    binding = bind(session.meta, LiveSession(session))
    message = [{"role": "user", "content": [{"type": "input_text", "text": "hello from a list"}]}]
    events = run(binding, message)
    assert isinstance(events[-1], TurnDone) and events[-1].text == "echo: hello from a list", events
    assert server.last.user_texts() == ["hello from a list"]
    assert [item_text(i) for i in session.load()] == ["hello from a list", "echo: hello from a list"]


def test_describe_and_set_model(server: FakeOpenAI, session: OpenSession) -> None:
    binding = bind(session.meta, LiveSession(session))
    assert binding.describe("Assistant") == "A general assistant."
    assert binding.describe("Nobody") == ""
    binding.set_model("another-model")
    assert binding.model_name() == "another-model"
    run(binding, "which model?")
    assert server.last.model == "another-model"


def test_saves_follow_the_live_session_when_it_switches(server: FakeOpenAI, session: OpenSession) -> None:
    """/rename: the session is closed, renamed and reopened; the agency's saves go to the one it holds now."""
    live = LiveSession(session)
    binding = bind(session.meta, live)
    other = open_store().open("b2", create=SessionMeta.fresh("b2", base_url=server.url))

    async def two_turns() -> None:  # one event loop: the client's connections belong to it
        async for _ in binding.turn("first"):
            pass
        live.switch(other)
        async for _ in binding.turn("second"):
            pass

    try:
        asyncio.run(two_turns())
    finally:
        other.close()
    assert [item_text(i) for i in open_store().read("b2")[1]] == ["first", "echo: first", "second", "echo: second"]
    assert [item_text(i) for i in session.items()] == ["first", "echo: first"]


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(status=400, error="This model's maximum context length is 8192 tokens"), "context_overflow"),
        (Reply(status=500, error="failed after 8500 tokens"), "server"),
        (Reply(status=400, error="prompt of 8500 tokens has a bad field"), "failed"),
        (Reply("one two three four", cut_after=2), "stream_cut"),
    ],
)
def test_failures_arrive_typed(server: FakeOpenAI, session: OpenSession, reply: Reply, kind: str) -> None:
    binding = bind(session.meta, LiveSession(session))
    server.push(reply)
    errors = [e for e in run(binding, "hi") if isinstance(e, TurnError)]
    assert [e.kind for e in errors] == [kind], errors
    assert item_text(session.load()[0]) == "hi"  # the message is kept
