"""Turn agency-swarm's flat item list into a readable transcript (pure: no I/O, no rich)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from swarmchat.attachments import shown_text
from swarmchat.session import Item, happened_order, item_text

Kind = Literal["user", "reply", "delegation", "tool_call", "tool_output", "note"]


@dataclass
class Entry:
    kind: Kind
    agent: str  # who speaks: "user", or the agent's name
    text: str
    to: str | None = None  # the agent addressed (delegations, user messages to an agent)
    nested: bool = False  # agent-to-agent traffic, shown dimmed
    turn: int | None = None  # a user message's turn number (1, 2, ...), as /history, show and fork --at use it


def chronological(items: list[Item]) -> list[Item]:
    """agency-swarm stores items out of order; its timestamps give the order they happened."""
    return [items[pos] for pos in happened_order(items)]


def entries(items: list[Item], turn: int = 0) -> list[Entry]:
    """The items as a transcript, in the order they happened. A delegation is the asking agent's
    message and the other agent's reply: the `send_message` call and output that carry the same
    texts are left out where those messages are stored. User turns are numbered on from `turn` (the
    turns before them)."""
    out: list[Entry] = []
    ordered = chronological(items)
    carried = _delegation_calls(ordered)
    for item in ordered:
        if carried and item.get("call_id") in carried:
            continue
        entry = to_entry(item)
        if entry is not None:
            if entry.kind == "user":
                turn += 1
                entry.turn = turn
            out.append(entry)
    return out


def _delegation_calls(items: list[Item]) -> set[object]:
    """The call ids of `send_message` calls, when the agents' own messages are stored too."""
    if not any(item.get("callerAgent") is not None and item.get("type") in (None, "message") for item in items):
        return set()
    return {
        item.get("call_id")
        for item in items
        if item.get("type") == "function_call" and str(item.get("name", "")).startswith("send_message")
    }


def to_entry(item: Item) -> Entry | None:
    caller = item.get("callerAgent")
    agent = str(item.get("agent") or "assistant")
    nested = caller is not None
    kind = item.get("type")
    role = item.get("role")
    if role == "user" and kind in (None, "message"):  # is_user_turn, or a delegation
        if nested:
            return Entry("delegation", str(caller), item_text(item), to=agent, nested=True)
        return Entry("user", "user", shown_text(item.get("content")), to=agent)  # files named, never dumped
    if role == "assistant" and kind in (None, "message"):
        return Entry("reply", agent, item_text(item), to=str(caller) if nested else None, nested=nested)
    if kind == "function_call":
        args = _compact_json(item.get("arguments"))
        return Entry("tool_call", agent, f"{item.get('name', '?')}({args})", nested=True)
    if kind == "function_call_output":
        return Entry("tool_output", agent, _compact_json(item.get("output")), nested=True)
    if role == "system" and item.get("message_origin"):
        return Entry("note", agent, item_text(item), nested=True)
    return None


def _compact_json(value: object) -> str:
    """Tool arguments and outputs on one line (JSON strings re-encoded compactly)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return str(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def turns(items: list[Item]) -> list[list[Entry]]:
    """Entries grouped into turns, each starting at a user message."""
    grouped: list[list[Entry]] = []
    for entry in entries(items):
        if entry.kind == "user" or not grouped:
            grouped.append([])
        grouped[-1].append(entry)
    return grouped


def to_markdown(title: str, items: list[Item], note: str = "") -> str:
    from swarmchat.item_view import markdown_lines

    lines = [f"# {title}", ""] + ([f"> {note}", ""] if note else [])
    lines += markdown_lines(entries(items))
    return "\n".join(lines).rstrip() + "\n"
