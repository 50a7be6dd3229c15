"""What the catalog keeps of a stored item: its searchable text and who said it to whom (pure: no I/O).

Every kind of item a user may look for later gives one row: user and assistant messages (text
attachments included, as their `input_text` parts), delegations (the `send_message` call's message),
other tool calls and tool outputs. Reasoning items and images give none. Each row knows the user turn it
belongs to, numbered as `fork --at` takes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from swarmchat.session import Item, turn_numbers

START, END = "\x02", "\x03"
"""What search marks a match with in a message's text (STX, ETX): removed from every text indexed."""
_MARKERS = re.compile(f"[{START}{END}]")


def clean(text: str) -> str:
    """`text` as stored, less the two control characters search uses to mark matches (STX, ETX). Every
    other character is kept, so `--json` snippets are the stored text; the screen makes them safe."""
    return _MARKERS.sub("", text)


@dataclass(frozen=True)
class Row:
    pos: int  # the item's position in the session's list
    role: str  # user, assistant, system, tool_call, tool_output
    agent: str | None  # the item's agent: who replied, or who was addressed
    caller: str | None  # the agent that sent it, for agent-to-agent traffic
    stamp: int | None  # agency-swarm's timestamp (microseconds)
    text: str
    turn: int  # the user turn it belongs to (1, 2...; 0: before the first), as `fork --at` numbers turns

    def fingerprint(self) -> int:
        """A stable 63-bit digest, to tell which stored rows a changed history left as they were."""
        import hashlib  # here: listing need not load OpenSSL

        parts = (self.role, self.agent or "", self.caller or "", str(self.stamp), str(self.turn), self.text)
        digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()
        return int.from_bytes(digest, "big") >> 1


def rows(items: list[Item]) -> list[Row]:
    out = []
    turns = turn_numbers(items)
    for pos, item in enumerate(items):
        found = _text(item)
        if found is None:
            continue
        role, text = found
        text = clean(text).strip()
        if text:
            who = _str(item.get("agent")), _str(item.get("callerAgent"))
            out.append(Row(pos, role, *who, _stamp(item), text, turns[pos]))
    return out


def _text(item: Item) -> tuple[str, str] | None:
    kind = item.get("type")
    if kind == "function_call":
        return "tool_call", _call_text(item)
    if kind == "function_call_output":
        return "tool_output", _plain(item.get("output"))
    role = item.get("role")
    if kind in (None, "message") and isinstance(role, str):
        return role, _content(item.get("content"))
    return None


def _content(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for part in content:
        if isinstance(part, dict):
            text = part.get("text")
            if isinstance(text, str):
                parts.append(text)
            elif isinstance(part.get("filename"), str):  # an attached file is found by its name
                parts.append(part["filename"])
    return "\n".join(parts)


def _call_text(item: Item) -> str:
    """A delegation is found by its message; another tool call by its name and arguments."""
    args = item.get("arguments")
    try:
        parsed = json.loads(args) if isinstance(args, str) else args
    except ValueError:
        parsed = args
    message = parsed.get("message") if isinstance(parsed, dict) else None
    if isinstance(parsed, dict) and isinstance(message, str):
        extra = parsed.get("additional_instructions")
        return message + (f"\n{extra}" if isinstance(extra, str) and extra else "")
    return f"{item.get('name', '')} {_plain(parsed)}"


def _plain(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # structured tool output: its text parts
        return _content(value)
    return "" if value is None else json.dumps(value, ensure_ascii=False)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _stamp(item: Item) -> int | None:
    stamp = item.get("timestamp")
    return stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else None
