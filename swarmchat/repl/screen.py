"""The prompt: input history, keys, completion, toolbar, and keys typed during a reply."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input.typeahead import store_typeahead
from prompt_toolkit.input.vt100_parser import Vt100Parser
from prompt_toolkit.key_binding import KeyBindings, KeyPress, KeyPressEvent

from swarmchat.attachments import files_count
from swarmchat.store import data_dir


def history_file(name: str) -> Path:
    """The per-session input history (0600 in a 0700 dir): up-arrow recalls earlier runs."""
    folder = data_dir() / "history"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return path


class InputHistory(FileHistory):
    """A FileHistory that a full disk cannot break: the line is still recalled in this run, and the
    failure is reported once instead of surfacing inside prompt-toolkit's event loop."""

    def __init__(self, path: Path, failed: Callable[[OSError], None]) -> None:
        super().__init__(str(path))
        self.failed = failed

    def store_string(self, string: str) -> None:
        try:
            super().store_string(string)
        except OSError as exc:
            self.failed(exc)


def input_history(name: str, failed: Callable[[OSError], None]) -> History:
    try:
        return InputHistory(history_file(name), failed)
    except OSError as exc:
        failed(exc)
        return InMemoryHistory()


def move_history(old: str, new: str, failed: Callable[[OSError], None]) -> History:
    """The input history follows a renamed session."""
    with contextlib.suppress(OSError):
        history_file(old).replace(history_file(new))
    return input_history(new, failed)


def use_history(prompt: PromptSession[str], history: History) -> None:
    """Recall and record lines in `history` from the next prompt on (the prompt's input buffer holds
    its own reference, and the lines it loaded from the old one)."""
    prompt.history = history
    prompt.default_buffer.history = history
    prompt.default_buffer.reset()


def key_bindings() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("enter")
    def _submit(event: KeyPressEvent) -> None:
        event.current_buffer.validate_and_handle()

    @keys.add("escape", "enter")
    @keys.add("c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return keys


def make_prompt(history: History, completer: Completer, toolbar: Callable[[], FormattedText]) -> PromptSession[str]:
    return PromptSession(
        history=history,
        multiline=True,
        key_bindings=key_bindings(),
        completer=completer,
        complete_while_typing=True,
        enable_open_in_editor=True,
        bottom_toolbar=toolbar,
        refresh_interval=0.5,
        prompt_continuation=lambda width, line, wrap: " " * (width - 2) + "… ",
    )


CONTEXT_WARNING = 0.8
"""Warn once the last turn filled this share of the model's context window."""


def toolbar_text(
    name: str,
    recipient: str,
    model: str,
    tokens: int,
    loading: bool,
    attached: int = 0,
    context: float | None = None,
    width: int = 200,
    budget: tuple[float, float] | None = None,
) -> FormattedText:
    """The bottom line. On a narrow screen the key hints go first, then the session's name and the
    agent's and model's are cut (with an ellipsis); the numbers are never cut."""
    state = "  loading agency…" if loading else ""
    files = [("bold", f"  📎 {files_count(attached)}")] if attached else []
    warning = []
    if context is not None and context >= CONTEXT_WARNING:
        warning = [("", "  "), ("bg:ansiyellow fg:ansiblack bold", f" context {context:.0%} "), ("", " /compact")]
    hints = "   /help  Esc-Enter newline  Ctrl-D quit"
    numbers = f"  ·  {tokens:,} tokens{state}"
    money = []
    if budget is not None:  # `$spent / $cap`, highlighted from 80 % of the cap on
        from swarmchat.budget import WARN_AT, dollars

        shown = f" {dollars(budget[0])} / {dollars(budget[1])} "
        money = [("", "  "), ("bg:ansiyellow fg:ansiblack bold" if budget[0] >= WARN_AT * budget[1] else "", shown)]
    fixed = sum(len(text) for _, text in [*money, *files, *warning]) + len(numbers) + len(" ") * 2 + len(" → ")
    fixed += len("  ·  ")
    if fixed + len(name) + len(recipient) + len(model) + len(hints) > width:
        hints = ""
        tenth = max(width - fixed, 12) / 10
        name, recipient, model = _cut(name, 4 * tenth), _cut(recipient, 3 * tenth), _cut(model, 3 * tenth)
    return FormattedText(
        [("bold", f" {name} "), ("", f" → {recipient}  ·  {model}{numbers}"), *money, *files, *warning, ("", hints)]
    )


def _cut(text: str, room: float) -> str:
    width = max(int(room), 4)
    return text if len(text) <= width else text[: width - 1] + "…"


def prompt_text(recipient: str) -> FormattedText:
    return FormattedText([("ansicyan bold", f"{recipient} › ")])


def type_ahead(prompt: PromptSession[str], typed: bytes) -> None:
    """Keys typed during a reply (read to watch for Esc) go to the next prompt, as if never read."""
    if not typed:
        return
    keys: list[KeyPress] = []
    parser = Vt100Parser(keys.append)
    parser.feed(typed.decode("utf-8", "replace"))
    parser.flush()
    store_typeahead(prompt.input, keys)
