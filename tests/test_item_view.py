"""One module draws every part of a conversation: the live turn, the resume replay, /history and `show`
say a delegation, a tool call, a reply and an unanswered turn the same way (issue 24)."""

from __future__ import annotations

import io
import json

from rich.console import Console
from test_features import answer, said

from swarmchat.events import Delegation, TextDelta, ToolCall, ToolOutput, TurnDone
from swarmchat.item_view import draw
from swarmchat.safe_text import safe_markdown
from swarmchat.session import Item
from swarmchat.stream_view import TurnView
from swarmchat.transcript import entries, to_markdown

ANSWER = "The tides follow the moon."


def delegated_turn() -> list[Item]:
    """As agency-swarm stores a delegation: the send_message call and output carry the same texts as
    the agents' own messages (stored after the reply; their timestamps say they came first)."""
    asked = json.dumps({"recipient_agent": "Worker", "message": "why the tides?"})
    return [
        said("explain the tides", "CEO", 10),
        {
            "type": "function_call",
            "name": "send_message",
            "call_id": "c1",
            "agent": "CEO",
            "callerAgent": None,
            "arguments": asked,
            "timestamp": 11,
        },
        {
            "type": "function_call_output",
            "call_id": "c1",
            "output": ANSWER,
            "agent": "CEO",
            "callerAgent": None,
            "timestamp": 14,
        },
        answer("Worker says: the moon.", "CEO", 15),
        said("why the tides?", "Worker", 12, caller="CEO"),
        answer(ANSWER, "Worker", 13, caller="CEO"),
        {
            "type": "function_call",
            "name": "clock",
            "call_id": "c2",
            "agent": "CEO",
            "callerAgent": None,
            "arguments": "{}",
            "timestamp": 16,
        },
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": "noon",
            "agent": "CEO",
            "callerAgent": None,
            "timestamp": 17,
        },
        said("and the sun?", "CEO", 20),
    ]


def screen(width: int = 100) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=width, color_system=None, highlight=False), out


def lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_the_replay_and_the_live_view_draw_a_delegation_as_the_same_two_lines() -> None:
    stored, replay = screen()
    draw(stored, entries(delegated_turn()))
    live, streamed = screen()
    view = TurnView(live)
    for event in (
        Delegation("CEO", "Worker", "why the tides?"),
        ToolOutput("Worker", "CEO", ANSWER, delegated=True),
        TextDelta("CEO", None, "Worker says: the moon."),
        ToolCall("CEO", None, "clock", "{}"),
        ToolOutput("CEO", None, "noon", delegated=False),
        TurnDone("Worker says: the moon.", "CEO", 1, 1),
    ):
        view.show(event)
    view.close()
    traffic = ["→ CEO asks Worker: why the tides?", f"← Worker: {ANSWER}", "⚙ CEO calls clock({})", "↳ noon"]
    assert [line for line in lines(replay.getvalue()) if line[0] in "→←⚙↳"] == traffic
    assert [line for line in lines(streamed.getvalue()) if line[0] in "→←⚙↳"] == traffic
    assert replay.getvalue().count(ANSWER) == 1  # the worker's answer once, no send_message JSON
    assert "send_message" not in replay.getvalue()


def test_the_whole_replay_reads_as_expected_with_the_unanswered_turn_marked() -> None:
    con, out = screen()
    draw(con, entries(delegated_turn()))
    assert lines(out.getvalue()) == [
        "you #1 → CEO",
        "explain the tides",
        "→ CEO asks Worker: why the tides?",
        f"← Worker: {ANSWER}",
        "CEO",
        "Worker says: the moon.",
        "⚙ CEO calls clock({})",
        "↳ noon",
        "you #2 → CEO",
        "and the sun?",
        "(no reply: /retry)",
    ]


def test_the_repl_folds_agent_traffic_and_show_prints_it_whole() -> None:
    long = "word " * 60 + "THE END"
    items = [said("go", "CEO", 1), said(long, "Worker", 2, caller="CEO"), answer("done", "CEO", 3)]
    folded, out = screen(60)
    draw(folded, entries(items))
    assert "THE END" not in out.getvalue()
    assert any(line.startswith("→ CEO asks Worker: word") and line.endswith("…") for line in lines(out.getvalue()))
    whole, out = screen(60)
    draw(whole, entries(items), full=True)
    assert "THE END" in out.getvalue()


AS_MARKDOWN = [
    "**You** → CEO:",
    "explain the tides",
    "> → CEO asks Worker: why the tides?",
    f"> ← Worker: {ANSWER}",
    "**CEO:**",
    "Worker says: the moon.",
    "> ⚙ CEO calls `clock({})`",
    "> ↳ `noon`",
    "**You** → CEO:",
    "and the sun?",
    "*(no reply: /retry)*",
]
"""`delegated_turn` in Markdown, the lines stripped of their spacing."""


def test_markdown_says_it_the_same_way() -> None:
    assert lines(to_markdown("tides", delegated_turn())) == ["# tides", *AS_MARKDOWN]


def test_single_line_breaks_are_kept_and_headings_are_left_aligned() -> None:
    con, out = screen(60)
    con.print(safe_markdown("# Heading\n\nline one\nline two\n\n1 Main St\nSpringfield"))
    shown = out.getvalue().splitlines()
    assert shown[0].startswith("Heading")  # not centred
    assert [line.rstrip() for line in shown if line.strip()][1:] == ["line one", "line two", "1 Main St", "Springfield"]
