"""Completion derived from the command registry: /commands, their arguments, and @Agent names."""

from __future__ import annotations

import shlex
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
            if entry is not None and isinstance(entry.complete, Completer):
                yield from _last_word(entry.complete, word, complete_event)
            elif entry is not None and entry.complete is not None:
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


def _last_word(completer: Completer, args: str, event: CompleteEvent) -> Iterable[Completion]:
    """Complete the last shell word of `args` (quotes as `shlex` reads them) with `completer`; a
    completed path with spaces is quoted, so that the command reads it back as one word."""
    word = _word_at_end(args)
    path, quoted = _unquoted(word)
    for found in completer.get_completions(Document(path), event):
        full = path[: len(path) + found.start_position] + found.text
        if quoted or shlex.quote(full) == full:
            yield Completion(found.text, found.start_position, display=found.display)
        else:
            yield Completion(shlex.quote(full), -len(word), display=found.display)


def _word_at_end(text: str) -> str:
    """The word being typed at the end of `text`: after the last space outside quotes."""
    quote = ""
    start = 0
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char.isspace():
            start = index + 1
    return text[start:]


def _unquoted(word: str) -> tuple[str, bool]:
    """The path `word` spells, and whether a quote is still open in it."""
    for closing in ("", "'", '"'):
        try:
            parts = shlex.split(word + closing)
        except ValueError:
            continue
        return (parts[0] if parts else ""), bool(closing)
    return word, False
