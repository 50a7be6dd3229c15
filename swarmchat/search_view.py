"""How `search` shows its ranked sessions: plain lines for a pipe, the matches highlighted on a terminal.

The highlighted lines are built from pieces of plain text (`rich.text.Text.append`), never from
markup, so nothing a model or a tool wrote can be taken for rich markup or a terminal escape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from swarmchat.safe_text import json_dumps, safe_line

if TYPE_CHECKING:
    from rich.console import Console

    from swarmchat.store.search import Found, Snippet


def speaker(snippet: Snippet) -> str:
    """Who said it: 'user', an agent, 'Lead → Researcher' for a delegation, or a tool's agent."""
    agent = snippet.agent or "?"
    if snippet.role == "user":
        return f"{snippet.caller} → {agent}" if snippet.caller else "user"
    if snippet.role == "tool_call":
        return f"{agent} (tool call)"
    if snippet.role == "tool_output":
        return f"{agent} (tool output)"
    if snippet.role == "system":
        return "note"
    return agent


def turn_mark(snippet: Snippet) -> str:
    """'#3 ' for a snippet of turn 3 (the number `fork NAME --at 3` takes); '' before the first turn."""
    return f"#{snippet.turn} " if snippet.turn else ""


def as_json(found: list[Found]) -> str:
    rows: list[dict[str, Any]] = [
        {
            "name": f.name,
            "title": f.title,
            "updated_at": f.updated_at,
            "score": f.score,
            "snippets": [
                {"agent": s.agent, "caller": s.caller, "role": s.role, "turn": s.turn, "text": s.text}
                for s in f.snippets
            ],
        }
        for f in found
    ]
    return json_dumps(rows) + "\n"


def plain(found: list[Found], out: TextIO) -> None:
    for f in found:
        out.write(f"{f.name}  {_flat(f.title)}\n")
        for s in f.snippets:
            out.write(f"  {turn_mark(s)}{_flat(speaker(s))}: {_flat(s.text)}\n")


def highlighted(console: Console, found: list[Found], *, numbered: bool = False) -> None:
    """The hits on a terminal; `numbered` (the REPL's /search) puts the number that opens each first."""
    from rich.text import Text

    for number, f in enumerate(found, 1):
        head = Text(f"{number:>2}. " if numbered else "")
        head.append(f.name, "bold cyan")
        head.append("  ")
        head.append(_flat(f.title), "dim")
        console.print(head, soft_wrap=True)
        for s in f.snippets:
            line = Text("  ")
            line.append(turn_mark(s))
            line.append(f"{_flat(speaker(s))}: ", "dim")
            for piece, hit in s.pieces:
                line.append(safe_line(piece), "bold yellow" if hit else "")
            console.print(line)


def _flat(text: str) -> str:
    return " ".join(safe_line(text).split())
