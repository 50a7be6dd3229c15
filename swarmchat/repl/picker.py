"""The /sessions picker: type to filter by name, title and tag, arrows to move, Enter to pick.

A small prompt-toolkit Application drawn under the prompt (not full screen), so it fits an 80x24
terminal and leaves the scrollback alone; it erases itself when done. Names, titles and tags are
stored data: every one is shown through `safe_line`, never as markup or controls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prompt_toolkit.application import Application, get_app
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import BufferControl, FormattedTextControl
from prompt_toolkit.layout.dimension import Dimension
from prompt_toolkit.layout.processors import BeforeInput

from swarmchat.render import ago, cells, fit
from swarmchat.safe_text import safe_line
from swarmchat.session import SessionMeta

SHOWN_ROWS = 10
"""Rows of sessions shown at once (the list scrolls with the selection); fits a 24-line terminal."""
WHEN_CELLS = 9


@dataclass
class Row:
    name: str
    """The session's name, as stored (what a pick returns)."""
    shown: str
    """The name as drawn; the title and tags are kept only as drawn."""
    title: str
    tags: list[str]
    when: str
    busy: str = ""
    """Who has it open ("pid N on host H"), when another process does."""
    haystack: str = field(init=False)

    def __post_init__(self) -> None:
        self.haystack = " ".join([self.shown, self.title, *(f"#{t}" for t in self.tags)]).casefold()

    @classmethod
    def of(cls, meta: SessionMeta, busy: str = "") -> Row:
        tags = [safe_line(t) for t in meta.tags]
        return cls(meta.name, safe_line(meta.name), safe_line(meta.title), tags, ago(meta.updated_at), safe_line(busy))


def matching(rows: list[Row], query: str) -> list[Row]:
    """The rows holding every word of `query` (case aside) in their name, title or tags."""
    words = query.casefold().split()
    return [row for row in rows if all(word.lstrip("#") in row.haystack for word in words)]


class Picker:
    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.shown = rows
        self.selected = 0
        self.query = Buffer(multiline=False, on_text_changed=self._filter)
        keys = KeyBindings()
        keys.add("up")(self._up)
        keys.add("c-p")(self._up)
        keys.add("down")(self._down)
        keys.add("c-n")(self._down)
        keys.add("enter")(self._pick)
        keys.add("escape", eager=True)(self._cancel)
        keys.add("c-c")(self._cancel)
        keys.add("c-d")(self._cancel)
        height = Dimension.exact(min(SHOWN_ROWS, max(len(rows), 1)))
        self.app: Application[str | None] = Application(
            layout=Layout(
                HSplit(
                    [
                        Window(FormattedTextControl(self._header), height=1),
                        Window(BufferControl(self.query, input_processors=[BeforeInput("filter › ")]), height=1),
                        Window(FormattedTextControl(self._list), height=height),
                        Window(FormattedTextControl(self._footer), height=1),
                    ]
                ),
                focused_element=self.query,
            ),
            key_bindings=keys,
            erase_when_done=True,
        )

    async def run(self) -> str | None:
        """The name picked, or None if cancelled."""
        return await self.app.run_async()

    def _filter(self, _: Buffer) -> None:
        self.shown = matching(self.rows, self.query.text)
        self.selected = 0

    def _up(self, event: KeyPressEvent) -> None:
        self.selected = max(self.selected - 1, 0)

    def _down(self, event: KeyPressEvent) -> None:
        self.selected = min(self.selected + 1, max(len(self.shown) - 1, 0))

    def _pick(self, event: KeyPressEvent) -> None:
        if self.shown:
            event.app.exit(result=self.shown[self.selected].name)

    def _cancel(self, event: KeyPressEvent) -> None:
        event.app.exit(result=None)

    # drawing -----------------------------------------------------------------------------------
    def _header(self) -> StyleAndTextTuples:
        return [("bold", "switch to a session"), ("", "  (type to filter by name, title, #tag)")]

    def _footer(self) -> StyleAndTextTuples:
        count = f"{len(self.shown)} of {len(self.rows)}"
        return [("class:dim fg:ansibrightblack", f"{count}  ↑↓ move  Enter switch  Esc cancel")]

    def _list(self) -> StyleAndTextTuples:
        if not self.shown:
            return [("fg:ansibrightblack", "  no session matches" if self.rows else "  no other session yet")]
        width = max(get_app().output.get_size().columns - 1, 40)
        first = min(max(self.selected - SHOWN_ROWS + 1, 0), max(len(self.shown) - SHOWN_ROWS, 0))
        window = range(first, min(first + SHOWN_ROWS, len(self.shown)))
        name_cells = min(max(cells(self.shown[index].shown) for index in window), width // 2)
        lines: StyleAndTextTuples = []
        for index in window:
            row = self.shown[index]
            mine = index == self.selected
            rest = width - 2 - name_cells - 1 - WHEN_CELLS - 2
            tags = " ".join(f"#{t}" for t in row.tags)
            busy = f"[busy: {row.busy}]" if row.busy else ""
            about = fit(f"{busy}  {tags}  {row.title}".strip(), rest).rstrip()
            if lines:
                lines.append(("", "\n"))
            lines.append(("reverse" if mine else "", f"{'›' if mine else ' '} {fit(row.shown, name_cells)} "))
            lines.append(("reverse" if mine else "fg:ansibrightblack", f"{row.when:>{WHEN_CELLS}}  {about}"))
        return lines


async def pick(metas: list[SessionMeta], busy: dict[str, str] | None = None) -> str | None:
    """Let the user pick one of `metas` (shown in the order given; `busy`: those open elsewhere, with
    their holder); None if cancelled."""
    return await Picker([Row.of(meta, (busy or {}).get(meta.name, "")) for meta in metas]).run()
