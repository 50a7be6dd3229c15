"""Shared fixtures: a private data dir per test, the scripted model server, the CLI as a user runs it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
import zygote
from terminal import Terminal
from tiers import no_process_or_server

from swarmchat.session import Item, SessionMeta
from swarmchat.store import SessionStore

ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["redis_server", "redis_cluster", "agency_server", "impostor_agency"]

SOAK = os.environ.get("SWARMCHAT_SOAK") == "1"
"""The soak run: every crash-test kill and more examples where each one costs disk writes (README, Development)."""

# A test that starts a process or a server (the CLI, the scripted model server, redis-server, a pty) is
# `slow`; `pytest -m "not slow"` runs the fast unit tests alone for the edit-test loop. CI runs all.
SLOW_FIXTURES = {
    "server",
    "cli",
    "redis_server",
    "redis_url",
    "tls_redis_server",
    "own_redis",
    "redis_cluster",
    "sentinel_setup",
    "impostor",
    "term",
    "served",
    "agency_server",
    "shared_agency_server",
}
SLOW_MODULES = {"test_repl", "test_crash", "test_import_guard"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(getattr(item, "module", None), "__name__", "")
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


def fast_tier(config: pytest.Config) -> bool:
    """This run deselects the slow tests (`-m "not slow"`): it must start no process and no server."""
    return "not slow" in " ".join(str(config.getoption("markexpr", "")).split())


def pytest_configure(config: pytest.Config) -> None:
    if fast_tier(config):
        config.pluginmanager.register(FastTierGuard(), "swarmchat-fast-tier-guard")


class FastTierGuard:
    """Every test of the fast tier is set up, run and torn down inside `no_process_or_server()`."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self) -> Generator[None, object, object]:
        with no_process_or_server():
            return (yield)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own SWARMCHAT_DATA_DIR and a clean, offline environment."""
    path = tmp_path / "data"
    monkeypatch.setenv("SWARMCHAT_DATA_DIR", str(path))
    monkeypatch.setenv("SWARMCHAT_CONFIG_DIR", str(tmp_path / "config"))  # never the user's own config file
    for var in (
        "SWARMCHAT_STORE",
        "SWARMCHAT_AGENCY",
        "SWARMCHAT_MODEL",
        "SWARMCHAT_API",
        "OPENAI_BASE_URL",
        "SWARMCHAT_TRACING",
        "SWARMCHAT_MAX_COST",
        "NO_COLOR",
        "COLUMNS",  # pytest-xdist's workers set COLUMNS and LINES (80x24): they would beat a pty's own size
        "LINES",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    monkeypatch.setenv("SWARMCHAT_MAX_RETRIES", "0")
    monkeypatch.setenv("SWARMCHAT_TIMEOUT", "20")
    return path


@pytest.fixture
def server() -> Iterator[object]:
    """The scripted OpenAI-compatible server on 127.0.0.1 (see fake_openai.py)."""
    from fake_openai import FakeOpenAI

    srv = FakeOpenAI().start()
    try:
        yield srv
    finally:
        srv.stop()


Run = Callable[..., subprocess.CompletedProcess[str]]


def write_dated(monkeypatch: pytest.MonkeyPatch, store: SessionStore, name: str, stamp: str, items: list[Item]) -> None:
    """Store a session through the store API as if it was last used at `stamp` (the stores' clock injected)."""
    import swarmchat.store.journaled

    with monkeypatch.context() as patch:
        patch.setattr(swarmchat.store.journaled, "now_iso", lambda: stamp)
        store.write_new(SessionMeta(name=name, created_at=stamp, updated_at=stamp), items)


def one_error_line(stderr: str) -> str:
    """The single `swarmchat: error: ...` line a failing command must print (and nothing else)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("swarmchat: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def cli() -> Run:
    """Run `swarmchat ARGS` in a process of its own, as a user would; stdin is empty unless `input` is given.

    The process is forked by the test worker's zygote (zygote.py: agency-swarm imported once), or is a
    new interpreter when the run needs one (`fresh`, a start-up variable changed, `--debug`). `cwd` runs
    it in another folder (a project folder a test made) with this checkout first on the import path;
    `installed` runs the installed `swarmchat` script instead of `python -m swarmchat` (whose import path
    starts with the current folder, which the script's does not)."""

    def run(
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 90,
        cwd: Path | None = None,
        installed: bool = False,
        fresh: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        full = {**os.environ, **(env or {})}
        if not (installed or fresh or zygote.needs_fresh(full, args)):
            return zygote.run(args, input=input, env=full, timeout=timeout, cwd=cwd or ROOT)
        command = (
            [str(Path(sys.executable).with_name("swarmchat"))] if installed else [sys.executable, "-m", "swarmchat"]
        )
        return subprocess.run(
            [*command, *args],
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            env={**full, **zygote.in_checkout(cwd)},
            timeout=timeout,
            cwd=cwd or ROOT,
        )

    return run


@pytest.fixture(params=["files", pytest.param("redis", marks=pytest.mark.slow)])
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test against each backend: '' for the file store, else an empty Redis (redis-server: slow);
    SWARMCHAT_STORE set."""
    url = "" if request.param == "files" else str(request.getfixturevalue("redis_url"))
    monkeypatch.setenv("SWARMCHAT_STORE", url)
    return url


@pytest.fixture
def term() -> Iterator[Callable[..., Terminal]]:
    """Start `swarmchat ARGS` in a real pseudo-terminal; every one started is stopped after the test."""
    opened: list[Terminal] = []

    def start(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, columns: int = 120, lines: int = 40
    ) -> Terminal:
        terminal = Terminal(*args, env=env, cwd=cwd, columns=columns, lines=lines)
        opened.append(terminal)
        return terminal

    yield start
    for terminal in opened:
        terminal.close()


def stored(name: str) -> list[Item]:
    """The session's items as the store holds them now."""
    from swarmchat.store import open_store

    return open_store().read(name)[1]


def roles(name: str) -> list[tuple[str, str]]:
    """(role, text) of the stored messages between the user and the agency (agent traffic left out)."""
    from swarmchat.session import item_text

    return [(str(i.get("role")), item_text(i)) for i in stored(name) if i.get("callerAgent") is None and i.get("role")]


def raw_state(store_url: str, data_dir: Path) -> object:
    """Every stored byte, to compare before and after."""
    if store_url:
        import redis

        client = redis.Redis.from_url(store_url)
        return {k: client.dump(k) for k in sorted(client.keys("*"))}
    return {str(p): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file() and not _cache(p, data_dir)}


def _cache(path: Path, data_dir: Path) -> bool:
    """The catalog (a cache derived from the sessions, written by list and search)."""
    return path.parent == data_dir and path.name.startswith(("catalog.sqlite3", "catalog-redis-"))


MARKER_AGENCY = textwrap.dedent(
    """
    from pathlib import Path

    Path(__file__).with_name("RAN").write_text("the agency file was imported")

    from agency_swarm import Agency, Agent

    def create_agency(load_threads_callback=None):
        return Agency(Agent(name="Assistant", instructions="Help."), load_threads_callback=load_threads_callback)
    """
)


def hostile_export(tmp_path: Path, server_url: str) -> tuple[Path, str, Path]:
    """An export naming an agency file that leaves a marker when it is imported: (file, SPEC, marker)."""
    agency = tmp_path / "payload" / "agency.py"
    agency.parent.mkdir()
    agency.write_text(MARKER_AGENCY)
    spec = f"{agency}:create_agency"
    stamp = "2026-01-01T00:00:00.000+00:00"
    session: dict[str, object] = {
        "name": "gift",
        "created_at": stamp,
        "updated_at": stamp,
        "agency": spec,
        "base_url": server_url,
    }
    session |= {"schema_version": 1, "agency_trusted": True}  # the file's own claim counts for nothing
    messages = [
        {"role": "user", "content": "hi", "agent": "Assistant", "callerAgent": None},
        {"role": "assistant", "content": "hello", "agent": "Assistant", "callerAgent": None},
    ]
    export = tmp_path / "gift.json"
    export.write_text(
        json.dumps({"format": "swarmchat-session", "version": 1, "session": session, "messages": messages})
    )
    return export, spec, agency.with_name("RAN")


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` at `path` (the tests run as root, as CI does), unmounted after."""
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk`; delete the returned file to give them back."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 65536)
        with contextlib.suppress(OSError):  # the last partial block
            while True:
                out.write(b"\0")
    return filler
