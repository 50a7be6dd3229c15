"""The REPL's slash commands: their names, help, argument parsing and completion (no behaviour)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str


COMMANDS = [
    Command("help", "", "show this help"),
    Command("exit", "", "leave (Ctrl-D does too); the session is saved"),
    Command("agents", "", "list the agency's agents"),
    Command("agent", "NAME", "send your messages to NAME from now on"),
    Command("history", "[N]", "show the last N turns (default 5)"),
    Command("undo", "", "remove the last turn from the session"),
    Command("retry", "", "ask the last message again"),
    Command("rename", "NEW", "rename this session"),
    Command("export", "[FILE]", "write the session to a JSON file (default NAME.json)"),
    Command("status", "", "messages, tokens, cost and model"),
    Command("model", "[NAME]", "show or change the model of every agent"),
    Command("compact", "[INSTRUCTIONS]", "summarize the history (the original is kept as a fork)"),
    Command("copy", "", "copy the last reply to the clipboard (OSC 52, works over ssh)"),
    Command("clear", "", "start the session over (asks first)"),
]
BY_NAME = {c.name: c for c in COMMANDS} | {"quit": Command("quit", "", "same as /exit")}


@dataclass(frozen=True)
class Parsed:
    name: str
    arg: str


def parse(line: str) -> Parsed | None:
    """`/name rest` as a command, or None if the line is a message (`//x` sends '/x')."""
    if not line.startswith("/") or line.startswith("//"):
        return None
    head, _, rest = line[1:].partition(" ")
    return Parsed(head.strip().lower(), rest.strip())


def message_text(line: str) -> str:
    return line[1:] if line.startswith("//") else line


def split_address(line: str, agents: Iterable[str]) -> tuple[str | None, str]:
    """`@Agent text` -> (Agent, text) when Agent is one of `agents` (case-insensitive)."""
    if not line.startswith("@"):
        return None, line
    head, _, rest = line[1:].partition(" ")
    for agent in agents:
        if agent.lower() == head.lower():
            return agent, rest.strip()
    return None, line


class ChatCompleter(Completer):
    """Completes /commands, agent names after /agent, and @Agent at the start of a message."""

    def __init__(self, agents: Callable[[], list[str]]) -> None:
        self.agents = agents

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        if "\n" in text:
            return
        if text.startswith("/agent "):
            word = text[len("/agent ") :]
            yield from self._names(word, prefix="")
        elif text.startswith("/") and " " not in text:
            for command in COMMANDS:
                if command.name.startswith(text[1:]):
                    yield Completion(f"/{command.name}", -len(text), display_meta=command.help)
        elif text.startswith("@") and " " not in text:
            yield from self._names(text[1:], prefix="@")

    def _names(self, word: str, prefix: str) -> Iterable[Completion]:
        for agent in self.agents():
            if agent.lower().startswith(word.lower()):
                yield Completion(f"{prefix}{agent}", -len(word) - len(prefix))
