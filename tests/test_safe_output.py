"""Nothing a model, a tool, an imported file or a session file says can drive the terminal.

A hostile reply sets the window title (OSC 0), clears the screen (ED), writes the clipboard
(OSC 52), hides a link's target (OSC 8) and uses the one-character C1 CSI (U+009B). On a terminal
all of it is shown as visible text, never emitted; rich markup in it stays literal. Pipes and
`--json` keep the exact data (JSON escapes the controls, C1 included)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pexpect
import pytest
import zygote
from conftest import ROOT, Run
from fake_openai import FakeOpenAI, Reply
from terminal import ANSI, Terminal

from swarmchat.events import Delegation, MessageDone, TextDelta, ToolCall, ToolOutput, TurnDone, TurnError
from swarmchat.safe_text import StreamGuard, json_dumps, safe_line, safe_markdown, safe_text
from swarmchat.session import SessionMeta
from swarmchat.store import open_store

if TYPE_CHECKING:
    from rich.console import Console

TITLE = "\x1b]0;PWNED-TITLE\x07"
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4K\x07"
LINK = "\x1b]8;;http://evil.example/\x1b\\click here\x1b]8;;\x1b\\"
C1_CSI = "\x9b31m"
HOSTILE = f"[bold red]not markup[/bold red] {TITLE} {CLEAR} {CLIPBOARD} {LINK} {C1_CSI} end."
EMITTED = ("\x1b]0;", "\x1b]52;", "\x1b]8;;http", "\x1b[2J", "\x9b", "PWNED-TITLE\x07")


def assert_nothing_emitted(output: str) -> None:
    for sequence in EMITTED:
        assert sequence not in output, f"{sequence!r} reached the terminal"


def assert_shown_visibly(output: str) -> None:
    seen = ANSI.sub("", output)  # what the user reads: rich's own style codes removed
    assert "␛]0;PWNED-TITLE␇" in seen
    assert "[bold red]not markup[/bold red]" in seen


# --- the sanitizer -------------------------------------------------------------------------------


def test_controls_are_shown_not_obeyed() -> None:
    assert safe_text("plain text\nwith\ttabs") == "plain text\nwith\ttabs"
    assert safe_text(TITLE) == "␛]0;PWNED-TITLE␇"
    assert safe_text(CLEAR) == "␛[2J"
    assert safe_text("a\x9b31mb\x85c") == "a<U+009B>31mb<U+0085>c"
    assert safe_text("\x00\x08\x7f") == "␀␈␡"
    assert safe_text("line\r\nnext") == "line\nnext"  # Windows line ends are line ends
    assert safe_text("safe\rEVIL") == "safe␍EVIL"  # a lone CR cannot overwrite the line
    assert safe_text("\ud800") == "<U+D800>"  # a lone surrogate would crash a UTF-8 console
    assert safe_text("café ☕ 東京 \u202e") == "café ☕ 東京 \u202e"  # text is text; bidi is fine across lines


def test_one_line_contexts_also_flatten_lines_and_show_bidi_overrides() -> None:
    assert safe_line("two\nlines\tand tab") == "two lines and tab"
    assert safe_line("invoice\u202efdp.exe") == "invoice<U+202E>fdp.exe"
    assert safe_line("\u2066iso\u2069") == "<U+2066>iso<U+2069>"
    assert safe_line(TITLE + "x") == "␛]0;PWNED-TITLE␇x"


def test_a_cr_lf_split_across_stream_pieces_stays_a_line_end() -> None:
    guard = StreamGuard()
    assert guard.feed("one\r") + guard.feed("\ntwo\r") + guard.feed("x") + guard.feed("\x1b") + guard.flush() == (
        "one\ntwo␍x␛"
    )


def test_json_escapes_c1_controls_and_keeps_the_data() -> None:
    data = {"text": HOSTILE + "\x7f\x85 café"}
    out = json_dumps(data)
    assert "\\u009b" in out and "\\u0085" in out and "\\u001b" in out and "café" in out
    assert all(not ("\x7f" <= c <= "\x9f") and c != "\x1b" for c in out)
    assert json.loads(out) == data


# --- rendering ------------------------------------------------------------------------------------


def console() -> tuple[Console, io.StringIO]:
    from rich.console import Console

    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=100, highlight=False), buffer


def test_markdown_shows_a_links_target_and_no_hyperlink() -> None:
    con, out = console()
    con.print(safe_markdown("see [the docs](http://evil.example/x) and &#x1b;]0;t&#x07; &#x9b;2J"))
    text = out.getvalue()
    assert "http://evil.example/x" in text  # the target is shown, not hidden in an OSC 8 link
    assert "\x1b]8;" not in text and "\x1b]0;" not in text and "\x9b" not in text


def test_stored_transcripts_and_search_hits_render_safely() -> None:
    from swarmchat.item_view import draw
    from swarmchat.render import transcript
    from swarmchat.search_view import highlighted
    from swarmchat.store.search import Found, Snippet
    from swarmchat.transcript import entries

    items = [
        {"role": "user", "content": f"tell me {TITLE}", "agent": "Assistant"},
        {"type": "function_call", "name": "f", "arguments": json.dumps({"x": CLIPBOARD}), "agent": "Assistant"},
        {"type": "function_call_output", "output": LINK, "agent": "Assistant"},
        {"role": "assistant", "content": HOSTILE, "agent": f"Agent{C1_CSI}"},
    ]
    con, out = console()
    meta = SessionMeta.fresh("evil", title=f"title {TITLE} [bold]x[/bold]")
    transcript(con, meta, items)  # type: ignore[arg-type]
    draw(con, entries(items))  # type: ignore[arg-type]
    hit = Snippet("assistant", f"Agent{CLEAR}", None, [(HOSTILE, False), (TITLE, True)])
    highlighted(con, [Found("evil", meta.title, meta.updated_at, 1.0, [hit])])  # type: ignore[arg-type]
    text = out.getvalue()
    assert_nothing_emitted(text)
    assert_shown_visibly(text)
    assert "[bold]x[/bold]" in text  # the title's markup stays literal


def test_the_streamed_turn_renders_safely() -> None:
    from swarmchat.stream_view import TurnView, error_line

    con, out = console()
    view = TurnView(con)  # type: ignore[arg-type]
    for piece in HOSTILE.split(" "):
        view.show(TextDelta(agent=f"Lead{TITLE}", caller=None, text=piece + " "))
    view.show(MessageDone(agent="Lead", caller=None))
    view.show(Delegation(sender="Lead", recipient=f"R{CLEAR}", message=CLIPBOARD))
    view.show(ToolCall(agent="Lead", caller=None, name=f"tool{C1_CSI}", arguments=LINK))
    view.show(ToolOutput(agent="Lead", caller=None, output=HOSTILE, delegated=True))
    view.show(TurnError(message=f"server said {TITLE}"))
    view.show(TurnDone(text=HOSTILE, agent="Lead", input_tokens=1, output_tokens=1))
    view.close(interrupted=True)
    error_line(con, f"the model API failed: {CLIPBOARD}")  # type: ignore[arg-type]
    text = out.getvalue()
    assert_nothing_emitted(text)
    assert "[bold red]not markup[/bold red]" in text


# --- through the real program ---------------------------------------------------------------------


def store_hostile(name: str = "evil") -> None:
    items = [
        {"role": "user", "content": "Say something", "agent": "Assistant", "callerAgent": None},
        {"role": "assistant", "content": HOSTILE, "agent": "Assistant", "callerAgent": None},
    ]
    open_store().write_new(SessionMeta.fresh(name, title=f"evil {TITLE}{C1_CSI}"), items)


def on_a_pty(*args: str) -> tuple[str, int]:
    """Run `swarmchat ARGS` in a real pseudo-terminal (stdout and stderr both terminals); all it printed."""
    child = zygote.spawn(
        [*args], env={**os.environ, "TERM": "xterm-256color"},
        cwd=str(ROOT), dimensions=(40, 120), encoding="utf-8", timeout=90,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    return child.before, child.exitstatus


@pytest.mark.slow  # starts a process
def test_show_on_a_terminal_emits_no_escape_sequence_from_the_session() -> None:
    store_hostile()
    output, code = on_a_pty("show", "evil")
    assert code == 0, output
    assert_nothing_emitted(output)
    assert_shown_visibly(output)


def test_machine_outputs_keep_the_exact_data(cli: Run, tmp_path: Path) -> None:
    store_hostile()
    shown = cli("show", "evil", "--format", "json")
    listed = cli("list", "--json")
    found = cli("search", "not markup", "--json")
    exported = tmp_path / "evil.json"
    assert cli("export", "evil", "-o", str(exported)).returncode == 0
    piped = cli("show", "evil")  # markdown to a pipe: the exact text
    for out in (shown.stdout, listed.stdout, found.stdout, exported.read_text()):
        assert "\\u009b" in out and "\\u001b" in out
        assert "\x9b" not in out and "\x1b" not in out
    assert json.loads(shown.stdout)["messages"][1]["content"] == HOSTILE
    assert json.loads(listed.stdout)[0]["title"] == f"evil {TITLE}{C1_CSI}"
    snippets = json.loads(found.stdout)[0]["snippets"]
    assert any(TITLE in snippet["text"] for snippet in snippets)  # the matching line, perhaps shortened
    assert HOSTILE in piped.stdout


def test_one_shot_on_a_terminal_shows_the_reply_safely_and_a_pipe_gets_it_exact(cli: Run, server: FakeOpenAI) -> None:
    server.push(Reply(HOSTILE))
    output, code = on_a_pty("new", "evil", "--base-url", server.url, "-m", "hi")
    assert code == 0, output
    assert_nothing_emitted(output)
    assert_shown_visibly(output)

    server.push(Reply(status=400, error=f"bad request {TITLE}{CLIPBOARD}"))
    output, code = on_a_pty("resume", "evil", "-m", "again")
    assert code == 1 and "swarmchat: error:" in output
    assert_nothing_emitted(output)  # a server's error text is a quoted string too

    server.push(Reply(HOSTILE))
    piped = cli("resume", "evil", "-m", "once more")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == HOSTILE + "\n"  # byte-exact data for scripts


def test_the_repl_stream_history_and_resume_replay_emit_nothing(server: FakeOpenAI) -> None:
    t = Terminal("new", "evil", "--base-url", server.url)
    try:
        t.prompt()
        server.push(Reply(HOSTILE, delay=0.01))
        t.line("Say something")
        t.expect("end.")
        t.prompt()
        t.line("/history")
        t.expect("end.")
        t.prompt()
        t.exit()
        assert_nothing_emitted(t.raw)
        assert "[bold red]not markup[/bold red]" in t.text
    finally:
        t.close()
    t = Terminal("resume", "evil")
    try:
        t.prompt()
        assert "[bold red]not markup[/bold red]" in t.text  # the replay of the last turns
        t.exit()
        assert_nothing_emitted(t.raw)
    finally:
        t.close()


@pytest.mark.parametrize("args", [("show", f"bad{TITLE}"), ("search", f"{TITLE}nothing-matches")])
def test_error_and_notice_lines_show_controls_visibly(cli: Run, args: tuple[str, ...]) -> None:
    out = cli(*args)
    assert_nothing_emitted(out.stdout + out.stderr)


def test_the_session_table_shows_titles_and_damage_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    from swarmchat.render import session_table

    monkeypatch.setenv("COLUMNS", "200")
    from swarmchat.store import BadSession

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    good = SessionMeta.fresh("evil", title=f"{TITLE}{C1_CSI} invoice\u202efdp.exe", agency=CLIPBOARD)
    session_table([good, BadSession("bad", "/x", f"line 1: {CLEAR}\nnext")], 2, out)
    text = out.getvalue()
    assert_nothing_emitted(text)
    assert "\u202e" not in text and "<U+202E>" in text  # a one-line context: the override is shown
