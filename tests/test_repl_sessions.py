"""Switching sessions without leaving the REPL (/sessions, /new, /resume, /fork) and /tag, in a real
pseudo-terminal against the real agency-swarm stack and the scripted server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import Run, hostile_export, roles
from fake_openai import FakeOpenAI, Reply
from terminal import Terminal, unwrapped

from swarmchat.errors import InvalidName, UsageError
from swarmchat.lifecycle import retag
from swarmchat.repl.commands.switching import fork_arguments
from swarmchat.repl.picker import Row, matching
from swarmchat.session import Item, SessionMeta
from swarmchat.store import open_store


def conversation(*texts: str) -> list[Item]:
    """Turns as agency-swarm stores them: each user text answered by 'reply to TEXT'."""
    items: list[Item] = []
    for n, text in enumerate(texts):
        stamp = 1_795_543_882_059_782 + 2 * n
        items.append(
            {"role": "user", "content": text, "agent": "Assistant", "callerAgent": None, "timestamp": stamp,
             "type": "message"}
        )  # fmt: skip
        items.append(
            {
                "id": f"msg_{n:06d}",
                "content": [{"annotations": [], "text": f"reply to {text}", "type": "output_text", "logprobs": []}],
                "role": "assistant",
                "status": "completed",
                "type": "message",
                "agent": "Assistant",
                "callerAgent": None,
                "timestamp": stamp + 1,
            }
        )
    return items


def make(name: str, server: FakeOpenAI, *texts: str, **settings: object) -> None:
    open_store().write_new(SessionMeta.fresh(name, base_url=server.url, **settings), conversation(*texts))


def toolbar(t: Terminal) -> str:
    return next((line for line in t.display().splitlines() if "Ctrl-D quit" in line), "")


def on_screen(t: Terminal, text: str) -> None:
    """Wait until `text` is on the screen (the picker redraws only what changed, so the printed
    text alone does not show it)."""
    t._until(lambda: text in t.display(), repr(text), None)


def in_session(t: Terminal, name: str) -> None:
    """Wait until the prompt is up and the toolbar names `name`."""
    t.prompt()
    t._until(lambda: f" {name} " in toolbar(t), f"the toolbar to name {name}", None)


def test_the_picker_filters_and_enter_switches_in_place(term, server: FakeOpenAI, cli: Run, data_dir: Path) -> None:
    make("home", server, "hello")
    make("rome", server, "pasta?", title="Rome trip", tags=["travel"])
    make("budget", server, "spreadsheet", title="Money")
    (data_dir / "history").mkdir(parents=True)
    (data_dir / "history" / "rome").write_text("\n# 2026-01-01 00:00:00\n+what about Naples?\n")
    t = term("resume", "home")
    in_session(t, "home")

    t.line("/sessions")
    t.expect("switch to a session")
    on_screen(t, "2 of 2")  # every other session, this one left out
    t.child.send("\x1b")  # Esc cancels: nothing changes
    in_session(t, "home")

    t.line("/sessions")
    on_screen(t, "2 of 2")
    t.child.send("travel")  # matches rome's tag, not budget
    on_screen(t, "1 of 2")
    assert "rome" in t.display() and "budget" not in t.display()
    t.child.send("\r")
    in_session(t, "rome")
    assert "reply to pasta?" in t.display()  # the last turns shown, as on resume
    t.child.send("\x1b[A")  # Up recalls rome's input history, not home's
    on_screen(t, "› what about Naples?")
    t.child.sendcontrol("c")
    in_session(t, "rome")

    assert cli("tag", "home", "done").returncode == 0  # home's lock was released
    server.push(Reply("Try cacio e pepe."))
    t.line("and food?")
    t.expect("Try cacio e pepe.")
    in_session(t, "rome")
    t.exit()
    assert roles("rome")[-2:] == [("user", "and food?"), ("assistant", "Try cacio e pepe.")]
    assert roles("home") == [("user", "hello"), ("assistant", "reply to hello")]
    assert "+and food?" in (data_dir / "history" / "rome").read_text()
    assert "+/sessions" in (data_dir / "history" / "home").read_text()
    assert "and food?" not in (data_dir / "history" / "home").read_text()


def test_a_session_open_elsewhere_is_one_red_line_and_the_repl_stays(term, server: FakeOpenAI, store_url: str) -> None:
    make("home", server, "hello")
    make("busy", server, "working")
    held = open_store().open("busy")  # another process's lock, as far as the REPL can tell
    try:
        t = term("resume", "home")
        in_session(t, "home")
        t.line("/resume busy")
        t.expect("error: session 'busy' is open in another process (pid")
        in_session(t, "home")
        t.line("/sessions")
        on_screen(t, "1 of 1")
        t.child.send("\r")
        t.expect("error: session 'busy' is open in another process (pid")
        in_session(t, "home")
        server.push(Reply("still home"))
        t.line("where am I?")
        t.expect("still home")
        t.prompt()
        t.exit()
    finally:
        held.close()
    assert roles("home")[-2:] == [("user", "where am I?"), ("assistant", "still home")]
    assert roles("busy") == [("user", "working"), ("assistant", "reply to working")]


def test_new_and_resume_with_completion(term, server: FakeOpenAI) -> None:
    t = term("new", "first", "--base-url", server.url, "--model", "m1")
    in_session(t, "first")
    server.push(Reply("hi from first"))
    t.line("hello")
    t.expect("hi from first")
    in_session(t, "first")

    t.line("/new second")
    t.expect("new session")
    in_session(t, "second")
    server.push(Reply("hi from second"))
    t.line("hello again")
    t.expect("hi from second")
    in_session(t, "second")
    assert roles("second") == [("user", "hello again"), ("assistant", "hi from second")]
    meta = open_store().read_meta("second")
    assert (meta.base_url, meta.model) == (server.url, "m1")  # /new keeps the agency's settings
    assert server.last.user_texts() == ["hello again"]  # a fresh conversation, not first's

    t.child.send("/resume fi")
    t.child.send("\t")  # completes the session name
    t.expect("first")
    t.child.send("\r")
    in_session(t, "first")
    assert "hi from first" in t.display()
    server.push(Reply("back in first"))
    t.line("and now?")
    t.expect("back in first")
    t.prompt()
    t.exit()
    assert roles("first")[-2:] == [("user", "and now?"), ("assistant", "back in first")]
    assert server.last.user_texts() == ["hello", "and now?"]


def test_fork_at_a_turn_continues_in_the_fork(term, server: FakeOpenAI, store_url: str) -> None:
    make("base", server, "one", "two", "three")
    t = term("resume", "base")
    in_session(t, "base")
    t.line("/fork --at 1")
    t.expect("forked base → base-fork")
    in_session(t, "base-fork")
    assert roles("base-fork") == [("user", "one"), ("assistant", "reply to one")]
    server.push(Reply("branching"))
    t.line("what if?")
    t.expect("branching")
    t.prompt()
    t.exit()
    assert server.last.user_texts() == ["one", "what if?"]  # the fork's history, cut at turn 1
    assert roles("base-fork")[-2:] == [("user", "what if?"), ("assistant", "branching")]
    assert len(roles("base")) == 6  # the source is untouched

    t = term("resume", "base-fork")
    in_session(t, "base-fork")
    t.line("/new")  # a fresh generated name
    t.expect(" — new session")
    fresh = re.findall(r"(\S+) — new session", t.text)[-1]
    assert fresh not in ("base", "base-fork")
    t.line("/fork")  # nothing stored yet: nothing to fork, and the REPL stays
    t.expect("error: nothing to fork yet")
    in_session(t, fresh)
    t.exit()


def test_tag_adds_removes_and_shows(term, server: FakeOpenAI, cli: Run) -> None:
    make("notes", server, "remember")
    t = term("resume", "notes")
    in_session(t, "notes")
    t.line("/tag work Urgent")
    t.expect("notes: #Urgent #work")
    t.prompt()
    t.line("/tag urgent --remove")
    t.expect("notes: #work")
    t.prompt()
    t.line("/tag bad!")
    t.expect("error: tag 'bad!' contains")
    t.prompt()
    t.line("/tag")
    t.expect("notes: #work")
    t.prompt()
    t.exit()
    listed = json.loads(cli("list", "--json").stdout)
    assert [s["tags"] for s in listed if s["name"] == "notes"] == [["work"]]


def test_an_imported_spec_is_confirmed_before_switching(term, server: FakeOpenAI, tmp_path: Path, cli: Run) -> None:
    export, spec, marker = hostile_export(tmp_path, server.url)
    assert cli("import", str(export)).returncode == 0
    make("home", server, "hello")
    t = term("resume", "home")
    in_session(t, "home")
    t.line("/resume gift")
    asked = t.expect("Go on? [y/N]")
    assert unwrapped(spec) in unwrapped(asked)  # the code it would run is named first
    t.line("n")
    t.expect("was not confirmed; staying in 'home'")
    in_session(t, "home")
    assert not marker.exists() and open_store().read_meta("gift").agency_trusted is False

    t.line("/resume gift")
    t.expect("Go on? [y/N]")
    t.line("y")
    in_session(t, "gift")
    t._until(lambda: "loading agency" not in toolbar(t), "the confirmed agency to load", None)
    t.exit()
    assert marker.exists() and open_store().read_meta("gift").agency_trusted is True


def test_the_filter_matches_every_word_in_name_title_or_tag() -> None:
    rows = [
        Row.of(SessionMeta.fresh("rome", title="Rome trip", tags=["travel"])),
        Row.of(SessionMeta.fresh("budget", title="Money for the trip")),
        Row.of(SessionMeta.fresh("evil\x1b]0;x", title="\x1b[2Jwiped\u202e")),
    ]
    assert [r.name for r in matching(rows, "")] == ["rome", "budget", "evil\x1b]0;x"]
    assert [r.name for r in matching(rows, "TRIP")] == ["rome", "budget"]
    assert [r.name for r in matching(rows, "trip #travel")] == ["rome"]
    assert [r.name for r in matching(rows, "money bud")] == ["budget"]
    assert matching(rows, "nowhere") == []
    shown = rows[2]  # what the picker draws of hostile data: no control character reaches the screen
    assert shown.name == "evil\x1b]0;x"  # picked, the session is named as stored
    assert shown.shown.isprintable() and shown.title.isprintable() and "\u202e" not in shown.title


def test_fork_arguments() -> None:
    assert fork_arguments("") == (None, None)
    assert fork_arguments("idea") == ("idea", None)
    assert fork_arguments("--at 1") == (None, 1)
    assert fork_arguments("--at -1 idea") == ("idea", -1)
    assert fork_arguments("idea --at=3") == ("idea", 3)
    for bad in ("--at", "--at x", "a b", "--what"):
        with pytest.raises(UsageError):
            fork_arguments(bad)


def test_retag_validates_before_changing_anything() -> None:
    store = open_store()
    session = store.open("tagged", create=SessionMeta.fresh("tagged", tags=["Trip"]))
    try:
        retag(session, ["trip", "work"])
        assert session.meta.tags == ["Trip", "work"]  # case aside, an existing tag is kept as it is
        with pytest.raises(InvalidName):
            retag(session, ["ok", "bad tag"])
        assert session.meta.tags == ["Trip", "work"]
        retag(session, ["TRIP"], remove=True)
        assert session.meta.tags == ["work"]
    finally:
        session.close()
