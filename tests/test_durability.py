"""Durability (issue 4): kill -9 at random moments, one writer per session, damaged files refused and
left byte for byte as they were, and session names that can never escape the data dir."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import zygote
from conftest import ROOT, SOAK, Run, one_error_line, raw_state
from fake_openai import FakeOpenAI, Reply
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from swarmchat.errors import CorruptSession, InvalidName
from swarmchat.names import validate_name
from swarmchat.session import Item, SessionMeta, item_text
from swarmchat.store import SessionStore, open_store
from swarmchat.store.files import FileStore
from swarmchat.store.redis import log_key

pytestmark = pytest.mark.timeout(400)  # several processes per test, each paying the imports

# --- the crash test's writer ---------------------------------------------------------------------
# A child process that writes turns the way agency-swarm does: begin_turn, save() of one live list
# that grows, shrinks and has its items rewritten in place, end_turn. After each save returns it
# prints the position it reached ("TURN STEP COUNT"), so every printed position is durable.
# The parent runs the same source (not as __main__) to get the deterministic turns to compare with.
WRITER = r'''
import copy
import random
import sys
import time


def user(n):
    return {"role": "user", "content": f"question {n} — ünïcode ✓", "agent": "Assistant", "callerAgent": None,
            "timestamp": 10 * n}


def reply(n, draft):
    text = f"answer {n}, draft {draft}" + (" and more" * 400 if draft == 5 and n % 4 == 3 else "")
    return {"id": f"msg_{n}", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
            "agent": "Assistant", "callerAgent": None, "timestamp": 10 * n + 1}


def scratch(n):
    return {"id": f"rs_{n}", "type": "reasoning", "summary": [], "agent": "Assistant", "callerAgent": None,
            "timestamp": 10 * n + 2}


def call(n):
    return {"id": f"fc_{n}", "type": "function_call", "call_id": f"call_{n}", "name": "lookup",
            "arguments": '{"q": %d}' % n, "agent": "Assistant", "callerAgent": None, "timestamp": 10 * n + 3}


def output(n):
    return {"type": "function_call_output", "call_id": f"call_{n}", "output": f"result {n}",
            "agent": "Assistant", "callerAgent": None, "timestamp": 10 * n + 4}


def tail_states(n):
    """Every list the turn's items go through, in order; the last is the finished turn."""
    u = user(n)
    return [
        [u],
        [u, reply(n, 1)],  # the reply appears
        [u, reply(n, 2)],  # and is rewritten in place
        [u, reply(n, 2), scratch(n)],
        [u, reply(n, 3)],  # the list shrinks (and the reply changes)
        [u, reply(n, 3), call(n)],
        [u, reply(n, 3), call(n), output(n)],
        [u, reply(n, 4), call(n), output(n)],  # an item in the middle of the turn rewritten
        [u, reply(n, 5), call(n), output(n)],  # the final text (long for every 4th turn)
    ]


LAST = len(tail_states(0)) - 1


def locate(items):
    """(turn, step) of a stored list: finished turns 0..turn-1, then step `step` of `turn` (-1: none).
    None if the list is not one the writer ever saved."""
    pos, turn = 0, 0
    while True:
        done = tail_states(turn)[LAST]
        if items[pos : pos + len(done)] != done:
            break
        pos, turn = pos + len(done), turn + 1
    tail = items[pos:]
    if not tail:
        return (turn, -1)
    steps = [k for k, state in enumerate(tail_states(turn)) if state == tail]
    return (turn, steps[-1]) if steps else None


def position(turn, step):
    return (turn + 1, -1) if step == LAST else (turn, step)


def main():
    from swarmchat.errors import SessionNotFound
    from swarmchat.session import SessionMeta
    from swarmchat.store import open_store

    import swarmchat.store.journaled

    url, name, seed, compact = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    # checkpoint the journal often, so that kills also land in and around compaction
    swarmchat.store.journaled.COMPACT_AFTER_LINES = compact
    rng = random.Random(seed)
    store = open_store(url)
    print("opening", flush=True)
    try:
        session = store.open(name)
    except SessionNotFound:
        session = store.open(name, create=SessionMeta.fresh(name))
    live = session.load()
    where = locate(live)
    if where is None:
        sys.exit(f"loaded a list the writer never saved: {live!r}"[:2000])
    turn, step = where
    print("open", turn, step, len(live), flush=True)
    while True:
        states = tail_states(turn)
        if step == -1:  # (a half turn found on open is finished without it: every save fully checked)
            session.begin_turn()
        base = len(live) - (len(states[step]) if step >= 0 else 0)
        for step in range(step + 1, len(states)):
            want = states[step]
            for i, item in enumerate(want):
                if base + i < len(live):
                    if live[base + i] != item:  # rewrite the dict in place, as a mutating caller would
                        live[base + i].clear()
                        live[base + i].update(copy.deepcopy(item))
                else:
                    live.append(copy.deepcopy(item))
            del live[base + len(want) :]
            session.save(live)
            print(*position(turn, step), len(live), flush=True)
            if rng.random() < 0.3:
                time.sleep(rng.random() * 0.003)
        session.end_turn(live)
        turn, step = turn + 1, -1


if __name__ == "__main__":
    main()
'''

_writer: dict[str, Any] = {"__name__": "crash_writer"}
exec(compile(WRITER, "crash_writer", "exec"), _writer)
locate: Callable[[list[Item]], tuple[int, int] | None] = _writer["locate"]


def finished(turns: int) -> list[Item]:
    """The writer's list after `turns` finished turns."""
    items: list[Item] = []
    for n in range(turns):
        items += _writer["tail_states"](n)[-1]
    return items


def test_the_writer_model_is_consistent() -> None:
    """locate() recognizes exactly the lists the writer saves (the crash test relies on it)."""
    assert locate([]) == (0, -1)
    assert locate(finished(3)) == (3, -1)
    states = _writer["tail_states"](3)
    for step, state in enumerate(states[:-1]):
        assert locate(finished(3) + state) == (3, step)
    assert locate(finished(3)[:-1]) is None  # a finished turn missing its last item
    assert locate(finished(2) + states[0]) is None  # turn 3's items where turn 2 belongs


KILLS_PER_BACKEND = 55
SESSIONS_PER_BACKEND = 5  # a fresh session every 11 kills: creation is killed too, and histories stay short
COMPACT_AFTER_LINES = 25  # the writer checkpoints its journal after this many lines (the default is 200)


def test_sigkill_at_random_moments_never_loses_a_saved_item(store_url: str, cli: Run) -> None:
    """SIGKILL a writer at random points of its turns; after each kill the session loads, holds every item
    whose save had returned, is exactly a list the writer saved, and its lock is free for the next open."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    store = open_store(store_url)
    per_session = KILLS_PER_BACKEND // SESSIONS_PER_BACKEND
    name, seen = "", (0, -1)
    for kill in range(KILLS_PER_BACKEND):
        if kill % per_session == 0:
            name, seen = f"crash-{kill // per_session}", (0, -1)
        why = f"seed {seed}, kill {kill}, session {name}"
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, store_url, name, str(rng.randrange(2**32)), str(COMPACT_AFTER_LINES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stderr is not None
        assert child.stdout.readline() == "opening\n", child.stderr.read()
        time.sleep(rng.choice([0.0, rng.uniform(0, 0.01), rng.uniform(0, 0.15), rng.uniform(0, 0.15)]))
        child.send_signal(signal.SIGKILL)
        child.wait()  # reaped: its pid is gone, as after a real crash
        out, err = child.stdout.read(), child.stderr.read()
        child.stdout.close()
        child.stderr.close()
        assert child.returncode == -signal.SIGKILL, f"{why}: the writer stopped by itself: {err}"

        lines = [line.split() for line in out.split("\n")[:-1]]  # complete lines: a kill can cut a print
        opened = [tuple(map(int, parts[1:3])) for parts in lines if parts[0] == "open"]
        reports = [tuple(map(int, parts)) for parts in lines if parts[0] != "open"]  # (turn, step, count)
        durable = [(turn, step) for turn, step, _count in reports]
        if opened:  # the writer loaded exactly what the last check read back
            assert opened[0] == seen, f"{why}: the writer loaded {opened[0]}, the last read was {seen}"
        exists = store.exists(name)
        if exists:
            try:
                _meta, items = store.read(name)
            except CorruptSession as exc:
                pytest.fail(f"{why}: the session does not load: {exc}")
            assert items, f"{why}: a kill during creation left an empty session behind"
        else:
            assert not durable, f"{why}: {len(durable)} saves returned but the session does not exist"
            items = []
        where = locate(items)
        assert where is not None, f"{why}: the stored list is not one the writer saved ({len(items)} items)"
        least = max([seen, *durable])
        assert where >= least, f"{why}: stored {where}, but the saves up to {least} had returned"
        if durable and where == durable[-1]:
            assert len(items) == reports[-1][2], f"{why}: the writer stored {reports[-1][2]} items, read {len(items)}"
        seen = where

        # the dead writer's lock is free at once (file: the kernel dropped the flock; redis: dead pid here)
        session = store.open(name) if exists else store.open(name, create=SessionMeta.fresh(name))
        assert session.load() == items
        session.close()

        if kill % 10 == 9 and items:
            listed = json.loads(cli("list", "--json").stdout)
            row = next(r for r in listed if r["name"] == name)
            assert "damaged" not in row, f"{why}: list marks the session damaged: {row}"

    # (where the kills land, and whether a checkpoint happened before them, depends on the schedule:
    # nothing here counts them; test_a_long_session_is_checkpointed_and_reads_back covers compaction)
    _meta, items = store.read(name)
    shown = cli("show", name, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["messages"] == items


def test_sigkill_of_a_real_swarmchat_mid_stream_keeps_the_session(store_url: str, cli: Run, server: FakeOpenAI) -> None:
    """The real stack: kill -9 `swarmchat resume -m` while its reply streams; the session loads with every
    earlier turn and the killed turn's message, and the next resume takes the lock over and sends them all."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    store = open_store(store_url)
    first = cli("new", "live", "--base-url", server.url, "-m", "turn 0")
    assert first.returncode == 0, first.stderr
    for n in range(1, 4):
        before = store.read("live")[1]
        server.push(Reply(" ".join(f"w{i}" for i in range(40)), delay=0.04))
        proc = zygote.popen(
            ["resume", "live", "-m", f"turn {n}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(2) == "w0", proc.stderr.read()  # the reply is streaming
        time.sleep(rng.uniform(0, 1.5))
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        items = store.read("live")[1]
        assert items[: len(before)] == before, f"seed {seed}: turn {n}'s kill changed earlier items"
        assert [item_text(i) for i in items if i.get("role") == "user"] == [f"turn {k}" for k in range(n + 1)]
    rows = json.loads(cli("list", "--json").stdout)
    assert [(r["name"], "damaged" in r) for r in rows] == [("live", False)]
    after = cli("resume", "live", "-m", "after the crashes")
    assert after.returncode == 0, after.stderr
    assert after.stdout == "echo: after the crashes\n"
    assert server.last.user_texts() == ["turn 0", "turn 1", "turn 2", "turn 3", "after the crashes"]


def test_what_a_kill_during_creation_leaves_is_no_session(data_dir: Path) -> None:
    """A kill between a new session's first journal line and its meta leaves a bare journal: it is not
    a session (not listed, the name is free) and the next creation of the name starts clean."""
    store = open_store("")
    sessions = data_dir / "sessions"
    sessions.mkdir(parents=True, mode=0o700)
    orphan = [{"role": "user", "content": "never confirmed", "agent": "Assistant", "callerAgent": None}]
    (sessions / "fresh.jsonl").write_text(json.dumps({"seq": 1, "at": 0, "items": orphan}) + "\n")
    assert (store.names(), store.list(), store.exists("fresh")) == ([], [], False)
    write_turns(store, "fresh", 1)
    assert store.read("fresh")[1] == finished(1)


def test_a_long_session_is_checkpointed_and_reads_back(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past COMPACT_AFTER_LINES lines the journal is rewritten as one line at a turn end; nothing is lost."""
    import swarmchat.store.journaled

    monkeypatch.setattr(swarmchat.store.journaled, "COMPACT_AFTER_LINES", 5)
    store = open_store(store_url)
    write_turns(store, "long", 12)
    meta, items = store.read("long")
    assert items == finished(12) and meta.journal_seq == 12 and meta.message_count == len(items)
    assert journal_lines(store_url, store, "long") < meta.journal_seq, "the journal was never checkpointed"


def journal_lines(store_url: str, store: SessionStore, name: str) -> int:
    """How many changes the session's journal holds (fewer than its seq once it was checkpointed)."""
    if store_url:
        return int(redis.Redis.from_url(store_url).llen(log_key(name)))
    return len(Path(store.location, "sessions", f"{name}.jsonl").read_bytes().splitlines())


# --- helpers ---------------------------------------------------------------------------------------
def write_turns(store: SessionStore, name: str, turns: int, **settings: Any) -> None:
    """A session of `turns` finished writer turns, saved one turn at a time (one journal line each)."""
    session = store.open(name, create=SessionMeta.fresh(name, **settings))
    for n in range(1, turns + 1):
        session.begin_turn()
        session.save(finished(n))
        session.end_turn(finished(n))
    session.close()


HOLDER = """
import sys
from swarmchat.store import open_store
session = open_store(sys.argv[1]).open(sys.argv[2])
print("held", flush=True)
sys.stdin.read()
"""


# --- one writer per session ------------------------------------------------------------------------
def test_a_live_holder_is_named_and_a_killed_one_is_taken_over(
    store_url: str, cli: Run, server: FakeOpenAI, data_dir: Path
) -> None:
    """While another process holds the session, resume/delete/rename exit 2 naming its pid and host and
    change nothing; once it is killed, the next resume takes the lock over and works."""
    store = open_store(store_url)
    write_turns(store, "x", 2, base_url=server.url, model="m")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url, "x"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = raw_state(store_url, data_dir)
        for args in (["resume", "x", "-m", "hi"], ["delete", "x", "--yes"], ["rename", "x", "y"]):
            done = cli(*args)
            assert done.returncode == 3, (args, done.stderr)  # open in another process: retry later
            line = one_error_line(done.stderr)
            assert f"pid {holder.pid} on host {socket.gethostname()}" in line, line
            assert "'x'" in line and "close it there first" in line, line
        assert raw_state(store_url, data_dir) == before
        assert not store.exists("y")
        assert server.requests == []
    finally:
        holder.kill()
        holder.wait()
    done = cli("resume", "x", "-m", "hi")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: hi\n"
    assert store.read("x")[1][: len(finished(2))] == finished(2)
    assert server.last.user_texts() == ["question 0 — ünïcode ✓", "question 1 — ünïcode ✓", "hi"]


def test_two_racing_new_with_one_name_exactly_one_wins(store_url: str, server: FakeOpenAI) -> None:
    """Two `swarmchat new same -m ...` started together: one talks to the model, the other exits 2."""
    server.push(Reply("the winner's reply, slowly streamed", delay=0.2))
    racers = [
        zygote.popen(
            ["new", "same", "--base-url", server.url, "-m", f"from {who}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for who in "AB"
    ]
    outputs = [racer.communicate(timeout=90) for racer in racers]
    codes = [racer.returncode for racer in racers]
    assert sorted(codes) == [0, 2], outputs
    win = codes.index(0)
    assert outputs[win][0] == "the winner's reply, slowly streamed\n"
    line = one_error_line(outputs[1 - win][1])
    assert "'same'" in line and ("already exists" in line or "in use" in line), line
    assert [r.user_texts() for r in server.requests] == [[f"from {'AB'[win]}"]]
    items = open_store(store_url).read("same")[1]
    assert [item_text(i) for i in items] == [f"from {'AB'[win]}", "the winner's reply, slowly streamed"]


# --- damaged files are refused and left alone ------------------------------------------------------
GARBAGE = bytes(range(128, 256)) + b"\x00\x01\n\x89PNG\r\n"


def _edit_meta(change: dict[str, Any]) -> Callable[[Path, Path], None]:
    def edit(meta: Path, journal: Path) -> None:
        meta.write_text(json.dumps({**json.loads(meta.read_bytes()), **change}, indent=1))

    return edit


def _journal_line(number: int, raw: bytes) -> Callable[[Path, Path], None]:
    def edit(meta: Path, journal: Path) -> None:
        lines = journal.read_bytes().splitlines(keepends=True)
        lines[number - 1] = raw
        journal.write_bytes(b"".join(lines))

    return edit


def _cut(which: str, keep: Callable[[int], int]) -> Callable[[Path, Path], None]:
    def edit(meta: Path, journal: Path) -> None:
        path = meta if which == "json" else journal
        data = path.read_bytes()
        path.write_bytes(data[: keep(len(data))])

    return edit


# case: (the file that breaks, how, words the problem must contain)
BROKEN: dict[str, tuple[str, Callable[[Path, Path], object], str]] = {
    "empty": ("json", lambda m, j: m.write_bytes(b""), "empty file"),
    "truncated-at-1": ("json", _cut("json", lambda n: 1), "not valid JSON"),
    "truncated-in-half": ("json", _cut("json", lambda n: n // 2), "not valid JSON"),
    "truncated-near-end": ("json", _cut("json", lambda n: n - 3), "not valid JSON"),
    "binary-garbage": ("json", lambda m, j: m.write_bytes(GARBAGE), "binary"),
    "json-list": ("json", lambda m, j: m.write_bytes(b"[1, 2, 3]\n"), "expected a JSON object"),
    "foreign-object": ("json", lambda m, j: m.write_text('{"title": "mine", "messages": []}'), "no schema_version"),
    "field-of-wrong-type": ("json", _edit_meta({"created_at": 5}), "created_at"),
    "newer-schema": ("json", _edit_meta({"schema_version": 99}), "upgrade swarmchat"),
    "journal-bad-middle-line": ("jsonl", _journal_line(2, b'{"seq": 2, "at": oops\n'), "line 2"),
    "journal-foreign-line": ("jsonl", _journal_line(2, b'{"hello": "world"}\n'), "line 2"),
    "journal-garbage": ("jsonl", lambda m, j: j.write_bytes(GARBAGE), "line 1"),
    "journal-lost-lines": ("jsonl", _cut("jsonl", lambda n: n // 3), "truncated"),
    "journal-missing": ("jsonl", lambda m, j: j.unlink(), "missing"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_damaged_session_is_listed_as_such_refused_and_never_rewritten(case: str, cli: Run, data_dir: Path) -> None:
    which, breaks, problem = BROKEN[case]
    store = open_store("")
    write_turns(store, "good", 1)
    write_turns(store, "bad", 3)
    meta, journal = data_dir / "sessions" / "bad.json", data_dir / "sessions" / "bad.jsonl"
    breaks(meta, journal)
    broken = str(meta if which == "json" else journal)
    before = raw_state("", data_dir)

    listed = cli("list", env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert "damaged" in rows["bad"] and "damaged" not in rows["good"], listed.stdout
    as_json = cli("list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    entries = {row["name"]: row for row in json.loads(as_json.stdout)}
    assert problem in entries["bad"]["damaged"] and entries["bad"]["location"] == broken, entries["bad"]
    assert entries["good"]["message_count"] == len(finished(1))

    found = cli("search", "question 0", "--json")  # the others are still searched; the bad one is skipped
    assert found.returncode == 0, found.stderr
    assert {hit["name"] for hit in json.loads(found.stdout)} == {"good"}

    no_model = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # should a refusal fail, no real API is reached
    for args in (
        ["show", "bad"],
        ["show", "bad", "--format", "json"],
        ["resume", "bad", "-m", "hi"],
        ["rename", "bad", "renamed"],
        ["fork", "bad", "copy"],
        ["export", "bad"],
    ):
        done = cli(*args, env=no_model)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        line = one_error_line(done.stderr)
        assert broken in line and problem in line and "move it aside or restore a backup" in line, (args, line)
    assert raw_state("", data_dir) == before, "a command changed a damaged session's bytes"
    assert store.names() == ["bad", "good"]


TORN_AT: dict[str, Callable[[int], int]] = {
    "one-byte": lambda n: 1,
    "half": lambda n: n // 2,
    "no-newline": lambda n: n - 1,
}


@pytest.mark.parametrize("torn_at", TORN_AT)
def test_a_torn_last_journal_line_is_a_crash_artifact_not_damage(torn_at: str, cli: Run, data_dir: Path) -> None:
    """A crash mid-append leaves part of a line: the session loads with the complete lines, and the next
    writer drops the torn piece and appends on a clean line."""
    store = open_store("")
    write_turns(store, "torn", 3)
    journal = data_dir / "sessions" / "torn.jsonl"
    complete = journal.read_bytes()
    line = json.dumps({"seq": 4, "at": 0, "items": finished(4)}, ensure_ascii=False).encode() + b"\n"
    piece = line[: TORN_AT[torn_at](len(line))]
    journal.write_bytes(complete + piece)
    before = raw_state("", data_dir)

    assert store.read("torn")[1] == finished(3)
    listed = json.loads(cli("list", "--json").stdout)
    assert [(r["name"], r.get("damaged"), r.get("message_count")) for r in listed] == [("torn", None, len(finished(3)))]
    shown = cli("show", "torn", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["messages"] == finished(3)
    assert raw_state("", data_dir) == before, "reading changed the journal"

    session = store.open("torn")
    live = session.load()
    live += _writer["tail_states"](3)[-1]
    session.begin_turn()
    session.save(live)
    session.end_turn(live)
    session.close()
    assert store.read("torn")[1] == finished(4)
    data = journal.read_bytes()
    assert data.startswith(complete) and data.endswith(b"\n")
    assert [json.loads(line)["seq"] for line in data.splitlines()] == [1, 2, 3, 4]  # the torn piece is gone


# --- names -----------------------------------------------------------------------------------------
NAMEISH = st.one_of(
    st.text(min_size=1, max_size=80),
    st.from_regex(r"[^\W_][\w.\-]{0,70}", fullmatch=True),
)


@settings(
    max_examples=200 if SOAK else 50,  # each writes, renames and deletes a session (fsyncs)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=NAMEISH, other=NAMEISH)
@example(name="café-日本語", other="Ωmega_2.1")
@example(name="..", other="a/../../b")
def test_an_accepted_name_round_trips_and_everything_stays_inside_the_data_dir(name: str, other: str) -> None:
    items = finished(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "data")
        sessions = root / "sessions"
        store = FileStore(root)
        try:
            valid = validate_name(name)
        except InvalidName:
            with pytest.raises(InvalidName):
                store.write_new(SessionMeta.fresh(name), items)
            assert not sessions.exists() or not os.listdir(sessions)
            valid = ""
        if valid:
            assert os.sep not in valid and "\x00" not in valid and valid not in (".", "..")
            assert Path(valid).name == valid and (sessions / f"{valid}.json").resolve().parent == sessions.resolve()
            store.write_new(SessionMeta.fresh(name), items)
            assert sorted(os.listdir(sessions)) == [f"{valid}.json", f"{valid}.jsonl"]
            assert store.read(name)[1] == items and store.names() == [valid]
            assert [m.name for m in store.list()] == [valid]
            try:
                target = validate_name(other)
            except InvalidName:
                target = valid
            if target != valid:
                store.rename(name, other)
                assert store.read(other)[1] == items and store.names() == [target]
            store.delete(target)
            assert os.listdir(sessions) == []
        outside = [p for p in Path(tmp).rglob("*") if p != root and root not in p.parents]
        assert outside == [], f"created outside the data dir: {outside}"


BAD_CHAR = st.one_of(st.sampled_from(["/", "\\", "\x00", "\n", "\x7f"]), st.characters(categories=["Cc"]))


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=20), bad=BAD_CHAR, suffix=st.text(max_size=20))
def test_names_with_separators_nul_or_control_characters_are_rejected(prefix: str, bad: str, suffix: str) -> None:
    with pytest.raises(InvalidName):
        validate_name(prefix + bad + suffix)


@settings(max_examples=100, deadline=None)
@given(lead=st.sampled_from(["-", ".", "..", "_"]), rest=st.text(max_size=30))
def test_names_with_a_leading_dot_or_dash_are_rejected(lead: str, rest: str) -> None:
    with pytest.raises(InvalidName):
        validate_name(lead + rest)


@settings(max_examples=100, deadline=None)
@given(
    long=st.one_of(
        st.text("abc", min_size=65, max_size=300),
        st.text("𝔸ö", min_size=51, max_size=64).filter(lambda s: len(s.encode()) > 200),
    )
)
def test_overlong_names_are_rejected(long: str) -> None:
    with pytest.raises(InvalidName, match="too long"):
        validate_name(long)


@pytest.mark.parametrize("name", ["con", "NUL", "aux.txt", "com1", "lpt9.log"])
def test_names_reserved_by_some_file_systems_are_rejected(name: str) -> None:
    with pytest.raises(InvalidName, match="reserved"):
        validate_name(name)
