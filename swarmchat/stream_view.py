"""Draws one turn on the terminal as its events arrive: agent headers, streamed Markdown, agent traffic.

Finished blocks of a reply are printed once and for all; only the block still being written lives
in a `rich.live.Live` region, so long replies neither flicker nor get drawn twice when they grow
past the screen.
"""

from __future__ import annotations

from rich.console import Console, Group
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
from swarmchat.safe_text import safe_markdown, text_block, text_line

THINKING = "thinking…"


# Every text these functions print comes from a model, a tool, a session or a server: each is made
# safe here (safe_text) and none is read as rich markup.


def agent_header(console: Console, agent: str) -> None:
    console.print(text_line(agent, "bold magenta"))


def dim_line(console: Console, text: str) -> None:
    console.print(text_line(f"  {flat(text)}", "dim"), overflow="ellipsis", no_wrap=True, crop=True)


def error_line(console: Console, message: str) -> None:
    console.print(text_line(f"error: {message}", "bold red"), overflow="fold")


def warning_line(console: Console, message: str) -> None:
    console.print(text_line(f"warning: {message}", "yellow"), overflow="fold")


def flat(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def split_settled(text: str) -> tuple[str, str]:
    """Split streamed Markdown into blocks that can no longer change and the block in progress.

    A block is settled once a blank line follows it outside a code fence."""
    settled_at = 0
    in_fence = False
    pos = 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not stripped and not in_fence and line.endswith("\n"):
            settled_at = pos
    return text[:settled_at], text[settled_at:]


class TurnView:
    """Renders one turn; call `show(event)` for each event and `close()` at the end (or on cancel)."""

    def __init__(self, console: Console, *, show_thinking: bool = True) -> None:
        self.console = console
        self.show_thinking = show_thinking
        self.thinking: str | None = None  # the reasoning summary so far, while the speaker reasons
        self.speaker: str | None = None
        self.buffer = ""
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
            dim_line(self.console, f"→ {event.sender} asks {event.recipient}: {event.message}")
        elif isinstance(event, ToolOutput):
            self._settle_all()
            dim_line(self.console, f"← {event.agent}: {event.output}" if event.delegated else f"↳ {event.output}")
        elif isinstance(event, ToolCall):
            self._settle_all()
            dim_line(self.console, f"⚙ {event.agent} calls {event.name}({event.arguments})")
        elif isinstance(event, Handoff):
            self._settle_all()
            dim_line(self.console, f"⇢ {event.sender} hands the conversation to {event.recipient}")
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
        self.buffer += delta
        settled, rest = split_settled(self.buffer)
        if settled:
            self._stop_live()
            self.console.print(safe_markdown(settled))
            self.buffer = rest
        if self.buffer:
            if self.live is None:
                self.live = Live(console=self.console, refresh_per_second=12, transient=True)
                self.live.start()
            self.live.update(safe_markdown(self.buffer))

    def _stop_live(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _settle_all(self) -> None:
        self._end_thinking()
        self._stop_live()
        if self.buffer.strip():
            self.console.print(safe_markdown(self.buffer))
        self.buffer = ""

    def close(self, *, interrupted: bool = False) -> None:
        self._settle_all()
        if interrupted:
            self.console.print(Text(INTERRUPTED, style="yellow"))
