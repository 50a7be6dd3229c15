"""`-m TEXT --json`: a turn as JSON Lines, through the real stack (local on both APIs, and served)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import zygote
from agencies import TWO_AGENTS, write_agency
from agency_server import AgencyServer
from conftest import ROOT, Run, one_error_line, stored
from fake_openai import FakeOpenAI, Reply, send_message
from test_one_shot_signals import read_until

from swarmchat.session import item_text

DELEGATING = (
    Reply(tool_calls=[send_message("Researcher", "Find the boiling point of water.")], usage=(20, 5)),
    Reply("Water boils at 100 °C.", usage=(15, 4)),
    Reply("The researcher says: 100 °C.", usage=(30, 6)),
)


def lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line is one JSON object with a type (raw JSON: no colour, nothing else)."""
    events = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in events), stdout
    assert "\x1b" not in stdout
    return events


def compact(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The sequence of events with the text deltas joined, to compare whole."""
    out: list[tuple[Any, ...]] = []
    for e in events:
        kind = e["type"]
        if kind == "text" and out and out[-1][0] == "text" and out[-1][1] == e["agent"]:
            out[-1] = ("text", e["agent"], out[-1][2] + e["delta"])
        elif kind == "text":
            out.append(("text", e["agent"], e["delta"]))
        elif kind == "session":
            out.append((kind, e["name"], e["events"]))
        elif kind in ("delegation", "delegation_result"):
            out.append((kind, e["from"], e["to"], e.get("message", e.get("text"))))
        elif kind == "usage":
            out.append((kind, e["agent"], e["input_tokens"], e["output_tokens"]))
        elif kind == "agent":
            out.append((kind, e["agent"]))
        elif kind == "done":
            out.append((kind, e["agent"], e["text"], e["usage"], e["interrupted"]))
        else:
            out.append((kind, e.get("kind"), e.get("message")))
    return out


EXPECTED = [
    ("session", "lab", 1),
    ("delegation", "Lead", "Researcher", "Find the boiling point of water."),
    ("usage", "Lead", 20, 5),
    ("usage", "Researcher", 15, 4),
    ("delegation_result", "Researcher", "Lead", "Water boils at 100 °C."),
    ("agent", "Lead"),
    ("text", "Lead", "The researcher says: 100 °C."),
    ("usage", "Lead", 30, 6),
    ("done", "Lead", "The researcher says: 100 °C.", {"input_tokens": 65, "output_tokens": 15}, False),
]


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_a_delegating_turn_as_json_lines(cli: Run, server: FakeOpenAI, tmp_path: Path, api: str) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    server.push(*DELEGATING)
    args = ("new", "lab", "--agency", spec, "--base-url", server.url, "--model", "m-1", "--api", api)
    done = cli(*args, "-m", "Boiling point?", "--json")
    assert done.returncode == 0, done.stderr
    events = lines(done.stdout)
    assert compact(events) == EXPECTED
    session = events[0]
    assert (session["agency"], session["model"]) == (spec, "m-1")
    assert session["created"] == stored_meta_created("lab")
    assert {e["model"] for e in events if e["type"] == "usage"} == {"m-1"}
    delegation, result = events[1], events[4]
    assert delegation["call_id"] and delegation["call_id"] == result["call_id"]
    assert roles_text("lab")[-1] == events[-1]["text"]  # done's text is the stored reply

    server.push(Reply("Glad to help."))
    again = cli("resume", "lab", "-m", "Thanks!", "--json")  # resume: the same stream
    assert again.returncode == 0, again.stderr
    assert compact(lines(again.stdout))[1:] == [
        ("agent", "Lead"),
        ("text", "Lead", "Glad to help."),
        ("usage", "Lead", 12, 7),
        ("done", "Lead", "Glad to help.", {"input_tokens": 12, "output_tokens": 7}, False),
    ]


def test_piped_stdin_with_json(cli: Run, server: FakeOpenAI) -> None:
    done = cli("new", "p", "--base-url", server.url, "--json", input="hello there\n")
    assert done.returncode == 0, done.stderr
    events = lines(done.stdout)
    assert events[0]["type"] == "session" and events[-1]["type"] == "done"
    assert events[-1]["text"] == "echo: hello there"


def test_a_served_agency_streams_the_same_events(cli: Run, served: tuple[FakeOpenAI, AgencyServer]) -> None:
    server, srv = served
    server.push(*DELEGATING)
    done = cli("new", "lab", "--agency", srv.url("team"), "-m", "Boiling point?", "--json")
    assert done.returncode == 0, done.stderr
    events = lines(done.stdout)
    assert compact(events)[1:] == EXPECTED[1:]
    assert events[0]["agency"] == srv.url("team")


def test_a_failed_turn_ends_with_an_error_event(cli: Run, server: FakeOpenAI) -> None:
    server.push(Reply(status=401, error="Incorrect API key provided"))
    done = cli("new", "bad", "--base-url", server.url, "-m", "hi", "--json")
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    events = lines(done.stdout)
    assert events[0]["type"] == "session"
    assert events[-1]["type"] == "error" and events[-1]["kind"] == "auth"
    assert events[-1]["message"] in line
    assert "done" not in [e["type"] for e in events]


def test_sigint_mid_stream_ends_with_done_interrupted(cli: Run, server: FakeOpenAI) -> None:
    words = " ".join(f"word{i}" for i in range(60))
    server.push(Reply(words, delay=0.4))
    proc = zygote.popen(
        ["new", "x", "--base-url", server.url, "-m", "a long story", "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        shown = read_until(proc, b'"word2 "')
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in one_error_line(err.decode())
    events = lines((shown + rest).decode())
    done = events[-1]
    assert done["type"] == "done" and done["interrupted"] is True
    assert done["text"].endswith("[interrupted]")
    assert done["text"] == roles_text("x")[-1]  # exactly as stored
    streamed = "".join(e["delta"] for e in events if e["type"] == "text")
    assert done["text"].removesuffix("[interrupted]").strip() == streamed.strip()
    assert "word59" not in streamed


def roles_text(name: str) -> list[str]:
    return [item_text(i) for i in stored(name) if i.get("role") == "assistant" and i.get("callerAgent") is None]


def stored_meta_created(name: str) -> str:
    from swarmchat.store import open_store

    return open_store().read_meta(name).created_at
