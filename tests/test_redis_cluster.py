"""Redis Cluster for real: a 3-master cluster made by `redis-cli --cluster create` in the test session, the
real CLI against it (new, resume -m against the scripted model server, fork, rename, delete, list, search,
prune); key prefixes that let teams share a cluster or a database; the old single-node layout unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from conftest import Run, one_error_line
from fake_openai import FakeOpenAI, Reply
from redis_server import RedisServer
from terminal import Terminal
from test_redis_failures_e2e import chat, leave, said

from swarmchat.session import SessionMeta
from swarmchat.store import open_store, redis_connect
from swarmchat.store.encoding import meta_bytes
from swarmchat.store.redis import RedisStore

if TYPE_CHECKING:
    from redis_cluster import RedisCluster


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]  # each test runs several servers


@pytest.fixture
def cluster(redis_cluster: RedisCluster) -> RedisCluster:
    """The session's cluster, emptied."""
    redis_cluster.flush()
    return redis_cluster


def names(cli: Run, env: dict[str, str]) -> list[tuple[str, int]]:
    out = cli("list", "--json", env=env)
    assert out.returncode == 0, out.stderr
    return [(row["name"], row["message_count"]) for row in json.loads(out.stdout)]


def age(url: str, name: str) -> None:
    """Make `name` last used in 2020 (its meta and its score in the index), as if left alone for years."""
    store = open_store(url)
    assert isinstance(store, RedisStore)
    meta_key = store.keys.meta(name)
    meta = json.loads(store.client.get(meta_key) or b"")
    meta["updated_at"] = "2020-01-01T00:00:00.000+00:00"
    store.client.set(meta_key, json.dumps(meta))
    store.client.zadd(store.keys.index, {name: 1577836800.0})


def test_the_cli_runs_every_command_on_a_redis_cluster(
    cli: Run, server: FakeOpenAI, cluster: RedisCluster, data_dir: Path
) -> None:
    env = {"SWARMCHAT_STORE": cluster.url}
    server.push(Reply("Paris."))
    first = cli("new", "trip", "--base-url", server.url, "-m", "Capital of France?", env=env)
    assert (first.returncode, first.stdout, first.stderr) == (0, "Paris.\n", "")  # a cluster: no warning
    server.push(Reply("About 2.1 million."))
    second = cli("resume", "trip", "-m", "And its population?", env=env)
    assert (second.returncode, second.stdout) == (0, "About 2.1 million.\n"), second.stderr
    assert server.last.messages() == [
        ("user", "Capital of France?"),
        ("assistant", "Paris."),
        ("user", "And its population?"),
    ]
    # every key in one slot (the {swarmchat} hash tag): every script's keys on one shard
    keys = cluster.stored_keys()
    assert keys and all(k.startswith("{swarmchat}:") for k in keys), keys
    assert sum(1 for node in cluster.nodes if node.client().dbsize()) == 1

    assert cli("fork", "trip", "trip-b", env=env).returncode == 0
    assert cli("rename", "trip-b", "branch", env=env).returncode == 0
    assert cli("new", "old", "--base-url", server.url, "-m", "long ago", env=env).returncode == 0
    assert names(cli, env) == [("old", 2), ("branch", 4), ("trip", 4)]

    found = cli("search", "population", "--json", env=env)
    assert found.returncode == 0, found.stderr
    assert sorted(hit["name"] for hit in json.loads(found.stdout)) == ["branch", "trip"]

    age(cluster.url, "old")
    pruned = cli("prune", "--older-than", "30d", "--yes", env=env)
    assert pruned.returncode == 0, pruned.stderr
    assert "old" in pruned.stdout
    assert cli("delete", "branch", "--yes", env=env).returncode == 0
    assert names(cli, env) == [("trip", 4)]
    shown = cli("show", "trip", env=env)
    assert shown.returncode == 0 and "About 2.1 million." in shown.stdout
    assert not (data_dir / "sessions").exists()  # nothing went to the file store
    assert not any(k for k in cluster.stored_keys() if ":old:" in k or ":branch:" in k)


def test_teams_share_a_cluster_by_prefix(cli: Run, server: FakeOpenAI, cluster: RedisCluster) -> None:
    team_a = {"SWARMCHAT_STORE": f"{cluster.url}?prefix=team-a"}
    team_b = {"SWARMCHAT_STORE": f"{cluster.url}?prefix=team-b"}
    assert cli("new", "plan", "--base-url", server.url, "-m", "ours", env=team_a).returncode == 0
    assert cli("new", "plan", "--base-url", server.url, "-m", "theirs", env=team_b).returncode == 0
    assert cli("resume", "plan", "-m", "again", env=team_a).returncode == 0
    assert names(cli, team_a) == [("plan", 4)]
    assert names(cli, team_b) == [("plan", 2)]
    assert names(cli, {"SWARMCHAT_STORE": cluster.url}) == []
    keys = cluster.stored_keys()
    assert {k.split(":")[0] for k in keys} == {"{team-a}", "{team-b}"}, keys


def test_a_cluster_url_with_a_database_other_than_0_is_one_line(cli: Run, cluster: RedisCluster) -> None:
    out = cli("list", env={"SWARMCHAT_STORE": cluster.url.replace("/0", "/3")})
    assert out.returncode == 2, out.stderr
    assert "Redis Cluster, which has only database 0" in one_error_line(out.stderr)


@pytest.mark.parametrize("prefix", ["", "team a", "{x}", "a" * 65])
def test_a_bad_prefix_is_one_line_and_writes_nothing(cli: Run, redis_url: str, prefix: str) -> None:
    out = cli("new", "x", "-m", "hi", env={"SWARMCHAT_STORE": f"{redis_url}?prefix={prefix}"})
    assert out.returncode == 2, out.stderr
    assert "the key prefix must be" in one_error_line(out.stderr)
    assert redis.Redis.from_url(redis_url).dbsize() == 0


def test_a_single_node_keeps_its_old_layout_and_prefixes_keep_apart(redis_server: RedisServer, redis_url: str) -> None:
    """Without a prefix a standalone Redis is read and written under the layout every earlier swarmchat
    used (so old and new clients of one team share it, nothing to migrate); a prefix is a store apart."""
    client = redis.Redis.from_url(redis_url)
    meta = SessionMeta.fresh("legacy")
    meta.message_count, meta.journal_seq = 1, 1
    # a session exactly as an earlier swarmchat left it: its meta, a one-line journal, no `end` key
    items = [{"role": "user", "content": "from the old days"}]
    line = json.dumps({"seq": 1, "at": 0, "items": items}, separators=(",", ":"))
    client.set("swarmchat:s:legacy:meta", meta_bytes(meta))
    client.rpush("swarmchat:s:legacy:log", line)
    client.zadd("swarmchat:sessions", {"legacy": 1.0})

    old = open_store(redis_url)
    assert old.read("legacy")[1] == [{"role": "user", "content": "from the old days"}]
    session = old.open("legacy")
    session.end_turn([{"role": "user", "content": "from the old days"}, {"role": "assistant", "content": "still here"}])
    session.close()
    assert client.llen("swarmchat:s:legacy:log") == 2  # appended to in place, under the same keys
    assert sorted(text(k) for k in client.keys("*")) == [
        "swarmchat:s:legacy:end",
        "swarmchat:s:legacy:log",
        "swarmchat:s:legacy:meta",
        "swarmchat:sessions",
    ]

    team = open_store(f"{redis_url}?prefix=team-a")
    assert team.list() == []
    team.write_new(SessionMeta.fresh("mine"), [{"role": "user", "content": "hi"}])
    assert [m.name for m in team.list()] == ["mine"]
    assert [m.name for m in old.list()] == ["legacy"]
    assert client.exists("{team-a}:s:mine:meta", "{team-a}:s:mine:log", "{team-a}:sessions") == 3


def test_a_command_beyond_the_ones_swarmchat_names_still_finds_its_shard(cluster: RedisCluster) -> None:
    """The cluster client learns only the key positions of the commands swarmchat sends (redis_connect.USED);
    any other command makes it fetch the whole table, and works."""
    store = open_store(cluster.url)
    assert isinstance(store, RedisStore)
    store.write_new(SessionMeta.fresh("x"), [{"role": "user", "content": "hi"}])
    meta = store.keys.meta("x")
    assert "strlen" not in redis_connect.USED
    assert store.client.strlen(meta) == len(store.client.get(meta) or b"")


def test_a_repl_chat_on_a_cluster_is_stored_turn_by_turn(
    term: Callable[..., Terminal], server: FakeOpenAI, cluster: RedisCluster
) -> None:
    url = f"{cluster.url}?prefix=team-a"
    t = term("new", "live", "--base-url", server.url, env={"SWARMCHAT_STORE": url})
    chat(t, "first")
    assert said(url, "live") == [("user", "first"), ("assistant", "echo: first")]  # stored before the next turn
    chat(t, "second")
    assert leave(t) == 0, t.text[-2000:]
    assert [text for role, text in said(url, "live") if role == "user"] == ["first", "second"]
    assert not any(k.startswith("{team-a}:lock:") for k in cluster.stored_keys())  # released on exit
