"""A real 3-master Redis Cluster and a real Sentinel setup on loopback (a plugin conftest.py loads).

The cluster is made as an operator makes one: three `redis-server --cluster-enabled yes` on free ports,
joined by `redis-cli --cluster create ... --cluster-yes`; the fixture returns once every node reports
`cluster_state:ok` and agrees on all 16384 slots. No skipping: without redis-server or redis-cli
(`apt-get install redis-server redis-tools`) these tests fail and say so.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from redis_server import RedisServer, free_port

if TYPE_CHECKING:
    import redis

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
                self.nodes.append(self._node(workdir, i))
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

    @staticmethod
    def _node(workdir: Path, i: int) -> RedisServer:
        """Node `i`, on ports found free (tried again if another process took them meanwhile)."""
        for attempt in range(5):
            node_dir = workdir / f"node{i}-{attempt}"
            node_dir.mkdir()
            conf = str(node_dir / "nodes.conf")
            options = ("--cluster-enabled", "yes", "--cluster-config-file", conf, "--cluster-node-timeout", "5000")
            try:
                return RedisServer(node_dir, options=options, port=cluster_port())
            except pytest.fail.Exception:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

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


class SentinelSetup:
    """One master, one replica of it and one Sentinel watching them (quorum 1, a master is down after
    1 s unanswered): `url` is the redis+sentinel:// URL swarmchat is given."""

    SERVICE = "mymaster"

    def __init__(self, workdir: Path) -> None:
        server = binary("redis-server", "redis-server")
        (workdir / "master").mkdir()
        (workdir / "replica").mkdir()
        self.master = RedisServer(workdir / "master")
        replica_of = ("--replicaof", "127.0.0.1", str(self.master.port))
        try:
            self.replica = RedisServer(workdir / "replica", options=replica_of)
        except BaseException:
            self.master.stop()
            raise
        self.cut = False
        self.port = free_port()
        sentinel_dir = workdir / "sentinel"
        sentinel_dir.mkdir()
        config = sentinel_dir / "sentinel.conf"  # Sentinel rewrites it: its own file, in its own folder
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {sentinel_dir}\n"
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.SERVICE} 1000\n"
            f"sentinel failover-timeout {self.SERVICE} 10000\n"
        )
        with open(sentinel_dir / "sentinel.log", "ab") as log:
            self.sentinel = subprocess.Popen([server, str(config), "--sentinel"], stdout=log, stderr=subprocess.STDOUT)
        self.url = f"redis+sentinel://127.0.0.1:{self.port}/{self.SERVICE}/0"
        try:
            wait_for("the Sentinel to know the master and its replica", self._watching)
        except BaseException:
            self.stop()
            raise

    def sentinel_client(self) -> redis.Redis:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port)

    def master_port(self) -> int:
        """The port of the master the Sentinel names now."""
        address: Any = self.sentinel_client().sentinel_get_master_addr_by_name(self.SERVICE)
        return int(address[1])

    def _watching(self) -> bool:
        replicas = self.sentinel_client().sentinel_slaves(self.SERVICE)
        return self.master_port() == self.master.port and any(
            int(r["port"]) == self.replica.port and "s_down" not in str(r["flags"]) for r in replicas
        )

    def synced(self) -> None:
        """Wait until the replica holds everything the master has written."""

        def caught_up() -> bool:
            master = self.master.client().info("replication")
            replica = self.replica.client().info("replication")
            return replica.get("master_link_status") == "up" and replica.get("slave_repl_offset") == master.get(
                "master_repl_offset"
            )

        wait_for("the replica to catch up with its master", caught_up)

    def cut_replica(self) -> None:
        """Freeze the replica (SIGSTOP) and drop its link: what the master writes from now on never
        reaches it (it cannot reconnect until `fail_over`, which kills the master first)."""
        self.synced()
        self.replica.proc.send_signal(signal.SIGSTOP)
        self.cut = True
        self.master.client().client_kill_filter(_type="replica")

    def fail_over(self) -> None:
        """SIGKILL the master; return once the Sentinel has promoted the replica and it accepts writes."""
        self.master.proc.kill()
        self.master.proc.wait()
        if self.cut:
            self.replica.proc.send_signal(signal.SIGCONT)
            self.cut = False

        import redis

        sentinel = redis.Sentinel([("127.0.0.1", self.port)], socket_timeout=5)  # type: ignore[no-untyped-call]

        def promoted() -> bool:
            """The failover is over for clients: redis-py's Sentinel (what swarmchat asks) names the replica
            as a master in good standing, and the replica says it is one."""
            role = self.replica.client().info("replication").get("role")
            found = sentinel.discover_master(self.SERVICE)  # type: ignore[no-untyped-call]
            return tuple(found) == ("127.0.0.1", self.replica.port) and role == "master"

        wait_for("the Sentinel to fail over to the replica", promoted, deadline_s=90)

    def stop(self) -> None:
        if self.cut:
            self.replica.proc.send_signal(signal.SIGCONT)
        self.sentinel.terminate()
        try:
            self.sentinel.wait(10)
        except subprocess.TimeoutExpired:
            self.sentinel.kill()
        self.replica.stop()
        if self.master.proc.poll() is None:
            self.master.stop()


@pytest.fixture
def sentinel_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSetup]:
    """A master, a replica and a Sentinel of the test's own (it fails the master over)."""
    setup = SentinelSetup(tmp_path_factory.mktemp("redis-sentinel"))
    try:
        yield setup
    finally:
        setup.stop()
