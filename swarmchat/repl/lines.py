"""What a typed line is: a /command with its argument, a message, or a message to one @Agent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from swarmchat.errors import UsageError
from swarmchat.session import Item, is_user_turn


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
    """`@Agent text` -> (Agent, text) when Agent is one of `agents` (case-insensitive) or the start of
    only one of them; an @name that is neither is refused (UsageError), so nothing goes astray."""
    if not line.startswith("@"):
        return None, line
    head, _, rest = line[1:].partition(" ")
    names = list(agents)
    exact = [agent for agent in names if agent.lower() == head.lower()]
    starting = [agent for agent in names if agent.lower().startswith(head.lower())]
    found = exact or (starting if len(starting) == 1 else [])
    if head and found:
        return found[0], rest.strip()
    which = "matches more than one agent" if len(starting) > 1 and head else "is not an agent here"
    raise UsageError(
        f"'@{head}' {which}; nothing was sent. The agents are: {', '.join(names)} "
        "(begin with a space to send the line as written)"
    )


def usual_recipient(items: list[Item]) -> str | None:
    """The agent most of the user's messages went to, as stored with them: the agency's entry agent,
    unless @Agent was used for most turns (the prompt's guess while the agency is being built)."""
    agents = [str(item["agent"]) for item in items if is_user_turn(item) and isinstance(item.get("agent"), str)]
    return Counter(agents).most_common(1)[0][0] if agents else None


def one_line(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
