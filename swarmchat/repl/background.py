"""The agency, built in a worker thread while the prompt is already up.

agency-swarm's import and the agency's construction take seconds; the user may type meanwhile. A
message sent before the agency is ready waits for it behind a spinner; a SPEC that does not load
ends the REPL with its one-line error, except an agency file or module that is gone (moved, or the
session was made in another folder): the REPL stays open on the stored turns (/export works) and
says in one line how to point the session at it.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import Future, ThreadPoolExecutor

from prompt_toolkit.application import Application, run_in_terminal
from rich.console import Console

from swarmchat.bound import BoundAgency, LiveSession
from swarmchat.errors import AgencyMissing
from swarmchat.safe_text import say
from swarmchat.session import SessionMeta
from swarmchat.stream_view import error_line


class AgencyLoader:
    def __init__(self, console: Console, app: Application[str]) -> None:
        self.console = console
        self.app = app
        self.binding: BoundAgency | None = None
        self._future: Future[BoundAgency] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="swarmchat-agency")
        self._abandoned = False

    def start(self, meta: SessionMeta, live: LiveSession, spec: str | None) -> None:
        from swarmchat.binder import bind  # light: agency-swarm is imported only inside bind()

        self._future = self._executor.submit(bind, meta, live, spec)
        loop = asyncio.get_running_loop()

        def built(_: Future[BoundAgency]) -> None:
            with contextlib.suppress(RuntimeError):  # the REPL left (Ctrl-D) while it was being built
                loop.call_soon_threadsafe(self._bound)

        self._future.add_done_callback(built)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def abandon(self) -> None:
        """The REPL moved to another session (after `settled`): what this loader built is no longer
        the REPL's concern."""
        self._abandoned = True
        self.shutdown()

    async def settled(self) -> None:
        """Wait until a build under way has ended, whatever its outcome: building, the agency may
        still write to its session's meta, so that session is closed (its lock freed) only after."""
        if self._future is None or self._future.done():
            return
        with self.console.status("[dim]finishing the agency being built…[/dim]", spinner="dots"):
            await asyncio.wait([asyncio.wrap_future(self._future)])

    def _bound(self) -> None:
        """The agency is built (or failed): show it in the prompt, or leave with its error."""
        assert self._future is not None
        if self._abandoned:
            return
        error = self._future.exception()
        if isinstance(error, AgencyMissing):
            self._missing(error)
            return
        if error is not None:
            if self.app.is_running:
                self.app.exit(exception=error)  # a bad SPEC: the CLI prints the one-line error
            return
        self.binding = self._future.result()
        if self.binding.replay_problems and self.app.is_running:
            run_in_terminal(self._warn)
        else:
            self._warn()
        self.app.invalidate()

    def _missing(self, error: AgencyMissing) -> None:
        def show() -> None:
            error_line(self.console, str(error))

        if self.app.is_running:
            run_in_terminal(show)
        else:
            show()
        self.app.invalidate()

    def _warn(self) -> None:
        assert self.binding is not None
        for problem in self.binding.replay_problems:
            self.console.print(say((f"warning: {problem}", "yellow")))
        self.binding.replay_problems = []

    async def ready(self) -> BoundAgency:
        """The bound agency, waiting (with a spinner) if it is still being built."""
        if self.binding is not None:
            return self.binding
        assert self._future is not None
        future = asyncio.wrap_future(self._future)
        if not future.done():
            with self.console.status("[dim]loading the agency…[/dim]", spinner="dots"):
                await asyncio.shield(future)
        self.binding = future.result()
        self._warn()
        return self.binding
