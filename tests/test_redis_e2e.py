"""End to end on Redis: the real CLI, agency-swarm stack and a real redis-server; two processes racing for one
session; a Redis that cannot be reached."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import zygote
from conftest import ROOT, Run, one_error_line, raw_state
from fake_openai import FakeOpenAI, Reply, Request
from redis_server import RedisServer, free_port

from swarmchat.store import open_store
from swarmchat.store.redis import log_key, meta_key


@pytest.fixture
def on_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every swarmchat process of the test uses the Redis store."""
    monkeypatch.setenv("SWARMCHAT_STORE", redis_url)
    return redis_url


def test_new_then_resume_on_redis_sends_the_saved_history(
    cli: Run, server: FakeOpenAI, on_redis: str, data_dir: Path
) -> None:
    server.push(Reply("Paris is the capital of France."))
    first = cli(
        "new", "trip", "--base-url", server.url, "--model", "model-a", "--ttl", "2h", "-m", "Capital of France?"
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout == "Paris is the capital of France.\n"
    client = redis.Redis.from_url(on_redis)
    assert 7000 < client.ttl(meta_key("trip")) <= 7200
    client.expire(meta_key("trip"), 100)  # as if the session had gone unused for almost two hours
    client.expire(log_key("trip"), 100)

    server.push(Reply("About 2.1 million."))
    second = cli("resume", "trip", "-m", "And its population?")
    assert second.returncode == 0, second.stderr
    assert second.stdout == "About 2.1 million.\n"
    assert server.last.model == "model-a"
    assert server.last.messages() == [
        ("user", "Capital of France?"),
        ("assistant", "Paris is the capital of France."),
        ("user", "And its population?"),
    ]
    meta, items = open_store(on_redis).read("trip")
    assert (meta.message_count, meta.title, len(items)) == (4, "Capital of France?", 4)
    assert client.ttl(meta_key("trip")) > 7000 and client.ttl(log_key("trip")) > 7000  # use restarts the expiry
    assert not (data_dir / "sessions").exists()  # nothing went to the file store


@pytest.fixture
def gate(server: FakeOpenAI) -> Iterator[threading.Event]:
    """The server holds any request whose last user message starts with 'slow' until the gate opens."""
    opened = threading.Event()

    def hold(request: Request) -> Reply | None:
        if request.user_texts() and request.user_texts()[-1].startswith("slow"):
            opened.wait(90)
        return None  # then the default answer: an echo

    server.respond = hold
    try:
        yield opened
    finally:
        opened.set()


def start_turn(server: FakeOpenAI, name: str, text: str) -> Any:
    """`swarmchat resume NAME -m TEXT` in the background, returned once its request reached the server."""
    seen = len(server.requests)
    proc = zygote.popen(
        ["resume", name, "-m", text],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(server.requests) == seen:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the turn never reached the server: {out} {err}")
        time.sleep(0.05)
    return proc


def test_two_processes_race_for_one_session_on_redis(
    cli: Run, server: FakeOpenAI, gate: threading.Event, on_redis: str, data_dir: Path
) -> None:
    assert cli("new", "x", "--base-url", server.url, "-m", "first").returncode == 0
    holder = start_turn(server, "x", "slow answer please")
    try:
        before = raw_state(on_redis, data_dir)
        holder_is = f"pid {holder.pid} on host {socket.gethostname()}"
        for args, expected, code in [
            (("resume", "x", "-m", "intruder"), "session 'x' is open in another process", 3),
            (("new", "x", "-m", "intruder"), "a session named 'x' already exists", 2),
            (("delete", "x", "--yes"), "session 'x' is open in another process", 3),
            (("rename", "x", "y"), "session 'x' is open in another process", 3),
        ]:
            loser = cli(*args)
            assert loser.returncode == code, (args, loser.stdout, loser.stderr)
            line = one_error_line(loser.stderr)
            assert expected in line and holder_is in line, line
            assert raw_state(on_redis, data_dir) == before  # the loser wrote nothing
        assert holder.poll() is None  # the holder is unharmed, still waiting for its reply
        assert not any("intruder" in r.transcript() for r in server.requests)
    finally:
        gate.set()
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert out == "echo: slow answer please\n"

    after = cli("resume", "x", "-m", "my turn now")  # the lock went with the holder
    assert after.returncode == 0, after.stderr
    assert server.last.messages() == [
        ("user", "first"),
        ("assistant", "echo: first"),
        ("user", "slow answer please"),
        ("assistant", "echo: slow answer please"),
        ("user", "my turn now"),
    ]


def test_a_killed_holder_leaves_no_lock_behind_on_redis(
    cli: Run, server: FakeOpenAI, gate: threading.Event, on_redis: str
) -> None:
    assert cli("new", "x", "--base-url", server.url, "-m", "first").returncode == 0
    holder = start_turn(server, "x", "slow, then killed")
    holder.kill()  # SIGKILL: no cleanup runs, the Redis lock key stays
    holder.wait()
    lock = redis.Redis.from_url(on_redis).get("swarmchat:lock:x")
    assert lock is not None and f'"pid": {holder.pid}'.encode() in lock
    gate.set()

    started = time.monotonic()
    after = cli("resume", "x", "-m", "after the crash")
    assert after.returncode == 0, after.stderr
    assert time.monotonic() - started < 25  # taken over at once, not after the lock's 30 s expiry
    assert server.last.messages()[:2] == [("user", "first"), ("assistant", "echo: first")]
    assert server.last.messages()[-1] == ("user", "after the crash")
    items = open_store(on_redis).read("x")[1]
    assert [i.get("role") for i in items][:2] == ["user", "assistant"] and items[-1]["role"] == "assistant"


def test_an_unreachable_redis_is_one_clear_line_and_exit_1(cli: Run, server: FakeOpenAI, data_dir: Path) -> None:
    port = free_port()  # nothing listens here
    env = {"SWARMCHAT_STORE": f"redis://:s3cret@127.0.0.1:{port}/0"}
    for args in [
        ("list",),
        ("list", "--json"),
        ("new", "x", "--base-url", server.url, "-m", "hello"),
        ("resume", "x", "-m", "hello"),
        ("search", "hello"),
    ]:
        started = time.monotonic()
        out = cli(*args, env=env)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        line = one_error_line(out.stderr)
        assert f"cannot reach Redis at redis://:***@127.0.0.1:{port}/0" in line, line
        assert "SWARMCHAT_STORE" in line
        assert "s3cret" not in out.stdout + out.stderr and out.stdout == ""
        assert time.monotonic() - started < 20, args  # refused, not hung
    assert server.requests == []  # no message was sent without a place to keep it
    assert not data_dir.exists()  # and nothing fell back to the file store


def test_a_redis_url_without_the_redis_package_is_one_clear_line(cli: Run, tmp_path: Path, data_dir: Path) -> None:
    """swarmchat installed without its `redis` extra: SWARMCHAT_STORE=redis://... names the fix."""
    hide = tmp_path / "no-redis"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['redis'] = None  # as if not installed\n")
    env = {"SWARMCHAT_STORE": "redis://127.0.0.1:9/0", "PYTHONPATH": str(hide)}
    for args in [("list",), ("new", "x", "-m", "hello"), ("show", "x")]:
        out = cli(*args, env=env)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        line = one_error_line(out.stderr)
        assert "redis package is not installed" in line and "pip install 'swarmchat[redis]'" in line, line
    assert not data_dir.exists()  # nothing fell back to the file store


def test_a_rediss_url_with_a_password_works_end_to_end(
    cli: Run, server: FakeOpenAI, tls_redis_server: RedisServer, data_dir: Path
) -> None:
    """rediss:// (TLS, the server's certificate checked against the CA the URL names) and a password."""
    tls_redis_server.flush()
    env = {"SWARMCHAT_STORE": tls_redis_server.url}
    first = cli("new", "secure", "--base-url", server.url, "-m", "over TLS", env=env)
    assert first.returncode == 0, first.stderr
    again = cli("resume", "secure", "-m", "still there?", env=env)
    assert again.returncode == 0, again.stderr
    assert server.last.user_texts() == ["over TLS", "still there?"]
    rows = json.loads(cli("list", "--json", env=env).stdout)
    assert [(r["name"], r["message_count"]) for r in rows] == [("secure", 4)]
    assert tls_redis_server.client().exists(meta_key("secure"))
    assert not (data_dir / "sessions").exists()  # nothing went to the file store

    untrusted = tls_redis_server.url.split("?")[0]  # the system's CAs do not know this certificate
    plain = untrusted.replace("rediss://", "redis://")  # a TLS server spoken to in the clear
    for url, words in (
        (plain, "cannot reach Redis"),
        (untrusted, "certificate"),
        (tls_redis_server.url.replace("ssl_ca_certs", "ssl_ca_cert"), "unknown option 'ssl_ca_cert'"),
        (tls_redis_server.url.replace("rediss://", "redis://"), "unknown option 'ssl_ca_certs'"),  # not for TLS
    ):
        out = cli("list", env={"SWARMCHAT_STORE": url})
        assert out.returncode == 1, (url, out.stdout, out.stderr)
        line = one_error_line(out.stderr)
        assert words in line and "s3cret" not in out.stderr, line
