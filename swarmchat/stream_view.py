"""Draws one turn on the terminal as its events arrive: agent headers, streamed Markdown, agent traffic.

Finished blocks of a reply are printed once and for all; only the block still being written lives
in a `rich.live.Live` region, so long replies neither flicker nor get drawn twice when they grow
past the screen.
"""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.text import Text

from swarmchat.events import (
    INTERRUPTED,
    Delegation,
    Event,
    Handoff,
    MessageDone,
    TextDelta,
    ToolCall,
    ToolOutput,
    TurnDone,
    TurnError,
)
from swarmchat.safe_text import safe_markdown, text_line

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

    def __init__(self, console: Console) -> None:
        self.console = console
        self.speaker: str | None = None
        self.buffer = ""
        self.live: Live | None = None
        self.done: TurnDone | None = None
        self.failed = False

    def show(self, event: Event) -> None:
        if isinstance(event, TextDelta):
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
        elif isinstance(event, TurnError):
            self._settle_all()
            error_line(self.console, event.message)
            self.failed = True
        elif isinstance(event, TurnDone):
            self.done = event
            if self.speaker is None and event.text:  # a reply that was not streamed
                self._text(event.agent, event.text)

    def _text(self, agent: str, delta: str) -> None:
        if agent != self.speaker:
            self._settle_all()
            if self.speaker is not None:
                self.console.print()
            agent_header(self.console, agent)
            self.speaker = agent
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
        self._stop_live()
        if self.buffer.strip():
            self.console.print(safe_markdown(self.buffer))
        self.buffer = ""

    def close(self, *, interrupted: bool = False) -> None:
        self._settle_all()
        if interrupted:
            self.console.print(Text(INTERRUPTED, style="yellow"))
