"""Completion derived from the command registry: /commands, their arguments, and @Agent names."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from swarmchat.repl.registry import Command, all_commands, find


class ChatCompleter(Completer):
    """`/` offers every command; `/cmd ` offers what that command's `complete` lists; `@` the agents."""

    def __init__(self, arguments: Callable[[Command], Iterable[str]], agents: Callable[[], list[str]]) -> None:
        self.arguments = arguments
        self.agents = agents

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        if "\n" in text:
            return
        if text.startswith("/") and " " in text:
            head, _, word = text[1:].partition(" ")
            entry = find(head.lower())
            if entry is not None and entry.complete is not None:
                yield from _starting(self.arguments(entry), word, prefix="")
        elif text.startswith("/"):
            for entry in all_commands():
                if entry.name.startswith(text[1:].lower()):
                    yield Completion(f"/{entry.name}", -len(text), display_meta=entry.help)
        elif text.startswith("@") and " " not in text:
            yield from _starting(self.agents(), text[1:], prefix="@")


def _starting(candidates: Iterable[str], word: str, prefix: str) -> Iterable[Completion]:
    for candidate in candidates:
        if candidate.lower().startswith(word.lower()):
            yield Completion(f"{prefix}{candidate}", -len(word) - len(prefix))
