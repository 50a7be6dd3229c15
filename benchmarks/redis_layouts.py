"""Which hash-tag layout for swarmchat's keys on a Redis Cluster (issue 22), measured on a real 3-master
cluster on loopback (made as tests/redis_cluster.py makes it):

- one tag for a whole store (`{swarmchat}` / `{PREFIX}`): the write script checks the lock, appends to
  the journal and scores the index in one call, on one shard;
- a tag per session (`{swarmchat:NAME}`): the script runs on the session's shard without the index,
  which a second command (ZADD on the index's shard) updates: load spreads over the shards, at the cost
  of a second round trip per save and an index that can disagree with the sessions between the two.

For each: the client's wall time per save (median), the Redis CPU time per save summed over the shards
(INFO commandstats, usec) and on the busiest shard, and so what one shard can carry (saves a second at
100 % of one core). Run: python benchmarks/redis_layouts.py [--saves N] [--sessions N]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests")]

from redis_cluster import RedisCluster  # noqa: E402

from swarmchat.store.redis import _WRITE  # noqa: E402


def layout_keys(layout: str, name: str) -> tuple[list[str], str | None]:
    """The write script's KEYS for a save of `name`, and the index key updated apart (per-session layout)."""
    if layout == "one tag":
        base = "{swarmchat}"
        s = f"{base}:s:{name}"
        return [f"{base}:lock:{name}", f"{s}:meta", f"{s}:log", f"{base}:sessions", f"{s}:end",
                f"{base}:expiries", f"{base}:aside:{name}:0"], None  # fmt: skip
    tag = f"{{swarmchat:{name}}}"
    # the script's index and expiries arguments are the session's own stand-ins (same slot); the real
    # index is scored by a second command
    return [f"{tag}:lock", f"{tag}:meta", f"{tag}:log", f"{tag}:noindex", f"{tag}:end", f"{tag}:noexp",
            f"{tag}:aside:0"], "{swarmchat}:sessions"  # fmt: skip


def run(cluster: Any, layout: str, sessions: int, saves: int) -> dict[str, float]:
    write = cluster.register_script(_WRITE)
    token = secrets.token_hex(16)
    names = [f"chat-{i:04d}" for i in range(sessions)]
    state = {name: (0, 0) for name in names}  # journal length, last seq
    for name in names:
        lock = layout_keys(layout, name)[0][0]
        cluster.set(lock, f"{token} {{}}", px=600_000)
    line = b'{"seq":%d,"at":0,"items":[' + b'{"role":"assistant","content":"' + b"x" * 800 + b'"}]}'
    meta = b'{"name":"x","message_count":1}' + b" " * 300
    for node in cluster.get_primaries():
        cluster.get_redis_connection(node).config_resetstat()
    walls = []
    for i in range(saves):
        name = names[i % sessions]
        keys, index = layout_keys(layout, name)
        length, seq = state[name]
        args = [token, 0, "append", meta, time.time(), name, length, seq, seq + 1, line % (seq + 1)]
        start = time.perf_counter()
        length, _ = write(keys=keys, args=args)
        if index is not None:
            cluster.zadd(index, {name: time.time()})
        walls.append(time.perf_counter() - start)
        state[name] = (int(length), seq + 1)
    per_shard = []
    for node in cluster.get_primaries():
        stats = cluster.get_redis_connection(node).info("commandstats")
        per_shard.append(sum(v["usec"] for k, v in stats.items() if k.startswith("cmdstat_") and k != "cmdstat_info"))
    busiest = max(per_shard) / saves
    return {
        "wall_ms": statistics.median(walls) * 1000,
        "redis_us": sum(per_shard) / saves,
        "busiest_shard_us": busiest,
        "shard_capacity_per_s": 1e6 / busiest,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=200)
    args = parser.parse_args(argv)
    from redis.cluster import RedisCluster as Client

    with tempfile.TemporaryDirectory() as tmp:
        servers = RedisCluster(Path(tmp))
        try:
            client = Client.from_url(servers.url)
            results = {layout: run(client, layout, args.sessions, args.saves) for layout in ("one tag", "per session")}
        finally:
            servers.stop()
    print(f"{args.saves:,} saves over {args.sessions} sessions on a 3-master cluster (usec: INFO commandstats)")
    head = ("wall ms/save", 13), ("Redis us/save", 14), ("busiest shard us/save", 22), ("saves/s one shard carries", 26)
    print(f"{'layout':<12} " + " ".join(f"{title:>{width}}" for title, width in head))
    for layout, r in results.items():
        print(f"{layout:<12} {r['wall_ms']:>13.3f} {r['redis_us']:>14.1f} {r['busiest_shard_us']:>22.1f} "
              f"{r['shard_capacity_per_s']:>26,.0f}")  # fmt: skip
    one, per = results["one tag"], results["per session"]
    print(f"per session / one tag: wall {per['wall_ms'] / one['wall_ms']:.2f}x, "
          f"busiest shard {per['busiest_shard_us'] / one['busiest_shard_us']:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
