"""`show NAME --follow` latency: from a writer's `session.save` returning to the follower printing the item.

    python benchmarks/bench_follow.py [--rounds N] [--history N]

A follower (`swarmchat show NAME --follow`, the venv's console script, stdout a pipe) watches a session
of `--history` items; this process opens the session as a writer (FileStore, then a private
redis-server when `redis-server` is on PATH), saves one new message with a fresh word, and times how
long after `save` returned that word reaches the follower's stdout. Target: < 1 s (the poll is 0.1 s).
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from run import BIN, redis_server  # noqa: E402

from swarmchat.session import SessionMeta  # noqa: E402
from swarmchat.store import SessionStore, open_store  # noqa: E402

TARGET_S = 1.0


def message(text: str, role: str = "user") -> dict[str, Any]:
    return {"role": role, "content": text, "type": "message", "agent": "Assistant", "callerAgent": None}


def wait_for(proc: subprocess.Popen[bytes], needle: bytes, timeout: float = 30) -> float:
    """The time `needle` reached the follower's stdout (perf_counter)."""
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise RuntimeError(f"the follower printed no {needle!r} in {timeout}s")
        seen += os.read(proc.stdout.fileno(), 65536)
    return time.perf_counter()


def latencies(store: SessionStore, env: dict[str, str], rounds: int, history: int) -> list[float]:
    store.write_new(SessionMeta.fresh("watched"), [message(f"old message {n}") for n in range(history)])
    proc = subprocess.Popen([str(BIN), "show", "watched", "--follow"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(proc, f"old message {history - 1}".encode())
        session = store.open("watched")
        items = list(session.items())
        out = []
        for n in range(rounds):
            items.append(message(f"fresh{n}word"))
            session.save(items)
            saved = time.perf_counter()
            out.append(wait_for(proc, f"fresh{n}word".encode()) - saved)
            time.sleep(0.05)  # rounds start at different points of the follower's poll
        session.end_turn(items)
        session.close()
        return out
    finally:
        proc.kill()
        proc.wait()


def report(backend: str, values: list[float]) -> None:
    med, worst = statistics.median(values), max(values)
    verdict = "pass" if worst < TARGET_S else "FAIL"
    print(f"| {backend} | {med * 1000:.0f} ms | {worst * 1000:.0f} ms | < {TARGET_S * 1000:.0f} ms | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--history", type=int, default=1000)
    args = parser.parse_args()
    print(f"rounds: {args.rounds}, history: {args.history} items\n")
    print("| store | median | worst | target | |\n|---|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = {**os.environ, "SWARMCHAT_DATA_DIR": str(data), "SWARMCHAT_STORE": ""}
        os.environ.update(SWARMCHAT_DATA_DIR=str(data), SWARMCHAT_STORE="")
        report("files", latencies(open_store(""), env, args.rounds, args.history))
        if any((Path(p) / "redis-server").exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
            with redis_server(Path(tmp) / "redis") as url:
                report("redis", latencies(open_store(url), {**env, "SWARMCHAT_STORE": url}, args.rounds, args.history))


if __name__ == "__main__":
    main()
