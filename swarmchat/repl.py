"""The interactive chat: a prompt-toolkit prompt over a session, replies drawn by stream_view.

The prompt is up at once: agency-swarm's import and the agency's construction run in a worker
thread, and a message sent before they finish waits for them behind a spinner. Ctrl-C during a
reply cancels the turn task (the partial reply is stored, marked as interrupted); Ctrl-C at the
prompt clears the line; Ctrl-D leaves.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from rich.console import Console
from rich.table import Table
from rich.text import Text

from swarmchat import slash
from swarmchat.errors import AgencyLoadError, SwarmchatError
from swarmchat.names import validate_name
from swarmchat.render import show_entries
from swarmchat.session import Item, SessionMeta, item_text
from swarmchat.store import OpenSession, SessionStore, data_dir
from swarmchat.stream_view import TurnView, error_line
from swarmchat.terminal_modes import streaming_input
from swarmchat.transcript import turns

if TYPE_CHECKING:
    from swarmchat.agency import Binding

RESUME_TURNS = 3


def run_repl(store: SessionStore, name: str, *, create: SessionMeta | None, agency: str | None) -> None:
    session = store.open(name, create=create)
    try:
        repl = Repl(store, session, agency, Console(highlight=False, no_color="NO_COLOR" in os.environ or None))
        asyncio.run(repl.run())
    finally:
        session.close()


def history_file(name: str) -> Path:
    """The per-session input history (0600 in a 0700 dir): up-arrow recalls earlier runs."""
    folder = data_dir() / "history"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    return path


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens


def last_user_index(items: list[Item]) -> int | None:
    """Where the last turn starts: the last message the user typed."""
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if item.get("role") == "user" and item.get("callerAgent") is None and item.get("type") in (None, "message"):
            return index
    return None


def last_reply(items: list[Item]) -> str:
    for item in reversed(items):
        if item.get("role") == "assistant" and item.get("callerAgent") is None:
            text = item_text(item)
            if text:
                return text
    return ""


class Repl:
    def __init__(self, store: SessionStore, session: OpenSession, agency: str | None, console: Console) -> None:
        self.store = store
        self.session = session
        self.agency_spec = agency
        self.console = console
        self.usage = Usage()
        self.binding: Binding | None = None
        self._binding_future: Future[Binding] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swarmchat-agency")
        self._task: asyncio.Task[Any] | None = None
        self.prompt: PromptSession[str] = PromptSession(
            history=FileHistory(str(history_file(self.meta.name))),
            multiline=True,
            key_bindings=self._keys(),
            completer=slash.ChatCompleter(self.agent_names),
            complete_while_typing=True,
            enable_open_in_editor=True,
            bottom_toolbar=self._toolbar,
            refresh_interval=0.5,
            prompt_continuation=lambda width, line, wrap: " " * (width - 2) + "… ",
        )
        self.commands: dict[str, Callable[[str], Awaitable[bool | None]]] = {
            "help": self.cmd_help,
            "exit": self.cmd_exit,
            "quit": self.cmd_exit,
            "agents": self.cmd_agents,
            "agent": self.cmd_agent,
            "history": self.cmd_history,
            "undo": self.cmd_undo,
            "retry": self.cmd_retry,
            "rename": self.cmd_rename,
            "export": self.cmd_export,
            "status": self.cmd_status,
            "model": self.cmd_model,
            "compact": self.cmd_compact,
            "copy": self.cmd_copy,
            "clear": self.cmd_clear,
        }

    @property
    def meta(self) -> SessionMeta:
        return self.session.meta

    # the agency, built in the background ---------------------------------------------------
    def start_binding(self) -> None:
        from swarmchat.agency import bind  # light: agency.py imports agency-swarm only inside bind()

        self._binding_future = self._executor.submit(bind, self.meta, self.session, self.agency_spec)
        loop = asyncio.get_running_loop()
        self._binding_future.add_done_callback(lambda _: loop.call_soon_threadsafe(self._bound))

    def _bound(self) -> None:
        """The agency is built (or failed): show it in the prompt, or leave with its error."""
        assert self._binding_future is not None
        error = self._binding_future.exception()
        app = self.prompt.app
        if error is not None:
            if app.is_running:
                app.exit(exception=error)  # a bad SPEC: the CLI prints the one-line error
            return
        self.binding = self._binding_future.result()
        if self.binding.replay_problems and app.is_running:
            run_in_terminal(self._warn)
        else:
            self._warn()
        app.invalidate()

    def _warn(self) -> None:
        assert self.binding is not None
        for problem in self.binding.replay_problems:
            self.console.print(Text(f"warning: {problem}", style="yellow"))
        self.binding.replay_problems = []

    async def ready(self) -> Binding:
        """The bound agency, waiting (with a spinner) if it is still being built."""
        if self.binding is not None:
            return self.binding
        assert self._binding_future is not None
        future = asyncio.wrap_future(self._binding_future)
        if not future.done():
            with self.console.status("[dim]loading the agency…[/dim]", spinner="dots"):
                await asyncio.shield(future)
        self.binding = future.result()
        self._warn()
        return self.binding

    def agent_names(self) -> list[str]:
        return self.binding.agent_names if self.binding else []

    def recipient(self) -> str:
        if self.meta.recipient:
            return self.meta.recipient
        return self.binding.entry_agent if self.binding else "…"

    def items(self) -> list[Item]:
        return self.binding.live_items() if self.binding else self.session.items()

    # the screen ------------------------------------------------------------------------------
    def _toolbar(self) -> FormattedText:
        model = self.meta.model or (self.binding and self._agent_model()) or "default model"
        state = "" if self.binding else "  loading agency…"
        return FormattedText(
            [
                ("bold", f" {self.meta.name} "),
                ("", f" → {self.recipient()}  ·  {model}  ·  {self.session_usage().total:,} tokens{state}"),
                ("", "   /help  Esc-Enter newline  Ctrl-D quit"),
            ]
        )

    def session_usage(self) -> Usage:
        """Tokens of every turn of the session, in all runs (stored with each turn)."""
        return Usage(self.meta.input_tokens, self.meta.output_tokens)

    def _agent_model(self) -> str:
        return self.binding.model_name(self.recipient()) if self.binding else ""

    def _keys(self) -> KeyBindings:
        keys = KeyBindings()

        @keys.add("enter")
        def _submit(event: KeyPressEvent) -> None:
            event.current_buffer.validate_and_handle()

        @keys.add("escape", "enter")
        @keys.add("c-j")
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        return keys

    def greet(self) -> None:
        items = self.session.items()
        if items:
            shown = [entry for turn in turns(items)[-RESUME_TURNS:] for entry in turn]
            self.console.rule(f"[bold]{self.meta.name}[/bold] [dim]{self.meta.title}[/dim]")
            show_entries(self.console, shown)
            self.console.rule(style="dim")
        else:
            self.console.print(f"[bold]{self.meta.name}[/bold] [dim]— new session. /help for commands.[/dim]")

    # the loop --------------------------------------------------------------------------------
    async def run(self) -> None:
        self.greet()
        self.start_binding()
        try:
            while True:
                try:
                    line = await self.prompt.prompt_async(self._prompt_text)
                except KeyboardInterrupt:
                    continue  # Ctrl-C at the prompt clears the line
                except EOFError:
                    break
                if not await self.handle(line):
                    break
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _prompt_text(self) -> FormattedText:
        return FormattedText([("ansicyan bold", f"{self.recipient()} › ")])

    async def handle(self, line: str) -> bool:
        """Act on one input line; False to leave."""
        if not line.strip():
            return True
        command = slash.parse(line)
        if command is None:
            await self.guarded(self.send(slash.message_text(line)))
            return True
        action = self.commands.get(command.name)
        if action is None:
            error_line(self.console, f"unknown command '/{command.name}'; /help lists the commands")
            return True
        result = await self.guarded(action(command.arg))
        return result is not False

    async def guarded(self, work: Awaitable[bool | None]) -> bool | None:
        """Run a command or a turn so that Ctrl-C cancels it and errors are one red line."""
        task: asyncio.Task[bool | None] = asyncio.ensure_future(work)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            with streaming_input():
                return await task
        except asyncio.CancelledError:
            return None
        except AgencyLoadError:
            raise  # the agency cannot be built: leave with its one-line error
        except SwarmchatError as exc:
            error_line(self.console, str(exc))
            return None
        except Exception as exc:  # a bug must not take the open session down with it
            error_line(self.console, f"unexpected {type(exc).__name__}: {exc} (please report it; the session is saved)")
            return None
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    async def send(self, text: str, recipient: str | None = None) -> None:
        binding = await self.ready()
        address, text = slash.split_address(text, binding.agent_names)
        if not text.strip():
            error_line(self.console, "the message is empty; type something after @Agent")
            return
        await self.turn(binding, text, address or recipient or self.meta.recipient)

    async def turn(self, binding: Binding, text: str, recipient: str | None) -> None:
        view = TurnView(self.console)
        try:
            async for event in binding.turn(text, recipient):
                view.show(event)
        except asyncio.CancelledError:
            view.close(interrupted=True)
            raise
        view.close()
        if view.done is not None:
            self.usage.input_tokens += view.done.input_tokens
            self.usage.output_tokens += view.done.output_tokens
        for problem in binding.save_errors:
            error_line(self.console, f"could not save the session: {problem}")
        binding.save_errors.clear()

    # slash commands ---------------------------------------------------------------------------
    async def cmd_help(self, arg: str) -> None:
        table = Table(show_header=False, box=None, padding=(0, 2))
        for command in slash.COMMANDS:
            table.add_row(f"/{command.name} {command.args}".rstrip(), command.help)
        table.add_row("@Agent text", "send one message to another agent")
        table.add_row("Esc-Enter, Ctrl-J", "new line; Ctrl-X Ctrl-E edits in $EDITOR")
        table.add_row("Ctrl-C", "stop a reply (it is kept, marked interrupted); clear the line")
        self.console.print(table)

    async def cmd_exit(self, arg: str) -> bool:
        return False

    async def cmd_agents(self, arg: str) -> None:
        binding = await self.ready()
        current = self.recipient()
        describe = getattr(binding, "describe", None)  # a remote binding (BoundAgency) describes its agents
        for name in binding.agent_names:
            mark = "→" if name == current else " "
            about = describe(name) if describe else str(getattr(binding.agency.agents[name], "description", "") or "")
            self.console.print(Text(f"{mark} {name}", style="bold" if name == current else ""), Text(about, "dim"))

    async def cmd_agent(self, arg: str) -> None:
        binding = await self.ready()
        match = next((n for n in binding.agent_names if n.lower() == arg.lower()), None)
        if match is None:
            names = ", ".join(binding.agent_names)
            error_line(self.console, f"no agent named '{arg}'; the agents are: {names}")
            return
        self.session.update_meta(recipient=match)
        self.console.print(f"[dim]talking to[/dim] [bold]{match}[/bold]")

    async def cmd_history(self, arg: str) -> None:
        count = 5
        if arg:
            if not arg.isdigit():
                error_line(self.console, f"'/history {arg}': give a number of turns, e.g. /history 10")
                return
            count = int(arg)
        shown = [entry for turn in turns(self.items())[-count:] for entry in turn] if count else []
        show_entries(self.console, shown)

    async def cmd_undo(self, arg: str) -> None:
        text = await self.undo()
        if text is not None:
            self.console.print(Text(f"removed the last turn: {slash_flat(text)}", style="dim"))

    async def undo(self) -> str | None:
        binding = await self.ready()
        items = list(binding.live_items())
        start = last_user_index(items)
        if start is None:
            error_line(self.console, "nothing to undo: the session has no messages")
            return None
        text = item_text(items[start])
        binding.set_items(items[:start])
        return text

    async def cmd_retry(self, arg: str) -> None:
        binding = await self.ready()
        items = binding.live_items()
        start = last_user_index(items)
        if start is None:
            error_line(self.console, "nothing to retry: the session has no messages")
            return
        agent = items[start].get("agent")
        text = await self.undo()
        if text is not None:
            self.console.print(Text(f"asking again: {slash_flat(text)}", style="dim"))
            await self.turn(binding, text, agent if isinstance(agent, str) else None)

    async def cmd_rename(self, arg: str) -> None:
        if not arg:
            error_line(self.console, "give the new name: /rename NEW")
            return
        new = validate_name(arg)
        binding = await self.ready()
        old = self.meta.name
        if self.store.exists(new):
            error_line(self.console, f"a session named '{new}' already exists; pick another name")
            return
        existed = self.store.exists(old)
        meta = replace(self.meta, name=new)
        self.session.close()
        try:
            if existed:
                self.store.rename(old, new)
            self.session = self.store.open(new) if existed else self.store.open(new, create=meta)
        except SwarmchatError:
            self.session = self.store.open(old) if existed else self.store.open(old, create=replace(meta, name=old))
            binding.session = self.session
            raise
        binding.session = self.session
        with contextlib.suppress(OSError):
            history_file(old).replace(history_file(new))
        self.prompt.history = FileHistory(str(history_file(new)))
        self.console.print(f"[dim]renamed[/dim] {old} [dim]→[/dim] [bold]{new}[/bold]")

    async def cmd_export(self, arg: str) -> None:
        from swarmchat.lifecycle import export_json

        if not self.store.exists(self.meta.name):
            error_line(self.console, "nothing to export yet: the session has no messages")
            return
        path = Path(arg or f"{self.meta.name}.json").expanduser()
        data = export_json(self.store, self.meta.name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
        except OSError as exc:
            error_line(self.console, f"cannot write {path}: {exc.strerror}; give another path: /export FILE")
            return
        self.console.print(f"[dim]exported to[/dim] {path}")

    async def cmd_status(self, arg: str) -> None:
        binding = await self.ready()
        model = self.meta.model or self._agent_model()
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_row("session", self.meta.name)
        table.add_row("agency", self.meta.agency or "(built-in)")
        table.add_row("talking to", self.recipient())
        table.add_row("model", model + (f" at {self.meta.base_url}" if self.meta.base_url else ""))
        table.add_row("messages", str(len(binding.live_items())))
        for label, usage in (("session", self.session_usage()), ("this run", self.usage)):
            table.add_row(f"tokens ({label})", f"{usage.input_tokens:,} in, {usage.output_tokens:,} out")
            table.add_row(f"cost ({label})", cost_line(model, usage))
        self.console.print(table)

    async def cmd_model(self, arg: str) -> None:
        binding = await self.ready()
        if not arg:
            self.console.print(self.meta.model or f"{self._agent_model()} [dim](the agency's own)[/dim]")
            return
        from swarmchat.agency import configure_models

        if not hasattr(binding, "agency"):
            binding.set_model(arg)  # type: ignore[attr-defined]  # remote (BoundAgency): refuses in one line
        self.session.update_meta(model=arg)
        configure_models(binding.agency, self.meta)
        self.console.print(f"[dim]every agent now uses[/dim] [bold]{arg}[/bold]")

    async def cmd_compact(self, arg: str) -> None:
        from swarmchat.compact import compact

        binding = await self.ready()
        if not binding.live_items():
            error_line(self.console, "nothing to compact: the session has no messages")
            return
        with self.console.status("[dim]summarizing…[/dim]", spinner="dots"):
            kept = await compact(self.store, binding, self.meta, arg)
        self.console.print(f"[dim]history summarized; the full original is kept as[/dim] [bold]{kept}[/bold]")

    async def cmd_copy(self, arg: str) -> None:
        text = last_reply(self.items())
        if not text:
            error_line(self.console, "nothing to copy yet: no reply in this session")
            return
        payload = base64.b64encode(text.encode()).decode()
        sys.stdout.write(f"\x1b]52;c;{payload}\x07")
        sys.stdout.flush()
        self.console.print(f"[dim]copied the last reply ({len(text)} characters)[/dim]")

    async def cmd_clear(self, arg: str) -> None:
        binding = await self.ready()
        count = len(binding.live_items())
        if not count:
            self.console.print("[dim]the session is already empty[/dim]")
            return
        question = f"Delete all {count} messages of '{self.meta.name}'? [y/N] "
        try:
            answer = await PromptSession[str]().prompt_async(question)
        except (KeyboardInterrupt, EOFError):
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            self.console.print("[dim]kept[/dim]")
            return
        binding.set_items([])
        self.console.print("[dim]the session starts over[/dim]")


def slash_flat(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def cost_line(model: str, usage: Usage) -> str:
    from swarmchat.agency import price_per_token

    prices = price_per_token(model)
    if prices is None:
        return f"unknown (no price for '{model}' in agency-swarm's table)"
    cost = usage.input_tokens * prices[0] + usage.output_tokens * prices[1]
    return f"${cost:.4f}" if cost >= 0.01 else f"${cost:.6f}"  # a few turns cost fractions of a cent
