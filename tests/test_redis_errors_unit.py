"""Every Redis failure is one line naming what to do (redis_errors.one_line, over redis-py's own
exception classes as its parser raises them for each reply)."""

from __future__ import annotations

import pytest
from redis import exceptions

from swarmchat.errors import StoreUnavailable, UsageError
from swarmchat.store.redis_errors import one_line

WHERE = "redis://:***@10.0.0.5:6379/0"


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), "out of memory"),
        (exceptions.ReadOnlyError("You can't write against a read only replica."), "read-only replica"),
        (exceptions.ResponseError("MISCONF Redis is configured to save RDB snapshots, but ..."), "MISCONF"),
        (exceptions.ResponseError("BUSY Redis is busy running a script."), "BUSY"),
        (exceptions.ClusterDownError("CLUSTERDOWN The cluster is down"), "CLUSTERDOWN"),
        (exceptions.ResponseError("CLUSTERDOWN Hash slot not served"), "CLUSTERDOWN"),
        (exceptions.MovedError("3999 127.0.0.1:6381"), "Redis Cluster"),
        (exceptions.AskError("3999 127.0.0.1:6381"), "Redis Cluster"),
        (exceptions.ResponseError("CROSSSLOT Keys in request don't hash to the same slot"), "Redis Cluster"),
        (exceptions.BusyLoadingError("Redis is loading the dataset in memory"), "loading its data"),
        (exceptions.ConnectionError("Error 111 connecting to 10.0.0.5:6379. Connection refused."), "cannot reach"),
        (exceptions.TimeoutError("Timeout reading from socket"), "cannot reach"),
        (exceptions.AuthenticationError("invalid username-password pair"), "refused the password"),
        (exceptions.NoPermissionError("NOPERM this user has no permissions to run the 'evalsha' command"), "ACL"),
        (exceptions.ResponseError("ERR something new"), "failed (ERR something new)"),
    ],
)
def test_each_redis_failure_is_one_line_saying_what_to_do(exc: exceptions.RedisError, words: str) -> None:
    error = one_line(exc, WHERE)
    assert isinstance(error, StoreUnavailable)
    line = str(error)
    assert "\n" not in line and words in line and WHERE in line, line
    assert any(advice in line for advice in ("try again", "point ", "raise", "fix", "check", "grant", "SWARMCHAT"))


def test_a_database_the_server_lacks_is_bad_input() -> None:
    error = one_line(exceptions.ResponseError("DB index is out of range"), WHERE)
    assert isinstance(error, UsageError) and "database number" in str(error)


@pytest.mark.parametrize("reply", ["LOCKLOST", "GONE", "ENDMOVED 3 7", "WRONGTYPE Operation against a key"])
def test_the_stores_own_replies_pass_through(reply: str) -> None:
    assert one_line(exceptions.ResponseError(reply), WHERE) is None
