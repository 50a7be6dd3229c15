"""The REPL in a real pty never drops what the user typed or was shown: a message stopped while the agency
is still being built is said not sent and is back at the prompt; a huge reply from a served agency (an
impostor on loopback) is drawn as plain text, stoppable, and stored whole."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agencies import write_agency
from conftest import roles, stored
from fake_openai import FakeOpenAI
from impostor_agency import AGENT, Impostor, reply, server_user

from swarmchat.store import open_store

GATED = textwrap.dedent(
    """
    import time
    from pathlib import Path

    from agency_swarm import Agency, Agent

    def create_agency(load_threads_callback=None):
        gate = Path(__file__).with_name("GO")
        while not gate.exists():  # built only once the test says so
            time.sleep(0.05)
        return Agency(Agent(name="Assistant", instructions="Help."), load_threads_callback=load_threads_callback)
    """
)


def test_ctrl_c_while_a_message_waits_for_the_agency_gives_it_back(term, server: FakeOpenAI, tmp_path: Path) -> None:
    agency = write_agency(tmp_path, GATED)
    t = term("new", "slow", "--agency", f"{agency}:create_agency", "--base-url", server.url)
    t.prompt()
    t.line("hello while loading")
    t.expect("loading the agency")
    t.child.sendintr()
    t.expect("not sent (the agency was still loading)")
    screen = t.prompt()
    assert screen.splitlines()[t.screen.cursor.y].endswith("hello while loading")  # the draft, ready to send
    assert open_store().names() == []  # nothing was stored: a session exists from its first message
    agency.with_name("GO").touch()
    t.line("")  # Enter sends the draft
    t.expect("echo: hello while loading")
    t.prompt("Assistant")
    t.exit()
    assert roles("slow") == [("user", "hello while loading"), ("assistant", "echo: hello while loading")]
    assert server.last.user_texts() == ["hello while loading"]


def test_a_huge_reply_in_many_deltas_turns_to_plain_text_and_is_stored_whole(term, impostor: Impostor) -> None:
    deltas = [f"{n:05d}" + "." * 94 + " " for n in range(1500)]  # 150 KB in one paragraph: no block ever ends
    impostor.words = deltas
    impostor.new_messages = [server_user("a lot"), reply("".join(deltas))]
    impostor.start()
    t = term("new", "huge", "--agency", impostor.url)
    t.prompt(AGENT)
    t.line("a lot")
    t.expect("(a long reply, over 64 KB: shown as plain text from here)")
    t.expect("01499")
    t.prompt(AGENT)
    t.exit()
    assert stored("huge") == [server_user("a lot"), reply("".join(deltas))]


def test_a_stop_key_during_one_huge_delta_keeps_it_as_the_partial_reply(term, impostor: Impostor) -> None:
    text = "".join(f"{n:06d} " for n in range(40_000))  # 280 KB in one delta
    impostor.words, impostor.hold, impostor.cancelled = [text], True, []
    impostor.start()
    t = term("new", "stop", "--agency", impostor.url)
    t.prompt(AGENT)
    t.line("everything at once")
    t.expect("shown as plain text from here")
    t.child.sendintr()
    t.expect("[interrupted]")
    t.prompt(AGENT)
    t.exit()
    user, partial = stored("stop")
    assert (user["role"], user["content"]) == ("user", "everything at once")
    assert partial["content"][0]["text"] == f"{text}\n\n[interrupted]"  # what arrived, as it was shown


def test_exit_ends_the_repl_though_the_agency_left_a_thread_running(term, server: FakeOpenAI, tmp_path: Path) -> None:
    from test_agency_misbehaves import THREADED

    agency = write_agency(tmp_path, THREADED)
    t = term("new", "threads", "--agency", f"{agency}:create_agency", "--base-url", server.url)
    t.prompt()
    t.line("hi")
    t.expect("echo: hi")
    t.exit()  # the process ends (exit 0) though a thread that never ends is alive in it
    assert roles("threads") == [("user", "hi"), ("assistant", "echo: hi")]
