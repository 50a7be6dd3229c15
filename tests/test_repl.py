"""The REPL in a real pseudo-terminal (pexpect), against the real agency-swarm stack and the scripted server."""

from __future__ import annotations

import base64
import re
import sys
import textwrap
import time
from pathlib import Path

import pexpect
import pytest
from agencies import TWO_AGENTS, write_agency
from conftest import roles, stored
from fake_openai import FakeOpenAI, Reply, send_message
from terminal import ANSI

from swarmchat.store import open_store


def test_chat_quit_resume_shows_history_and_continues(term, server: FakeOpenAI) -> None:
    t = term("new", "trip", "--base-url", server.url, "--model", "m1")
    t.prompt()
    server.push(Reply("Lisbon is **lovely** in May.\n\nPack light.", delay=0.02))
    t.line("Where should I go in May?")
    screen = t.expect("Pack light.")
    assert "Assistant" in screen and "Lisbon is lovely in May." in screen  # Markdown rendered, agent named
    t.prompt("Assistant")
    t.exit()

    t = term("resume", "trip")
    screen = t.prompt("Assistant")
    assert "Where should I go in May?" in screen and "Pack light." in screen  # the last turns, shown on resume
    assert "19 tokens" in t.on_screen("19 tokens")  # the toolbar counts the session's tokens, earlier runs included
    server.push(Reply("Try the Alfama."))
    t.line("Which district?")
    t.expect("Try the Alfama.")
    t.prompt()
    t.exit()
    assert server.last.user_texts() == ["Where should I go in May?", "Which district?"]
    assert roles("trip")[-2:] == [("user", "Which district?"), ("assistant", "Try the Alfama.")]


def test_two_agent_delegation_is_rendered(term, server: FakeOpenAI, tmp_path: Path) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    server.push(
        Reply(tool_calls=[send_message("Researcher", "Find the boiling point of water.")]),
        Reply("Water boils at 100 °C at sea level."),
        Reply("My researcher says: 100 °C."),
    )
    t = term("new", "team", "--agency", spec, "--base-url", server.url)
    t.prompt("Lead")
    t.line("How hot does water boil?")
    screen = t.expect("My researcher says: 100 °C.")
    t.prompt("Lead")
    assert re.search(r"→ Lead asks Researcher: Find the boiling point of water\.", screen), screen
    assert re.search(r"← Researcher: Water boils at 100 °C at sea level\.", screen), screen
    assert screen.rindex("Lead") > screen.index("asks Researcher")  # the Lead's header precedes its reply
    t.exit()


def test_agent_switch_and_at_address_persist_across_resume(term, server: FakeOpenAI, tmp_path: Path) -> None:
    spec = f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"
    t = term("new", "team", "--agency", spec, "--base-url", server.url)
    t.prompt("Lead")
    server.push(Reply("Researcher here, once."))
    t.line("@Researcher just this once")
    t.expect("Researcher here, once.")
    t.prompt("Lead")  # @Agent is for one message only
    assert "You are Researcher." in server.last.instructions
    t.line("/agent researcher")
    t.expect("talking to")
    t.prompt("Researcher")
    server.push(Reply("noted"))
    t.line("remember this")
    t.expect("noted")
    t.exit()
    assert open_store().read_meta("team").recipient == "Researcher"

    t = term("resume", "team")
    t.prompt("Researcher")
    server.push(Reply("Still Researcher."))
    t.line("who are you?")
    t.expect("Still Researcher.")
    t.prompt("Researcher")
    t.exit()
    assert "You are Researcher." in server.last.instructions  # the resumed run talks to that agent


def test_ctrl_c_mid_stream_keeps_the_partial_reply(term, server: FakeOpenAI) -> None:
    words = " ".join(f"word{n}" for n in range(400))
    server.push(Reply(words, delay=0.05))
    t = term("new", "long", "--base-url", server.url)
    t.prompt()
    t.line("tell me a long story")
    t.expect("word10")
    t.child.send("shorter ")  # typed ahead: not echoed into the reply, waiting at the next prompt
    t.child.sendintr()
    sent = time.monotonic()
    t.expect("[interrupted]")
    t.prompt()
    assert time.monotonic() - sent < 2.0
    shown = [ln for ln in t.scrollback() if ln.startswith("word")]
    assert len([ln for ln in shown if ln.startswith("word0 ")]) == 1, "\n".join(shown)  # drawn once
    assert " ".join(shown).split() == [f"word{n}" for n in range(len(" ".join(shown).split()))]
    assert "^C" not in t.text
    history = roles("long")
    assert history[0] == ("user", "tell me a long story")
    assert history[1][0] == "assistant" and history[1][1].startswith("word0 word1") and "[interrupted]" in history[1][1]
    assert "word399" not in history[1][1]

    assert "shorter" not in " ".join(shown)
    server.push(Reply("Back to you."))
    t.line("please")
    t.expect("Back to you.")
    t.prompt()
    t.exit()
    history = roles("long")
    assert [r for r, _ in history] == ["user", "assistant", "user", "assistant"]  # never two users in a row
    assert server.last.user_texts() == ["tell me a long story", "shorter please"]


def test_undo_and_retry_change_the_stored_history(term, server: FakeOpenAI) -> None:
    t = term("new", "u", "--base-url", server.url)
    t.prompt()
    for question in ("first question", "second question"):
        t.line(question)
        t.expect(f"echo: {question}")
        t.prompt()
    t.line("/undo")
    t.expect("removed the last turn: second question")
    t.prompt()
    assert roles("u") == [("user", "first question"), ("assistant", "echo: first question")]

    server.push(Reply("a better answer"))
    t.line("/retry")
    t.expect("a better answer")
    t.prompt()
    assert roles("u") == [("user", "first question"), ("assistant", "a better answer")]
    assert server.last.user_texts() == ["first question"]  # re-asked, not stacked
    t.exit()


def test_input_history_survives_a_restart(term, server: FakeOpenAI, data_dir: Path) -> None:
    t = term("new", "h", "--base-url", server.url)
    t.prompt()
    t.line("a line worth recalling")
    t.expect("echo: a line worth recalling")
    t.prompt()
    t.exit()
    assert (data_dir / "history" / "h").stat().st_mode & 0o777 == 0o600

    t = term("resume", "h")
    t.prompt()
    t.child.send("\x1b[A")  # up arrow
    t.expect("a line worth recalling")
    t.child.send("\r")
    t.expect("echo: a line worth recalling")
    t.prompt()
    t.exit()


def test_the_prompt_is_up_before_the_agency_is_built(term, server: FakeOpenAI, tmp_path: Path) -> None:
    slow = write_agency(
        tmp_path,
        textwrap.dedent(
            """
            import time
            from agency_swarm import Agency, Agent

            def create_agency(load_threads_callback=None):
                time.sleep(4)
                return Agency(Agent(name="Slowpoke", instructions="hi"), load_threads_callback=load_threads_callback)
            """
        ),
        "slow_agency.py",
    )
    t = term("new", "s", "--agency", f"{slow}:create_agency", "--base-url", server.url)
    t.prompt()
    up = time.monotonic() - t.started
    t.line("typed at once")
    t.expect("loading the agency")
    t.expect("echo: typed at once", timeout=60)
    t.prompt("Slowpoke")
    assert up < 3.5, f"the prompt took {up:.1f}s"  # the agency alone takes 4 s to build
    t.exit()


def test_multiline_input_is_one_message(term, server: FakeOpenAI) -> None:
    t = term("new", "ml", "--base-url", server.url)
    t.prompt()
    t.child.send("line one")
    t.child.send("\x1b\r")  # Esc-Enter: a newline, not a send
    t.child.send("line two\r")
    t.expect("echo: line one")
    t.prompt()
    t.child.send("\x1b[200~pasted one\npasted two\x1b[201~\r")  # bracketed paste keeps newlines
    t.expect("echo: pasted one")
    t.prompt()
    t.exit()
    users = [text for role, text in roles("ml") if role == "user"]
    assert users == ["line one\nline two", "pasted one\npasted two"]


def test_model_errors_are_one_red_line_and_the_session_goes_on(term, server: FakeOpenAI) -> None:
    t = term("new", "e", "--base-url", server.url)
    t.prompt()
    server.push(Reply(status=429))
    t.line("hello?")
    screen = t.expect("rate limiting")
    t.prompt()
    assert "Traceback" not in screen
    t.line("hello again")
    t.expect("echo: hello again")
    t.prompt()
    t.exit()
    assert server.last.user_texts()[-1] == "hello again"


def test_ctrl_c_at_the_prompt_clears_the_line(term, server: FakeOpenAI) -> None:
    t = term("new", "c", "--base-url", server.url)
    t.prompt()
    t.child.send("half a thought")
    t.child.sendintr()
    t.prompt()
    t.line("whole thought")
    t.expect("echo: whole thought")
    t.prompt()
    t.exit()
    assert [text for role, text in roles("c") if role == "user"] == ["whole thought"]


def test_slash_commands(term, server: FakeOpenAI, tmp_path: Path, data_dir: Path) -> None:
    t = term("new", "cmds", "--base-url", server.url, "--model", "gpt-4o", lines=70)  # /help fits: not paged
    t.prompt()
    t.line("/help")
    screen = t.expect("stop a reply")  # the last row of the help table
    for row in (
        "/agent NAME",
        "/history [N]",
        "/rename NEW",
        "/export [FILE]",
        "/model [NAME]",
        "/compact [INSTRUCTIONS]",
    ):
        assert re.search(re.escape(row) + r" +\w", screen), row  # the help table (the menu shows no arguments)
    t.prompt()
    t.line("/nope")
    t.expect("unknown command '/nope'")
    t.prompt()
    t.line("What is 2+2?")
    t.expect("echo: What is 2+2?")
    t.prompt()

    t.line("/copy")
    t.expect("copied the last reply")
    osc52 = f"\x1b]52;c;{base64.b64encode(b'echo: What is 2+2?').decode()}\x07"
    assert osc52 in t.raw  # the clipboard escape, as terminals (and ssh) carry it
    t.prompt()

    t.line("/status")
    # one turn of 12 input and 7 output tokens, at gpt-4o's prices in agency-swarm's table
    screen = t.expect(re.compile(r"cost \(this run\)\s+\$0\.000100\b"))
    t.prompt()
    assert "gpt-4o" in screen and re.search(r"turns\s+1", screen)
    assert re.search(r"tokens \(this run\)\s+12 in, 7 out", screen), screen

    t.line("/model other-model")
    t.expect("every agent now uses")
    t.prompt()
    t.line("and now?")
    t.expect("echo: and now?")
    t.prompt()
    assert server.last.model == "other-model"

    export = tmp_path / "out.json"
    t.line(f"/export {export}")
    t.expect("exported to")
    t.prompt()
    assert '"What is 2+2?"' in export.read_text()

    t.line("/rename renamed")
    t.expect("cmds → renamed")  # not the echo of the typed line
    t.prompt()
    assert open_store().names() == ["renamed"] and (data_dir / "history" / "renamed").exists()
    t.line("after the rename")
    t.expect("echo: after the rename")
    t.prompt()
    assert roles("renamed")[-1] == ("assistant", "echo: after the rename")

    t.line("/history 1")
    screen = t.expect("echo: after the rename")
    t.prompt()
    assert "after the rename" in screen and "What is 2+2?" not in screen  # one turn only

    server.push(Reply("The user asked arithmetic questions."))
    t.line("/compact keep it short")
    t.expect("kept as")
    t.prompt()
    assert "keep it short" in server.last.instructions
    assert len(stored("renamed-full")) == 6  # the original, whole
    assert roles("renamed")[0][1].endswith("The user asked arithmetic questions.")
    assert len(stored("renamed")) == 2

    t.line("/clear")
    t.expect("[y/N]")
    t.line("y")
    t.expect("starts over")
    t.prompt()
    t.exit()
    assert stored("renamed") == []


def test_a_long_streamed_reply_is_drawn_once_in_order(term, server: FakeOpenAI) -> None:
    paragraphs = [f"Paragraph {n}: " + " ".join(["lorem ipsum dolor"] * 6) for n in range(70)]
    server.push(Reply("\n\n".join(paragraphs), chunks=400, delay=0.003))
    t = term("new", "long", "--base-url", server.url)
    t.prompt()
    t.line("write a lot")
    t.expect("Paragraph 69:")
    t.prompt()
    lines = [ln for ln in t.scrollback() if ln.startswith("Paragraph ")]
    assert [ln.split(":")[0] for ln in lines] == [f"Paragraph {n}" for n in range(70)]  # no gaps, no repeats
    t.exit()


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (Reply(status=401), "rejected the API key"),
        (Reply(status=500), "server error"),
        (Reply("half a sentence and then", cut_after=3), "cut off"),
    ],
)
def test_model_faults_in_the_repl_keep_the_message(term, server: FakeOpenAI, fault: Reply, says: str) -> None:
    t = term("new", "f", "--base-url", server.url)
    t.prompt()
    server.push(fault)
    t.line("my precious question")
    screen = t.expect(says)
    t.prompt()
    assert "Traceback" not in screen
    assert ("user", "my precious question") in roles("f")  # kept, to retry
    t.line("/retry")
    t.expect("echo: my precious question")
    t.prompt()
    t.exit()
    assert [r for r, _ in roles("f")] == ["user", "assistant"]


def test_an_unreachable_server_is_one_line_and_the_repl_stays(term) -> None:
    from redis_server import free_port

    t = term("new", "down", "--base-url", f"http://127.0.0.1:{free_port()}/v1")
    t.prompt()
    t.line("anyone there?")
    screen = t.expect("cannot reach the model API")
    t.prompt()
    assert "Traceback" not in screen
    t.exit()
    assert ("user", "anyone there?") in roles("down")


def test_ctrl_x_ctrl_e_edits_the_message_in_the_editor(term, server: FakeOpenAI, tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write(' and more from the editor')\n")
    t = term("new", "ed", "--base-url", server.url, env={"EDITOR": f"{sys.executable} {editor}", "VISUAL": ""})
    t.prompt()
    t.child.send("typed first")
    t.child.sendcontrol("x")
    t.child.sendcontrol("e")
    t.expect("echo: typed first and more from the editor")
    t.prompt()
    t.exit()


def test_compact_works_on_a_chat_completions_server(term, server: FakeOpenAI) -> None:
    t = term("new", "cc", "--base-url", server.url, "--api", "chat", "--model", "local-llm")
    t.prompt()
    t.line("remember the number 42")
    t.expect("echo: remember the number 42")
    t.prompt()
    server.push(Reply("The user asked to remember 42."))
    t.line("/compact")
    t.expect("kept as")
    t.prompt()
    assert server.last.api == "chat" and server.last.model == "local-llm"
    assert "remember the number 42" in server.last.transcript()  # the history went to the summarizer
    t.line("what number?")
    t.expect("echo: what number?")
    t.prompt()
    t.exit()
    assert len(stored("cc-full")) == 2
    sent = server.last.transcript()
    assert "The user asked to remember 42." in sent and "echo: remember the number 42" not in sent


def test_an_agency_that_does_not_load_ends_the_repl_with_one_line(term, tmp_path: Path, data_dir: Path) -> None:
    broken = write_agency(tmp_path, "raise RuntimeError('boom at import')\n", "broken.py")
    t = term("new", "b", "--agency", f"{broken}:create_agency")
    t.child.expect(pexpect.EOF, timeout=60)
    t.child.close()
    assert t.child.exitstatus == 2
    lines = [ln for ln in ANSI.sub("", t.child.before or "").splitlines() if "swarmchat: error:" in ln]
    assert len(lines) == 1 and "broken.py" in lines[0], t.child.before
    assert not (data_dir / "sessions" / "b.json").exists()


def test_a_handoff_is_announced_and_the_new_agent_speaks(term, server: FakeOpenAI, tmp_path: Path) -> None:
    from agencies import HANDOFF
    from fake_openai import ToolCall

    spec = f"{write_agency(tmp_path, HANDOFF)}:create_agency"
    server.push(
        Reply(tool_calls=[ToolCall("transfer_to_Billing", {"recipient_agent": "Billing"})]),
        Reply("Billing here: your invoice is paid."),
    )
    t = term("new", "hand", "--agency", spec, "--base-url", server.url)
    t.prompt("Desk")
    t.line("Is my invoice paid?")
    screen = t.expect("your invoice is paid.")
    t.prompt()
    assert screen.count("⇢ Desk hands the conversation to Billing") == 1, screen
    assert re.search(r"^Billing$", screen, re.MULTILINE), screen  # the new agent's header
    assert "You are Billing." in server.last.instructions
    t.exit()
