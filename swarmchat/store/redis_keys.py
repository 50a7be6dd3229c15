"""Where one Redis store keeps what (the key layout), given its base:

BASE:s:NAME:meta   the SessionMeta as JSON          BASE:sessions   the index of names, scored by last use
BASE:s:NAME:log    the journal (one element a change)  BASE:expiries   name -> when its keys expire
BASE:s:NAME:end    the seq of the log's last line    BASE:lock:NAME  the one-writer lock
BASE:aside:NAME:MS a log found without its meta, kept when the name was used again

The base is `swarmchat` on a standalone Redis without a prefix: the layout every earlier swarmchat
wrote and still writes, so a team's old and new clients share one store. On a Redis Cluster it is
`{swarmchat}`, and with `?prefix=P` (standalone or cluster) `{P}`: a hash tag, so that every key of a
store sits in one slot and each Lua script (which touches a session's keys and the index together)
runs on one shard. One tag per store, not per session: a save costs one shard about 0.1 ms of work
(benchmarks/redis_layouts.py), so one shard carries thousands of saves a second.
"""

from __future__ import annotations

import re
import time

LEGACY = "swarmchat"
PREFIX_RULE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Keys:
    def __init__(self, base: str = LEGACY) -> None:
        self.base = base
        self.index = f"{base}:sessions"
        self.expiries = f"{base}:expiries"

    @classmethod
    def tagged(cls, prefix: str) -> Keys:
        """The layout of a store under `{prefix}` (one hash slot)."""
        return cls(f"{{{prefix}}}")

    def meta(self, name: str) -> str:
        return f"{self.base}:s:{name}:meta"

    def log(self, name: str) -> str:
        return f"{self.base}:s:{name}:log"

    def end(self, name: str) -> str:
        """The seq of the log's last line: with the log's length, where an append expects it to end."""
        return f"{self.base}:s:{name}:end"

    def session(self, name: str) -> list[str]:
        """The keys one session's data lives under: meta, log, end."""
        return [self.meta(name), self.log(name), self.end(name)]

    def lock(self, name: str) -> str:
        return f"{self.base}:lock:{name}"

    def aside(self, name: str) -> str:
        """Where a log found without its meta is kept when the name is used again (never overwritten)."""
        return f"{self.base}:aside:{name}:{int(time.time() * 1000)}"

    def metas_pattern(self) -> tuple[str, str]:
        """What every meta key starts and ends with (for SCAN)."""
        head, tail = self.meta("\0").split("\0")
        return head, tail
