"""rich output for the offline commands: the session table, transcripts, search hits."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from swarmchat.session import Item, SessionMeta, parse_time
from swarmchat.store import BadSession, Listed, SearchHit
from swarmchat.transcript import Entry, entries


def ago(iso: str, now: datetime | None = None) -> str:
    """'3m ago', '2h ago', '5d ago', or the date for older times."""
    then = parse_time(iso)
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("m", 60), ("h", 3600), ("d", 86400)):
        if seconds < size * (60 if unit == "m" else 24 if unit == "h" else 30):
            return f"{seconds // size}{unit} ago"
    return then.astimezone().strftime("%Y-%m-%d")


def session_table(console: Console, listed: list[Listed], total: int) -> None:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("NAME", style="cyan", no_wrap=True)
    table.add_column("TITLE", overflow="ellipsis", no_wrap=True, ratio=1)
    table.add_column("AGENCY", style="dim", overflow="ellipsis", no_wrap=True, max_width=30)
    table.add_column("MSGS", justify="right")
    table.add_column("LAST USED", justify="right", no_wrap=True)
    for entry in listed:
        if isinstance(entry, BadSession):
            table.add_row(entry.name, Text(f"damaged: {entry.problem}", style="red"), "", "?", "")
        else:
            agency = entry.agency or "(built-in)"
            table.add_row(entry.name, entry.title or "(empty)", agency, str(entry.message_count), ago(entry.updated_at))
    console.print(table)
    if total > len(listed):
        console.print(f"[dim]… {total - len(listed)} older sessions not shown (use --all)[/dim]")


def transcript(console: Console, meta: SessionMeta, items: list[Item]) -> None:
    """A rich transcript: user turns, agent replies as Markdown, agent traffic dimmed."""
    console.rule(f"[bold]{meta.name}[/bold] [dim]{meta.title}[/dim]")
    show_entries(console, entries(items))


def show_entries(console: Console, shown: list[Entry]) -> None:
    for entry in shown:
        if entry.kind == "user":
            console.print(Text("you", style="bold green"), Text(f"→ {entry.to}", style="dim") if entry.to else "")
            console.print(Text(entry.text))
        elif entry.kind == "reply" and not entry.nested:
            console.print(Text(entry.agent, style="bold magenta"))
            console.print(Markdown(entry.text))
        else:
            arrow = f"{entry.agent} → {entry.to}" if entry.to else entry.agent
            label = {"tool_call": "⚙", "tool_output": "↳", "note": "·"}.get(entry.kind, "↪")
            console.print(
                Text(f"  {label} {arrow}: {_flat(entry.text)}", style="dim"), overflow="ellipsis", no_wrap=True
            )
        console.print()


def search_hits(console: Console, hits: list[SearchHit]) -> None:
    current = None
    for hit in hits:
        if hit.name != current:
            current = hit.name
            console.print(Text.assemble((hit.name, "bold cyan"), "  ", (hit.title, "dim")))
        console.print(Text.assemble("  ", (f"{hit.role}: ", "dim"), hit.line))


def _flat(text: str) -> str:
    return " ".join(text.split())
