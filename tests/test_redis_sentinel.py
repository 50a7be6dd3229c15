"""Redis Sentinel: `redis+sentinel://` finds the master, and after the master is killed (SIGKILL) and the
Sentinel has failed over, the open chat goes on on the new master; nothing the user typed is lost
silently (a real master, replica and Sentinel on loopback, the real REPL in a pty)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from conftest import Run, one_error_line
from fake_openai import FakeOpenAI
from terminal import Terminal
from test_redis_failures_e2e import chat, leave, said

from swarmchat.store import open_store

if TYPE_CHECKING:
    from redis_cluster import SentinelSetup

pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]  # each test runs several servers


def test_a_chat_goes_on_after_a_sentinel_failover(
    cli: Run, term: Callable[..., Terminal], server: FakeOpenAI, sentinel_setup: SentinelSetup
) -> None:
    env = {"SWARMCHAT_STORE": f"{sentinel_setup.url}?prefix=team-a"}
    t = term("new", "trip", "--base-url", server.url, env=env)
    chat(t, "before the failover")
    sentinel_setup.synced()
    sentinel_setup.fail_over()

    printed = chat(t, "after the failover")
    assert "not stored" not in printed, printed  # found the new master by asking the Sentinel again
    chat(t, "and once more")
    assert leave(t) == 0, t.text[-2000:]
    expected = [
        ("user", "before the failover"),
        ("assistant", "echo: before the failover"),
        ("user", "after the failover"),
        ("assistant", "echo: after the failover"),
        ("user", "and once more"),
        ("assistant", "echo: and once more"),
    ]
    assert said(env["SWARMCHAT_STORE"], "trip") == expected
    new_master = sentinel_setup.replica.client()
    assert new_master.exists("{team-a}:s:trip:meta", "{team-a}:s:trip:log") == 2  # on the promoted replica
    assert open_store(env["SWARMCHAT_STORE"]).read_meta("trip").message_count == 6

    out = cli("resume", "trip", "-m", "from another process", env=env)
    assert out.returncode == 0, out.stderr
    assert [text for role, text in said(env["SWARMCHAT_STORE"], "trip") if role == "user"][-1] == "from another process"


def test_writes_a_failover_lost_are_stored_again_from_the_window(
    term: Callable[..., Terminal], server: FakeOpenAI, sentinel_setup: SentinelSetup
) -> None:
    """The replica never got the second turn (its link was cut before it, then the master was killed): the
    promoted replica's journal ends one turn early. The next save's guarded append sees that and the
    whole history is written again from the window, so the second turn is not lost."""
    env = {"SWARMCHAT_STORE": sentinel_setup.url}
    t = term("new", "trip", "--base-url", server.url, env=env)
    chat(t, "replicated")
    sentinel_setup.cut_replica()
    chat(t, "lost by the failover")
    sentinel_setup.fail_over()
    new_master = sentinel_setup.replica.client()
    log: list[bytes] = new_master.lrange("swarmchat:s:trip:log", 0, -1)  # type: ignore[assignment]
    assert not any(b"lost by the failover" in line for line in log)

    printed = chat(t, "after it")
    assert "not stored" not in printed, printed
    assert leave(t) == 0, t.text[-2000:]
    assert [text for role, text in said(sentinel_setup.url, "trip") if role == "user"] == [
        "replicated",
        "lost by the failover",
        "after it",
    ]
    first = new_master.lindex("swarmchat:s:trip:log", 0)
    assert first is not None and b"lost by the failover" in first  # the whole history, rewritten as one line


def test_a_sentinel_url_that_names_no_known_master_is_one_line(cli: Run, sentinel_setup: SentinelSetup) -> None:
    for url, words in (
        (sentinel_setup.url.replace("mymaster", "nosuch"), "cannot reach"),
        (f"redis+sentinel://127.0.0.1:{sentinel_setup.port}", "names the master"),
        (f"{sentinel_setup.url}?foo=1", "unknown option 'foo'"),
    ):
        out = cli("list", env={"SWARMCHAT_STORE": url})
        assert out.returncode in (1, 2), (url, out.stderr)
        assert words in one_error_line(out.stderr), (url, out.stderr)
