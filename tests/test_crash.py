"""kill -9 a real `swarmchat resume -m` at random moments of streamed, delegating turns, 100+ times.

After every kill the session must load and hold, in order, everything it held before the run (what
earlier saves stored is never lost or rewritten; the one change allowed is agency-swarm's own
removal of a tool call whose output a kill prevented); at the end a normal resume sends the whole
surviving history to the model. The store-level crash test (test_durability.py) checks the finer promise
that every save that returned is durable.

Every run kills at each kind of point of a turn, once: as the Lead's delegating call arrives and while it
streams, as the Researcher's request arrives, while it streams and as its answer is saved, as the Lead's
answer starts, while it streams and while the turn's end is saved (`POINTS`). With SWARMCHAT_SOAK=1 the
full soak runs: 104 kills (SWARMCHAT_CRASH_KILLS) at random moments of the turn.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import zygote
from agencies import TWO_AGENTS, write_agency
from conftest import SOAK, Run
from fake_openai import FakeOpenAI, Reply, Request, send_message

from swarmchat.session import Item, item_text
from swarmchat.store import open_store

KILLS = int(os.environ.get("SWARMCHAT_CRASH_KILLS", "104"))
WORKERS = 2
# (the turn's request that has reached the model: 1 the Lead's, which delegates; 2 the Researcher's;
# 3 the Lead's answer, then seconds after it arrived): each a different kind of moment to be killed at.
# A reply streams 30 words 4 ms apart, so 0.06 s is mid-stream and 0.2 s is after it, while it is saved.
POINTS = [(1, 0.0), (1, 0.02), (2, 0.0), (2, 0.06), (2, 0.2), (3, 0.0), (3, 0.06), (3, 0.2), (3, 0.35)]


def scripted(request: Request) -> Reply:
    """Every turn: Lead delegates, Researcher answers, Lead answers; all streamed slowly."""
    body = request.transcript()
    if "You are Researcher." in request.instructions:
        return Reply(" ".join(f"fact{n}" for n in range(30)), delay=0.004)
    last = (request.body.get("input") or [{}])[-1]
    if isinstance(last, dict) and last.get("type") == "function_call_output":
        return Reply(" ".join(f"answer{n}" for n in range(30)), delay=0.004)
    assert "Lead" in body
    turn = request.user_texts()[-1]  # "crashN turn M": named in the delegation, to tell the sessions' requests apart
    return Reply(tool_calls=[send_message("Researcher", f"look it up for {turn}")])


def requests_of(server: FakeOpenAI, seen: int, turn: str) -> int:
    """How many of this turn's requests have reached the model."""
    return sum(turn in r.transcript() for r in server.requests[seen:])


def orphaned(item: Item, items: list[Item]) -> bool:
    """A tool call stored without its output (or the reverse): a kill between the two saves leaves one,
    and agency-swarm itself drops it from the history at the end of the next turn (the model API
    would refuse it)."""
    kind = item.get("type")
    if kind not in ("function_call", "function_call_output"):
        return False
    partner = "function_call_output" if kind == "function_call" else "function_call"
    return not any(i.get("type") == partner and i.get("call_id") == item.get("call_id") for i in items)


def is_subsequence(wanted: list[Item], items: list[Item]) -> bool:
    remaining = iter(items)
    return all(any(item == candidate for candidate in remaining) for item in wanted)


def diff(wanted: list[Item], items: list[Item]) -> str:
    missing = [item for item in wanted if item not in items]
    return f"{len(missing)} missing, e.g. {json.dumps(missing[:1])[:600]}"


def kill_runs(name: str, points: list[tuple[int, float]], server: FakeOpenAI) -> list[str]:
    """Run `resume -m` once per point, SIGKILLing it that many seconds after that request of its turn
    reached the model; returns problems."""
    store = open_store()
    problems: list[str] = []
    before: list[Item] = store.read(name)[1]
    env = {**os.environ}
    for run, (request, after_s) in enumerate(points):
        seen = len(server.requests)
        turn = f"{name} turn {run}"
        child = zygote.popen(
            ["resume", name, "-m", turn],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        deadline = time.monotonic() + 60
        while requests_of(server, seen, turn) < request:
            if time.monotonic() > deadline or child.poll() is not None:
                break
            time.sleep(0.002)
        time.sleep(after_s)
        child.send_signal(signal.SIGKILL)
        child.wait()
        try:
            after = store.read(name)[1]
        except Exception as exc:  # a session that does not load is the failure this test exists for
            problems.append(f"run {run}: the session does not load after kill -9: {exc}")
            break
        kept = [item for item in before if not orphaned(item, before)]
        if not is_subsequence(kept, after):
            problems.append(f"run {run}: items stored before the run vanished or changed: {diff(kept, after)}")
        before = after
    return problems


def schedule() -> list[list[tuple[int, float]]]:
    """Each session's kill points: every kind of point once, shared out (SOAK: KILLS random moments)."""
    if SOAK:
        rngs = [random.Random(n) for n in range(WORKERS)]  # the turn streams for about 0.35 s in three requests
        return [[(1, rng.uniform(0, 0.45)) for _ in range(KILLS // WORKERS)] for rng in rngs]
    return [POINTS[n::WORKERS] for n in range(WORKERS)]


@pytest.mark.timeout(1200 if SOAK else 600)  # about 2.5 s per run (agency-swarm's import), two runs at a time
def test_kill_9_at_every_kind_of_moment_never_loses_a_saved_item(
    cli: Run, server: FakeOpenAI, tmp_path: Path, data_dir: Path
) -> None:
    server.respond = scripted
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    names = [f"crash{n}" for n in range(WORKERS)]
    for name in names:
        made = cli("new", name, "--agency", spec, "--base-url", server.url, "-m", f"{name} start")
        assert made.returncode == 0, made.stderr

    runs = schedule()
    with ThreadPoolExecutor(WORKERS) as pool:
        results = pool.map(lambda n: kill_runs(names[n], runs[n], server), range(WORKERS))
        problems = [p for result in results for p in result]
    assert problems == []

    listed = json.loads(cli("list", "--json").stdout)
    assert all(not row.get("damaged") and not row.get("problem") for row in listed), listed
    for name in names:
        items = open_store().read(name)[1]
        typed = [item_text(i) for i in items if i.get("role") == "user" and i.get("callerAgent") is None]
        kills = len(runs[names.index(name)])
        assert typed[0] == f"{name} start" and len(typed) > kills // 3  # most kills kept the message
        server.respond = None
        server.push(Reply("all good"))
        final = cli("resume", name, "-m", "still there?")
        assert final.returncode == 0, final.stderr
        sent = server.last.user_texts()
        assert sent[:1] == [f"{name} start"] and sent[-1] == "still there?"
        assert set(typed) <= set(sent)  # the whole surviving history reached the model
        server.respond = scripted
