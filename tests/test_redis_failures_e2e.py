"""A Redis that goes away, forgets, evicts or fills up during a chat (real redis-servers on loopback, the
real REPL in a pty and `-m`): every message the user typed is stored, or was reported in one line as not."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from conftest import Run, one_error_line
from fake_openai import FakeOpenAI
from redis_server import RedisServer
from terminal import Terminal

from swarmchat.session import item_text
from swarmchat.store import open_store
from swarmchat.store.redis import lock_key

Own = Callable[..., RedisServer]


def said(url: str, name: str) -> list[tuple[str, str]]:
    return [(str(i.get("role")), item_text(i)) for i in open_store(url).read(name)[1]]


def chat(t: Terminal, text: str) -> str:
    """Send `text` at the prompt, wait for its reply and the next prompt; what was printed meanwhile."""
    t.prompt()
    start = len(t.text)
    t.line(text)
    t.expect(f"echo: {text}")
    t.prompt()
    return " ".join(t.text[start:].split())  # wherever the lines wrapped


def leave(t: Terminal) -> int:
    """Ctrl-D at the prompt; the exit status."""
    t.prompt()
    t.child.sendcontrol("d")
    t.child.expect(pexpect.EOF, timeout=30)
    t.child.close()
    return int(t.child.exitstatus or 0)


@pytest.mark.parametrize("persistence", ["aof", "none"])
def test_an_outage_longer_than_the_lock_costs_no_message(
    term: Callable[..., Terminal], server: FakeOpenAI, own_redis: Own, persistence: str
) -> None:
    """Redis stops mid-chat and comes back after the lock's life (its lock key gone, as expiry leaves it):
    with AOF the session is there; without persistence it is gone and stored again from the window."""
    options = ("--appendfsync", "always") if persistence == "aof" else ("--appendonly", "no")
    redis_server = own_redis(*options)
    env = {"SWARMCHAT_STORE": redis_server.url}
    t = term("new", "trip", "--base-url", server.url, env=env)
    chat(t, "first")
    redis_server.stop()
    assert "not stored: cannot reach Redis at" in chat(t, "during the outage")
    redis_server.start()
    redis_server.client().delete(lock_key("trip"))  # the lock expired while Redis was away
    printed = chat(t, "after it")
    assert ("session 'trip' had vanished from the store" in printed) == (persistence == "none"), printed
    assert "not stored" not in printed
    assert leave(t) == 0, t.text[-2000:]
    assert said(redis_server.url, "trip") == [
        ("user", "first"),
        ("assistant", "echo: first"),
        ("user", "during the outage"),
        ("assistant", "echo: during the outage"),
        ("user", "after it"),
        ("assistant", "echo: after it"),
    ]
    assert open_store(redis_server.url).read_meta("trip").message_count == 6


def test_a_repl_whose_session_another_process_took_says_so_once_and_exports(
    term: Callable[..., Terminal], server: FakeOpenAI, own_redis: Own, tmp_path: Path
) -> None:
    redis_server = own_redis()
    env = {"SWARMCHAT_STORE": redis_server.url}
    t = term("new", "shared", "--base-url", server.url, env=env)
    chat(t, "mine")
    store = open_store(redis_server.url)
    redis_server.client().delete(lock_key("shared"))  # lost (Redis was away) ...
    thief = store.open("shared")  # ... and another process took the session meanwhile
    try:
        printed = chat(t, "second")
        assert "session 'shared' is open in another process now" in printed and "/export FILE saves them" in printed
        assert "open in another process" not in chat(t, "third")  # said once
        target = tmp_path / "kept.json"
        t.line(f"/export {target}")
        t.expect("exported to")
        exported = json.loads(target.read_text())
        assert [m.get("content") for m in exported["messages"] if m.get("role") == "user"] == [
            "mine",
            "second",
            "third",
        ]
        assert said(redis_server.url, "shared") == [("user", "mine"), ("assistant", "echo: mine")]
    finally:
        thief.close()
    assert leave(t) == 1  # what it showed last is not stored: said, and not a success


def test_a_chat_left_open_past_its_ttl_keeps_its_session(
    cli: Run, term: Callable[..., Terminal], server: FakeOpenAI, own_redis: Own
) -> None:
    """While the window is open the keys outlive the lock (renewed with it); the session's own expiry
    runs from when it is closed."""
    redis_server = own_redis()
    env = {"SWARMCHAT_STORE": redis_server.url}
    t = term("new", "idle", "--ttl", "1s", "--base-url", server.url, env=env)
    chat(t, "hello")
    client = redis_server.client()
    time.sleep(2.5)  # idle for longer than the TTL
    assert client.exists("swarmchat:s:idle:meta", "swarmchat:s:idle:log") == 2
    assert "vanished" not in chat(t, "still there?")
    assert said(redis_server.url, "idle")[-2:] == [("user", "still there?"), ("assistant", "echo: still there?")]
    out = cli("show", "idle", env=env)
    assert out.returncode == 0 and "still there?" in out.stdout
    assert client.ttl("swarmchat:s:idle:meta") > 1
    assert leave(t) == 0
    assert client.ttl("swarmchat:s:idle:meta") <= 1  # closed: its own expiry runs (it may be over already)


def test_a_chat_whose_session_expired_anyway_stores_it_again(
    term: Callable[..., Terminal], server: FakeOpenAI, own_redis: Own
) -> None:
    redis_server = own_redis()
    env = {"SWARMCHAT_STORE": redis_server.url}
    t = term("new", "gone", "--base-url", server.url, env=env)
    chat(t, "hello")
    client = redis_server.client()
    client.delete("swarmchat:s:gone:meta", "swarmchat:s:gone:log", "swarmchat:s:gone:end")  # evicted, flushed...
    assert "session 'gone' had vanished from the store" in chat(t, "still there?")
    assert leave(t) == 0
    assert said(redis_server.url, "gone") == [
        ("user", "hello"),
        ("assistant", "echo: hello"),
        ("user", "still there?"),
        ("assistant", "echo: still there?"),
    ]


def test_a_full_redis_is_one_line_in_m_and_nothing_half_written(cli: Run, server: FakeOpenAI, own_redis: Own) -> None:
    redis_server = own_redis()
    env = {"SWARMCHAT_STORE": redis_server.url}
    assert cli("new", "big", "--base-url", server.url, "-m", "small", env=env).returncode == 0
    client = redis_server.client()
    client.set("filler", b"x" * 3_000_000)
    client.config_set("maxmemory", "1mb")  # a full Redis: maxmemory reached, nothing may be evicted
    out = cli("resume", "big", "-m", "one more", env=env)
    assert out.returncode == 1, out.stderr
    line = one_error_line(out.stderr)
    assert "is out of memory" in line and "maxmemory" in line, line
    assert "Traceback" not in out.stderr
    assert said(redis_server.url, "big") == [("user", "small"), ("assistant", "echo: small")]


def test_a_replica_is_refused_in_one_line(cli: Run, server: FakeOpenAI, own_redis: Own) -> None:
    master = own_redis()
    replica = own_redis("--replicaof", "127.0.0.1", str(master.port))
    env = {"SWARMCHAT_STORE": replica.url}
    for args in (("new", "x", "--base-url", server.url, "-m", "hello"), ("list",)):
        out = cli(*args, env=env)
        assert out.returncode == 1, out.stderr
        line = one_error_line(out.stderr)
        assert "is a read-only replica" in line and "master" in line, line
    assert server.requests == []


def test_a_redis_that_may_lose_sessions_is_warned_about_once(cli: Run, server: FakeOpenAI, own_redis: Own) -> None:
    redis_server = own_redis("--appendonly", "no", "--maxmemory-policy", "allkeys-lru")
    env = {"SWARMCHAT_STORE": redis_server.url}
    first = cli("new", "x", "--base-url", server.url, "-m", "hello", env=env)
    assert first.returncode == 0, first.stderr
    warnings = first.stderr.splitlines()
    assert len(warnings) == 2, warnings
    assert "maxmemory-policy allkeys-lru" in warnings[0] and "set maxmemory-policy noeviction" in warnings[0]
    assert "a restart loses every session" in warnings[1] and "set appendonly yes" in warnings[1]
    assert all(w.startswith("swarmchat: warning: Redis at redis://127.0.0.1:") for w in warnings)
    again = cli("list", env=env)
    assert again.returncode == 0 and again.stderr == ""  # once, not on every command
    assert "x" in again.stdout


def synced(replica: RedisServer) -> None:
    """Wait until `replica` has loaded its master's data."""
    deadline = time.monotonic() + 60
    while replica.client().info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica never synced"
        time.sleep(0.1)


def test_a_master_demoted_by_a_failover_is_one_line_in_m(cli: Run, server: FakeOpenAI, own_redis: Own) -> None:
    """The connect check said master (cached); a failover then made it a replica: taking the lock is
    refused in one line before anything is sent, no traceback."""
    first, second = own_redis(), own_redis()
    env = {"SWARMCHAT_STORE": first.url}
    assert cli("new", "x", "--base-url", server.url, "-m", "hello", env=env).returncode == 0
    second.client().replicaof("127.0.0.1", first.port)
    synced(second)
    second.client().replicaof("NO", "ONE")  # the failover: the replica is the master now ...
    first.client().replicaof("127.0.0.1", second.port)  # ... and the old master follows it
    synced(first)
    out = cli("resume", "x", "-m", "after the failover", env=env)
    assert out.returncode == 1, out.stderr
    assert out.stdout == ""
    line = one_error_line(out.stderr)
    assert "is a read-only replica" in line and "point SWARMCHAT_STORE at the master" in line, line
    assert "Traceback" not in out.stderr
    assert not any("after the failover" in r.transcript() for r in server.requests)
    assert said(second.url, "x") == [("user", "hello"), ("assistant", "echo: hello")]
