"""Files sent with a message: a file read into one Responses content part, and parts named again for
the screen (pure: no agency-swarm, no rich; `show` imports this).

The kind comes from the file's first bytes, not its name: PNG, JPEG, GIF and WebP become an
`input_image` (a data URL), a PDF an `input_file` (base64 `file_data` with its filename), UTF-8 text
an `input_text` that names the file and fences its content. Anything else is refused, and so is a
file over the model APIs' limits, before anything is sent or stored.

The parts are plain Responses input items: agency-swarm stores the user message as is, so the
files are in the history (the agency sees them again on every later turn and after resume), and
the Agents SDK converts them for Chat Completions (`image_url` and `file` parts).
"""

from __future__ import annotations

import base64
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

from swarmchat.errors import UsageError

Part = dict[str, Any]
Kind = Literal["image", "pdf", "text"]

MB = 1024 * 1024
IMAGE_LIMIT = 20 * MB  # the OpenAI APIs' limit for one image
PDF_LIMIT = 32 * MB  # the OpenAI APIs' limit for the PDFs of one request
TEXT_LIMIT = 1 * MB  # a text file goes into the context as is: 1 MB is already ~250,000 tokens
ACCEPTED = "PNG, JPEG, GIF or WebP images, PDFs, and UTF-8 text files"

IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP"}
_HEAD = 16
_SNIFF = 8192  # how much of a big file is read to tell text from binary
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,")
_TEXT_FILE = re.compile(r"File (?P<name>[^\n]+):\n(?P<fence>`{3,})\n(?P<body>(?:.*\n)?)(?P=fence)", re.DOTALL)
_IMAGE_LABEL = re.compile(r"Image (?P<name>[^\n]+):")
ATTACHED = "📎"


@dataclass(frozen=True)
class Attachment:
    """A file read and checked, ready to go with the next message."""

    path: str  # as given (shown in errors and lists; never sent)
    name: str  # the file's name, which the model sees
    kind: Kind
    label: str  # 'PNG image', 'PDF', 'text'
    size: int  # bytes on disk
    parts: list[Part]  # an image is preceded by a text part naming it (input_image has no file name)

    def describe(self) -> str:
        return f"{self.name} ({self.label}, {human_size(self.size)})"


def sniff(head: bytes) -> str | None:
    """The MIME type of an image or PDF from its first bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def looks_like_text(data: bytes, *, cut: bool = False) -> bool:
    """UTF-8 without NUL bytes; `cut`: `data` is the start of a longer file (it may end mid-character)."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return cut and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data"
    return True


def files_count(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes" if size != 1 else "1 byte"
    if size < MB:
        return f"{size / 1024:.0f} KB"
    return f"{size / MB:.1f} MB"


def read_attachment(path: Path | str) -> Attachment:
    """Read one file into a content part; UsageError (naming the file) if it cannot go."""
    path = Path(path).expanduser()
    shown = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"cannot attach '{shown}': no such file; check the path") from None
    except OSError as exc:
        raise UsageError(f"cannot attach '{shown}': {exc.strerror or exc}; check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"cannot attach '{shown}': it is a directory; attach the files in it one by one")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"cannot attach '{shown}': not a regular file; attach {ACCEPTED}")
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD)
            mime = sniff(head)
            limit = PDF_LIMIT if mime == "application/pdf" else IMAGE_LIMIT if mime else TEXT_LIMIT
            if info.st_size > limit:
                handle.seek(0)
                _too_big(shown, mime, info.st_size, limit, handle.read(_SNIFF))
            data = head + handle.read(limit + 1 - len(head))
    except OSError as exc:
        raise UsageError(f"cannot attach '{shown}': {exc.strerror or exc}; check that you may read it") from None
    if len(data) > limit:  # it grew since stat
        _too_big(shown, mime, len(data), limit, data[:_SNIFF])
    return _attachment(shown, path.name, mime, data)


def _too_big(shown: str, mime: str | None, size: int, limit: int, start: bytes) -> NoReturn:
    if mime is None and not looks_like_text(start, cut=True):
        _unknown(shown)
    what = "PDFs" if mime == "application/pdf" else "images" if mime else "text files"
    raise UsageError(
        f"cannot attach '{shown}': it is {human_size(size)}, over the {limit // MB} MB limit for {what}; "
        "attach a smaller file"
    )


def _unknown(shown: str) -> NoReturn:
    raise UsageError(f"cannot attach '{shown}': not a kind that can be sent; attach {ACCEPTED}")


def _attachment(shown: str, name: str, mime: str | None, data: bytes) -> Attachment:
    name = " ".join(name.split())  # one line: a newline in a file name must not end a header line
    if mime == "application/pdf":
        part = {"type": "input_file", "filename": name, "file_data": data_url(mime, data)}
        return Attachment(shown, name, "pdf", "PDF", len(data), [part])
    if mime is not None:
        label = {"type": "input_text", "text": f"Image {name}:"}
        image = {"type": "input_image", "image_url": data_url(mime, data), "detail": "auto"}
        return Attachment(shown, name, "image", f"{IMAGE_TYPES[mime]} image", len(data), [label, image])
    if not looks_like_text(data):
        _unknown(shown)
    text = data.decode("utf-8").removeprefix("\ufeff")
    return Attachment(shown, name, "text", "text", len(data), [{"type": "input_text", "text": fenced(name, text)}])


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def fenced(name: str, text: str) -> str:
    """`File NAME:` and the text in a fence longer than any run of backticks inside it."""
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"File {name}:\n{fence}\n{body}{fence}"


def read_attachments(paths: Iterable[Path | str], pending: Iterable[Attachment] = ()) -> list[Attachment]:
    """Read every file, all or nothing; the PDFs of one message (with those `pending` for it)
    together stay within the PDF limit."""
    files = [read_attachment(path) for path in paths]
    pdfs = sum(f.size for f in [*pending, *files] if f.kind == "pdf")
    if pdfs > PDF_LIMIT:
        raise UsageError(
            f"cannot attach these PDFs: together they are {human_size(pdfs)}, over the {PDF_LIMIT // MB} MB "
            "limit for the PDFs of one message; send them with separate messages"
        )
    return files


def user_message(text: str, files: Iterable[Attachment]) -> list[Part]:
    """The structured user message: the text first, then the files' parts."""
    parts = [part for f in files for part in f.parts]
    return [{"role": "user", "content": [{"type": "input_text", "text": text}, *parts]}]


# Reading stored messages back ------------------------------------------------------------------------
def split_content(content: object) -> tuple[str, list[str]]:
    """A user message's typed text and one note per attached file, 'NAME (KIND, SIZE)': never the
    data itself. The first text part is what was typed; later ones may be files (see `fenced`)."""
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        return "", []
    texts: list[str] = []
    notes: list[str] = []
    index = 0
    while index < len(content):
        part = content[index]
        index += 1
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        text = part.get("text")
        label = _IMAGE_LABEL.fullmatch(text) if isinstance(text, str) and texts and kind == "input_text" else None
        following = content[index] if index < len(content) else None
        if label and isinstance(following, dict) and following.get("type") == "input_image":
            notes.append(image_note(following, label["name"]))
            index += 1
        elif kind == "input_image":
            notes.append(image_note(part, None))
        elif kind == "input_file":
            notes.append(file_note(part))
        elif isinstance(text, str):
            found = _TEXT_FILE.fullmatch(text) if texts and kind == "input_text" else None
            if found:
                notes.append(f"{found['name']} (text, {human_size(len(found['body'].encode('utf-8')))})")
            else:
                texts.append(text)
    return "".join(texts), notes


def image_note(part: Part, name: str | None) -> str:
    url = part.get("image_url")
    mime, size = _data_url_size(url)
    if mime is None:  # an image given by URL names itself; no data URL is ever shown
        where = url if isinstance(url, str) and url.startswith(("http://", "https://")) else "image"
        return f"{name or where[:200]} (image)"
    return f"{name or 'image'} ({IMAGE_TYPES.get(mime, mime)} image, {human_size(size)})"


def file_note(part: Part) -> str:
    name = str(part.get("filename") or part.get("file_id") or part.get("file_url") or "file")
    mime, size = _data_url_size(part.get("file_data"))
    if mime is None:
        return f"{name} (file)"
    return f"{name} ({'PDF' if mime == 'application/pdf' else mime}, {human_size(size)})"


def _data_url_size(url: object) -> tuple[str | None, int]:
    """The MIME type and decoded size of a base64 data URL, without decoding it."""
    if not isinstance(url, str):
        return None, 0
    head = _DATA_URL.match(url)
    if head is None:
        return None, 0
    encoded = len(url) - head.end()
    padding = len(url) - len(url.rstrip("="))
    return head[1], max(0, encoded * 3 // 4 - padding)


def bad_attachment(items: Iterable[dict[str, Any]]) -> str | None:
    """What is wrong with the first file part of these stored items whose data cannot be sent (a data URL
    that is not valid base64, as a model API would answer 400 on every turn), or None. For an import."""
    for number, item in enumerate(items, 1):
        content = item.get("content")
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict) or part.get("type") not in ("input_image", "input_file"):
                continue
            url = part.get("image_url" if part["type"] == "input_image" else "file_data")
            if isinstance(url, str) and url.startswith("data:") and not _valid_data_url(url):
                what = "an image" if part["type"] == "input_image" else f"a file '{part.get('filename') or 'file'}'"
                return f"message {number} holds {what} whose data is not valid base64"
    return None


def _valid_data_url(url: str) -> bool:
    head = _DATA_URL.match(url)
    if head is None:
        return False
    try:
        base64.b64decode(url[head.end() :], validate=True)
    except ValueError:
        return False
    return True


def shown_text(content: object) -> str:
    """A user message as the screen shows it: what was typed, then a line per attached file."""
    text, notes = split_content(content)
    return "\n\n".join(p for p in [text, "\n".join(f"{ATTACHED} {n}" for n in notes)] if p)


def typed_text(content: object) -> str:
    """What the user typed, without the files (a title, a retry's echo)."""
    return split_content(content)[0]
