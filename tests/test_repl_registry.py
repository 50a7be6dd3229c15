"""The REPL's command registry: every command declared once, documented, listed by /help, completed."""

from __future__ import annotations

import io
import re

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from rich.console import Console

import swarmchat.repl.commands  # noqa: F401  (registers every command)
from swarmchat.repl.completion import ChatCompleter
from swarmchat.repl.lines import parse
from swarmchat.repl.registry import all_commands, find, show_help

REQUIRED = [
    "help",
    "exit",
    "agents",
    "agent",
    "history",
    "undo",
    "retry",
    "rename",
    "export",
    "status",
    "model",
    "clear",
    "compact",
    "copy",
]


def completions(text: str, agents: list[str] | None = None) -> list[str]:
    completer = ChatCompleter(lambda entry: agents or [] if entry.complete else [], lambda: agents or [])
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent(completion_requested=True))]


def test_every_command_has_help_and_a_handler_and_the_design_list_is_there() -> None:
    entries = all_commands()
    assert {e.name for e in entries} >= set(REQUIRED)
    names = [name for e in entries for name in (e.name, *e.aliases)]
    assert len(names) == len(set(names))  # declared once
    for entry in entries:
        assert entry.help.strip(), entry.name
        assert callable(entry.handler)
        assert find(entry.name) is entry and all(find(alias) is entry for alias in entry.aliases)
    assert find("quit") is find("exit")


def test_help_lists_every_registered_command() -> None:
    out = io.StringIO()
    show_help(Console(file=out, width=200, color_system=None))
    shown = out.getvalue()
    for entry in all_commands():
        assert re.search(rf"^ *{re.escape(entry.usage)} +\S", shown, re.MULTILINE), entry.usage
        for alias in entry.aliases:
            assert f"/{alias}" in shown
    assert "Esc" in shown and "Ctrl-C" in shown


def test_completion_offers_every_command_and_their_arguments() -> None:
    assert sorted(completions("/")) == sorted(f"/{e.name}" for e in all_commands())
    assert completions("/re") == [f"/{e.name}" for e in all_commands() if e.name.startswith("re")]
    assert completions("/agent re", ["Lead", "Researcher"]) == ["Researcher"]
    assert completions("@l", ["Lead", "Researcher"]) == ["@Lead"]
    assert completions("/history ", ["Lead"]) == []  # no argument list for /history
    assert completions("hello /") == []


def test_a_line_is_a_command_or_a_message() -> None:
    assert parse("/Rename  new-name ") == parse("/rename new-name")
    assert parse("//not a command") is None and parse("plain") is None
