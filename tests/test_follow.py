"""`show NAME --follow`: another process's turns appear as they are stored, on both backends, through a
compaction of the journal and up to a rename or a delete. Waits for text, never for time."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import zygote
from conftest import ROOT, Run, one_error_line
from fake_openai import FakeOpenAI
from test_one_shot_signals import read_until

from swarmchat.store import open_store
from swarmchat.store.journaled import COMPACT_AFTER_LINES


@pytest.fixture
def follower() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def follow(started: list[subprocess.Popen[bytes]], name: str) -> Any:
    proc = zygote.popen(
        ["show", name, "--follow"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    started.append(proc)
    return proc


def note(text: str) -> dict[str, object]:
    return {"role": "user", "content": text, "type": "message", "agent": "Assistant", "callerAgent": None}


def test_follow_prints_each_turn_through_a_compaction_and_a_rename(
    cli: Run, server: FakeOpenAI, store_url: str, follower: list[subprocess.Popen[bytes]]
) -> None:
    first = cli("new", "live", "--base-url", server.url, "-m", "first question")
    assert first.returncode == 0, first.stderr
    proc = follow(follower, "live")
    seen = read_until(proc, b"echo: first question")
    assert b"# first question" in seen  # the transcript as show prints it (piped: Markdown)

    second = cli("resume", "live", "-m", "second question")  # another process runs a turn
    assert second.returncode == 0, second.stderr
    seen += read_until(proc, b"echo: second question")

    # another writer makes the journal long enough to be compacted into one line, then adds to it
    session = open_store().open("live")
    items = list(session.items())
    for n in range(COMPACT_AFTER_LINES + 1):
        items.append(note(f"filler {n}"))
        session.save(items)
    session.end_turn(items)  # compacts: the journal is replaced
    items.append(note("after the compaction"))
    session.save(items)
    session.close()
    seen += read_until(proc, b"after the compaction")
    assert seen.count(b"echo: first question") == 1  # nothing printed twice across the compaction
    assert seen.index(b"filler 200") < seen.index(b"after the compaction")

    renamed = cli("rename", "live", "still-live")
    assert renamed.returncode == 0, renamed.stderr
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    line = err.decode().strip()
    assert "renamed to 'still-live'" in line and "swarmchat show still-live --follow" in line
    assert "Traceback" not in line


def test_follow_ends_with_one_line_when_the_session_is_deleted(
    cli: Run, server: FakeOpenAI, store_url: str, follower: list[subprocess.Popen[bytes]]
) -> None:
    assert cli("new", "gone", "--base-url", server.url, "-m", "hello").returncode == 0
    proc = follow(follower, "gone")
    read_until(proc, b"echo: hello")
    assert cli("delete", "gone", "--yes").returncode == 0
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "'gone' was deleted" in one_error_line(err.decode())


def test_follow_holds_no_lock(cli: Run, server: FakeOpenAI, follower: list[subprocess.Popen[bytes]]) -> None:
    assert cli("new", "busy", "--base-url", server.url, "-m", "one").returncode == 0
    proc = follow(follower, "busy")
    read_until(proc, b"echo: one")
    turn = cli("resume", "busy", "-m", "two")  # a writer takes the lock as if nobody followed
    assert turn.returncode == 0, turn.stderr
    read_until(proc, b"echo: two")
    before = open_store().read("busy")
    proc.send_signal(__import__("signal").SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert open_store().read("busy") == before  # nothing written


def test_follow_of_an_unknown_session_is_exit_2(cli: Run) -> None:
    done = cli("show", "nobody", "--follow")
    assert done.returncode == 2
    one_error_line(done.stderr)


def test_list_shows_a_session_open_in_another_process_as_busy(cli: Run, store_url: str) -> None:
    import json
    import os
    import socket

    from swarmchat.session import SessionMeta

    store = open_store()
    store.write_new(SessionMeta.fresh("open-one"), [note("hello")])
    store.write_new(SessionMeta.fresh("closed-one"), [note("bye")])
    held = store.open("open-one")  # this test's process is the other process
    try:
        listed = cli("list")
        rows = json.loads(cli("list", "--json").stdout)
    finally:
        held.close()
    holder = f"pid {os.getpid()} on host {socket.gethostname()}"
    assert f"busy: open-one is open in {holder}" in listed.stdout, listed.stdout
    assert "closed-one is open" not in listed.stdout
    busy = {r["name"]: r.get("busy") for r in rows}
    assert busy["open-one"] is not None and busy["open-one"].startswith(holder)
    assert busy["closed-one"] is None
    assert "busy" not in cli("list").stdout  # closed: no longer busy
