"""Output of the offline commands: the session table (plain text: `list` does not pay for rich's
import), transcripts and search hits (rich)."""

from __future__ import annotations

import os
import shutil
import sys
import unicodedata
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from swarmchat.safe_text import safe_line, text_line
from swarmchat.session import Item, SessionMeta, parse_time
from swarmchat.store import BadSession, Listed
from swarmchat.words import counted

if TYPE_CHECKING:
    from rich.console import Console

BOLD, DIM, CYAN, RED, YELLOW, RESET = "\x1b[1m", "\x1b[2m", "\x1b[36m", "\x1b[31m", "\x1b[33m", "\x1b[0m"


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


NARROW = 40
"""Below this many columns for the title and the agency, `list` leaves the agency out."""


def session_table(
    listed: list[Listed], total: int, out: TextIO | None = None, busy: dict[str, str] | None = None
) -> None:
    """The listing, one session a line; every column fits the terminal's width (the title and then
    the agency are shortened with an ellipsis, and on a narrow screen the agency is left out: the
    numbers are never cut); a TAGS column when a shown session has tags; colours only on a terminal
    and without NO_COLOR. `busy`: sessions open in another process (name: holder), marked under the
    listing."""
    out = out or sys.stdout
    colour = out.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    width = shutil.get_terminal_size((80, 24)).columns  # COLUMNS, else the terminal, else 80
    tagged = any(isinstance(entry, SessionMeta) and entry.tags for entry in listed)
    rows: list[list[str]] = [["NAME", "TITLE", "TAGS", "AGENCY", "TURNS", "LAST USED"]]
    damaged = set()
    for entry in listed:
        if isinstance(entry, BadSession):
            damaged.add(len(rows))
            rows.append([_clean(entry.name), _clean(f"damaged: {entry.problem}"), "", "", "?", ""])
        else:
            agency = _clean(entry.agency or "(built-in)")
            title = _clean(entry.title or "(empty)")
            tags = " ".join(f"#{_clean(t)}" for t in entry.tags)
            rows.append([_clean(entry.name), title, tags, agency, str(entry.turn_count), ago(entry.updated_at)])
    if not tagged:
        for row in rows:
            del row[2]
    name_w, *text_w, msgs_w, last_w = (max(cells(r[i]) for r in rows) for i in range(len(rows[0])))
    spare = width - name_w - msgs_w - last_w - 2 * len(rows[0]) + 2  # two spaces between columns
    if spare < NARROW and text_w[-1] > spare * 2 // 5:  # a narrow screen: the agency goes rather than be cut
        for row in rows:
            del row[-3]
        spare += text_w.pop() + 2
    if tagged:
        text_w[1] = max(4, min(24, text_w[1], spare // 3))
        spare -= text_w[1]
    with_agency = len(text_w) == 2 + tagged
    if with_agency:
        text_w[-1] = max(6, min(30, text_w[-1], spare * 2 // 5))  # the agency
        spare -= text_w[-1]
    text_w[0] = max(8, min(text_w[0], spare))  # the title takes what is left
    lines = []
    for number, row in enumerate(rows):
        name, *texts = (fit(text, w) for text, w in zip(row, [name_w, *text_w], strict=False))
        msgs, last = row[-2].rjust(msgs_w), row[-1].rjust(last_w)
        if not colour:
            lines.append("  ".join([name, *texts, msgs, last]).rstrip())
        elif number == 0:
            lines.append(f"{BOLD}{'  '.join([name, *texts, msgs, last])}{RESET}")
        else:
            texts[0] = f"{RED}{texts[0]}{RESET}" if number in damaged else texts[0]
            if tagged:
                texts[1] = f"{YELLOW}{texts[1]}{RESET}"
            if with_agency:
                texts[-1] = f"{DIM}{texts[-1]}{RESET}"
            lines.append(f"{CYAN}{name}{RESET}  {'  '.join([*texts, msgs, last])}".rstrip())
    for name, holder in (busy or {}).items():
        line = _clean(f"busy: {name} is open in {holder}")
        lines.append(f"{YELLOW}{line}{RESET}" if colour else line)
    if total > len(listed):
        more = f"… {counted(total - len(listed), 'older session')} not shown (use --all)"
        lines.append(f"{DIM}{more}{RESET}" if colour else more)
    out.write("\n".join(lines) + "\n")


def cells(text: str) -> int:
    """Terminal columns `text` takes (wide East Asian characters two, combining marks none)."""
    if text.isascii():
        return len(text)
    return sum(_char_cells(c) for c in text)


def _char_cells(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def fit(text: str, width: int) -> str:
    """`text` padded to `width` columns, or cut to fit with an ellipsis."""
    used = cells(text)
    if used <= width:
        return text + " " * (width - used)
    kept, used = [], 0
    for char in text:
        size = _char_cells(char)
        if used + size > width - 1:
            break
        kept.append(char)
        used += size
    return "".join(kept) + "…" + " " * (width - 1 - used)


def _clean(text: str) -> str:
    """Stored text on one line, its controls shown not obeyed (an imported title cannot drive the terminal)."""
    return safe_line(text)


def transcript(console: Console, meta: SessionMeta, items: list[Item]) -> None:
    """A rich transcript: user turns, agent replies as Markdown, agent traffic dimmed."""
    from rich.text import Text

    from swarmchat.item_view import draw
    from swarmchat.transcript import entries

    console.rule(Text.assemble(text_line(meta.name, "bold"), " ", text_line(meta.title, "dim")))
    if note := untrusted_note(meta):
        console.print(text_line(note, "yellow"))
        console.print()
    draw(console, entries(items), full=True)


def untrusted_note(meta: SessionMeta) -> str:
    """'' for a trusted session; else what resume will ask about before it runs or sends anything."""
    from swarmchat.lifecycle import untrusted

    what = untrusted(meta)
    return f"imported; its {what} are used only once confirmed (resume asks, or --agency SPEC)" if what else ""
