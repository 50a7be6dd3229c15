"""Text from a model, a tool, an imported file or a session file, made safe to show on a terminal.

A terminal obeys the control characters in what it prints: ESC starts sequences that set the
window title (OSC 0), write the clipboard (OSC 52), hide a link's target (OSC 8) or clear the
screen (CSI 2J); U+009B is a one-character CSI. Such text is shown visibly instead (ESC as `␛`,
other C0 controls as their control pictures, C1 controls and lone surrogates as `<U+009B>`), so it
stays readable and nothing in it is obeyed. Names, titles and error lines are single lines: there
newlines become spaces and bidi overrides, which can make a line read differently from what it
is, are shown too.

Only the screen uses this: pipes and `--json` get the exact data (`json_dumps` escapes every
control character as JSON does).

The rich helpers at the end import rich lazily: `list` never pays for it.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
    from rich.markdown import Markdown, MarkdownElement
    from rich.style import StyleType
    from rich.text import Text

# C0 controls except tab and newline, DEL, C1 controls, lone surrogates (a UTF-8 console cannot print them).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, plus tab, newline, Unicode line/paragraph separators and the bidi embeddings, overrides and isolates.
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SPACES = "\t\n\r\x0b\x0c\u2028\u2029"
_JSON_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff]")


def _visible(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # control pictures: ␀ … ␛ … ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def _shown(match: re.Match[str]) -> str:
    return _visible(match.group())


def _shown_on_one_line(match: re.Match[str]) -> str:
    char = match.group()
    return " " if char in _SPACES else _visible(char)


def safe_text(text: str) -> str:
    """Multi-line text for the screen: newlines and tabs kept, every other control shown, not obeyed.

    A CR before a newline (Windows line ends) is dropped; a lone CR, which would let a line
    overwrite itself, is shown as `␍`."""
    if text.isascii() and text.isprintable():
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _UNSAFE.sub(_shown, text)


def safe_line(text: str) -> str:
    """One line for the screen (a name, a title, an error): `safe_text`, with line breaks and tabs as
    spaces and bidi overrides/isolates shown."""
    if text.isascii() and text.isprintable():
        return text
    return _UNSAFE_LINE.sub(_shown_on_one_line, text)


class StreamGuard:
    """`safe_text` for text that arrives in pieces: a CR at the end of a piece waits for the next one,
    so a CR LF split across two pieces is still one line end."""

    def __init__(self) -> None:
        self._cr = False

    def feed(self, piece: str) -> str:
        if self._cr:
            piece = "\r" + piece
        self._cr = piece.endswith("\r")
        return safe_text(piece[:-1] if self._cr else piece)

    def flush(self) -> str:
        held, self._cr = self._cr, False
        return safe_text("\r") if held else ""


def _escape_json(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_dumps(data: Any, *, indent: int | None = 1) -> str:
    """JSON that is exact data and safe to print: non-ASCII text kept readable, but DEL, C1
    controls and lone surrogates escaped like the C0 controls (`ensure_ascii=False` leaves them raw).

    Outside strings JSON is ASCII, so every such character is inside a string, where the escape
    means the same character."""
    out = json.dumps(data, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(_escape_json, out)


# --- rich renderables built only from safe text ---------------------------------------------------


def text_block(text: str, style: StyleType = "") -> Text:
    """Multi-line text as a rich Text: never parsed as markup (`[bold red]` stays literal)."""
    from rich.text import Text

    return Text(safe_text(text), style=style)


def text_line(text: str, style: StyleType = "") -> Text:
    """One line as a rich Text, never parsed as markup."""
    from rich.text import Text

    return Text(safe_line(text), style=style)


def say(*parts: str | tuple[str, StyleType]) -> Text:
    """A one-line message assembled from plain pieces, each `text` or `(text, style)`: what the user,
    the store or a server wrote goes in as data, never as markup or terminal controls."""
    from rich.text import Text

    return Text.assemble(*(text_line(*((p, "") if isinstance(p, str) else p)) for p in parts))


def safe_markdown(text: str) -> RenderableType:
    """Model text rendered as Markdown, safely: the source is made safe first; links show their
    target as text (no OSC 8 hyperlink that could hide where it goes); and what Markdown itself
    produces (entities such as `&#x202E;` decode to characters) is checked again, segment by segment.

    As chat clients do, a single line break stays a line break (a poem, an address, a list without
    markers), and headings are left-aligned like the rest of the reply."""
    markdown = _chat_markdown()(safe_text(text), hyperlinks=False)
    for token in markdown.parsed:
        for child in token.children or ():
            if child.type == "softbreak":
                child.type = "hardbreak"
    return _Checked(markdown)


@functools.cache
def _chat_markdown() -> type[Markdown]:
    """rich's Markdown with every heading level left-aligned (rich centres `# Heading`)."""
    from rich.markdown import Heading, Markdown

    class LeftHeading(Heading):
        LEVEL_ALIGN: ClassVar[dict[str, JustifyMethod]] = dict.fromkeys(Heading.LEVEL_ALIGN, "left")

    class ChatMarkdown(Markdown):
        elements: ClassVar[dict[str, type[MarkdownElement]]] = {**Markdown.elements, "heading_open": LeftHeading}

    return ChatMarkdown


class _Checked:
    """A renderable whose output segments carry only safe text and no links or control codes."""

    def __init__(self, inner: RenderableType) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            if segment.control:
                continue
            style = segment.style
            if style is not None and style.link:
                style = style.update_link(None)
            yield Segment(safe_text(segment.text), style)
