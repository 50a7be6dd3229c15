"""The REPL's slash commands, each declared once: name, aliases, arguments, help, completion, handler.

A command module declares its commands with `@command(...)`; `/help`, the completion menu and the
dispatch all read this one registry. A handler gets a `ReplContext` (what a command may use of the REPL).
Importing `swarmchat.repl.commands` registers them all: `run_repl` does, before the loop starts; the
registry itself imports no command, so nothing here points back up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prompt_toolkit.completion import Completer
from rich.console import Console
from rich.table import Table

from swarmchat.safe_text import text_line

if TYPE_CHECKING:
    from swarmchat.repl.context import ReplContext

Handler = Callable[["ReplContext", str], Awaitable[bool | None]]
"""Runs the command with its argument text; returns False to leave the REPL."""

Arguments = Callable[["ReplContext"], Iterable[str]]
"""What the argument may be (agent names...), for completion."""

ArgumentCompletion = Arguments | Completer
"""A command's completion: the words its argument may be, or a prompt_toolkit Completer for its
last word (file paths: `PathCompleter`)."""


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    complete: ArgumentCompletion | None = None

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()


COMMANDS: list[Command] = []
"""Every command, in the order /help shows them."""
_BY_NAME: dict[str, Command] = {}

KEYS = [
    ("@Agent text", "send one message to another agent"),
    ("Esc-Enter, Ctrl-J", "new line; Ctrl-X Ctrl-E edits in $EDITOR"),
    ("Ctrl-C, Esc", "stop a reply (it is kept, marked interrupted); Ctrl-C also clears the line"),
]


def command(
    name: str, args: str, help: str, *, aliases: tuple[str, ...] = (), complete: ArgumentCompletion | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated coroutine as `/name` (and its aliases)."""

    def register(handler: Handler) -> Handler:
        entry = Command(name, args, help, handler, aliases, complete)
        for key in (name, *aliases):
            if key in _BY_NAME:
                raise ValueError(f"/{key} is declared twice")
            _BY_NAME[key] = entry
        COMMANDS.append(entry)
        return handler

    return register


def find(name: str) -> Command | None:
    """The command called `name` (or one of its aliases), if any."""
    _loaded()
    return _BY_NAME.get(name)


def all_commands() -> list[Command]:
    _loaded()
    return list(COMMANDS)


def _loaded() -> None:
    if not COMMANDS:  # a bug: every command would be "unknown"
        raise RuntimeError("no REPL command is registered: import swarmchat.repl.commands first")


def show_help(console: Console) -> None:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for entry in all_commands():
        also = ", ".join(f"/{alias}" for alias in entry.aliases)
        # plain text: an argument such as [on|off] is not rich markup
        table.add_row(text_line(entry.usage), text_line(entry.help + (f" (also {also})" if also else "")))
    for keys, what in KEYS:
        table.add_row(keys, what)
    if not console.is_terminal:
        console.print(table)
        return
    from swarmchat.pager import ScreenPager

    with console.pager(ScreenPager(console), styles=True):  # paged when taller than the screen
        console.print(table)
