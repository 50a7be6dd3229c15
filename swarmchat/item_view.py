"""How each part of a conversation is drawn, in one place: the live turn (`stream_view`), the resume
replay and /history (the REPL) and `show` (a terminal, or Markdown for a pipe) all say it the same way.

- a message the user typed: `you #3 → Agent`, then the text;
- a reply to the user: the agent's name, then its Markdown;
- a delegation: two dim lines, `→ Lead asks Worker: …` and `← Worker: …` (the worker's answer once);
- a tool call: `⚙ Agent calls name(args)`, its result `↳ …`; a handoff `⇢ Lead hands the conversation to …`;
- a turn without a reply (it failed, was cut by `fork --at -1`): marked `(no reply: /retry)`.

The REPL folds agent traffic to one screen line; `show` prints it whole. Every text goes through
`safe_text` and none is read as rich markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarmchat.safe_text import safe_markdown, text_block, text_line

if TYPE_CHECKING:
    from rich.console import Console

    from swarmchat.transcript import Entry

NO_REPLY = "(no reply: /retry)"
FOLD = 300
"""Characters of agent traffic the REPL shows on its one line (before the screen's width cuts it)."""


# the words ---------------------------------------------------------------------------------------
def asks(sender: str, recipient: str, message: str) -> str:
    return f"→ {sender} asks {recipient}: {message}"


def answers(agent: str, text: str) -> str:
    return f"← {agent}: {text}"


def calls(agent: str, call: str) -> str:
    """`call` is `name(arguments)`."""
    return f"⚙ {agent} calls {call}"


def returns(output: str) -> str:
    return f"↳ {output}"


def hands_over(sender: str, recipient: str) -> str:
    return f"⇢ {sender} hands the conversation to {recipient}"


def traffic(entry: Entry) -> str:
    """The line for what is not a user message or a reply to the user."""
    if entry.kind == "delegation":
        return asks(entry.agent, entry.to or "?", entry.text)
    if entry.kind == "reply":
        return answers(entry.agent, entry.text)
    if entry.kind == "tool_call":
        return calls(entry.agent, entry.text)
    if entry.kind == "tool_output":
        return returns(entry.text)
    return f"· {entry.text}"


def you(entry: Entry) -> tuple[str, str]:
    """('you', ' #3 → Agent'): the turn number is the one fork --at takes."""
    turn = f" #{entry.turn}" if entry.turn else ""
    return "you", turn + (f" → {entry.to}" if entry.to else "")


def unanswered(shown: list[Entry]) -> set[int]:
    """Positions of the user messages in `shown` that no reply to the user follows before the next one."""
    missing: set[int] = set()
    asked: int | None = None
    for pos, entry in enumerate(shown):
        if entry.kind == "user":
            if asked is not None:
                missing.add(asked)
            asked = pos
        elif entry.kind == "reply" and not entry.nested:
            asked = None
    if asked is not None:
        missing.add(asked)
    return missing


# on a terminal -----------------------------------------------------------------------------------
def agent_header(console: Console, agent: str) -> None:
    console.print(text_line(agent, "bold magenta"))


def traffic_line(console: Console, text: str, *, full: bool = False) -> None:
    """Agent traffic, dimmed: folded to one screen line, or (`full`) the whole text, wrapped."""
    if full:
        console.print(text_block(f"  {text}", "dim"), overflow="fold")
    else:
        console.print(text_line(f"  {flat(text)}", "dim"), overflow="ellipsis", no_wrap=True, crop=True)


def flat(text: str, limit: int = FOLD) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def draw(console: Console, shown: list[Entry], *, full: bool = False) -> None:
    """Stored turns: the resume replay and /history (folded), `show` on a terminal (`full`)."""
    from rich.text import Text

    missing = unanswered(shown)
    for pos, entry in enumerate(shown):
        if entry.kind == "user":
            who, where = you(entry)
            console.print(Text.assemble(text_line(who, "bold green"), text_line(where, "dim")))
            console.print(text_block(entry.text))
            if pos in missing:
                console.print(text_line(NO_REPLY, "dim yellow"))
        elif entry.kind == "reply" and not entry.nested:
            agent_header(console, entry.agent)
            console.print(safe_markdown(entry.text))  # rich's Markdown: ~40 ms of imports, paid only when shown
        else:
            traffic_line(console, traffic(entry), full=full)
            if pos + 1 < len(shown) and _is_traffic(shown[pos + 1]):
                continue  # agent traffic is one block of lines, as it is drawn live
        console.print()


def _is_traffic(entry: Entry) -> bool:
    return entry.kind != "user" and not (entry.kind == "reply" and not entry.nested)


# as Markdown -------------------------------------------------------------------------------------
def markdown_lines(shown: list[Entry]) -> list[str]:
    """The same conversation as Markdown (`show` into a pipe, the text /compact summarizes)."""
    lines: list[str] = []
    missing = unanswered(shown)
    for pos, entry in enumerate(shown):
        if entry.kind == "user":
            lines += [f"**You** → {entry.to}:" if entry.to else "**You:**", "", entry.text, ""]
            if pos in missing:
                lines += [f"*{NO_REPLY}*", ""]
        elif entry.kind == "reply" and not entry.nested:
            lines += [f"**{entry.agent}:**", "", entry.text, ""]
        elif entry.kind in ("tool_call", "tool_output"):
            head = calls(entry.agent, "") if entry.kind == "tool_call" else returns("")
            lines += [f"> {head}`{flat(entry.text, 2000)}`", ""]
        else:
            lines += ["> " + line for line in traffic(entry).splitlines()] + [""]
    return lines
