"""Stopping a reply in a real pty: Esc like Ctrl-C, and SIGTERM/SIGHUP (the terminal closed) too."""

from __future__ import annotations

import signal

import pexpect
import pytest
from conftest import Run, roles
from fake_openai import FakeOpenAI, Reply

LONG = " ".join(f"word{n}" for n in range(400))


def assert_partial_kept(name: str) -> None:
    history = roles(name)
    assert history[0] == ("user", "tell me a long story")
    assert history[1][0] == "assistant" and history[1][1].startswith("word0 word1"), history
    assert history[1][1].endswith("[interrupted]") and "word399" not in history[1][1]


def test_esc_stops_a_reply_and_the_chat_goes_on(term, server: FakeOpenAI) -> None:
    server.push(Reply(LONG, delay=0.05))
    t = term("new", "esc", "--base-url", server.url)
    t.prompt()
    t.line("tell me a long story")
    t.expect("word10")
    t.child.send("\x1b[C")  # an arrow key starts with ESC too: it must not stop the reply
    t.expect("word25")
    t.child.send("\x1b")
    t.expect("[interrupted]")
    t.prompt()
    assert_partial_kept("esc")
    t.line("and now?")
    t.expect("echo: and now?")
    t.prompt()
    t.exit()
    assert [r for r, _ in roles("esc")] == ["user", "assistant", "user", "assistant"]
    assert server.last.user_texts() == ["tell me a long story", "and now?"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_reply_keeps_the_partial_and_frees_the_lock(
    term, server: FakeOpenAI, cli: Run, signum: signal.Signals
) -> None:
    server.push(Reply(LONG, delay=0.05))
    t = term("new", "sig", "--base-url", server.url)
    t.prompt()
    t.line("tell me a long story")
    t.expect("word10")
    t.child.kill(signum)
    t.child.expect(pexpect.EOF, timeout=60)
    t.child.close()
    assert t.child.exitstatus == 128 + signum, t.text[-2000:]
    assert "Traceback" not in t.text
    assert_partial_kept("sig")
    done = cli("resume", "sig", "-m", "still there?")  # the lock was freed
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: still there?\n"


def test_sighup_at_the_prompt_leaves_with_the_session_saved(term, server: FakeOpenAI, cli: Run) -> None:
    t = term("new", "hup", "--base-url", server.url)
    t.prompt()
    t.line("remember me")
    t.expect("echo: remember me")
    t.prompt()
    t.child.kill(signal.SIGHUP)
    t.child.expect(pexpect.EOF, timeout=60)
    t.child.close()
    assert t.child.exitstatus == 128 + signal.SIGHUP
    assert "Traceback" not in t.text
    assert roles("hup") == [("user", "remember me"), ("assistant", "echo: remember me")]
    assert cli("resume", "hup", "-m", "again").returncode == 0
