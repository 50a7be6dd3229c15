"""The session lifecycle as a user runs it, on both backends: fork, export/import (also across backends and
from agency-swarm's own demo chats), search, prune, bulk delete, and shell completion of session names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, Run, one_error_line, raw_state, write_dated
from fake_openai import FakeOpenAI

from swarmchat.lifecycle import prune_candidates
from swarmchat.session import Item, SessionMeta
from swarmchat.store import open_store

DAY = 86400


def chat(*texts: str) -> list[Item]:
    """A conversation as agency-swarm stores it, with values that must survive byte for byte."""
    items: list[Item] = []
    for n, text in enumerate(texts):
        stamp = 1_795_543_882_059_782 + 2 * n
        items.append(
            {"content": text, "role": "user", "agent": "Assistant", "callerAgent": None, "timestamp": stamp,
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
                "odd": {"float": 0.1, "tiny": 1e-7, "big": 2**63, "none": None, "text": 'café 🚀 \u2028 "q" \\'},
            }
        )
    return items


def make(store_url: str, name: str, *texts: str, **settings: object) -> list[Item]:
    items = chat(*texts)
    open_store(store_url).write_new(SessionMeta.fresh(name, **settings), items)
    return items


def make_aged(monkeypatch: pytest.MonkeyPatch, store_url: str, name: str, days: float, *texts: str) -> None:
    """Write a session through the store API as if its last use was `days` ago (the stores' clock injected)."""
    stamp = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
    write_dated(monkeypatch, open_store(store_url), name, stamp, chat(*texts))
    assert open_store(store_url).read_meta(name).updated_at == stamp


def dumped(store_url: str, name: str) -> str:
    """A session's items exactly as stored, as one string."""
    return json.dumps(open_store(store_url).read(name)[1], ensure_ascii=False)


def names(store_url: str) -> list[str]:
    return open_store(store_url).names()


# --- fork ----------------------------------------------------------------------------------------------


def test_fork_copies_every_item_and_the_source_stays_as_it_was(cli: Run, store_url: str) -> None:
    make(store_url, "src", "plan the trip", "and the hotels", agency="team.py:create_agency", model="m-1")
    source_before = open_store(store_url).read("src")

    out = cli("fork", "src", "branch")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "forked src → branch (2 turns)"
    meta, items = open_store(store_url).read("branch")
    assert json.dumps(items) == json.dumps(source_before[1])
    assert (meta.agency, meta.model, meta.title, meta.message_count) == ("team.py:create_agency", "m-1",
                                                                          "plan the trip", 4)  # fmt: skip
    assert open_store(store_url).read("src") == source_before

    # the copy is one to branch from: what is added to it never reaches the source
    session = open_store(store_url).open("branch")
    session.end_turn(items + chat("a different direction"))
    session.close()
    assert open_store(store_url).read("branch")[0].message_count == 6
    assert open_store(store_url).read("src") == source_before
    assert names(store_url) == ["branch", "src"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("fork", "src", "taken"), "a session named 'taken' already exists"),
        (("fork", "src", "src"), "a session named 'src' already exists"),
        (("fork", "ghost", "copy"), "no session named 'ghost'"),
        (("fork", "src", "../escape"), "session name '../escape'"),
    ],
)
def test_fork_refused_changes_nothing(
    cli: Run, store_url: str, data_dir: Path, args: tuple[str, ...], expected: str
) -> None:
    make(store_url, "src", "hello")
    make(store_url, "taken", "already here")
    before = raw_state(store_url, data_dir)
    out = cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert expected in one_error_line(out.stderr)
    assert raw_state(store_url, data_dir) == before


def test_a_session_emptied_by_undo_is_neither_forked_nor_imported_as_nothing(
    cli: Run, store_url: str, data_dir: Path, tmp_path: Path
) -> None:
    """A copy with no messages would not be stored; saying 'forked' or 'imported' would be a lie."""
    make(store_url, "empty", "soon undone")
    session = open_store(store_url).open("empty")
    session.end_turn([])  # every turn undone
    session.close()
    before = raw_state(store_url, data_dir)
    out = cli("fork", "empty", "copy")
    assert out.returncode == 2 and "no messages" in one_error_line(out.stderr)
    assert cli("export", "empty", "-o", str(tmp_path / "empty.json")).returncode == 0
    out = cli("import", str(tmp_path / "empty.json"), "--name", "copy")
    assert out.returncode == 2 and "no messages" in one_error_line(out.stderr)
    assert raw_state(store_url, data_dir) == before and names(store_url) == ["empty"]


# --- export / import -------------------------------------------------------------------------------------

SETTINGS = {
    "agency": "team.py:create_agency",
    "model": "gpt-x",
    "base_url": "http://127.0.0.1:9/v1",
    "api": "chat",
    "recipient": "Researcher",
}


def settings_of(store_url: str, name: str) -> dict[str, object]:
    meta = open_store(store_url).read_meta(name)
    return {key: getattr(meta, key) for key in SETTINGS}


def test_export_then_import_gives_the_same_items_and_settings(cli: Run, store_url: str, tmp_path: Path) -> None:
    make(store_url, "src", "first question", "second question", **SETTINGS)
    file = tmp_path / "src.json"

    out = cli("export", "src", "-o", str(file))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and f"exported src → {file}" in out.stderr
    exported = json.loads(file.read_text(encoding="utf-8"))
    assert exported["format"] == "swarmchat-session" and exported["session"]["message_count"] == 4

    out = cli("import", str(file), "--name", "other")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported other (2 turns)"
    assert dumped(store_url, "other") == dumped(store_url, "src")
    assert settings_of(store_url, "other") == SETTINGS
    assert open_store(store_url).read_meta("other").title == "first question"

    # without -o the same JSON goes to stdout
    printed = cli("export", "src")
    assert printed.returncode == 0, printed.stderr
    assert {**json.loads(printed.stdout), "exported_at": None} == {**exported, "exported_at": None}

    # the file's own name is the default; it is taken now, and the error says how to import anyway
    taken = cli("import", str(file))
    assert taken.returncode == 2
    assert "'src' already exists" in one_error_line(taken.stderr) and "--name" in taken.stderr
    assert names(store_url) == ["other", "src"]


def test_export_never_overwrites_or_half_writes_a_file(cli: Run, store_url: str, tmp_path: Path) -> None:
    make(store_url, "src", "hello")
    existing = tmp_path / "notes.json"
    existing.write_text("my notes\n")
    out = cli("export", "src", "-o", str(existing))
    assert out.returncode == 2 and "already exists" in one_error_line(out.stderr)
    assert existing.read_text() == "my notes\n"

    nowhere = tmp_path / "no" / "such" / "dir" / "src.json"
    out = cli("export", "src", "-o", str(nowhere))
    assert out.returncode == 2, out.stderr
    assert str(nowhere) in one_error_line(out.stderr)
    assert not nowhere.parent.exists()

    private = tmp_path / "private.json"
    assert cli("export", "src", "-o", str(private)).returncode == 0
    assert private.stat().st_mode & 0o777 == 0o600  # a conversation is as private as the session it came from


def test_a_session_moves_between_backends_byte_for_byte(
    cli: Run, redis_url: str, data_dir: Path, tmp_path: Path
) -> None:
    files, redis = {"SWARMCHAT_STORE": ""}, {"SWARMCHAT_STORE": redis_url}
    make("", "notes", "ünïcode ✓ and emoji 🚀", "a\nmulti-line\nquestion", **SETTINGS)
    original = dumped("", "notes")

    assert cli("export", "notes", "-o", str(tmp_path / "a.json"), env=files).returncode == 0
    moved = cli("import", str(tmp_path / "a.json"), env=redis)
    assert moved.returncode == 0, moved.stderr
    assert dumped(redis_url, "notes") == original
    assert settings_of(redis_url, "notes") == SETTINGS

    assert cli("export", "notes", "-o", str(tmp_path / "b.json"), env=redis).returncode == 0
    back = cli("import", str(tmp_path / "b.json"), "--name", "back", env=files)
    assert back.returncode == 0, back.stderr
    assert dumped("", "back") == original
    assert settings_of("", "back") == SETTINGS
    a, b = (json.loads((tmp_path / f).read_bytes()) for f in ("a.json", "b.json"))
    assert json.dumps(a["messages"]) == json.dumps(b["messages"])
    assert names("") == ["back", "notes"] and names(redis_url) == ["notes"]


DEMO_CHAT = textwrap.dedent(
    """
    import sys, uuid
    from agency_swarm import Agency, Agent
    from agency_swarm.ui.demos import persistence

    agency = Agency(Agent(name="Assistant", instructions="You help."))
    for text in sys.argv[2:]:
        agency.get_response_sync(text)
    persistence.set_chats_dir(sys.argv[1])
    chat_id = str(uuid.uuid4())
    persistence.save_current_chat(agency, chat_id)
    print(persistence.chat_file_path(chat_id))
    """
)


@pytest.fixture(scope="module")
def demo_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A chat file written by agency-swarm's own terminal demo code, after two real turns."""
    work = tmp_path_factory.mktemp("demo")
    (work / "demo.py").write_text(DEMO_CHAT)
    server = FakeOpenAI().start()
    env = {
        **os.environ,
        "OPENAI_BASE_URL": server.url,
        "OPENAI_API_KEY": "sk-test-not-real",
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
    }
    try:
        args = [sys.executable, "demo.py", str(work / ".agency_swarm"), "Plan a trip to Lisbon", "And the hotels?"]
        done = subprocess.run(args, env=env, cwd=work, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    finally:
        server.stop()
    path = Path(done.stdout.strip())
    assert path.parent == work / ".agency_swarm" and path.name.startswith("messages_")
    yield path


def test_import_of_an_agency_swarm_demo_chat(cli: Run, store_url: str, server: FakeOpenAI, demo_chat: Path) -> None:
    data = json.loads(demo_chat.read_bytes())
    assert set(data) == {"items", "metadata"} and len(data["items"]) == 4
    chat_id = demo_chat.stem.removeprefix("messages_")

    out = cli("import", str(demo_chat))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"imported {chat_id} (2 turns)"
    rows = json.loads(cli("list", "--json").stdout)
    assert [(r["name"], r["title"], r["message_count"]) for r in rows] == [(chat_id, "Plan a trip to Lisbon", 4)]
    assert dumped(store_url, chat_id) == json.dumps(data["items"], ensure_ascii=False)

    # and it is a conversation to go on with: the model gets the demo's history
    resumed = cli("resume", chat_id, "-m", "Thanks!", env={"OPENAI_BASE_URL": server.url})
    assert resumed.returncode == 0, resumed.stderr
    assert server.last.messages() == [
        ("user", "Plan a trip to Lisbon"),
        ("assistant", "echo: Plan a trip to Lisbon"),
        ("user", "And the hotels?"),
        ("assistant", "echo: And the hotels?"),
        ("user", "Thanks!"),
    ]


def test_import_of_an_older_demo_chat_holding_a_bare_list(cli: Run, store_url: str, tmp_path: Path) -> None:
    """agency-swarm's demo also reads chat files that are a plain list of items (its older format)."""
    items = chat("from an older demo")
    path = tmp_path / "messages_legacy-chat.json"
    path.write_text(json.dumps(items, indent=2))
    out = cli("import", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported legacy-chat (1 turn)"
    assert dumped(store_url, "legacy-chat") == json.dumps(items, ensure_ascii=False)


BAD_IMPORTS = {
    "not_json": (b"this is { not JSON", "not a JSON file"),
    "binary": (b"\xff\xfe\x00garbage", "not a JSON file"),
    "empty_file": (b"", "not a JSON file"),
    "wrong_shape": (b'{"hello": "world"}', "not a swarmchat export or an agency-swarm chat file"),
    "a_number": (b"42", "not a swarmchat export or an agency-swarm chat file"),
    "items_not_a_list": (b'{"items": {"role": "user"}, "metadata": {}}', "not a list of JSON objects"),
    "items_not_objects": (b'{"items": [1, 2], "metadata": {}}', "not a list of JSON objects"),
    "no_messages": (b'{"items": [], "metadata": {}}', "no messages"),
    "newer_export": (b'{"format": "swarmchat-session", "version": 99, "session": {}, "messages": []}', "newer"),
    "damaged_export": (
        b'{"format": "swarmchat-session", "version": 1, "session": {"name": "x"}, "messages": []}',
        "damaged",
    ),
}


@pytest.mark.parametrize("kind", [*BAD_IMPORTS, "missing", "directory"])
def test_import_of_a_bad_file_is_one_line_and_stores_nothing(
    cli: Run, store_url: str, data_dir: Path, tmp_path: Path, kind: str
) -> None:
    make(store_url, "keep", "an existing session")
    before = raw_state(store_url, data_dir)
    path = tmp_path / f"messages_{kind}.json"
    if kind in BAD_IMPORTS:
        path.write_bytes(BAD_IMPORTS[kind][0])
        expected = BAD_IMPORTS[kind][1]
    elif kind == "directory":
        path.mkdir()
        expected = "not a JSON file"
    else:
        expected = "no such file"
    out = cli("import", str(path))
    assert out.returncode == 2, (out.stdout, out.stderr)
    line = one_error_line(out.stderr)
    assert str(path) in line and expected in line
    assert out.stdout == ""
    assert raw_state(store_url, data_dir) == before
    assert names(store_url) == ["keep"]


# --- search ----------------------------------------------------------------------------------------------


def test_search_finds_the_matching_line_in_the_right_session(
    cli: Run, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hits come grouped by session, best match first, each with its matching lines (issue 15 ranks them)."""
    make_aged(monkeypatch, store_url, "poem", 9, "a haiku about Lisbon trams")
    make(store_url, "work", "quarterly report")
    make(store_url, "trip", "Where to stay?\nthe LISBON hotel is booked\nwhat else", "flights")

    out = cli("search", "lisbon")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[lines.index("trip  Where to stay? the LISBON hotel is booked what else") + 1] == (
        "  #1 user: the LISBON hotel is booked"
    )
    assert "poem  a haiku about Lisbon trams" in lines and "  #1 user: a haiku about Lisbon trams" in lines
    assert "work" not in out.stdout and "Where to stay?" not in [ln.strip() for ln in lines]

    hits = json.loads(cli("search", "lisbon", "--json").stdout)
    # in most messages here, the word tells the sessions apart no better than chance: the newest first
    assert [h["name"] for h in hits] == ["trip", "poem"]
    trip = hits[0]
    assert trip["title"] == "Where to stay? the LISBON hotel is booked what else"
    assert [(s["role"], s["agent"], s["text"]) for s in trip["snippets"]] == [
        ("user", "Assistant", "the LISBON hotel is booked"),
        ("assistant", "Assistant", "the LISBON hotel is booked"),
    ]
    assert all(isinstance(h["score"], float) for h in hits)


def test_search_without_a_match_says_so_and_succeeds(cli: Run, store_url: str) -> None:
    make(store_url, "trip", "Lisbon")
    out = cli("search", "Tokyo")
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "no session mentions 'Tokyo'", "")
    out = cli("search", "Tokyo", "--json")
    assert (out.returncode, json.loads(out.stdout)) == (0, [])


def test_search_for_nothing_is_bad_usage(cli: Run, store_url: str) -> None:
    make(store_url, "trip", "Lisbon")
    for text in ("", "   "):
        out = cli("search", text)
        assert out.returncode == 2 and "search" in one_error_line(out.stderr)


# --- prune -----------------------------------------------------------------------------------------------


def test_prune_candidates_with_an_injected_clock(monkeypatch: pytest.MonkeyPatch, store_url: str) -> None:
    make_aged(monkeypatch, store_url, "ancient", 400, "old")
    make_aged(monkeypatch, store_url, "month", 40, "old")
    make_aged(monkeypatch, store_url, "week", 7, "recent")
    make(store_url, "today", "new")
    store = open_store(store_url)
    now = datetime.now(UTC)
    assert [m.name for m in prune_candidates(store, 30 * DAY, now=now)] == ["ancient", "month"]
    assert [m.name for m in prune_candidates(store, 30 * DAY, now=now + timedelta(days=25))] == [
        "ancient",
        "month",
        "week",
    ]  # oldest first
    assert [m.name for m in prune_candidates(store, 365 * DAY, now=now)] == ["ancient"]
    assert prune_candidates(store, 3650 * DAY, now=now) == []
    assert [m.name for m in prune_candidates(store, 1, now=now + timedelta(seconds=5))] == [
        "ancient",
        "month",
        "week",
        "today",
    ]


def test_prune_deletes_only_sessions_unused_that_long(
    cli: Run, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    make_aged(monkeypatch, store_url, "ancient", 400, "old")
    make_aged(monkeypatch, store_url, "month", 31, "old")
    make_aged(monkeypatch, store_url, "recent", 29, "recent")
    make(store_url, "today", "new")
    kept = {n: dumped(store_url, n) for n in ("recent", "today")}

    out = cli("prune", "--older-than", "30d", "--yes")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:-1]] == ["ancient", "month"]  # listed, oldest first
    assert "(1 turn, last used" in lines[0]
    assert lines[-1] == "deleted 2 sessions"
    assert names(store_url) == ["recent", "today"]
    assert {n: dumped(store_url, n) for n in kept} == kept

    again = cli("prune", "--older-than", "30d", "--yes")
    assert (again.returncode, again.stdout.strip()) == (0, "no session is older than 30d")


def test_prune_lists_in_turns_with_the_tags_of_what_it_would_delete(
    cli: Run, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    import swarmchat.store.journaled
    from swarmchat.lifecycle import tag
    from swarmchat.render import ago

    make_aged(monkeypatch, store_url, "keepsake", 60, "plan the trip", "and the hotels")
    stamp = open_store(store_url).read_meta("keepsake").updated_at
    with monkeypatch.context() as patch:  # tagged long ago: it is still unused for 60 days
        patch.setattr(swarmchat.store.journaled, "now_iso", lambda: stamp)
        tag(open_store(store_url), "keepsake", ["lisbon", "family"])
    make_aged(monkeypatch, store_url, "scratch", 40, "hi")
    scratch = open_store(store_url).read_meta("scratch").updated_at
    out = cli("prune", "--older-than", "30d", "--yes")
    assert out.returncode == 0, out.stderr
    assert [" ".join(line.split()) for line in out.stdout.splitlines()] == [
        f"keepsake (2 turns, last used {ago(stamp)}, #family, #lisbon)",
        f"scratch (1 turn, last used {ago(scratch)})",
        "deleted 2 sessions",
    ]


def test_prune_without_yes_and_no_terminal_deletes_nothing(
    cli: Run, monkeypatch: pytest.MonkeyPatch, store_url: str, data_dir: Path
) -> None:
    make_aged(monkeypatch, store_url, "old", 60, "old")
    make(store_url, "today", "new")
    before = raw_state(store_url, data_dir)
    for stdin in (None, "y\n"):  # empty stdin, and a pipe saying yes: neither is a user at a terminal
        out = cli("prune", "--older-than", "30d", input=stdin)
        assert out.returncode == 2, (out.stdout, out.stderr)
        assert "--yes" in one_error_line(out.stderr)
        assert out.stdout.split()[0] == "old"  # what it would delete is listed
        assert raw_state(store_url, data_dir) == before


@pytest.mark.parametrize("duration", ["soon", "30", "0d", "-5d", "30x", "1d 2q", ""])
def test_prune_with_a_bad_duration_is_bad_usage(
    cli: Run, monkeypatch: pytest.MonkeyPatch, store_url: str, data_dir: Path, duration: str
) -> None:
    make_aged(monkeypatch, store_url, "old", 60, "old")
    before = raw_state(store_url, data_dir)
    out = cli("prune", "--older-than", duration, "--yes")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "duration" in one_error_line(out.stderr)
    assert raw_state(store_url, data_dir) == before


def test_prune_older_than_all_of_time_deletes_nothing(
    cli: Run, monkeypatch: pytest.MonkeyPatch, store_url: str, data_dir: Path
) -> None:
    make_aged(monkeypatch, store_url, "old", 4000, "old")
    before = raw_state(store_url, data_dir)
    out = cli("prune", "--older-than", "99999999999w", "--yes")
    assert (out.returncode, out.stderr) == (0, ""), out.stderr
    assert out.stdout.strip() == "no session is older than 99999999999w"
    assert raw_state(store_url, data_dir) == before


def test_prune_keeps_a_session_open_in_another_process(
    cli: Run, monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    make_aged(monkeypatch, store_url, "first", 90, "old")
    make_aged(monkeypatch, store_url, "busy", 60, "old but open right now")
    make_aged(monkeypatch, store_url, "last", 45, "old")
    busy = dumped(store_url, "busy")
    session = open_store(store_url).open("busy")  # held by this process, as a REPL in another terminal would
    try:
        out = cli("prune", "--older-than", "30d", "--yes")
    finally:
        session.close()
    assert out.returncode == 0, out.stderr
    summary = out.stdout.splitlines()[-1]
    assert summary.startswith(f"deleted 2 sessions; kept 1 open in another process: busy (pid {os.getpid()} on ")
    assert names(store_url) == ["busy"] and dumped(store_url, "busy") == busy


# --- delete ----------------------------------------------------------------------------------------------


def test_delete_several_at_once_prints_a_summary(cli: Run, store_url: str) -> None:
    for name in ("a", "b", "c", "d"):
        make(store_url, name, f"hello {name}")
    kept = dumped(store_url, "d")
    out = cli("delete", "a", "b", "c", "b", "--yes")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "deleted 3 sessions: a, b, c"
    assert names(store_url) == ["d"] and dumped(store_url, "d") == kept
    assert json.loads(cli("list", "--json").stdout)[0]["name"] == "d"


def test_delete_with_a_missing_name_deletes_nothing(cli: Run, store_url: str, data_dir: Path) -> None:
    for name in ("a", "b"):
        make(store_url, name, f"hello {name}")
    before = raw_state(store_url, data_dir)
    out = cli("delete", "a", "missing", "b", "--yes")
    assert out.returncode == 2
    assert "no session named 'missing'" in one_error_line(out.stderr)
    assert out.stdout == ""
    assert raw_state(store_url, data_dir) == before
    assert names(store_url) == ["a", "b"]


def test_delete_skips_a_session_open_elsewhere_and_says_what_it_did(cli: Run, store_url: str) -> None:
    for name in ("a", "b", "c"):
        make(store_url, name, f"hello {name}")
    b = dumped(store_url, "b")
    session = open_store(store_url).open("b")
    try:
        out = cli("delete", "a", "b", "c", "--yes")
    finally:
        session.close()
    assert out.returncode == 3
    assert out.stdout.strip() == "deleted 2 sessions: a, c"
    line = one_error_line(out.stderr)
    assert "'b'" in line and f"pid {os.getpid()}" in line and "open in another process" in line
    assert names(store_url) == ["b"] and dumped(store_url, "b") == b


# --- shell completion ------------------------------------------------------------------------------------

SCRIPT = Path(sys.executable).with_name("swarmchat")  # the console script users run


@pytest.mark.slow  # starts a process
def test_shell_completion_lists_session_names_without_loading_agency_swarm(store_url: str, tmp_path: Path) -> None:
    for name in ("alpha", "alps", "beta"):
        make(store_url, name, f"hello {name}")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"}
    # installed from a bash prompt, as the README says (`; true` keeps bash as the parent that typer detects)
    install = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", "swarmchat --install-completion; true"],
        env=env, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    assert "bash completion installed" in install.stdout

    def complete(line: str) -> tuple[list[str], str]:
        """Press Tab after `line` in a bash that sourced ~/.bashrc: (the candidates, the import-time log)."""
        words = line.split() + ([""] if line.endswith(" ") else [])
        script = (
            "source ~/.bashrc; "
            f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; "
            "_swarmchat_completion swarmchat; printf '%s\\n' \"${COMPREPLY[@]}\""
        )
        done = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c", script],
            env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [w for w in done.stdout.splitlines() if w], done.stderr

    for command in ("resume", "show", "delete", "rename", "fork", "export"):
        found, imports = complete(f"swarmchat {command} al")
        assert found == ["alpha", "alps"], command
        assert "swarmchat.cli" in imports  # the log is real ...
        assert "agency_swarm" not in imports and "openai" not in imports  # ... and the heavy stack stayed out
    assert complete("swarmchat show ")[0] == ["alpha", "alps", "beta"]
    assert complete("swarmchat delete alpha b")[0] == ["beta"]
    assert complete("swarmchat new al")[0] == []  # a new name is not one of the existing ones
