"""Translating agency-swarm's stream events into `swarmchat.events`, remembering the reply the user saw.

Read by attribute, never imported from agency-swarm: the local agency (`agency/binding.py`) feeds it
agency-swarm's objects, the remote one (`remote/binding.py`) the same events as served over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

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
    Usage,
)
from swarmchat.session import Item

REASONING_DELTAS = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
"""A reasoning summary (Responses; Chat Completions `reasoning_content` as the Agents SDK converts it)
and raw reasoning text (servers that stream it as `reasoning`)."""
GUARDRAIL_REPLY = "msg_input_guardrail_guidance"
"""The id agency-swarm gives the message it streams when an input guardrail trips (its only sign)."""


class TurnTracker:
    """Turns agency-swarm stream events into swarmchat events, remembering the visible reply."""

    def __init__(self, recipient: str) -> None:
        self.reply_agent = recipient
        self._texts: list[str] = []
        self._current: list[str] = []
        self._delegations: dict[str, str] = {}  # call id -> the agent asked
        self.error: str | None = None  # what agency-swarm reported instead of raising (its text only)
        self.usage: dict[str, dict[str, int]] = {}  # agent -> input_tokens, output_tokens, requests
        self.tools_called: list[str] = []  # the tools the latest model response called (an error may name them)

    @property
    def tokens(self) -> tuple[int, int]:
        """(input, output) of every model call so far, delegated agents' included."""
        counts = self.usage.values()
        return sum(c["input_tokens"] for c in counts), sum(c["output_tokens"] for c in counts)

    def interrupted_reply(self, items: list[Item]) -> Item | None:
        """The reply the user stopped, as it was shown, marked as interrupted: the item to store after
        `items` so the history never ends in two user messages in a row; None if the reply was stored
        before the stop landed."""
        if items and items[-1].get("role") == "assistant" and items[-1].get("callerAgent") is None:
            return None
        partial = self.reply_text()
        text = f"{partial}\n\n{INTERRUPTED}" if partial else INTERRUPTED
        stamp = int(time.time() * 1_000_000)
        return {
            "id": f"msg_interrupted_{stamp}",
            "type": "message",
            "role": "assistant",
            "status": "incomplete",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
            "agent": self.reply_agent,
            "callerAgent": None,
            "timestamp": stamp,
            "message_origin": "swarmchat_interrupted",
        }

    def reply_text(self) -> str:
        return "\n\n".join(t for t in [*self._texts, "".join(self._current)] if t)

    def translate(self, raw: Any) -> list[Event]:
        if isinstance(raw, dict):
            if raw.get("type") == "error" and self.error is None:
                self.error = str(raw.get("content") or "unknown error")
            return []
        kind = getattr(raw, "type", None)
        agent = str(getattr(raw, "agent", None) or self.reply_agent)
        caller = getattr(raw, "callerAgent", None)
        if kind == "raw_response_event":
            return self._raw(raw.data, agent, caller)
        if kind == "run_item_stream_event":
            return self._item(raw, agent, caller)
        return []

    def _raw(self, data: Any, agent: str, caller: str | None) -> list[Event]:
        data_type = getattr(data, "type", None)
        if data_type == "response.output_text.delta":
            delta = str(getattr(data, "delta", "") or "")
            if caller is None and delta:
                if agent != self.reply_agent:
                    self._flush()
                    self.reply_agent = agent
                self._current.append(delta)
            return [TextDelta(agent, caller, delta)] if delta else []
        if data_type == "response.output_text.done":
            if caller is None:
                self._flush()
            return [MessageDone(agent, caller)]
        if data_type in REASONING_DELTAS:
            delta = str(getattr(data, "delta", "") or "")
            return [Thinking(agent, delta, caller)] if delta else []
        if data_type == "response.reasoning_summary_part.added" and getattr(data, "summary_index", 0):
            return [Thinking(agent, "\n\n", caller)]  # a new paragraph of the summary
        if (
            data_type == "response.output_item.added"
            and getattr(getattr(data, "item", None), "type", "") == "reasoning"
        ):
            return [Thinking(agent, "", caller)]
        if data_type == "response.created":
            self.tools_called = []
        if data_type == "response.output_item.added" and _get(getattr(data, "item", None), "type") == "function_call":
            self.tools_called.append(str(_get(data.item, "name") or "tool"))
        if data_type == "response.completed":
            return self._count(agent, getattr(getattr(data, "response", None), "usage", None))
        return []

    def _count(self, agent: str, usage: Any) -> list[Event]:
        """One model call's usage, booked to the agent that made it (a delegated agent's calls arrive
        in the same stream, tagged with that agent)."""
        if usage is None:
            return []
        spent_in, spent_out = int(getattr(usage, "input_tokens", 0) or 0), int(getattr(usage, "output_tokens", 0) or 0)
        counts = self.usage.setdefault(agent, {"input_tokens": 0, "output_tokens": 0, "requests": 0})
        counts["input_tokens"] += spent_in
        counts["output_tokens"] += spent_out
        counts["requests"] += 1
        return [Usage(agent, spent_in, spent_out)]

    def _flush(self) -> None:
        if self._current:
            self._texts.append("".join(self._current))
            self._current = []

    def _item(self, raw: Any, agent: str, caller: str | None) -> list[Event]:
        name = getattr(raw, "name", "")
        item = getattr(raw, "item", None)
        raw_item = getattr(item, "raw_item", None)
        if name == "tool_called":
            tool = str(_get(raw_item, "name") or "tool")
            arguments = str(_get(raw_item, "arguments") or "")
            call_id = str(_get(raw_item, "call_id") or "")
            if tool.startswith("send_message"):
                args = _json(arguments)
                recipient = str(args.get("recipient_agent", "?"))
                self._delegations[call_id] = recipient
                return [Delegation(agent, recipient, str(args.get("message", "")), call_id)]
            if tool.startswith("transfer_to_"):
                return [Handoff(agent, tool.removeprefix("transfer_to_"))]
            return [ToolCall(agent, caller, tool, arguments, call_id)]
        if name == "tool_output":
            call_id = str(_get(raw_item, "call_id") or "")
            output = str(getattr(item, "output", "") or "")
            if call_id in self._delegations:  # the other agent's answer: shown as coming from it
                return [ToolOutput(self._delegations[call_id], agent, output, delegated=True, call_id=call_id)]
            return [ToolOutput(agent, caller, output, delegated=False, call_id=call_id)]
        if name == "message_output_created" and _get(raw_item, "id") == GUARDRAIL_REPLY and caller is None:
            return self._guardrail(agent, raw_item)
        if name in ("handoff_occured", "handoff_occurred"):
            target = getattr(getattr(item, "target_agent", None), "name", None)
            if target:
                self.reply_agent = str(target)
                if str(target) != agent:  # agency-swarm tags this event with the new agent already
                    return [Handoff(agent, str(target))]
        return []

    def _guardrail(self, agent: str, raw_item: Any) -> list[Event]:
        """An input guardrail tripped: its guidance is the answer, shown (and given to -m) as the reply,
        and marked as a guardrail's."""
        parts = _get(raw_item, "content") or []
        text = "".join(str(_get(part, "text") or "") for part in parts if _get(part, "text"))
        self._flush()
        self.reply_agent = agent
        self._texts.append(text)
        note = Notice(f"{agent}'s input guardrail tripped: this is its answer, not the model's")
        return [note, TextDelta(agent, None, text), MessageDone(agent, None)] if text else [note]


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
