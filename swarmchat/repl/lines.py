"""What a typed line is: a /command with its argument, a message, or a message to one @Agent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Parsed:
    name: str
    arg: str


def parse(line: str) -> Parsed | None:
    """`/name rest` as a command, or None if the line is a message (`//x` sends '/x')."""
    if not line.startswith("/") or line.startswith("//"):
        return None
    head, _, rest = line[1:].partition(" ")
    return Parsed(head.strip().lower(), rest.strip())


def message_text(line: str) -> str:
    return line[1:] if line.startswith("//") else line


def split_address(line: str, agents: Iterable[str]) -> tuple[str | None, str]:
    """`@Agent text` -> (Agent, text) when Agent is one of `agents` (case-insensitive)."""
    if not line.startswith("@"):
        return None, line
    head, _, rest = line[1:].partition(" ")
    for agent in agents:
        if agent.lower() == head.lower():
            return agent, rest.strip()
    return None, line


def one_line(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
