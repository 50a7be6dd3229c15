"""The store interface's behaviour, run against both backends (files and a real redis-server)."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis
from conftest import raw_state, write_dated

from swarmchat.errors import CorruptSession, InvalidName, NameTaken, SessionLocked, SessionNotFound
from swarmchat.session import Item, SessionMeta
from swarmchat.store import BadSession, SessionStore, open_store
from swarmchat.store.redis import log_key, meta_key
from swarmchat.store.search import search_sessions


def msg(role: str, text: str, n: int = 0) -> Item:
    if role == "user":
        return {"role": "user", "content": text, "agent": "Assistant", "callerAgent": None, "timestamp": n}
    return {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
        "agent": "Assistant",
        "callerAgent": None,
        "timestamp": n,
    }


def turns(count: int, start: int = 0) -> list[Item]:
    out: list[Item] = []
    for n in range(start, start + count):
        out += [msg("user", f"question {n} — ünïcode ✓", 2 * n), msg("assistant", f"answer {n}", 2 * n + 1)]
    return out


@pytest.fixture
def store(store_url: str) -> SessionStore:
    return open_store(store_url)


def raw_write(store_url: str, data_dir: Path, name: str, meta: bytes) -> None:
    """Put bytes where the session's meta lives, as a hand edit or a crash might."""
    if store_url:
        redis.Redis.from_url(store_url).set(meta_key(name), meta)
    else:
        (data_dir / "sessions").mkdir(parents=True, exist_ok=True, mode=0o700)
        (data_dir / "sessions" / f"{name}.json").write_bytes(meta)


def test_a_session_exists_from_its_first_message(store: SessionStore) -> None:
    session = store.open("chat", create=SessionMeta.fresh("chat", model="gpt-x"))
    session.update_meta(recipient="Assistant")
    assert not store.exists("chat")  # nothing stored before a message
    items = turns(1)
    session.save(items[:1])
    assert store.exists("chat")
    session.end_turn(items)
    session.close()
    meta, stored = store.read("chat")
    assert stored == items
    assert (meta.title, meta.message_count, meta.model, meta.recipient) == (
        "question 0 — ünïcode ✓",
        2,
        "gpt-x",
        "Assistant",
    )


def test_a_session_opened_and_left_without_a_message_leaves_nothing(store: SessionStore) -> None:
    store.open("empty", create=SessionMeta.fresh("empty")).close()
    assert not store.exists("empty")
    assert store.list() == []


def test_many_saves_and_tail_rewrites_read_back_exactly(store: SessionStore) -> None:
    session = store.open("long", create=SessionMeta.fresh("long"))
    live: list[Item] = []
    for n in range(260):  # past the journal's checkpoint threshold
        session.begin_turn()
        live.append(msg("user", f"q{n}", n))
        session.save(live)
        live.append(msg("assistant", "partial", n))
        session.save(live)
        live[-1] = msg("assistant", f"a{n}", n)  # agency-swarm rewrites the turn's items in place
        session.end_turn(live)
    session.close()
    meta, stored = store.read("long")
    assert stored == live and meta.message_count == 520

    again = store.open("long")
    loaded = again.load()
    assert loaded == live
    del loaded[-2:]  # an undo
    again.save(loaded)
    again.end_turn(loaded)
    again.close()
    assert store.read("long")[1] == live[:-2]


def test_load_hands_out_objects_the_agency_may_mutate(store: SessionStore) -> None:
    store.write_new(SessionMeta.fresh("m"), turns(2))
    session = store.open("m")
    first = session.load()
    first[0]["content"] = "changed by the agency"
    assert session.load() == turns(2)  # later loads are not affected by earlier mutation
    session.close()


def test_a_live_lock_is_refused_naming_its_holder(store: SessionStore) -> None:
    store.write_new(SessionMeta.fresh("busy"), turns(1))
    held = store.open("busy")
    try:
        with pytest.raises(SessionLocked) as err:
            store.open("busy")
        assert f"pid {os.getpid()}" in str(err.value) and "on host" in str(err.value)
        with pytest.raises(SessionLocked):
            store.delete("busy")
        with pytest.raises(SessionLocked):
            store.rename("busy", "other")
    finally:
        held.close()
    store.open("busy").close()  # released on close


@pytest.mark.slow  # starts a process
def test_a_lock_left_by_a_killed_process_is_taken_over(store_url: str, store: SessionStore, tmp_path: Path) -> None:
    store.write_new(SessionMeta.fresh("orphan"), turns(1))
    script = textwrap.dedent(
        """
        import os, sys
        from swarmchat.store import open_store
        session = open_store(sys.argv[1]).open("orphan")
        print("locked", flush=True)
        sys.stdin.read()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, store_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "locked\n"
        with pytest.raises(SessionLocked, match=f"pid {child.pid}"):
            store.open("orphan")
    finally:
        child.kill()
        child.wait()
    session = store.open("orphan")  # kill -9 left the lock behind; its holder is gone
    assert session.load() == turns(1)
    session.close()


def test_create_refuses_an_existing_name(store: SessionStore) -> None:
    store.write_new(SessionMeta.fresh("taken"), turns(1))
    with pytest.raises(NameTaken):
        store.open("taken", create=SessionMeta.fresh("taken"))
    with pytest.raises(NameTaken):
        store.write_new(SessionMeta.fresh("taken"), turns(3))
    assert store.read("taken")[1] == turns(1)


def test_rename_moves_everything_and_refuses_a_taken_name(store: SessionStore) -> None:
    store.write_new(SessionMeta.fresh("old", agency="x.py:make"), turns(3))
    store.write_new(SessionMeta.fresh("other"), turns(1))
    with pytest.raises(NameTaken):
        store.rename("old", "other")
    assert store.read("other")[1] == turns(1)
    store.rename("old", "new")
    assert not store.exists("old")
    meta, items = store.read("new")
    assert (meta.name, meta.agency, items) == ("new", "x.py:make", turns(3))
    assert sorted(store.names()) == ["new", "other"]
    with pytest.raises(SessionNotFound):
        store.rename("old", "again")


def test_delete_and_missing_sessions(store: SessionStore) -> None:
    store.write_new(SessionMeta.fresh("gone"), turns(1))
    store.delete("gone")
    assert not store.exists("gone") and store.names() == []
    with pytest.raises(SessionNotFound):
        store.delete("gone")
    with pytest.raises(SessionNotFound):
        store.read("gone")
    with pytest.raises(SessionNotFound):
        store.open("gone")


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "-x", "x.", "con", "a b", "x" * 65, "\x1b[31m"])
def test_invalid_names_are_refused_before_anything_is_stored(
    store_url: str, store: SessionStore, data_dir: Path, bad: str
) -> None:
    before = raw_state(store_url, data_dir)
    with pytest.raises(InvalidName):
        store.open(bad, create=SessionMeta.fresh(bad))
    with pytest.raises(InvalidName):
        store.read(bad)
    assert raw_state(store_url, data_dir) == before


def test_list_returns_metas_and_marks_damaged_sessions(store_url: str, store: SessionStore, data_dir: Path) -> None:
    store.write_new(SessionMeta.fresh("good", model="m1"), turns(2))
    store.write_new(SessionMeta.fresh("broken"), turns(1))
    raw_write(store_url, data_dir, "broken", b'{"schema_version": 1, "name": ')
    before = raw_state(store_url, data_dir)
    listed = {entry.name: entry for entry in store.list()}
    assert isinstance(listed["good"], SessionMeta) and listed["good"].message_count == 4
    assert isinstance(listed["broken"], BadSession) and "not valid JSON" in listed["broken"].problem
    with pytest.raises(CorruptSession, match="not valid JSON"):
        store.read("broken")
    with pytest.raises(CorruptSession):
        store.open("broken")
    assert raw_state(store_url, data_dir) == before  # never rewritten


def test_recent_gives_the_newest_first_and_the_total(
    store_url: str, store: SessionStore, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        stamp = f"2026-01-0{n + 1}T10:00:00.000+00:00"
        write_dated(monkeypatch, store, f"s{n}", stamp, turns(1))
    shown, total = store.recent(3)
    assert ([m.name for m in shown], total) == (["s4", "s3", "s2"], 5)
    assert all(isinstance(m, SessionMeta) and m.message_count == 2 for m in shown)
    assert store.recent(50) == (sorted(store.list(), key=lambda m: m.name, reverse=True), 5)

    raw_write(store_url, data_dir, "s3", b"[]")  # a damaged one among the newest: another takes its row
    shown, total = store.recent(3)
    assert [(m.name, type(m).__name__) for m in shown] == [
        ("s4", "SessionMeta"),
        ("s2", "SessionMeta"),
        ("s1", "SessionMeta"),
        ("s3", "BadSession"),
    ]
    assert total == 5


def test_a_newer_schema_is_refused_with_upgrade_advice(store_url: str, store: SessionStore, data_dir: Path) -> None:
    raw_write(store_url, data_dir, "future", b'{"schema_version": 99, "name": "future"}')
    if store_url:
        redis.Redis.from_url(store_url).zadd("swarmchat:sessions", {"future": 1})
    with pytest.raises(CorruptSession, match="upgrade swarmchat"):
        store.read("future")


def test_search_finds_the_matching_line(store: SessionStore) -> None:
    store.write_new(SessionMeta.fresh("trip"), [msg("user", "plan\nthe Lisbon trip"), msg("assistant", "sure")])
    store.write_new(SessionMeta.fresh("code"), turns(1))
    hits = search_sessions(store, "lisbon")
    assert [(f.name, [(s.role, s.text) for s in f.snippets]) for f in hits] == [("trip", [("user", "the Lisbon trip")])]


def test_items_round_trip_byte_for_byte(store: SessionStore) -> None:
    odd: list[Item] = [
        {"role": "user", "content": "emoji 🧪, zero-width\u200b, quotes \"'", "agent": "A", "callerAgent": None},
        {"type": "function_call", "name": "f", "arguments": '{"x": [1, 2.5, null]}', "call_id": "c1", "agent": "A"},
        {"type": "function_call_output", "call_id": "c1", "output": "x" * 100_000, "agent": "A"},
    ]
    store.write_new(SessionMeta.fresh("odd"), copy.deepcopy(odd))
    assert store.read("odd")[1] == odd


# Redis only -------------------------------------------------------------------------------


def test_redis_appends_never_rewrite_the_history(redis_url: str) -> None:
    store = open_store(redis_url)
    client = redis.Redis.from_url(redis_url)
    session = store.open("log", create=SessionMeta.fresh("log"))
    live = turns(1)
    session.end_turn(live)
    first = client.lindex(log_key("log"), 0)
    for n in range(1, 50):
        live += turns(1, n)
        session.end_turn(live)
        assert client.llen(log_key("log")) == n + 1
    assert client.lindex(log_key("log"), 0) == first  # earlier entries untouched
    session.close()


def test_redis_ttl_forgets_unused_sessions(redis_url: str) -> None:
    store = open_store(redis_url)
    store.write_new(SessionMeta.fresh("brief", ttl_seconds=1), turns(1))
    store.write_new(SessionMeta.fresh("kept"), turns(1))
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.ttl(meta_key("brief")) <= 1 and client.ttl(meta_key("kept")) == -1
    time.sleep(2.2)
    assert store.recent(50) == ([store.read_meta("kept")], 1)
    assert [m.name for m in store.list()] == ["kept"]
    assert store.names() == ["kept"]  # the expired name left the index too


def test_redis_ttl_restarts_when_the_session_is_opened(redis_url: str) -> None:
    store = open_store(redis_url)
    store.write_new(SessionMeta.fresh("used", ttl_seconds=3), turns(1))
    time.sleep(2)
    store.open("used").close()
    client = redis.Redis.from_url(redis_url)
    assert client.ttl(meta_key("used")) >= 2 and client.ttl(log_key("used")) >= 2


def test_redis_writer_that_lost_its_lock_writes_nothing(redis_url: str) -> None:
    store = open_store(redis_url)
    store.write_new(SessionMeta.fresh("stolen"), turns(1))
    session = store.open("stolen")
    client = redis.Redis.from_url(redis_url)
    client.delete("swarmchat:lock:stolen")  # as if it expired while this process was frozen
    thief = store.open("stolen")
    from swarmchat.errors import SessionTakenOver

    with pytest.raises(SessionTakenOver, match=r"open in another process now .* /export FILE saves them"):
        session.end_turn(turns(5))
    assert store.read("stolen")[1] == turns(1)
    thief.close()  # the lock is free again, yet the window that lost it never writes again
    with pytest.raises(SessionTakenOver):
        session.save(turns(6))
    session.close()
    assert store.read("stolen")[1] == turns(1)


def test_redis_password_urls_work_and_are_never_shown(redis_server: object, tmp_path: Path) -> None:
    from redis_server import RedisServer

    assert isinstance(redis_server, RedisServer)
    client = redis.Redis(port=redis_server.port)
    client.config_set("requirepass", "s3cret")
    try:
        good = open_store(f"redis://:s3cret@127.0.0.1:{redis_server.port}/1")
        good.write_new(SessionMeta.fresh("private"), turns(1))
        assert good.read("private")[1] == turns(1)
        assert "s3cret" not in good.location
        from swarmchat.errors import StoreUnavailable

        with pytest.raises(StoreUnavailable, match="password") as err:
            open_store(f"redis://:wrong@127.0.0.1:{redis_server.port}/1").names()
        assert "wrong" not in str(err.value)
    finally:
        redis.Redis(port=redis_server.port, password="s3cret").config_set("requirepass", "")


def test_a_save_that_drops_an_old_item_is_stored_at_once(store: SessionStore) -> None:
    """agency-swarm's end-of-turn cleanup drops an orphaned tool call from anywhere in the history
    and saves; a kill before the turn's end must still find exactly that list (found by kill -9)."""
    orphan: Item = {"type": "function_call", "name": "send_message", "arguments": "{}", "call_id": "c9"}
    store.write_new(SessionMeta.fresh("clean"), [*turns(1), orphan, *turns(1, 1)])
    session = store.open("clean")
    live = session.load()
    session.begin_turn()
    live.append(msg("user", "the new question", 10))
    session.save(live)
    live[:] = [item for item in live if item.get("call_id") != "c9"]  # the cleanup, as agency-swarm does it
    session.save(live)
    assert store.read("clean")[1] == live  # as a kill -9 right now would leave it
    session.close()
