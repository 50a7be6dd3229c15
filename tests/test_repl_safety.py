"""The REPL in a real pty never drops what the user typed: a message stopped while the agency is still
being built is said not sent and is back at the prompt."""

from __future__ import annotations

import textwrap
from pathlib import Path

from agencies import write_agency
from conftest import roles
from fake_openai import FakeOpenAI

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
    t.expect("not sent: stopped while the agency was loading; your message is back at the prompt")
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
