"""`swarmchat search` (issue 15): ranked full-text search served by the catalog, on both backends.

The catalog is a cache: these tests change the sessions behind its back (copied in, deleted, edited
by hand) and damage the catalog itself, and check that what the user sees follows the sessions.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import zygote
from conftest import Run, one_error_line

from swarmchat.session import Item, SessionMeta
from swarmchat.store import open_store
from swarmchat.store.search import plain_words, search_sessions


def msg(role: str, text: str, agent: str = "Assistant", caller: str | None = None) -> Item:
    if role == "user":
        return {"role": "user", "content": text, "agent": agent, "callerAgent": caller, "type": "message"}
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"role": "assistant", "content": content, "agent": agent, "callerAgent": caller, "type": "message"}


def make(name: str, *items: Item) -> None:
    open_store().write_new(SessionMeta.fresh(name), list(items))


def filler(n: int) -> None:
    """Sessions about other things, so that the words searched for are rare enough to rank by."""
    for i in range(n):
        make(f"other-{i}", msg("user", f"notes on topic {i} about gardens"), msg("assistant", "sure, gardens"))


def search(cli: Run, *args: str) -> list[dict[str, Any]]:
    out = cli("search", *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def found(cli: Run, *args: str) -> list[str]:
    return [str(hit["name"]) for hit in search(cli, *args)]


def test_ranked_by_relevance_then_recency_with_snippets(cli: Run, store_url: str) -> None:
    filler(8)
    make("once", msg("user", "a long question that mentions the volcano only once among many other words here"))
    make("often", msg("user", "volcano volcano"), msg("assistant", "yes, the volcano erupted; volcano facts follow"))
    make("newest", msg("user", "what about the sea"), msg("assistant", "no idea"))
    hits = search(cli, "volcano")
    assert [h["name"] for h in hits] == ["often", "once"]
    assert hits[0]["score"] > hits[1]["score"]
    snippets = hits[0]["snippets"]
    assert [(s["role"], s["text"]) for s in snippets] == [
        ("user", "volcano volcano"),
        ("assistant", "yes, the volcano erupted; volcano facts follow"),
    ]
    # equally relevant: the most recently used first
    make("twin-old", msg("user", "tell me about lagoons"))
    make("twin-new", msg("user", "tell me about lagoons"))
    assert found(cli, "lagoons") == ["twin-new", "twin-old"]


def test_phrases_prefixes_case_and_accents(cli: Run, store_url: str) -> None:
    filler(3)
    make("cafe", msg("user", "Le CAFÉ de Flore is near Saint-Germain"))
    make("words", msg("user", "flore and café, apart: de then le"))
    assert sorted(found(cli, "cafe")) == ["cafe", "words"]
    assert found(cli, '"café de flore"') == ["cafe"]
    assert found(cli, "saint-germain") == ["cafe"]  # not FTS5 syntax: searched as the words it holds
    assert sorted(found(cli, "flo*")) == ["cafe", "words"]
    assert found(cli, "germ*") == ["cafe"]
    assert found(cli, "CAFE FLORE NEAR") == ["cafe"]  # NEAR without "(" is a word


@pytest.mark.parametrize("query", ['"unbalanced', "AND OR", "*", "NEAR(", "x AND", "c++ -x", "a:b", "((("])
def test_a_query_fts5_cannot_parse_is_searched_as_plain_words(cli: Run, query: str) -> None:
    make("s", msg("user", "unbalanced quotes in c++ are a problem"))
    out = cli("search", query)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "Traceback" not in out.stdout
    if query == '"unbalanced':
        assert out.stdout.startswith("s  unbalanced quotes"), out.stdout


def test_plain_words_quote_each_token() -> None:
    assert plain_words('say "hi" now*') == '"say" """hi""" "now"*'
    assert plain_words("*") == '"*"'


def test_tool_outputs_delegations_attachments_and_agent_filter(cli: Run, store_url: str) -> None:
    filler(3)
    items: list[Item] = [
        {"role": "user", "type": "message", "agent": "Lead", "callerAgent": None,
         "content": [{"type": "input_text", "text": "check this"},
                     {"type": "input_text", "text": "file notes.txt:\nthe password rotation schedule"}]},
        {"type": "function_call", "name": "send_message", "agent": "Lead", "callerAgent": None, "call_id": "c1",
         "arguments": json.dumps({"recipient_agent": "Researcher", "message": "find the boiling point of water"})},
        msg("user", "find the boiling point of water", agent="Researcher", caller="Lead"),
        msg("assistant", "water boils at 100 degrees celsius", agent="Researcher", caller="Lead"),
        {"type": "function_call_output", "call_id": "c1", "agent": "Lead", "callerAgent": None,
         "output": "Researcher says: thermometer reading confirmed"},
        msg("assistant", "it boils at 100", agent="Lead"),
    ]  # fmt: skip
    make("team", *items)
    assert found(cli, "rotation") == ["team"]  # a text attachment
    assert found(cli, "thermometer") == ["team"]  # a tool output
    hits = search(cli, "boiling")
    assert [h["name"] for h in hits] == ["team"]
    roles = [(s["role"], s["agent"], s["caller"]) for s in hits[0]["snippets"]]
    assert len(roles) == 1 and roles[0] in (("tool_call", "Lead", None), ("user", "Researcher", "Lead"))
    assert found(cli, "celsius", "--agent", "researcher") == ["team"]  # said by the Researcher
    assert found(cli, "celsius", "--agent", "Lead") == ["team"]  # said to the Lead
    assert found(cli, "celsius", "--agent", "Nobody") == []
    assert found(cli, "rotation", "--agent", "Researcher") == []
    plain = cli("search", "boiling").stdout.splitlines()
    assert plain[0].startswith("team  check this") and plain[1].split(":")[0] in (
        "  #1 Lead (tool call)",
        "  #1 Lead → Researcher",
    )


def test_n_limits_the_sessions_and_must_be_a_positive_number(cli: Run, store_url: str) -> None:
    for i in range(5):
        make(f"s{i}", msg("user", f"penguin fact number {i}"))
    assert len(found(cli, "penguin")) == 5
    assert len(found(cli, "penguin", "-n", "2")) == 2
    for bad in ("0", "-1", "two"):
        out = cli("search", "penguin", "-n", bad)
        assert out.returncode == 2 and "-n" in one_error_line(out.stderr)


def test_a_saved_turn_is_found_by_the_next_search_and_a_deleted_session_is_gone(cli: Run, store_url: str) -> None:
    make("keep", msg("user", "first words"))
    make("doomed", msg("user", "ephemeral words"))
    assert found(cli, "words") == ["doomed", "keep"]
    store = open_store()
    session = store.open("keep")
    try:
        session.begin_turn()
        live = [*session.load(), msg("assistant", "a brand new albatross")]
        session.save(live)
        session.end_turn(live)
    finally:
        session.close()
    assert found(cli, "albatross") == ["keep"]
    assert cli("delete", "doomed", "--yes").returncode == 0
    assert found(cli, "ephemeral") == [] and found(cli, "words") == ["keep"]
    store.rename("keep", "kept")
    assert found(cli, "albatross") == ["kept"]
    out = cli("search", "ephemeral")
    assert (out.returncode, out.stdout) == (0, "no session mentions 'ephemeral'\n")


def test_sessions_copied_in_edited_or_removed_by_hand_are_seen(cli: Run, data_dir: Path, tmp_path: Path) -> None:
    make("mine", msg("user", "ordinary words"))
    assert found(cli, "ordinary") == ["mine"]
    other = tmp_path / "elsewhere"
    os.environ["SWARMCHAT_DATA_DIR"] = str(other)
    try:
        make("theirs", msg("user", "ordinary words from another machine about a narwhal"))
    finally:
        os.environ["SWARMCHAT_DATA_DIR"] = str(data_dir)
    for f in (other / "sessions").iterdir():
        shutil.copy(f, data_dir / "sessions" / f.name)
    assert found(cli, "narwhal") == ["theirs"]
    journal = data_dir / "sessions" / "mine.jsonl"  # edited in place: the directory does not move
    journal.write_text(journal.read_text().replace("ordinary words", "peculiar words"))
    assert found(cli, "peculiar") == ["mine"]
    (data_dir / "sessions" / "theirs.json").unlink()
    (data_dir / "sessions" / "theirs.jsonl").unlink()
    assert found(cli, "narwhal") == []


def test_a_phrase_only_found_across_two_messages_does_not_match(cli: Run, store_url: str) -> None:
    """Sessions are ranked on their whole text, but a session is only found if one message matches."""
    make("split", msg("user", "we stayed at the grand"), msg("assistant", "hotel by the sea"))
    make("whole", msg("user", "the grand hotel by the sea"))
    assert found(cli, '"grand hotel"') == ["whole"]
    assert found(cli, "grand hotel") == ["whole"]  # both words in one message
    assert sorted(found(cli, "grand OR hotel")) == ["split", "whole"]


def _catalog_file(store: object) -> Path:
    from swarmchat.store.catalog import from_files, from_redis
    from swarmchat.store.files import FileStore

    return from_files.path(store) if isinstance(store, FileStore) else from_redis.path(store)  # type: ignore[arg-type]


def _every_hit(store: object) -> list[tuple[str, float, list[str]]]:
    hits = search_sessions(store, "alpha OR beta OR gamma OR delta", limit=1000)  # type: ignore[arg-type]
    return [(h.name, h.score, [s.text for s in h.snippets]) for h in hits]


def test_a_catalog_kept_up_to_date_turn_by_turn_equals_one_built_afresh(store_url: str) -> None:
    """Turns appended, an undo cut back, a session rewritten, renamed and deleted: the catalog updated
    step by step ranks exactly as one rebuilt from nothing, and SQLite finds both indexes sound."""
    store = open_store()
    for i, words in enumerate(["alpha beta", "beta gamma", "gamma delta", "alpha alpha delta"]):
        make(f"s{i}", msg("user", f"{words} question {i}"), msg("assistant", f"{words} answer"))
    _every_hit(store)  # built

    def turn(name: str, items: list[Item]) -> None:
        session = store.open(name)
        try:
            session.begin_turn()
            session.save(items)
            session.end_turn(items)
        finally:
            session.close()

    steps = [
        lambda: turn("s0", [*store.read("s0")[1], msg("user", "gamma gamma"), msg("assistant", "delta")]),
        lambda: turn("s1", store.read("s1")[1][:1]),  # an undo: cut back
        lambda: turn("s2", [msg("user", "beta only now")]),  # rewritten from the start
        lambda: store.rename("s3", "s3-renamed"),
        lambda: store.delete("s0"),
        lambda: make("s0", msg("user", "delta reborn")),
    ]
    for step in steps:
        step()
        incremental = _every_hit(store)
        path = _catalog_file(store)
        with sqlite3.connect(path) as conn:
            for table in ("messages", "docs"):
                conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        assert _every_hit(store) == incremental


@pytest.mark.parametrize("damage", ["deleted", "garbage", "truncated"])
def test_a_deleted_or_corrupted_catalog_is_rebuilt(cli: Run, store_url: str, data_dir: Path, damage: str) -> None:
    make("a", msg("user", "the quick brown fox"))
    make("b", msg("user", "the lazy dog"))
    assert found(cli, "fox") == ["a"]
    (catalog,) = [p for p in data_dir.glob("catalog*.sqlite3")]
    assert catalog.stat().st_mode & 0o777 == 0o600
    if damage == "deleted":
        catalog.unlink()
    elif damage == "garbage":
        catalog.write_bytes(b"this is not a database at all " * 500)
    else:
        catalog.write_bytes(catalog.read_bytes()[:3000])
    for suffix in ("-wal", "-shm"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    assert found(cli, "fox") == ["a"] and found(cli, "dog") == ["b"]
    out = cli("list")
    assert out.returncode == 0 and "a " in out.stdout and "b " in out.stdout


def test_damaged_sessions_are_skipped(cli: Run, data_dir: Path) -> None:
    make("good", msg("user", "a shared word"))
    make("bad", msg("user", "a shared word"))
    (data_dir / "sessions" / "bad.jsonl").write_text("not json\n")
    assert found(cli, "shared") == ["good"]


def test_search_sessions_for_the_repl(store_url: str) -> None:
    make("trip", msg("user", "book the ferry to Naxos"))
    results = search_sessions(open_store(), "naxos")
    assert [r.name for r in results] == ["trip"]
    (snippet,) = results[0].snippets
    assert [(piece, hit) for piece, hit in snippet.pieces] == [("book the ferry to ", False), ("Naxos", True)]


def test_two_processes_catching_up_at_once(cli: Run, data_dir: Path) -> None:
    for i in range(40):
        make(f"s{i:02d}", msg("user", f"concurrent walrus {i}"))
    import subprocess

    from conftest import ROOT

    procs = [
        zygote.popen(["search", "walrus", "-n", "50", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        for _ in range(4)
    ]  # fmt: skip
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert len(json.loads(out)) == 40
    with sqlite3.connect(data_dir / "catalog.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_highlighted_on_a_terminal_without_interpreting_the_text(cli: Run, data_dir: Path) -> None:
    """rich markup and escape sequences in a message are shown as text, never acted upon."""
    from rich.console import Console

    from swarmchat import search_view

    make("evil", msg("user", "[bold red]markup[/] and \x1b]0;pwned\x07 title with the keyword"))
    results = search_sessions(open_store(), "keyword")
    console = Console(record=True, force_terminal=True, width=200)
    search_view.highlighted(console, results)
    text = console.export_text()
    assert "[bold red]markup[/]" in text and "\x1b" not in text and "\x07" not in text


def test_with_the_directory_settled_the_sessions_shown_are_still_checked(data_dir: Path) -> None:
    """Nothing created, renamed or deleted (the directory unchanged and old): only the results are checked
    against their files, and one edited in place is read again before it is shown."""
    make("edited", msg("user", "the moonstone is here"))
    make("other", msg("user", "a moonstone elsewhere"))
    hour_ago = time.time() - 3600
    os.utime(data_dir / "sessions", (hour_ago, hour_ago))
    store = open_store()
    assert sorted(r.name for r in search_sessions(store, "moonstone")) == ["edited", "other"]  # settled now
    journal = data_dir / "sessions" / "edited.jsonl"
    journal.write_text(journal.read_text().replace("the moonstone is here", "the sunstone is here"))
    os.utime(data_dir / "sessions", (hour_ago, hour_ago))
    assert [r.name for r in search_sessions(store, "moonstone")] == ["other"]
    assert [r.name for r in search_sessions(store, "sunstone")] == ["edited"]


def test_tag_narrows_to_sessions_carrying_every_tag(cli: Run, store_url: str) -> None:
    make("work-trip", msg("user", "book the harbour hotel"))
    make("holiday", msg("user", "a hotel by the beach"))
    make("both", msg("user", "which hotel again"))
    assert cli("tag", "work-trip", "work", "travel").returncode == 0
    assert cli("tag", "holiday", "Travel").returncode == 0
    assert cli("tag", "both", "work").returncode == 0
    assert sorted(found(cli, "hotel")) == ["both", "holiday", "work-trip"]
    assert sorted(found(cli, "hotel", "--tag", "travel")) == ["holiday", "work-trip"]  # case aside
    assert found(cli, "hotel", "--tag", "travel", "--tag", "work") == ["work-trip"]  # every tag given
    assert found(cli, "hotel", "--tag", "nowhere") == []


def test_slash_search_in_the_repl_shows_the_ranked_sessions(term, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    filler(3)
    make("lava", msg("user", "tell me about the volcano"), msg("assistant", "the volcano is active"))
    t = term("new", "asker", "--model", "echo")
    t.prompt()
    t.line("/search volcano")
    screen = t.expect("#1 Assistant: the volcano is active")  # its turn, as /fork --at takes it
    assert "lava" in screen
    t.expect("open which?")
    t.line("")  # Enter: stay here
    t.prompt()
    t.line("/search nothingmatchesthis")
    t.expect("no session mentions 'nothingmatchesthis'")
    t.prompt()
    t.exit()
