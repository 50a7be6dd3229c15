"""The REPL's loop and its wiring: read a line, run it as a command or a turn, report what failed.

Ctrl-C or Esc during a reply cancels the turn task (the partial reply is stored, marked as
interrupted); SIGTERM and SIGHUP do the same, then the REPL leaves; Ctrl-C at the prompt clears
the line; Ctrl-D leaves.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable
from typing import Any

from prompt_toolkit.formatted_text import FormattedText
from rich.console import Console

import swarmchat.repl.lines as lines
import swarmchat.repl.screen as screen
from swarmchat.attachments import Attachment, files_count, user_message
from swarmchat.bound import BoundAgency, LiveSession, Message
from swarmchat.budget import toolbar_budget
from swarmchat.errors import AgencyLoadError, AgencyMissing, StoreUnavailable, SwarmchatError, UsageError
from swarmchat.events import Usage as CallUsage
from swarmchat.item_view import draw
from swarmchat.repl.background import AgencyLoader
from swarmchat.repl.completion import ChatCompleter
from swarmchat.repl.registry import Command, find
from swarmchat.repl.usage import Usage
from swarmchat.safe_text import say
from swarmchat.session import Item, SessionMeta
from swarmchat.store import OpenSession, SessionStore
from swarmchat.stream_view import TurnView, error_line, pieces
from swarmchat.terminal_modes import streaming_input, watching_keys
from swarmchat.transcript import turns

RESUME_TURNS = 3
LEAVING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Repl:
    """The chat's loop and state; slash commands see it only as a `ReplContext` (context.py)."""

    def __init__(self, store: SessionStore, session: OpenSession, agency: str | None, console: Console) -> None:
        self.store = store
        self.agency_spec = agency
        self.console = console
        self.usage = Usage()
        self.context_used: float | None = session.meta.context_used
        """How full the context window was at the last turn's largest model call (None: unknown window)."""
        self.leaving: int | None = None
        """The signal (SIGTERM, SIGHUP) that asked the REPL to leave, if one did."""
        self.live = LiveSession(session)
        """The open session every save goes to, the binding's too (/rename switches what it holds)."""
        self.pending: list[Attachment] = []
        """Files attached (/attach) to go with the next message."""
        self._task: asyncio.Task[Any] | None = None
        self._draft = ""  # a message stopped before it was sent, back at the next prompt
        self._history_broken = False
        completer = ChatCompleter(self._arguments, self.agent_names)
        history = screen.input_history(session.meta.name, self.history_failed)
        self.prompt = screen.make_prompt(history, completer, self._toolbar)
        self.loader = AgencyLoader(console, self.prompt.app)

    # what the commands use ---------------------------------------------------------------------
    @property
    def binding(self) -> BoundAgency | None:
        return self.loader.binding

    @property
    def meta(self) -> SessionMeta:
        return self.live.meta

    async def ready(self) -> BoundAgency:
        return await self.loader.ready()

    def agent_names(self) -> list[str]:
        return self.binding.agent_names if self.binding else []

    def recipient(self) -> str:
        """The agent messages go to: chosen with /agent, else the agency's entry agent; while the agency
        builds, the agent the session's messages mostly went to (stored with them)."""
        if self.meta.recipient:
            return self.meta.recipient
        if self.binding:
            return self.binding.entry_agent
        return lines.usual_recipient(self.live.session.items()) or "…"

    def items(self) -> list[Item]:
        return self.binding.live_items() if self.binding else self.live.session.items()

    def agent_model(self) -> str:
        return self.binding.model_name(self.recipient()) if self.binding else ""

    def session_usage(self) -> Usage:
        """Tokens of every turn of the session, in all runs (stored with each turn)."""
        return Usage(self.meta.input_tokens, self.meta.output_tokens)

    def _arguments(self, entry: Command) -> list[str]:
        return list(entry.complete(self)) if callable(entry.complete) else []  # a Completer completes itself

    def update_meta(self, **changes: object) -> None:
        self.live.session.update_meta(**changes)

    async def switch_to(self, name: str, *, create: SessionMeta | None = None) -> bool:
        from swarmchat.repl.switch import switch_to

        return await switch_to(self, name, create=create)

    async def rename(self, new: str) -> None:
        from swarmchat.repl.switch import rename_session

        await rename_session(self, new)

    def history_failed(self, exc: OSError) -> None:
        if not self._history_broken:  # once: it would fail for every line
            self._history_broken = True
            self.live.failed(OSError(exc.errno, f"input history: {exc.strerror}"))

    # the screen ------------------------------------------------------------------------------
    def _toolbar(self) -> FormattedText:
        model = self.meta.model or self.agent_model() or ("…" if self.binding is None else "default model")
        return screen.toolbar_text(
            self.meta.name,
            self.recipient(),
            model,
            self.session_usage().total,
            loading=self.binding is None,
            attached=len(self.pending),
            context=self.context_used,
            width=self.prompt.app.output.get_size().columns,
            budget=toolbar_budget(self.meta, self.binding),
        )

    def greet(self) -> None:
        items = self.live.session.items()
        if items:
            shown = [entry for turn in turns(items)[-RESUME_TURNS:] for entry in turn]
            self.console.rule(say((self.meta.name, "bold"), " ", (self.meta.title, "dim")))
            draw(self.console, shown)
            self.console.rule(style="dim")
        else:
            self.console.print(say((self.meta.name, "bold"), (" — new session. /help for commands.", "dim")))

    def adopt(self, session: OpenSession) -> None:
        """Continue in `session` (open, its lock ours; the caller let the old agency's build end and
        closed the old session): its own LiveSession (the old agency is dropped with the old one),
        its input history, and its agency built in the background as at start-up, from its SPEC."""
        self.loader.abandon()
        self.live = LiveSession(session)
        self.agency_spec = None  # a --agency given at start-up was the old session's (stored in its meta)
        self.usage = Usage()
        self.context_used = session.meta.context_used
        self._history_broken = False
        screen.use_history(self.prompt, screen.input_history(session.meta.name, self.history_failed))
        self.loader = AgencyLoader(self.console, self.prompt.app)
        self.loader.start(self.meta, self.live, None)

    # the loop --------------------------------------------------------------------------------
    async def run(self) -> None:
        self.greet()
        self.loader.start(self.meta, self.live, self.agency_spec)
        loop = asyncio.get_running_loop()
        for signum in LEAVING_SIGNALS:
            loop.add_signal_handler(signum, self._leave, signum)
        try:
            while self.leaving is None:
                try:
                    draft, self._draft = self._draft, ""
                    line = await self.prompt.prompt_async(lambda: screen.prompt_text(self.recipient()), default=draft)
                except KeyboardInterrupt:
                    continue  # Ctrl-C at the prompt clears the line
                except EOFError:
                    break
                if self.leaving is not None or not await self.handle(line):
                    break
            if self.leaving is None and self.store.exists(self.meta.name):
                self.console.print(say(("resume with: ", "dim"), f"swarmchat resume {self.meta.name}"))
        finally:
            for signum in LEAVING_SIGNALS:
                loop.remove_signal_handler(signum)
            self.loader.shutdown()

    def _leave(self, signum: int) -> None:
        """SIGTERM or SIGHUP: stop the reply as Ctrl-C would (the partial is kept), then leave."""
        self.leaving = signum
        if signum == signal.SIGHUP:  # the terminal is gone: what is still printed goes nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.close(devnull)
        if self._task is not None and not self._task.done():
            self._task.cancel()
        elif self.prompt.app.is_running:
            self.prompt.app.exit(exception=EOFError())

    async def handle(self, line: str) -> bool:
        """Act on one input line; False to leave."""
        if not line.strip():
            return True
        parsed = lines.parse(line)
        if parsed is None:
            await self.guarded(self.send(lines.message_text(line)))
            return True
        entry = find(parsed.name)
        if entry is None:
            error_line(self.console, f"unknown command '/{parsed.name}'; /help lists the commands")
            return True
        result = await self.guarded(entry.handler(self, parsed.arg))
        return result is not False

    async def guarded(self, work: Awaitable[bool | None]) -> bool | None:
        """Run a command or a turn so that Ctrl-C cancels it, errors are one red line, and each save
        that failed meanwhile is reported once."""
        self._task = task = asyncio.ensure_future(work)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            with streaming_input():
                return await task
        except asyncio.CancelledError:
            return None
        except AgencyMissing as exc:  # the REPL stays: the stored turns can still be read and exported
            error_line(self.console, str(exc))
            return None
        except AgencyLoadError:
            raise  # the agency cannot be built: leave with its one-line error
        except (OSError, StoreUnavailable) as exc:  # a save that failed (disk full, Redis down)
            self.live.failed(exc)
            return None
        except SwarmchatError as exc:
            error_line(self.console, str(exc))
            return None
        except Exception as exc:  # a bug must not take the open session down with it
            error_line(self.console, f"unexpected {type(exc).__name__}: {exc} (please report it)")
            return None
        finally:
            self._task = None
            loop.remove_signal_handler(signal.SIGINT)
            self.report_failures()

    def report_failures(self) -> None:
        """One red line per save that failed since the last report: what the screen shows is not stored;
        one line for what the store repaired (a vanished session stored again)."""
        for notice in self.live.take_notices():
            self.console.print(say((notice, "yellow")), overflow="fold")
        for cause in self.live.take_errors():
            self.console.print(say((f"not stored: {cause}; the chat goes on", "bold red")), overflow="fold")
        for notice in self.live.take_notices():
            self.console.print(say((notice, "yellow")), overflow="fold")

    def flush(self) -> bool:
        """Before leaving: store what the window shows that a failed save left out (the store was
        away during the last turn); False, said in one line, if that fails too."""
        stored = True
        if self.binding is not None:
            try:
                self.live.session.end_turn(self.binding.live_items())
            except (OSError, SwarmchatError) as exc:
                self.live.failed(exc)
                stored = False
        self.report_failures()
        return stored

    async def send(self, text: str, recipient: str | None = None) -> None:
        try:
            binding = await self.ready()
        except asyncio.CancelledError:  # stopped while the agency loads: the message was never sent
            self._draft = f"/{text}" if text.startswith("/") else text  # as typed (see lines.message_text)
            self.console.print(
                say(("not sent (the agency was still loading): your message is back at the prompt", "yellow"))
            )
            raise
        except AgencyMissing as exc:
            error_line(self.console, f"not sent: {exc}")
            return
        typed = text
        try:
            address, text = lines.split_address(text, binding.agent_names)
        except UsageError as exc:  # an @name that is no agent: nothing is sent
            error_line(self.console, str(exc))
            return
        if address is not None and not typed[1:].lower().startswith(address.lower()):
            self.console.print(say(("to ", "dim"), (address, "bold")))  # a prefix: say whom it went to
        if not text.strip():
            error_line(self.console, "the message is empty; type something after @Agent")
            return
        if not self.pending:
            await self.turn(binding, text, address or recipient or self.meta.recipient)
            return
        files, self.pending = self.pending, []
        message = user_message(text, files)
        try:
            await self.turn(binding, message, address or recipient or self.meta.recipient)
        finally:
            self._unless_stored(message, files)

    def _unless_stored(self, message: list[Item], files: list[Attachment]) -> None:
        """Files whose message never reached the history (the turn failed before agency-swarm kept
        it) stay attached for the next message; once stored, the agency sees them on every turn."""
        content = message[0]["content"]
        if any(item.get("role") == "user" and item.get("content") == content for item in reversed(self.items())):
            return
        self.pending = files + self.pending
        self.console.print(say((f"{files_count(len(files))} still attached for your next message", "dim")))

    async def turn(self, binding: BoundAgency, message: Message, recipient: str | None) -> None:
        """One turn drawn as it streams; Esc (like Ctrl-C) stops it, other keys wait for the next prompt.
        A conversation too long for the model's context window is offered a /compact and sent again."""
        task = asyncio.current_task()
        assert task is not None
        view = TurnView(self.console, show_thinking=self.meta.show_thinking)
        before = len(binding.live_items())
        calls: list[CallUsage] = []
        cancelled = False
        try:
            with watching_keys(task.cancel) as typed:
                try:
                    async for event in binding.turn(message, recipient):
                        for piece in pieces(event):
                            view.show(piece)
                            await asyncio.sleep(0)  # a burst of events (or a huge one) still lets the stop keys in
                        if isinstance(event, CallUsage):
                            calls.append(event)
                            self.usage.input_tokens += event.input_tokens
                            self.usage.output_tokens += event.output_tokens
                finally:
                    screen.type_ahead(self.prompt, bytes(typed.data))
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            view.close(interrupted=cancelled)
            if calls:
                self.context_used = self._context_used(binding, calls)
                if self.context_used != self.meta.context_used:
                    try:  # kept for the toolbar after resume
                        self.live.session.update_meta(context_used=self.context_used)
                    except (OSError, StoreUnavailable) as exc:
                        self.live.failed(exc)  # reported once, with the turn's own save failures
        if view.error is not None and view.error.kind == "context_overflow":
            await self.compact_and_resend(binding, message, recipient, before)

    def _context_used(self, binding: BoundAgency, calls: list[CallUsage]) -> float | None:
        from swarmchat.model_table import context_window

        shares = []
        for call in calls:
            window = context_window(binding.model_name(call.agent))
            if window:
                shares.append(call.input_tokens / window)
        return max(shares) if shares else None

    async def compact_and_resend(
        self, binding: BoundAgency, message: Message, recipient: str | None, before: int
    ) -> None:
        """After a context overflow: on yes, /compact (the original kept as a fork) and send the message
        again. The failed attempt's items go first, so the message is not in the history twice."""
        from swarmchat.compact import compact_now

        if not await self.confirm("compact now and send again? [y/N] "):
            self.console.print(say(("nothing changed; /compact (or a new session) before you send again", "dim")))
            return
        items = binding.live_items()
        if len(items) > before:
            binding.set_items(items[:before])
        if await compact_now(self, ""):
            await self.turn(binding, message, recipient)

    async def confirm(self, question: str) -> bool:
        return (await self.ask(question)).strip().lower() in ("y", "yes")

    async def ask(self, question: str) -> str:
        """One line of answer to `question` ('' for Ctrl-C or Ctrl-D)."""
        from prompt_toolkit import PromptSession

        try:
            return await PromptSession[str]().prompt_async(question)
        except (KeyboardInterrupt, EOFError):
            return ""
