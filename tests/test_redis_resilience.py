"""A Redis that loses, evicts, expires or replays what swarmchat wrote never costs a conversation:
the open session rewrites its whole history from memory (real redis-server on loopback)."""

from __future__ import annotations

import redis
from test_store_contract import turns

from swarmchat.session import SessionMeta
from swarmchat.store import open_store
from swarmchat.store.redis import RedisStore, end_key, lock_key, log_key, meta_key


def test_a_session_whose_keys_vanished_is_stored_again_from_memory_and_says_so(redis_url: str) -> None:
    store = open_store(redis_url)
    session = store.open("gone", create=SessionMeta.fresh("gone"))
    session.end_turn(turns(2))
    client = redis.Redis.from_url(redis_url)
    client.delete(meta_key("gone"), log_key("gone"), end_key("gone"))  # expired, evicted, a restart...
    session.save(turns(3))
    assert store.read("gone")[1] == turns(3)
    [notice] = session.take_notices()
    assert "session 'gone' had vanished from the store" in notice
    session.end_turn(turns(4))
    session.close()
    meta, items = store.read("gone")
    assert (items, meta.message_count) == (turns(4), 8)
    assert [m.name for m in store.list()] == ["gone"]


def test_a_meta_write_over_a_vanished_log_stores_the_history_first(redis_url: str) -> None:
    store = open_store(redis_url)
    session = store.open("m", create=SessionMeta.fresh("m"))
    session.end_turn(turns(2))
    redis.Redis.from_url(redis_url).delete(log_key("m"), end_key("m"))
    session.update_meta(model="other")  # only the meta changes: it must not describe an empty log
    assert store.read("m")[1] == turns(2) and store.read_meta("m").model == "other"
    assert session.take_notices()
    session.close()


def test_a_retried_append_that_landed_twice_is_rewritten_not_replayed(redis_url: str) -> None:
    store = open_store(redis_url)
    session = store.open("twice", create=SessionMeta.fresh("twice"))
    session.end_turn(turns(1))
    session.save(turns(2))
    client = redis.Redis.from_url(redis_url)
    last = client.lindex(log_key("twice"), -1)
    assert isinstance(last, bytes)
    client.rpush(log_key("twice"), last)  # a retry whose first attempt had landed after all
    session.save(turns(3))
    assert store.read("twice")[1] == turns(3)
    assert session.take_notices() == []  # nothing the user must know: nothing was lost
    session.close()


def test_a_log_cut_back_by_a_failover_is_rewritten(redis_url: str) -> None:
    store = open_store(redis_url)
    session = store.open("cut", create=SessionMeta.fresh("cut"))
    live = turns(1)
    session.end_turn(live)
    for n in range(1, 4):
        live = live + turns(1, n)
        session.end_turn(live)
    client = redis.Redis.from_url(redis_url)
    client.rpop(log_key("cut"))  # the replica that became master never got the last append
    live = live + turns(1, 9)
    session.end_turn(live)
    assert store.read("cut")[1] == live
    session.close()


def test_an_old_layout_log_without_its_end_key_is_appended_to(redis_url: str) -> None:
    """Sessions written before the `end` key existed keep working, and are not rewritten."""
    store = open_store(redis_url)
    store.write_new(SessionMeta.fresh("old"), turns(1))
    client = redis.Redis.from_url(redis_url)
    client.delete(end_key("old"))
    first = client.lindex(log_key("old"), 0)
    session = store.open("old")
    session.end_turn(turns(2))
    session.close()
    assert client.llen(log_key("old")) == 2 and client.lindex(log_key("old"), 0) == first
    assert store.read("old")[1] == turns(2)


def test_a_lock_that_expired_while_redis_was_away_is_taken_back(redis_url: str) -> None:
    store = open_store(redis_url)
    session = store.open("away", create=SessionMeta.fresh("away"))
    session.end_turn(turns(1))
    client = redis.Redis.from_url(redis_url)
    client.delete(lock_key("away"))  # expired during the outage; nobody took it
    session.end_turn(turns(2))
    assert store.read("away")[1] == turns(2)
    assert client.get(lock_key("away")) is not None  # ours again
    session.close()
    assert client.get(lock_key("away")) is None


def test_a_new_session_moves_an_orphaned_log_aside(redis_url: str) -> None:
    store = open_store(redis_url)
    store.write_new(SessionMeta.fresh("orphan"), turns(3))
    client = redis.Redis.from_url(redis_url)
    kept = client.lrange(log_key("orphan"), 0, -1)
    client.delete(meta_key("orphan"))  # the meta lost beside its journal
    store.write_new(SessionMeta.fresh("orphan"), turns(1))
    assert store.read("orphan")[1] == turns(1)
    [aside] = client.keys("swarmchat:aside:orphan:*")
    assert client.lrange(aside, 0, -1) == kept


def test_an_open_session_with_a_ttl_never_expires_under_its_writer(redis_url: str) -> None:
    import swarmchat.store.redis as module

    store = open_store(redis_url)
    assert isinstance(store, RedisStore)
    client = redis.Redis.from_url(redis_url)
    module.RENEW_SECONDS, saved = 0.2, module.RENEW_SECONDS
    try:
        session = store.open("idle", create=SessionMeta.fresh("idle", ttl_seconds=1))
        session.end_turn(turns(1))
        deadline = client.pttl(meta_key("idle"))
        import time

        time.sleep(2.5)  # longer than the TTL: only the lock's renewal keeps the keys
        assert client.exists(meta_key("idle"), log_key("idle")) == 2, deadline
        session.end_turn(turns(2))
        session.close()
    finally:
        module.RENEW_SECONDS = saved
    assert store.read("idle")[1] == turns(2) and session.take_notices() == []


def test_a_lost_index_of_names_is_rebuilt_from_the_sessions(redis_url: str) -> None:
    store = open_store(redis_url)
    for name in ("a", "b"):
        store.write_new(SessionMeta.fresh(name), turns(1))
    client = redis.Redis.from_url(redis_url)
    client.delete("swarmchat:sessions")  # evicted, or deleted by hand
    assert sorted(m.name for m in store.list()) == ["a", "b"]
    client.zrem("swarmchat:sessions", "b")  # disagrees: a session written around it
    assert isinstance(store, RedisStore)
    store.repair_index()
    assert store.names() == ["a", "b"] and store.recent(5)[1] == 2


def test_a_meta_without_its_journal_is_listed_as_damaged(redis_url: str) -> None:
    from swarmchat.store import BadSession

    store = open_store(redis_url)
    store.write_new(SessionMeta.fresh("half"), turns(2))
    redis.Redis.from_url(redis_url).delete(log_key("half"))
    [listed] = store.list()
    assert isinstance(listed, BadSession) and "journal is missing" in listed.problem
    assert [type(m) for m in store.recent(5)[0]] == [BadSession]


def test_an_expired_session_leaves_search_at_once(redis_url: str) -> None:
    import time

    from swarmchat.store.search import search_sessions

    store = open_store(redis_url)
    store.write_new(SessionMeta.fresh("brief", ttl_seconds=1), turns(1))
    store.write_new(SessionMeta.fresh("kept"), turns(1))
    assert sorted(f.name for f in search_sessions(store, "question")) == ["brief", "kept"]
    time.sleep(2.2)
    assert [f.name for f in search_sessions(store, "question")] == ["kept"]
