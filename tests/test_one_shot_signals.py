"""Issue 11 §6: SIGTERM or SIGHUP (the terminal closed) during a `-m` reply is handled like Ctrl-C: the
partial reply the user saw is kept, marked interrupted, the lock is freed and the exit is nonzero. A real
signal against the real stack, while the scripted server streams slowly."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time

import pytest
import zygote
from conftest import ROOT, Run, one_error_line
from fake_openai import FakeOpenAI, Reply

WORDS = " ".join(f"word{i}" for i in range(60))


def read_until(proc: subprocess.Popen[bytes], needle: bytes, timeout: float = 120) -> bytes:
    """What the process printed, once it holds `needle` (a visible condition, not a sleep)."""
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} on stdout after {timeout}s: {seen!r}"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, f"stdout closed before {needle!r}: {seen!r}"
            seen += chunk
    return seen


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_mid_reply_keeps_the_partial_reply(cli: Run, server: FakeOpenAI, sig: signal.Signals) -> None:
    server.push(Reply(WORDS, delay=0.4))
    proc = zygote.popen(
        ["new", "x", "--base-url", server.url, "-m", "tell me a long story"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        shown = read_until(proc, b"word2 ")
        proc.send_signal(sig)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    printed = (shown + rest).decode()
    assert proc.returncode == 128 + sig.value, (proc.returncode, printed, err)
    line = one_error_line(err.decode())
    assert sig.name in line and "interrupted" in line, line
    assert "word59" not in printed  # it did stop mid-reply

    shown_json = cli("show", "x", "--format", "json")  # the lock is not needed to read; resume checks it
    messages = json.loads(shown_json.stdout)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    reply = messages[-1]["content"][0]["text"]
    assert reply.endswith("[interrupted]"), reply
    assert reply.removesuffix("[interrupted]").strip() == printed.strip(), (reply, printed)

    again = cli("resume", "x", "-m", "go on")  # the lock was freed
    assert again.returncode == 0, again.stderr
    assert again.stdout == "echo: go on\n"
    assert server.last.messages()[:2] == [("user", "tell me a long story"), ("assistant", reply)]
