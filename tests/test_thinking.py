"""Seeing a reasoning model think (issue 16 item 5), in a real pty against the scripted server: "thinking…"
under the agent's header, the streamed reasoning summary dimmed, `/thinking` hiding it, the setting
kept with the session across resume, and the summary stored once, as agency-swarm stores it."""

from __future__ import annotations

import asyncio
import re

import pytest
from fake_openai import FakeOpenAI, Reply

from swarmchat.agency import bind
from swarmchat.bound import LiveSession
from swarmchat.events import TextDelta, Thinking
from swarmchat.session import SessionMeta
from swarmchat.store import open_store

DIM = "\x1b[2m"


def dimmed(raw: str, text: str) -> bool:
    """`text` was printed inside a dim (SGR 2) span."""
    return re.search(re.escape(DIM) + r"[^\x1b]*" + re.escape(text), raw) is not None


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_reasoning_arrives_before_the_answer_and_is_stored_once(server: FakeOpenAI, api: str) -> None:
    server.push(Reply("Forty-two.", reasoning=["Weighing the options.", "Settling on one."]))
    meta = SessionMeta.fresh("r", base_url=server.url, model="fake-model", api=api)
    session = open_store().open("r", create=meta)
    try:
        binding = bind(session.meta, LiveSession(session))

        async def collect() -> list[object]:
            return [event async for event in binding.turn("Think hard.")]

        events = asyncio.run(collect())
        items = binding.live_items()
    finally:
        session.close()
    thought = "".join(e.text for e in events if isinstance(e, Thinking))
    assert thought == "Weighing the options.\n\nSettling on one."
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(i < first_text for i, e in enumerate(events) if isinstance(e, Thinking))
    reasoning = [i for i in items if i.get("type") == "reasoning"]
    assert len(reasoning) == 1  # agency-swarm stores the reasoning item; swarmchat adds no copy
    assert "Weighing the options." in str(reasoning[0]["summary"])


def test_summaries_show_dimmed_hide_after_slash_thinking_and_the_setting_survives_resume(
    term, server: FakeOpenAI
) -> None:
    server.push(Reply("The answer is 42.", reasoning=["Counting the towels carefully."], delay=0.02))
    t = term("new", "deep", "--base-url", server.url, "--model", "fake-model")
    t.prompt()
    t.line("What is the answer?")
    t.expect("The answer is 42.")
    t.prompt("Assistant")
    assert "thinking…" in t.text  # shown while the model reasoned
    assert dimmed(t.raw, "Counting the towels carefully.")
    lines = t.scrollback()
    header = max(i for i, line in enumerate(lines) if line.strip() == "Assistant")
    summary = next(i for i, line in enumerate(lines) if "Counting the towels" in line)
    answer = next(i for i, line in enumerate(lines) if "The answer is 42." in line)
    assert header < summary < answer  # under the agent's header, before its answer

    t.line("/thinking")
    t.expect("reasoning summaries are hidden")
    t.prompt()
    shown_so_far = len(t.raw)
    server.push(Reply("Still 42.", reasoning=["Recounting the towels secretly."], delay=0.02))
    t.line("Sure?")
    t.expect("Still 42.")
    t.prompt()
    assert "Recounting the towels" not in t.raw[shown_so_far:]
    t.exit()
    assert open_store().read("deep")[0].show_thinking is False

    t = term("resume", "deep")
    t.prompt()
    resumed_at = len(t.raw)
    server.push(Reply("Definitely 42.", reasoning=["Towels counted thrice."], delay=0.02))
    t.line("Really?")
    t.expect("Definitely 42.")
    t.prompt()
    assert "Towels counted thrice" not in t.raw[resumed_at:]  # still hidden after resume
    t.line("/thinking maybe")
    t.expect("error: '/thinking maybe': give on, off, or nothing to toggle")
    t.prompt()
    t.line("/thinking on")
    t.expect("reasoning summaries are shown")
    t.prompt()
    server.push(Reply("Yes, 42.", reasoning=["Final towel audit."], delay=0.02))
    t.line("Last check?")
    t.expect("Yes, 42.")
    t.prompt()
    assert dimmed(t.raw, "Final towel audit.")
    t.exit()
