"""What happens during a turn, in swarmchat's own terms (the REPL and -m mode render these).

swarmchat.agency translates agency-swarm's stream into these, so nothing else needs to know its
event shapes. `caller` is None for what the user sees; an agent name for agent-to-agent traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from swarmchat.errors import redact

INTERRUPTED = "[interrupted]"
"""Ends a reply the user stopped (Ctrl-C, Esc, SIGTERM): stored, so history never ends on two user messages."""


@dataclass(frozen=True)
class TextDelta:
    agent: str
    caller: str | None
    text: str


@dataclass(frozen=True)
class Thinking:
    """A model is reasoning before it answers. `text` is a piece of the reasoning summary where the API
    streams one ("" when it only says that it reasons: the screen shows that it is thinking)."""

    agent: str
    text: str
    caller: str | None = None


@dataclass(frozen=True)
class Usage:
    """What one model call of `agent` consumed (delegated agents' calls included, each under its own
    name). A turn's totals are the sum of its Usage events."""

    agent: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class MessageDone:
    """An agent finished one message (the text streamed since the last MessageDone)."""

    agent: str
    caller: str | None


@dataclass(frozen=True)
class Delegation:
    """An agent asked another one through send_message."""

    sender: str
    recipient: str
    message: str
    call_id: str = ""


@dataclass(frozen=True)
class ToolCall:
    agent: str
    caller: str | None
    name: str
    arguments: str
    call_id: str = ""


@dataclass(frozen=True)
class ToolOutput:
    agent: str  # who produced it: the tool's agent, or for a delegation the agent that answered
    caller: str | None
    output: str
    delegated: bool  # the output of a send_message: the other agent's reply
    call_id: str = ""  # the ToolCall's (or Delegation's) it answers


@dataclass(frozen=True)
class Handoff:
    sender: str
    recipient: str


ErrorKind = Literal[
    "auth",
    "rate_limit",
    "timeout",
    "stream_cut",
    "connection",
    "server",
    "context_overflow",
    "bad_reply",
    "budget",
    "failed",
]


@dataclass(frozen=True)
class TurnError:
    """The model API failed; `message` says what happened and what to do. `kind` lets a screen offer
    the fitting remedy (e.g. /compact for "context_overflow")."""

    message: str
    kind: ErrorKind = "failed"

    def __post_init__(self) -> None:  # the one place a failure becomes text: never with a credential in it
        object.__setattr__(self, "message", redact(self.message))


@dataclass(frozen=True)
class Notice:
    """Something the user should know about this turn that is not a failure (e.g. what a server sent
    that could not be stored): one line, shown as a warning (on stderr with -m)."""

    message: str


@dataclass(frozen=True)
class TurnDone:
    text: str  # the user-facing reply text of the turn
    agent: str  # the agent that gave it
    input_tokens: int  # every model call of the turn, delegations included (the sum of its Usage events)
    output_tokens: int
    interrupted: bool = False


Event = (
    TextDelta
    | Thinking
    | Usage
    | MessageDone
    | Delegation
    | ToolCall
    | ToolOutput
    | Handoff
    | Notice
    | TurnError
    | TurnDone
)
