"""Draws one turn on the terminal as its events arrive: agent headers, streamed Markdown, agent traffic.

Finished blocks of a reply are printed once and for all; only the block still being written lives
in a `rich.live.Live` region, so long replies neither flicker nor get drawn twice when they grow
past the screen. Drawing is linear in the reply's length: each delta scans only its own text for a
finished block, and the block in progress is rendered by the region's refresh (a dozen times a
second), not once per delta. A reply past `PLAIN_AFTER` characters is shown as plain text from there
on (one line says so): Markdown of a huge block would hold the screen, and the stop keys, for minutes.
"""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.live import Live
from rich.text import Text

from swarmchat.events import (
    INTERRUPTED,
    Delegation,
    Event,
    Handoff,
    MessageDone,
    Notice,
    TextDelta,
    Thinking,
    ToolCall,
    ToolOutput,
    TurnDone,
    TurnError,
)
from swarmchat.item_view import agent_header, answers, asks, calls, hands_over, returns, traffic_line
from swarmchat.safe_text import StreamGuard, safe_markdown, text_block, text_line

THINKING = "thinking…"
PLAIN_AFTER = 64 * 1024
"""Characters of a reply drawn as Markdown; the rest of a longer one is plain text."""
PIECE = 16 * 1024
"""The largest piece of text drawn at once (see `pieces`): between two, the stop keys are heard."""


# Every text these functions print comes from a model, a tool, a session or a server: each is made
# safe here (safe_text) and none is read as rich markup.


def error_line(console: Console, message: str) -> None:
    console.print(text_line(f"error: {message}", "bold red"), overflow="fold")


def warning_line(console: Console, message: str) -> None:
    console.print(text_line(f"warning: {message}", "yellow"), overflow="fold")


def pieces(event: Event) -> Iterator[Event]:
    """The event, a huge text delta cut into `PIECE`-sized ones, so the REPL can let the stop keys in
    between drawing them."""
    if not isinstance(event, TextDelta) or len(event.text) <= PIECE:
        yield event
        return
    for start in range(0, len(event.text), PIECE):
        yield TextDelta(event.agent, event.caller, event.text[start : start + PIECE])


class _Preview:
    """The block in progress, rendered only when the live region refreshes (its latest text)."""

    def __init__(self, view: TurnView) -> None:
        self.view = view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield safe_markdown(self.view.buffer)


class TurnView:
    """Renders one turn; call `show(event)` for each event and `close()` at the end (or on cancel)."""

    def __init__(self, console: Console, *, show_thinking: bool = True) -> None:
        self.console = console
        self.show_thinking = show_thinking
        self.thinking: str | None = None  # the reasoning summary so far, while the speaker reasons
        self.speaker: str | None = None
        self.buffer = ""  # the reply's text not printed yet (the block in progress, after the settled ones)
        self._scanned = 0  # buffer[:_scanned] is whole lines already looked at for a block's end
        self._settled = 0  # buffer[:_settled] is finished blocks, ready to print
        self._fence = False  # _scanned stands inside a code fence
        self.drawn = 0  # characters of the reply printed (the plain-text switch counts them)
        self.plain: StreamGuard | None = None  # set while the reply is shown as plain text
        self.long = False  # the turn's reply passed PLAIN_AFTER: the rest of it is plain text
        self._ends_line = True  # the plain text written so far ends with a newline
        self.live: Live | None = None
        self.done: TurnDone | None = None
        self.failed = False
        self.error: TurnError | None = None

    def show(self, event: Event) -> None:
        if isinstance(event, Thinking):
            if event.caller is None:
                self._think(event.agent, event.text)
        elif isinstance(event, TextDelta):
            if event.caller is None:
                self._text(event.agent, event.text)
        elif isinstance(event, MessageDone):
            if event.caller is None:
                self._settle_all()
        elif isinstance(event, Delegation):
            self._settle_all()
            traffic_line(self.console, asks(event.sender, event.recipient, event.message))
        elif isinstance(event, ToolOutput):
            self._settle_all()
            traffic_line(self.console, answers(event.agent, event.output) if event.delegated else returns(event.output))
        elif isinstance(event, ToolCall):
            self._settle_all()
            traffic_line(self.console, calls(event.agent, f"{event.name}({event.arguments})"))
        elif isinstance(event, Handoff):
            self._settle_all()
            traffic_line(self.console, hands_over(event.sender, event.recipient))
        elif isinstance(event, Notice):
            self._settle_all()
            warning_line(self.console, event.message)
        elif isinstance(event, TurnError):
            self._settle_all()
            error_line(self.console, event.message)
            self.failed = True
            self.error = event
        elif isinstance(event, TurnDone):
            self.done = event
            if self.speaker is None and event.text:  # a reply that was not streamed
                self._text(event.agent, event.text)

    def _speaker(self, agent: str) -> None:
        if agent != self.speaker:
            self._settle_all()
            if self.speaker is not None:
                self.console.print()
            agent_header(self.console, agent)
            self.speaker = agent

    def _think(self, agent: str, delta: str) -> None:
        """ "thinking…" under the agent's header while it reasons (drawn over when the answer comes), and
        the reasoning summary dimmed beneath it where the API streams one (unless hidden: /thinking)."""
        self._speaker(agent)
        if self.thinking is None:
            self._settle_all()
            self.thinking = ""
        self.thinking += delta
        shown = self.thinking.strip() if self.show_thinking else ""
        region = (
            Group(text_line(THINKING, "dim italic"), text_block(shown, "dim"))
            if shown
            else text_line(THINKING, "dim italic")
        )
        if self.live is None:
            self.live = Live(console=self.console, refresh_per_second=12, transient=True)
            self.live.start()
        self.live.update(region)

    def _end_thinking(self) -> None:
        """The reasoning is over: the summary stays on screen, dimmed; "thinking…" goes."""
        if self.thinking is None:
            return
        summary, self.thinking = self.thinking.strip(), None
        self._stop_live()
        if self.show_thinking and summary:
            self.console.print(text_block(summary, "dim"))

    def _text(self, agent: str, delta: str) -> None:
        self._speaker(agent)
        self._end_thinking()
        if self.plain is None and (self.long or self.drawn + len(self.buffer) + len(delta) > PLAIN_AFTER):
            self._go_plain()
        if self.plain is not None:
            self._write_plain(delta)
            return
        self.buffer += delta
        if self._settle_point():
            self._stop_live()
            self._print_settled()
        if self.buffer and self.live is None:
            self.live = Live(_Preview(self), console=self.console, refresh_per_second=12, transient=True)
            self.live.start()

    def _settle_point(self) -> int:
        """Where the finished blocks end, looking only at lines not seen yet: a block is finished once
        a blank line follows it outside a code fence."""
        text, pos = self.buffer, self._scanned
        while (end := text.find("\n", pos)) != -1:
            stripped = text[pos:end].strip()
            if stripped.startswith(("```", "~~~")):
                self._fence = not self._fence
            elif not stripped and not self._fence:
                self._settled = end + 1
            pos = end + 1
        self._scanned = pos
        return self._settled

    def _print_settled(self) -> None:
        cut = self._settled
        self.console.print(safe_markdown(self.buffer[:cut]))
        self.drawn += cut
        self.buffer, self._scanned, self._settled = self.buffer[cut:], self._scanned - cut, 0

    def _go_plain(self) -> None:
        """From here the reply is plain text: what is settled is printed as Markdown first."""
        self._stop_live()
        if self._settle_point():
            self._print_settled()
        if not self.long:
            note = f"(a long reply, over {PLAIN_AFTER // 1024} KB: shown as plain text from here)"
            self.console.print(text_line(note, "dim"))
            self.long = True
        self.plain = StreamGuard()
        rest, self.buffer, self._scanned, self._fence = self.buffer, "", 0, False
        self._write_plain(rest)

    def _write_plain(self, text: str) -> None:
        assert self.plain is not None
        self.console.file.write(self.plain.feed(text))
        self.console.file.flush()
        self.drawn += len(text)
        self._ends_line = text.endswith("\n") if text else self._ends_line

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _settle_all(self) -> None:
        self._end_thinking()
        self._stop_live()
        if self.plain is not None:  # the plain text ends its line; the next reply is Markdown again
            self.console.file.write(self.plain.flush() + ("" if self._ends_line else "\n"))
            self.plain, self._ends_line = None, True
        if self.buffer.strip():
            self.console.print(safe_markdown(self.buffer))
        self.buffer, self._scanned, self._settled, self._fence = "", 0, 0, False

    def close(self, *, interrupted: bool = False) -> None:
        self._settle_all()
        if interrupted:
            self.console.print(Text(INTERRUPTED, style="yellow"))
