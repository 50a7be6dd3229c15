"""Issue 16, as a user runs it: fork from a chosen turn, tags and `list --tag`, `show` paged on a terminal,
and the built-in `echo` model that lets swarmchat be tried with no key and no network."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pexpect
import pytest
import zygote
from agencies import HANDOFF, TWO_AGENTS, write_agency
from conftest import ROOT, Run, one_error_line, raw_state
from terminal import ANSI, Terminal

from swarmchat.session import Item, SessionMeta, item_text
from swarmchat.store import open_store


def said(text: str, agent: str, stamp: int, caller: str | None = None) -> Item:
    return {"role": "user", "content": text, "agent": agent, "callerAgent": caller, "timestamp": stamp}


def answer(text: str, agent: str, stamp: int, caller: str | None = None) -> Item:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text,
            "annotations": []}], "agent": agent, "callerAgent": caller, "timestamp": stamp}  # fmt: skip


def three_turns() -> list[Item]:
    """Three turns; the second delegates (its worker's items stored after the reply, as agency-swarm
    stores them: only their timestamps say they came first)."""
    asked = json.dumps({"recipient_agent": "Worker", "message": "look it up"})
    call = {"type": "function_call", "name": "send_message", "call_id": "c1", "agent": "Lead", "callerAgent": None,
            "arguments": asked, "timestamp": 21}  # fmt: skip
    output = {"type": "function_call_output", "call_id": "c1", "output": "found it", "agent": "Lead",
              "callerAgent": None, "timestamp": 24}  # fmt: skip
    return [
        said("first question", "Lead", 10),
        answer("first answer", "Lead", 11),
        said("second question", "Lead", 20),
        call,
        output,
        answer("second answer", "Lead", 25),
        said("look it up", "Worker", 22, caller="Lead"),
        answer("found it", "Worker", 23, caller="Lead"),
        said("third question", "Lead", 30),
        answer("third answer", "Lead", 31),
    ]


def store_session(name: str, items: list[Item], **settings: object) -> None:
    open_store().write_new(SessionMeta.fresh(name, **settings), items)


def texts(name: str) -> list[str]:
    return [item_text(i) for i in open_store().read(name)[1] if item_text(i)]


# --- fork --at ------------------------------------------------------------------------------------------


def test_fork_at_a_turn_keeps_that_turn_with_its_replies_and_delegations(cli: Run, store_url: str) -> None:
    store_session("src", three_turns(), model="m-1", input_tokens=500, output_tokens=90)
    out = cli("fork", "src", "upto2", "--at", "2")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "forked src → upto2 (2 turns)"
    meta, items = open_store().read("upto2")
    assert [i for i in items] == three_turns()[:8]  # the stored order kept; the worker's items came before turn 3
    assert (meta.model, meta.title, meta.message_count) == ("m-1", "first question", 8)
    assert (meta.input_tokens, meta.output_tokens) == (0, 0)  # the source's counts cover turn 3 too

    out = cli("fork", "src", "upto1", "--at", "1")
    assert out.returncode == 0, out.stderr
    assert texts("upto1") == ["first question", "first answer"]

    whole = cli("fork", "src", "whole")  # without --at: the whole session, its token counts with it
    assert whole.returncode == 0, whole.stderr
    assert open_store().read("whole")[0].input_tokens == 500


def test_fork_at_minus_one_drops_the_last_reply_to_ask_again(cli: Run, store_url: str) -> None:
    store_session("src", three_turns())
    out = cli("fork", "src", "again", "--at", "-1")
    assert out.returncode == 0, out.stderr
    assert open_store().read("again")[1] == three_turns()[:9]  # the last question kept, its answer gone

    out = cli("fork", "src", "again2", "--at", "-2")
    assert out.returncode == 0, out.stderr
    assert texts("again2") == ["first question", "first answer", "second question"]
    assert texts("src")[-1] == "third answer"  # the source is untouched


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("4", "session 'src' has no turn 4: it has 3 turns; give --at 1 to 3, or -1 to -3"),
        ("-4", "session 'src' has no turn -4"),
        ("0", "session 'src' has no turn 0"),
        ("two", "--at 'two' is not a turn number"),
    ],
)
def test_fork_at_a_turn_that_is_not_there_is_refused_and_changes_nothing(
    cli: Run, store_url: str, data_dir: Path, at: str, expected: str
) -> None:
    store_session("src", three_turns())
    before = raw_state(store_url, data_dir)
    out = cli("fork", "src", "copy", "--at", at)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert expected in one_error_line(out.stderr)
    assert raw_state(store_url, data_dir) == before


def test_fork_help_says_what_turn_means(cli: Run) -> None:
    out = cli("fork", "--help")
    assert out.returncode == 0
    flat = " ".join(out.stdout.split())
    assert "--at" in flat and "-1 is the last question, unanswered" in flat


# --- tags -----------------------------------------------------------------------------------------------


def test_tags_are_shown_listed_and_filtered(cli: Run, store_url: str) -> None:
    store_session("lisbon", [said("plan Lisbon", "A", 1)])
    store_session("porto", [said("plan Porto", "A", 1)])
    store_session("taxes", [said("file my taxes", "A", 1)])

    out = cli("tag", "lisbon", "trip", "Europe")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "lisbon: #Europe #trip"
    assert cli("tag", "porto", "trip").stdout.strip() == "porto: #trip"
    assert cli("tag", "porto", "TRIP").stdout.strip() == "porto: #trip"  # tags compare without case

    listing = cli("list").stdout.splitlines()
    assert listing[0].split() == ["NAME", "TITLE", "TAGS", "AGENCY", "TURNS", "LAST", "USED"]
    assert "#Europe #trip" in next(ln for ln in listing if ln.startswith("lisbon"))
    rows = {r["name"]: r["tags"] for r in json.loads(cli("list", "--json").stdout)}
    assert rows == {"lisbon": ["Europe", "trip"], "porto": ["trip"], "taxes": []}

    tagged = cli("list", "--tag", "trip").stdout
    assert "lisbon" in tagged and "porto" in tagged and "taxes" not in tagged
    both = cli("list", "--tag", "trip", "--tag", "europe").stdout  # several --tag: every one must match
    assert "lisbon" in both and "porto" not in both
    assert [r["name"] for r in json.loads(cli("list", "--tag", "Europe", "--json").stdout)] == ["lisbon"]
    none = cli("list", "--tag", "work")
    assert none.returncode == 0 and "no session is tagged #work" in none.stdout

    removed = cli("tag", "lisbon", "trip", "--remove")
    assert removed.returncode == 0 and removed.stdout.strip() == "lisbon: #Europe"
    assert cli("tag", "lisbon", "europe", "-r").stdout.strip() == "lisbon: no tags"
    assert "TAGS" in cli("list").stdout.splitlines()[0]  # porto still has one
    assert texts("lisbon") == ["plan Lisbon"]  # tagging touches the meta only


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("tag", "notes", "two words"), "tag 'two words' contains ' '"),
        (("tag", "notes", "ok", "-bad"), "No such option"),
        (("tag", "notes", "ok", ".hidden"), "tag '.hidden' must start with a letter or digit"),
        (("tag", "ghost", "ok"), "no session named 'ghost'"),
        (("list", "--tag", "a/b"), "tag 'a/b' contains '/'"),
    ],
)
def test_bad_tags_are_refused_and_change_nothing(
    cli: Run, store_url: str, data_dir: Path, args: tuple[str, ...], expected: str
) -> None:
    store_session("notes", [said("notes", "A", 1)])
    before = raw_state(store_url, data_dir)
    out = cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert expected in one_error_line(out.stderr)
    assert raw_state(store_url, data_dir) == before


def test_tagging_a_session_open_elsewhere_is_refused(cli: Run, store_url: str) -> None:
    store_session("busy", [said("hello", "A", 1)])
    held = open_store().open("busy")  # this test process holds the one-writer lock, as a REPL would
    try:
        out = cli("tag", "busy", "work")
        assert out.returncode == 3  # open in another process: its own exit code, a script may retry
        assert "session 'busy' is open in another process" in one_error_line(out.stderr)
    finally:
        held.close()
    assert open_store().read_meta("busy").tags == []
    assert cli("tag", "busy", "work").returncode == 0  # released: now it can be tagged


# --- show on a terminal ------------------------------------------------------------------------------------


def recording_pager(tmp_path: Path) -> tuple[str, Path]:
    """A PAGER that copies what it is given to a file (and to the screen, as `cat` would)."""
    log = tmp_path / "paged.txt"
    script = tmp_path / "pager.sh"
    script.write_text(f"#!/bin/sh\ntee {log}\necho PAGER-DONE\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), log


def show_in_terminal(name: str, env: dict[str, str], rows: int = 24) -> pexpect.spawn:
    return zygote.spawn(
        ["show", name],
        env={**os.environ, "TERM": "xterm-256color", **env},
        dimensions=(rows, 100),
        encoding="utf-8",
        cwd=str(ROOT),
    )


def long_session(name: str, count: int = 30) -> None:
    items: list[Item] = []
    for n in range(count):
        items += [said(f"question {n + 1}", "Assistant", 2 * n), answer(f"**answer** {n + 1}", "Assistant", 2 * n + 1)]
    store_session(name, items)


@pytest.mark.slow  # starts a process
def test_show_on_a_terminal_pages_a_long_transcript_through_pager(tmp_path: Path) -> None:
    long_session("long")
    pager, log = recording_pager(tmp_path)
    child = show_in_terminal("long", {"PAGER": pager})
    child.expect("PAGER-DONE", timeout=60)
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0
    paged = log.read_text()
    plain = ANSI.sub("", paged)
    assert "question 1" in plain and "answer 30" in plain
    assert "you #30" in plain  # turn numbers, as fork --at takes them
    assert "**answer**" not in plain and "\x1b[" in paged  # Markdown rendered, with its styles kept


@pytest.mark.slow  # starts a process
def test_show_on_a_terminal_prints_a_short_transcript_without_a_pager(tmp_path: Path) -> None:
    items = [said("what does [/b] mean?", "Assistant", 1), answer("a closing tag", "Assistant", 2)]
    store_session("short", [*items, said("and [b]?", "Assistant", 3), answer("an opening one", "Assistant", 4)])
    pager, log = recording_pager(tmp_path)
    child = show_in_terminal("short", {"PAGER": pager})
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 0
    shown = ANSI.sub("", child.before or "")
    assert "what does [/b] mean?" in shown  # the title, brackets and all (text, not rich markup)
    assert "you #2" in shown and "an opening one" in shown and "PAGER-DONE" not in shown
    assert not log.exists()


@pytest.mark.slow  # starts a process
@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_show_pages_with_less_by_default_and_q_returns(tmp_path: Path) -> None:
    long_session("long")
    env = {k: v for k, v in os.environ.items() if k not in ("PAGER", "LESS", "MANPAGER")}
    child = zygote.spawn(
        ["show", "long"],
        env={**env, "TERM": "xterm-256color"},
        dimensions=(24, 100),
        encoding="utf-8",
        cwd=str(ROOT),
    )
    child.expect("question 1", timeout=60)
    child.expect(":", timeout=30)  # less waits at its prompt: the transcript is longer than the screen
    assert "answer 30" not in ANSI.sub("", child.before or "")
    child.send("q")
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 0


# --- the echo model ---------------------------------------------------------------------------------------


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """No API key, and the OpenAI endpoint unreachable: nothing may need either."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/unreachable")


def test_echo_model_needs_no_key_and_stores_and_resumes(cli: Run, store_url: str, no_key: None) -> None:
    out = cli("new", "demo", "--model", "echo", "-m", "hello")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "echo: hello\n"
    again = cli("resume", "demo", "-m", "and again")  # the model is stored with the session
    assert again.returncode == 0, again.stderr
    assert again.stdout == "echo: and again\n"
    meta, items = open_store().read("demo")
    assert [(i["role"], item_text(i)) for i in items] == [
        ("user", "hello"),
        ("assistant", "echo: hello"),
        ("user", "and again"),
        ("assistant", "echo: and again"),
    ]
    assert meta.model == "echo"
    if not store_url:  # the Redis store drops token counts set after a turn's last save (reported to the lead)
        assert meta.input_tokens > 0 and meta.output_tokens > 0


def test_echo_model_delegates_when_asked(cli: Run, tmp_path: Path, no_key: None) -> None:
    agency = write_agency(tmp_path, TWO_AGENTS)
    out = cli("new", "team", "--agency", f"{agency}:create_agency", "--model", "echo",
              "-m", "ask Researcher: the capital of Peru")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Researcher replied: echo: the capital of Peru\n"
    items = open_store().read("team")[1]
    worker = [i for i in items if i.get("agent") == "Researcher" and i.get("role") == "assistant"]
    assert [(item_text(i), i["callerAgent"]) for i in worker] == [("echo: the capital of Peru", "Lead")]
    assert any(i.get("type") == "function_call" and i.get("name") == "send_message" for i in items)


def test_echo_model_follows_a_handoff(cli: Run, tmp_path: Path, no_key: None) -> None:
    agency = write_agency(tmp_path, HANDOFF)
    out = cli("new", "desk", "--agency", f"{agency}:create_agency", "--model", "echo",
              "-m", "ask Billing: a refund")  # fmt: skip
    assert out.returncode == 0, out.stderr
    replies = [i for i in open_store().read("desk")[1] if i.get("role") == "assistant"]
    assert [i["agent"] for i in replies] == ["Billing"]  # the agent handed to answered


@pytest.mark.slow  # starts a process
def test_echo_model_in_the_repl_shows_delegation_and_resumes(tmp_path: Path, no_key: None) -> None:
    agency = write_agency(tmp_path, TWO_AGENTS)
    t = Terminal("new", "lab", "--agency", f"{agency}:create_agency", "--model", "echo")
    try:
        t.prompt()
        t.line("hello there")
        t.expect("echo: hello there")
        t.prompt("Lead")
        t.line("ask Researcher: the tides")
        t.expect("Lead asks Researcher: the tides")  # the delegation, shown as it happens
        t.expect("Researcher replied: echo: the tides")
        t.prompt("Lead")
        t.exit()
        t = Terminal("resume", "lab")
        screen = t.prompt("Lead")
        assert "Researcher replied: echo: the tides" in screen  # where the user left off
        t.line("/history")
        t.expect("#2")  # /history numbers the turns as fork --at takes them
        t.prompt("Lead")
        t.exit()
    finally:
        t.close()
