"""A real redis-server on loopback for the tests: started once per run on a free port, stopped after.

There is no skipping: without redis-server (which .ci/run installs) every Redis test fails and
says how to install it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(
        self,
        workdir: Path,
        *,
        tls: bool = False,
        password: str | None = None,
        options: tuple[str, ...] = (),
        port: int | None = None,
    ) -> None:
        """Plain: redis://127.0.0.1:PORT/0. With `tls`: TLS only, with a certificate for 127.0.0.1 from a
        throwaway CA (`ca_file`); the URL is rediss://[:PASSWORD@]127.0.0.1:PORT/0?ssl_ca_certs=CA.
        `options` are more redis-server arguments (e.g. "--appendonly", "yes"), after the defaults; `port`
        one chosen by the caller (else a free one)."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server); the Redis tests need it")
        self.port = port or free_port()
        self.client_options: dict[str, object] = {"host": "127.0.0.1", "port": self.port, "password": password}
        auth = f":{password}@" if password else ""
        # AOF on, as a team should run it (swarmchat warns about a Redis that keeps nothing on disk)
        args = [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", str(workdir)]
        if password:
            args += ["--requirepass", password]
        if tls:
            import trustme

            ca = trustme.CA()
            self.ca_file = workdir / "ca.pem"
            ca.cert_pem.write_to_path(str(self.ca_file))
            issued = ca.issue_cert("127.0.0.1")
            cert, key = workdir / "cert.pem", workdir / "key.pem"
            issued.cert_chain_pems[0].write_to_path(str(cert))
            issued.private_key_pem.write_to_path(str(key))
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert)]
            args += ["--tls-key-file", str(key), "--tls-ca-cert-file", str(self.ca_file), "--tls-auth-clients", "no"]
            self.client_options.update(ssl=True, ssl_ca_certs=str(self.ca_file))
            self.url = f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.ca_file}"
        else:
            args += ["--port", str(self.port)]
            self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.args = [*args, *options]
        self.log = workdir / "redis.log"
        self.start()

    def start(self) -> None:
        """Start (again, after `stop`: the same port, directory and options)."""
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait()
        except BaseException:  # not left running when it never answered
            self.stop()
            raise

    def client(self) -> redis.Redis:
        import redis

        return redis.Redis(**self.client_options)  # type: ignore[arg-type]

    def _wait(self) -> None:
        import redis

        client = self.client()
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    said = self.log.read_text(errors="replace")[-2000:]
                    pytest.fail(f"redis-server did not start on port {self.port}: {said}")
                if time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.05)

    def flush(self) -> None:
        self.client().flushall()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of an empty Redis database."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def tls_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A second redis-server that speaks only TLS and wants a password (what rediss:// URLs point at)."""
    server = RedisServer(tmp_path_factory.mktemp("redis-tls"), tls=True, password="s3cret")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RedisServer]]:
    """Start redis-servers of the test's own (to stop, restart or misconfigure): own_redis(*options)."""
    started: list[RedisServer] = []

    def start(*options: str) -> RedisServer:
        server = RedisServer(tmp_path_factory.mktemp("redis-own"), options=options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
