"""A Redis that evicts (maxmemory-policy allkeys-lru) under an open chat, for real: swarmchat warns on
connect, and when the session's keys are evicted the next save stores the whole history again from the
window and says so in one line (a real redis-server filled up by other keys, the real REPL in a pty)."""

from __future__ import annotations

import time
from collections.abc import Callable

from fake_openai import FakeOpenAI
from redis_server import RedisServer
from terminal import Terminal
from test_redis_failures_e2e import chat, leave, said

from swarmchat.store.redis import log_key, meta_key


def test_keys_evicted_under_an_open_chat_are_stored_again_and_said(
    cli: Callable[..., object], term: Callable[..., Terminal], server: FakeOpenAI, own_redis: Callable[..., RedisServer]
) -> None:
    redis_server = own_redis("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
    env = {"SWARMCHAT_STORE": redis_server.url}
    t = term("new", "trip", "--base-url", server.url, env=env)
    chat(t, "first")
    warned = " ".join(t.text.split())
    assert "evicts keys when full (maxmemory-policy allkeys-lru)" in warned, warned
    assert "set maxmemory-policy noeviction" in warned

    client = redis_server.client()
    filler = b"x" * 100_000
    deadline = time.monotonic() + 60
    count = 0
    while client.exists(meta_key("trip"), log_key("trip")):  # another app's data pushes the session out
        assert time.monotonic() < deadline, "Redis never evicted the session's keys"
        client.set(f"other-app:{count}", filler)
        count += 1
    assert client.info("stats")["evicted_keys"] > 0

    printed = chat(t, "after the eviction")
    assert "session 'trip' had vanished from the store" in printed and "stored again from this window" in printed
    assert "not stored" not in printed
    assert leave(t) == 0, t.text[-2000:]
    assert said(redis_server.url, "trip") == [
        ("user", "first"),
        ("assistant", "echo: first"),
        ("user", "after the eviction"),
        ("assistant", "echo: after the eviction"),
    ]
