"""A real 3-master Redis Cluster and a real Sentinel setup on loopback, for the tests that import these
fixtures (`from redis_cluster import redis_cluster, sentinel_setup`).

The cluster is made as an operator makes one: three `redis-server --cluster-enabled yes` on free ports,
joined by `redis-cli --cluster create ... --cluster-yes`; the fixture returns once every node reports
`cluster_state:ok` and agrees on all 16384 slots. No skipping: without redis-server or redis-cli
(`apt-get install redis-server redis-tools`) these tests fail and say so.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis_server import RedisServer

DEADLINE_S = 60.0


def binary(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (apt-get install {package}); the Redis Cluster/Sentinel tests need it")
    return found


def wait_for(what: str, ok: Callable[[], bool], deadline_s: float = DEADLINE_S) -> None:
    """Poll `ok` until it holds (errors count as not yet); fail naming `what` after the deadline."""
    import redis

    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if ok():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {deadline_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def cluster_port() -> int:
    """A free port whose cluster bus port (10000 higher) is free too; Redis wants it at most 55535."""
    for _ in range(1000):
        port = random.randint(20000, 55535)
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    pytest.fail("found no free pair of ports for a cluster node")


class RedisCluster:
    """Three masters, no replicas; `url` reaches the first node (swarmchat discovers the others)."""

    def __init__(self, workdir: Path) -> None:
        cli = binary("redis-cli", "redis-tools")
        self.nodes: list[RedisServer] = []
        try:
            for i in range(3):
                node_dir = workdir / f"node{i}"
                node_dir.mkdir()
                conf = str(node_dir / "nodes.conf")
                options = ("--cluster-enabled", "yes", "--cluster-config-file", conf, "--cluster-node-timeout", "5000")
                self.nodes.append(RedisServer(node_dir, options=options, port=cluster_port()))
            addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
            made = subprocess.run(
                [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, timeout=DEADLINE_S,
            )  # fmt: skip
            if made.returncode != 0:
                pytest.fail(f"redis-cli --cluster create failed: {made.stdout[-2000:]} {made.stderr[-2000:]}")
            wait_for("cluster_state:ok on every node", self.healthy)
        except BaseException:
            self.stop()
            raise
        self.url = f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def healthy(self) -> bool:
        """Every node says the cluster is ok, knows all three masters and serves all 16384 slots."""
        for node in self.nodes:
            info = node.client().execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            fields = dict(line.split(":", 1) for line in text.split() if ":" in line)
            if (fields.get("cluster_state"), fields.get("cluster_slots_ok"), fields.get("cluster_known_nodes")) != (
                "ok",
                "16384",
                "3",
            ):
                return False
        return True

    def flush(self) -> None:
        for node in self.nodes:
            node.client().flushall()

    def stored_keys(self) -> list[str]:
        """Every key on every node."""
        return sorted(text(k) for node in self.nodes for k in node.client().keys("*"))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()
