"""Turn agency-swarm's flat item list into a readable transcript (pure: no I/O, no rich)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from swarmchat.attachments import shown_text
from swarmchat.session import Item, item_text

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
    last = 0
    keyed = []
    in_order = True
    for pos, item in enumerate(items):
        stamp = item.get("timestamp")
        if isinstance(stamp, int) and not isinstance(stamp, bool):
            in_order = in_order and stamp >= last
            last = stamp
        keyed.append((last, pos, item))
    if in_order:  # the usual case: nothing to sort
        return list(items)
    keyed.sort()  # by (time, position): positions differ, so items are never compared
    return [k[2] for k in keyed]


def entries(items: list[Item], turn: int = 0) -> list[Entry]:
    """The readable entries of `items`; user turns numbered on from `turn` (the turns before them)."""
    out: list[Entry] = []
    for item in chronological(items):
        entry = to_entry(item)
        if entry is not None:
            if entry.kind == "user":
                turn += 1
                entry.turn = turn
            out.append(entry)
    return out


def is_user_turn(item: Item) -> bool:
    """Whether `item` starts a turn: a message from the user (not one agent asking another)."""
    return item.get("role") == "user" and item.get("type") in (None, "message") and item.get("callerAgent") is None


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
    lines = [f"# {title}", ""] + ([f"> {note}", ""] if note else [])
    return "\n".join(lines + markdown_lines(entries(items))).rstrip() + "\n"


def markdown_lines(shown: list[Entry]) -> list[str]:
    """The Markdown of `shown`, each entry followed by a blank line."""
    lines: list[str] = []
    for entry in shown:
        if entry.kind == "user":
            lines += [f"**You** → {entry.to}:" if entry.to else "**You:**", "", entry.text, ""]
        elif entry.kind == "reply" and not entry.nested:
            lines += [f"**{entry.agent}:**", "", entry.text, ""]
        elif entry.kind == "delegation" or entry.kind == "reply":
            lines += [f"> *{entry.agent} → {entry.to}:* {_one_line(entry.text)}", ""]
        elif entry.kind == "tool_call":
            lines += [f"> `{entry.agent}` called `{_one_line(entry.text, 200)}`", ""]
        elif entry.kind == "tool_output":
            lines += [f"> `{entry.agent}` got `{_one_line(entry.text, 200)}`", ""]
    return lines


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
