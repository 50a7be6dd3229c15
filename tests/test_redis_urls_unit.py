"""The URL forms of SWARMCHAT_STORE that reach Redis: key prefixes, Sentinel URLs, the key layouts
(no server: these parse and name, they do not connect)."""

from __future__ import annotations

import pytest

from swarmchat.errors import StoreUnavailable, UsageError
from swarmchat.store import open_store
from swarmchat.store.redis_connect import sentinel_master, split_prefix
from swarmchat.store.redis_keys import Keys


def test_a_prefix_is_taken_out_of_the_url_and_the_other_options_kept() -> None:
    assert split_prefix("redis://h:1/0") == ("redis://h:1/0", None)
    assert split_prefix("redis://h:1/0?prefix=team-a") == ("redis://h:1/0", "team-a")
    assert split_prefix("rediss://h:1/0?ssl_ca_certs=/ca.pem&prefix=t.1") == (
        "rediss://h:1/0?ssl_ca_certs=%2Fca.pem",
        "t.1",
    )


@pytest.mark.parametrize("query", ["prefix=", "prefix=a%20b", "prefix={x}", "prefix=a:b", "prefix=a&prefix=b"])
def test_a_prefix_that_cannot_be_a_hash_tag_is_bad_input(query: str) -> None:
    with pytest.raises(UsageError, match="the key prefix must be"):
        split_prefix(f"redis://h:1/0?{query}")


def test_the_layouts() -> None:
    legacy, tagged = Keys(), Keys.tagged("team-a")
    assert legacy.session("x") == ["swarmchat:s:x:meta", "swarmchat:s:x:log", "swarmchat:s:x:end"]
    assert (legacy.index, legacy.lock("x")) == ("swarmchat:sessions", "swarmchat:lock:x")
    assert tagged.session("x") == ["{team-a}:s:x:meta", "{team-a}:s:x:log", "{team-a}:s:x:end"]
    assert (tagged.index, tagged.expiries, tagged.lock("x")) == (
        "{team-a}:sessions",
        "{team-a}:expiries",
        "{team-a}:lock:x",
    )
    assert tagged.aside("x").startswith("{team-a}:aside:x:")
    assert tagged.metas_pattern() == ("{team-a}:s:", ":meta")


def test_a_sentinel_url_names_its_sentinels_master_and_database() -> None:
    client = sentinel_master("redis+sentinel://:pw@10.0.0.1:26380,10.0.0.2/primary/3")
    pool = client.connection_pool
    assert pool.service_name == "primary"  # type: ignore[attr-defined]
    sentinels = [(c.connection_pool.connection_kwargs["host"], c.connection_pool.connection_kwargs["port"])
                 for c in pool.sentinel_manager.sentinels]  # type: ignore[attr-defined]  # fmt: skip
    assert sentinels == [("10.0.0.1", 26380), ("10.0.0.2", 26379)]
    assert (pool.connection_kwargs["db"], pool.connection_kwargs["password"]) == (3, "pw")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("redis+sentinel://h:26379", "names the master"),
        ("redis+sentinel://h:26379/m/zero", "names the master"),
        ("redis+sentinel://h:26379/m/0?foo=1", "unknown option 'foo'"),
        ("redis+sentinel:///m/0", "names no Redis host"),
    ],
)
def test_a_bad_sentinel_url_is_one_line(url: str, words: str) -> None:
    with pytest.raises((UsageError, StoreUnavailable), match=words):
        open_store(url)
