"""The offline commands never load the chat stack (issue 6): `python -X importtime -m swarmchat ...` on a small
data set, on both backends, must succeed without importing agency_swarm, agents or openai.

This is about correctness, not timing: agency-swarm's import takes seconds and reads a `.env`; a listing
command has no business doing either. The import log is the interpreter's own, so the check cannot be
fooled by a module that hides itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agency_server import AgencyServer
from conftest import ROOT, write_dated
from fake_openai import FakeOpenAI

from swarmchat.session import Item, SessionMeta
from swarmchat.store import SessionStore, open_store

CHAT_STACK = ("agency_swarm", "agents", "openai")
LONG_TITLE = "plan the trip to Lisbon: flights, a hotel near Alfama, and a day in Sintra with the kids"


def chat(*texts: str) -> list[Item]:
    items: list[Item] = []
    for n, text in enumerate(texts):
        stamp = 1_795_543_882_059_782 + 2 * n
        items.append({"content": text, "role": "user", "agent": "Assistant", "callerAgent": None,
                      "timestamp": stamp, "type": "message"})  # fmt: skip
        items.append(
            {"id": f"msg_{n:06d}", "role": "assistant", "type": "message", "status": "completed",
             "content": [{"type": "output_text", "text": f"Sure: {text.split()[0]}.", "annotations": []}],
             "agent": "Assistant", "callerAgent": None, "timestamp": stamp + 1}
        )  # fmt: skip
    return items


def small_data_set(store_url: str, monkeypatch: pytest.MonkeyPatch) -> SessionStore:
    """Three sessions: one with a long title, a short one, and one last used three days ago."""
    store = open_store(store_url)
    store.write_new(SessionMeta.fresh("trip-to-lisbon"), chat(LONG_TITLE, "and the museums"))
    store.write_new(SessionMeta.fresh("haiku", agency="team.py:create_agency"), chat("write a haiku"))
    stamp = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="milliseconds")
    write_dated(monkeypatch, store, "old-notes", stamp, chat("old notes"))
    return store


def imported(stderr: str) -> set[str]:
    """Every module named in a `-X importtime` log ("import time: self | cumulative | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name)
    return names


def stack_modules(names: set[str]) -> list[str]:
    return sorted(n for n in names if n.split(".")[0] in CHAT_STACK)


def run_timed_imports(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "swarmchat", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )
    names = imported(done.stderr)
    assert "swarmchat.cli" in names, f"no import log for {args}: {done.stderr[-500:]}"  # the log is real
    return done, names


Check = Callable[[subprocess.CompletedProcess[str], SessionStore], Any]


def _listed(out: subprocess.CompletedProcess[str], store: SessionStore) -> None:
    rows = out.stdout.splitlines()
    assert rows[0].split() == ["NAME", "TITLE", "AGENCY", "TURNS", "LAST", "USED"], out.stdout
    # at the default 80 columns, the long title is what gets shortened: every name shows in full
    assert sorted(r.split()[0] for r in rows[1:] if r.strip()) == ["haiku", "old-notes", "trip-to-lisbon"], rows
    assert all(len(r) <= 80 for r in rows), rows


COMMANDS: dict[str, tuple[list[str], Check]] = {
    "list": (["list"], _listed),
    "list --json": (
        ["list", "--json"],
        lambda out, store: [r["name"] for r in json.loads(out.stdout)] == ["haiku", "trip-to-lisbon", "old-notes"],
    ),
    "show": (["show", "trip-to-lisbon"], lambda out, store: LONG_TITLE in out.stdout and "Sure: plan." in out.stdout),
    "rename": (
        ["rename", "haiku", "poem"],
        lambda out, store: store.names() == ["old-notes", "poem", "trip-to-lisbon"],
    ),
    "delete": (["delete", "haiku", "--yes"], lambda out, store: store.names() == ["old-notes", "trip-to-lisbon"]),
    "search": (["search", "ALFAMA"], lambda out, store: "trip-to-lisbon" in out.stdout and "Alfama" in out.stdout),
    "export": (
        ["export", "trip-to-lisbon"],
        lambda out, store: json.loads(out.stdout)["messages"] == chat(LONG_TITLE, "and the museums"),
    ),
    "fork": (
        ["fork", "haiku", "haiku-2"],
        lambda out, store: store.read("haiku-2")[1] == store.read("haiku")[1] == chat("write a haiku"),
    ),
    "prune": (
        ["prune", "--older-than", "1d", "--yes"],
        lambda out, store: store.names() == ["haiku", "trip-to-lisbon"] and "deleted 1 session" in out.stdout,
    ),
    "--help": (["--help"], lambda out, store: "Usage:" in out.stdout and "resume" in out.stdout),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_offline_commands_never_import_the_chat_stack(
    command: str, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args, check = COMMANDS[command]
    store = small_data_set(store_url, monkeypatch)
    done, names = run_timed_imports(*args)
    assert done.returncode == 0, (args, done.stdout, done.stderr[-2000:])
    assert stack_modules(names) == [], f"swarmchat {' '.join(args)} imported the chat stack"
    assert check(done, store) is not False, (args, done.stdout)


def test_list_stays_clear_of_pydantic_and_the_repl(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`list` starts in a fraction of agency-swarm's import: neither pydantic (which typer's parameter
    coercion would pull in for an unset option) nor prompt_toolkit nor rich's Markdown come along."""
    small_data_set(store_url, monkeypatch)
    for args in (["list"], ["list", "--json"], ["--help"]):
        done, names = run_timed_imports(*args)
        assert done.returncode == 0, done.stderr[-2000:]
        heavy = sorted(n for n in names if n.split(".")[0] in ("pydantic", "prompt_toolkit", "markdown_it"))
        assert heavy == [], f"swarmchat {' '.join(args)} imported {heavy[:5]}"


def test_the_guard_sees_the_chat_stack_when_it_is_loaded() -> None:
    """The parser finds agency-swarm's modules in a real log, so an empty result above means something."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import swarmchat.cli, openai"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = stack_modules(imported(done.stderr))
    assert "openai" in found and "swarmchat.cli" in imported(done.stderr)


def test_a_remote_turn_never_imports_the_chat_stack(served: tuple[FakeOpenAI, AgencyServer]) -> None:
    """A session with a served agency (issue 13) talks HTTP: `new` and `resume -m` reach the first token
    without agency-swarm's seconds of import, on the client side."""
    _, srv = served
    for args in (["new", "quick", "--agency", srv.url("assistant")], ["resume", "quick"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "swarmchat", *args, "-m", "hello"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=90,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout == "echo: hello\n"
        names = imported(done.stderr)
        assert "swarmchat.remote.client" in names and "httpx" in names  # the log is real
        assert stack_modules(names) == [], f"a remote turn ({args[0]}) imported the chat stack"


def test_show_follow_never_imports_the_chat_stack(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`show --follow` prints the session, waits for more, and ends when the session is deleted: all of it
    without agency-swarm (and without a lock: the delete goes through while it follows)."""
    from test_one_shot_signals import read_until

    store = small_data_set(store_url, monkeypatch)
    proc = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "swarmchat", "show", "haiku", "--follow"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        read_until(proc, b"Sure: write.")
        store.delete("haiku")
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err.decode()[-2000:]
    names = imported(err.decode())
    assert "swarmchat.follow" in names  # the log is real
    assert stack_modules(names) == [], "show --follow imported the chat stack"
