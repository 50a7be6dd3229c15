"""`-m TEXT --json`: a turn as JSON Lines on stdout, one object per event, flushed as it happens.

The schema is public (README "Scripting with --json"): every object has `type`; `session` comes
first (with `events`, the schema's version), `done` last on success, `error` last on failure. Fields
may be added; none is removed while `events` is 1.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from swarmchat.bound import BoundAgency
from swarmchat.events import (
    Delegation,
    Event,
    Handoff,
    TextDelta,
    Thinking,
    ToolCall,
    ToolOutput,
    TurnDone,
    TurnError,
    Usage,
)
from swarmchat.session import Item, SessionMeta, item_text

SCHEMA = 1
"""The `events` field of the `session` object: raised only when a field is removed or changes meaning."""


class JsonEvents:
    """Writes one turn's events as JSON Lines to `out` (raw JSON even on a terminal: no colour, no spinner)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.speaker: str | None = None
        self.spent = {"input_tokens": 0, "output_tokens": 0}
        self.ended = False  # a `done` or `error` was written: nothing follows it

    def write(self, event_type: str, /, **fields: Any) -> None:
        if self.ended:
            return
        self.out.write(json.dumps({"type": event_type, **fields}, ensure_ascii=False) + "\n")
        self.out.flush()

    def session(self, meta: SessionMeta, binding: BoundAgency, agency: str) -> None:
        model = binding.model_name() or meta.model or ""
        self.write("session", name=meta.name, created=meta.created_at, agency=agency, model=model, events=SCHEMA)

    def event(self, event: Event, binding: BoundAgency, before: int) -> None:
        """One turn event; `before` is how many items the history held when the turn began (for `done`)."""
        if isinstance(event, TextDelta | Thinking):
            if event.caller is not None:  # a delegated agent's own text: its answer comes as delegation_result
                return
            if event.agent != self.speaker:
                self.speaker = event.agent
                self.write("agent", agent=event.agent)
            if isinstance(event, TextDelta):
                self.write("text", agent=event.agent, delta=event.text)
            elif event.text:
                self.write("reasoning", agent=event.agent, delta=event.text)
        elif isinstance(event, ToolCall):
            self.write(
                "tool_call", agent=event.agent, tool=event.name, call_id=event.call_id, arguments=event.arguments
            )
        elif isinstance(event, ToolOutput) and event.delegated:
            # from: the agent that answered; to: the agent that asked (it reads the answer as a tool output)
            self.write("delegation_result", **{"from": event.agent, "to": event.caller}, text=event.output,
                       call_id=event.call_id)  # fmt: skip
        elif isinstance(event, ToolOutput):
            self.write("tool_output", agent=event.agent, call_id=event.call_id, output=event.output)
        elif isinstance(event, Delegation):
            self.write("delegation", **{"from": event.sender, "to": event.recipient}, message=event.message,
                       call_id=event.call_id)  # fmt: skip
        elif isinstance(event, Handoff):
            self.write("handoff", **{"from": event.sender, "to": event.recipient})
        elif isinstance(event, Usage):
            self.spent["input_tokens"] += event.input_tokens
            self.spent["output_tokens"] += event.output_tokens
            self.write("usage", agent=event.agent, model=binding.model_name(event.agent),
                       input_tokens=event.input_tokens, output_tokens=event.output_tokens)  # fmt: skip
        elif isinstance(event, TurnError):
            self.error(event.kind, event.message)
        elif isinstance(event, TurnDone):
            stored = reply_text(binding.live_items()[before:])
            usage = {"input_tokens": event.input_tokens, "output_tokens": event.output_tokens}
            self.done(event.agent, stored if stored is not None else event.text, usage, interrupted=event.interrupted)

    def interrupted(self, binding: BoundAgency, before: int) -> None:
        """The turn was stopped: `done` with the partial reply as it was stored (marked interrupted)."""
        new = binding.live_items()[before:]
        agent = next((str(i.get("agent")) for i in reversed(new) if _reply(i) and i.get("agent")), None)
        self.done(agent or self.speaker or binding.entry_agent, reply_text(new) or "", dict(self.spent),
                  interrupted=True)  # fmt: skip

    def done(self, agent: str, text: str, usage: dict[str, int], *, interrupted: bool) -> None:
        self.write("done", agent=agent, text=text, usage=usage, interrupted=interrupted)
        self.ended = True

    def error(self, kind: str, message: str) -> None:
        self.write("error", kind=kind, message=message)
        self.ended = True

    def not_stored(self, message: str) -> None:
        """A save failed: said last, even after `done` (the turn is not in the session)."""
        self.ended = False
        self.error("store", message)


def _reply(item: Item) -> bool:
    return item.get("role") == "assistant" and item.get("callerAgent") is None


def reply_text(items: list[Item]) -> str | None:
    """The reply the user got in `items` (a turn's new items), as stored; None if they hold none."""
    texts = [item_text(i) for i in items if _reply(i)]
    texts = [t for t in texts if t]
    return "\n\n".join(texts) if texts else None
