"""Files and images sent with a message (issue 14): what each kind becomes, what is refused, what the
scripted server receives on both APIs (first turn and after resume), what is stored, shown and carried."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from agency_server import AgencyServer
from conftest import Run, one_error_line, stored
from fake_openai import FakeOpenAI, Reply
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from terminal import Terminal

import swarmchat.repl.commands  # noqa: F401  (registers every command, as run_repl does)
from swarmchat.attachments import (
    IMAGE_LIMIT,
    PDF_LIMIT,
    TEXT_LIMIT,
    fenced,
    read_attachment,
    read_attachments,
    shown_text,
    sniff,
    user_message,
)
from swarmchat.errors import UsageError
from swarmchat.repl.completion import ChatCompleter
from swarmchat.session import first_user_text
from swarmchat.transcript import to_markdown


def png_bytes() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(size: int = 2000) -> bytes:
    body = random.Random(size).randbytes(size)
    return b"%PDF-1.4\n" + body + b"\n%%EOF\n"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A PNG, a PDF and a text file (with a run of backticks inside), as a user has them."""
    folder = tmp_path / "files"
    folder.mkdir()
    made = {
        "png": folder / "dot.png",
        "pdf": folder / "report.pdf",
        "txt": folder / "server log.txt",
    }
    made["png"].write_bytes(png_bytes())
    made["pdf"].write_bytes(pdf_bytes())
    made["txt"].write_text("ERROR disk full at 03:12\nsee ```fence``` inside\n", encoding="utf-8")
    return made


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


# --- kinds (fast) --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),  # a RIFF that is not WebP (a WAV)
        (b"hello, world\n", None),
        (b"PK\x03\x04", None),
    ],
)
def test_the_kind_comes_from_the_first_bytes(head: bytes, mime: str | None) -> None:
    assert sniff(head) == mime


def test_each_kind_becomes_its_content_part(files: dict[str, Path]) -> None:
    image = read_attachment(files["png"])
    assert (image.kind, image.name, image.label, image.size) == ("image", "dot.png", "PNG image", len(png_bytes()))
    assert image.parts == [
        {"type": "input_text", "text": "Image dot.png:"},
        {"type": "input_image", "image_url": data_url("image/png", png_bytes()), "detail": "auto"},
    ]
    pdf = read_attachment(files["pdf"])
    assert pdf.parts == [
        {"type": "input_file", "filename": "report.pdf", "file_data": data_url("application/pdf", pdf_bytes())}
    ]
    text = read_attachment(files["txt"])
    assert text.parts == [
        {
            "type": "input_text",
            "text": "File server log.txt:\n````\nERROR disk full at 03:12\nsee ```fence``` inside\n````",
        }
    ]
    message = user_message("what happened?", [image, pdf, text])
    assert message == [
        {
            "role": "user",
            "content": [{"type": "input_text", "text": "what happened?"}, *image.parts, *pdf.parts, *text.parts],
        }
    ]


def test_the_content_decides_not_the_name(tmp_path: Path) -> None:
    disguised = tmp_path / "notes.txt"
    disguised.write_bytes(png_bytes())
    assert read_attachment(disguised).kind == "image"
    text = tmp_path / "photo.png"
    text.write_text("just text\n")
    assert read_attachment(text).kind == "text"


def test_a_fence_is_longer_than_any_backtick_run_inside() -> None:
    assert fenced("a.md", "x") == "File a.md:\n```\nx\n```"
    assert fenced("a.md", "`````\n") == "File a.md:\n``````\n`````\n``````"
    assert fenced("empty.txt", "") == "File empty.txt:\n```\n```"


def refusal(path: Path | str) -> str:
    with pytest.raises(UsageError) as caught:
        read_attachments([path])
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_what_cannot_be_sent_is_refused_naming_the_file(tmp_path: Path) -> None:
    assert re.fullmatch(
        r"cannot attach '.*nowhere\.png': no such file; check the path", refusal(tmp_path / "nowhere.png")
    )
    assert "it is a directory" in refusal(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    assert "not a regular file" in refusal(tmp_path / "pipe")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert "no such file" in refusal(tmp_path / "dangling")
    (tmp_path / "archive.zip").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    unknown = refusal(tmp_path / "archive.zip")
    assert "archive.zip" in unknown and "not a kind that can be sent" in unknown
    assert all(kind in unknown for kind in ("PNG", "JPEG", "GIF", "WebP", "PDF", "UTF-8 text"))
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    assert "not a kind that can be sent" in refusal(tmp_path / "latin1.txt")


@pytest.mark.parametrize(
    ("head", "limit", "what"),
    [
        (png_bytes(), IMAGE_LIMIT, "images"),
        (b"%PDF-1.4\n", PDF_LIMIT, "PDFs"),
        (b"plain text\n" * 1000, TEXT_LIMIT, "text files"),
    ],
)
def test_files_over_the_limit_are_refused_before_they_are_read(
    tmp_path: Path, head: bytes, limit: int, what: str
) -> None:
    big = tmp_path / "big"
    big.write_bytes(head)
    os.truncate(big, limit + 1)  # sparse: no time spent writing it
    assert f"over the {limit // 2**20} MB limit for {what}" in refusal(big)
    if what != "text files":  # (a sparse file's zeros are no text)
        os.truncate(big, limit)
        assert read_attachment(big).size == limit  # the limit itself is allowed


def test_a_big_binary_file_is_refused_for_its_kind_not_its_size(tmp_path: Path) -> None:
    big = tmp_path / "disk.img"
    big.write_bytes(b"\x7fELF\x02\x01\x01\x00")
    os.truncate(big, 50 * 1024 * 1024)
    assert "not a kind that can be sent" in refusal(big)


def test_the_pdfs_of_one_message_share_the_limit(tmp_path: Path) -> None:
    paths = []
    for n in range(2):
        path = tmp_path / f"part{n}.pdf"
        path.write_bytes(b"%PDF-1.4\n")
        os.truncate(path, PDF_LIMIT // 2 + 1)
        paths.append(path)
    assert "together" in refusal_all(paths)


def refusal_all(paths: list[Path]) -> str:
    with pytest.raises(UsageError) as caught:
        read_attachments(paths)
    return str(caught.value)


def test_a_stored_message_names_its_files_and_never_prints_their_data(files: dict[str, Path]) -> None:
    parts = read_attachments([files["png"], files["pdf"], files["txt"]])
    content = user_message("what happened?", parts)[0]["content"]
    shown = shown_text(content)
    assert shown.splitlines() == [
        "what happened?",
        "",
        f"📎 dot.png (PNG image, {len(png_bytes())} bytes)",
        "📎 report.pdf (PDF, 2 KB)",
        "📎 server log.txt (text, 48 bytes)",
    ]
    items = [{"role": "user", "content": content, "agent": "Assistant", "callerAgent": None}]
    assert first_user_text(items) == "what happened?"  # the title is what was typed
    markdown = to_markdown("t", items)
    assert "base64" not in markdown and "data:" not in markdown and "ERROR disk full" not in markdown
    assert "📎 report.pdf (PDF, 2 KB)" in markdown


def test_attach_completes_paths_and_quotes_those_with_spaces(files: dict[str, Path]) -> None:
    completer = ChatCompleter(lambda entry: [], lambda: [])
    folder = files["txt"].parent

    def complete(text: str) -> list[str]:
        document = Document(text)
        found = completer.get_completions(document, CompleteEvent(completion_requested=True))
        return [document.text[: len(text) + c.start_position] + c.text for c in found]

    assert complete(f"/attach {folder}/do") == [f"/attach {folder}/dot.png"]
    assert complete(f"/attach {folder}/dot.png {folder}/se") == [f"/attach {folder}/dot.png '{folder}/server log.txt'"]
    assert complete(f"/attach '{folder}/se") == [f"/attach '{folder}/server log.txt"]


# --- through the real stack ------------------------------------------------------------------------------
def journal(data_dir: Path, name: str) -> Path:
    return data_dir / "sessions" / f"{name}.jsonl"


def user_parts(body: dict[str, object], api: str) -> list[list[dict[str, object]]]:
    """The content parts of every user message in a request body, in that API's shape."""
    raw = body["input"] if api == "responses" else body["messages"]
    assert isinstance(raw, list)
    return [m["content"] for m in raw if m.get("role") == "user" and isinstance(m.get("content"), list)]


def expected_parts(api: str, files: dict[str, Path]) -> list[dict[str, object]]:
    png, pdf = data_url("image/png", png_bytes()), data_url("application/pdf", pdf_bytes())
    text = "File server log.txt:\n````\nERROR disk full at 03:12\nsee ```fence``` inside\n````"
    if api == "responses":
        return [
            {"type": "input_text", "text": "What went wrong?"},
            {"type": "input_text", "text": "Image dot.png:"},
            {"type": "input_image", "image_url": png, "detail": "auto"},
            {"type": "input_file", "filename": "report.pdf", "file_data": pdf},
            {"type": "input_text", "text": text},
        ]
    return [  # Chat Completions' shape, converted by the Agents SDK
        {"type": "text", "text": "What went wrong?"},
        {"type": "text", "text": "Image dot.png:"},
        {"type": "image_url", "image_url": {"url": png, "detail": "auto"}},
        {"type": "file", "file": {"file_data": pdf, "filename": "report.pdf"}},
        {"type": "text", "text": text},
    ]


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_files_reach_the_model_on_the_first_turn_and_again_after_resume(
    cli: Run, server: FakeOpenAI, files: dict[str, Path], api: str
) -> None:
    server.push(Reply("The disk filled up at 03:12."))
    attach = [arg for key in ("png", "pdf", "txt") for arg in ("--attach", str(files[key]))]
    first = cli("new", "incident", "--base-url", server.url, "--api", api, "-m", "What went wrong?", *attach)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "The disk filled up at 03:12.\n"
    assert user_parts(server.last.body, api) == [expected_parts(api, files)]

    server.push(Reply("Free some space."))
    second = cli("resume", "incident", "-m", "And now?")
    assert second.returncode == 0, second.stderr
    sent = server.last
    assert sent.path.endswith("/chat/completions" if api == "chat" else "/responses")
    assert user_parts(sent.body, api)[0] == expected_parts(api, files)  # the files again, from the history
    assert sent.user_texts()[-1] == "And now?"

    listed = json.loads(cli("list", "--json").stdout)
    assert listed[0]["title"] == "What went wrong?"
    shown = cli("show", "incident")
    assert shown.returncode == 0, shown.stderr
    assert "📎 dot.png (PNG image, " in shown.stdout and "📎 report.pdf (PDF, 2 KB)" in shown.stdout
    assert "📎 server log.txt (text, 48 bytes)" in shown.stdout
    assert "base64" not in shown.stdout and "ERROR disk full" not in shown.stdout


def test_a_big_pdf_is_journaled_once_and_export_import_carry_it(
    cli: Run, server: FakeOpenAI, tmp_path: Path, data_dir: Path
) -> None:
    pdf = tmp_path / "manual.pdf"
    data = pdf_bytes(5 * 1024 * 1024)
    pdf.write_bytes(data)
    encoded = base64.b64encode(data).decode()
    first = cli("new", "docs", "--base-url", server.url, "-m", "Summarize this.", "--attach", str(pdf))
    assert first.returncode == 0, first.stderr
    path = journal(data_dir, "docs")
    size = path.stat().st_size
    assert path.read_text().count(encoded) == 1

    for question in ("Page 2?", "Page 3?"):
        assert cli("resume", "docs", "-m", question).returncode == 0
        assert encoded in server.last.transcript()  # the model still gets the PDF, every turn
    later = path.read_bytes()[size:]
    assert 0 < len(later) < 20_000, len(later)  # later turns append their own messages, not the PDF again
    assert encoded[:1000] not in later.decode()

    exported = tmp_path / "docs.json"
    assert cli("export", "docs", "-o", str(exported)).returncode == 0
    assert cli("import", str(exported), "--name", "copy").returncode == 0
    assert stored("copy") == stored("docs")
    shown = cli("show", "copy").stdout
    assert "📎 manual.pdf (PDF, 5.0 MB)" in shown and encoded[:100] not in shown


def snapshot(data_dir: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()} if data_dir.exists() else {}


def test_refusals_exit_2_with_one_line_and_change_nothing(
    cli: Run, server: FakeOpenAI, tmp_path: Path, data_dir: Path, files: dict[str, Path]
) -> None:
    big = tmp_path / "huge.png"
    big.write_bytes(png_bytes())
    os.truncate(big, IMAGE_LIMIT + 1)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)))
    cases = {
        str(tmp_path / "missing.png"): "no such file",
        str(tmp_path): "it is a directory",
        str(blob): "not a kind that can be sent",
        str(big): "it is 20.0 MB, over the 20 MB limit for images",
    }
    for path, problem in cases.items():
        done = cli(
            "new", "never", "--base-url", server.url, "-m", "hi", "--attach", str(files["png"]), "--attach", path
        )
        assert done.returncode == 2, done.stderr
        line = one_error_line(done.stderr)
        assert path in line and problem in line, line
    assert not (data_dir / "sessions").exists() or not list((data_dir / "sessions").iterdir())
    assert server.requests == []

    assert cli("new", "kept", "--base-url", server.url, "-m", "hi").returncode == 0
    before = snapshot(data_dir)
    requests = len(server.requests)
    for path, problem in cases.items():
        done = cli("resume", "kept", "-m", "more", "--attach", path)
        assert done.returncode == 2 and problem in one_error_line(done.stderr), done.stderr
    for command in (["new", "other"], ["resume", "kept"]):  # at a terminal, without -m
        without = at_a_terminal(*command, "--attach", str(files["png"]))
        assert without.returncode == 2
        assert "--attach needs a message" in one_error_line(without.stderr)
    assert snapshot(data_dir) == before and len(server.requests) == requests


def at_a_terminal(*args: str) -> subprocess.CompletedProcess[str]:
    """`swarmchat ARGS` with its stdin on a terminal (a pty), so that no message is read from it."""
    leader, follower = os.openpty()
    try:
        return subprocess.run(
            [sys.executable, "-m", "swarmchat", *args], stdin=follower, capture_output=True, text=True, timeout=60
        )
    finally:
        os.close(leader)
        os.close(follower)


def test_attach_takes_piped_text_as_the_message(cli: Run, server: FakeOpenAI, files: dict[str, Path]) -> None:
    done = cli("new", "piped", "--base-url", server.url, "--attach", str(files["txt"]), input="read this\n")
    assert done.returncode == 0, done.stderr
    assert user_parts(server.last.body, "responses")[0][0] == {"type": "input_text", "text": "read this"}
    assert "ERROR disk full at 03:12" in server.last.transcript()


# --- the REPL, in a real terminal ---------------------------------------------------------------------
def toolbar(t: Terminal) -> str:
    return next((line for line in t.screen.display if "Ctrl-D quit" in line), "")


def test_attach_in_the_repl_shows_pending_files_and_sends_them_with_the_next_message(
    term, server: FakeOpenAI, files: dict[str, Path]
) -> None:
    t = term("new", "desk", "--base-url", server.url)
    t.prompt("Assistant")
    t.line(f"/attach {files['png']} '{files['txt']}'")
    t.expect("2 files will go with your next message")
    t.prompt()
    t._until(lambda: "📎 2 files" in toolbar(t), "the toolbar to show 2 files", None)
    t.line("/attach")
    listing = t.expect(re.compile(r"server log\.txt +text, 48 bytes"))
    assert re.search(r"📎 dot\.png +PNG image, \d+ bytes", listing), listing
    t.prompt()
    t.line(f"/attach {files['txt'].parent / 'nope.pdf'}")
    t.expect("no such file")
    t.prompt()
    server.push(Reply("A red pixel and a full disk."))
    t.line("What are these?")
    t.expect("A red pixel and a full disk.")
    t.prompt("Assistant")
    t._until(lambda: "📎" not in toolbar(t), "the toolbar to drop the files once sent", None)
    parts = user_parts(server.last.body, "responses")[0]
    assert parts[0] == {"type": "input_text", "text": "What are these?"}
    assert {"type": "input_image", "image_url": data_url("image/png", png_bytes()), "detail": "auto"} in parts
    assert any("ERROR disk full" in str(p.get("text")) for p in parts)
    server.push(Reply("Again: a red pixel."))
    t.line("/retry")  # asks the same message again, files included
    t.expect("Again: a red pixel.")
    t.prompt("Assistant")
    assert user_parts(server.last.body, "responses") == [parts]  # once: the first try was replaced

    t.line(f"/attach {files['pdf']}")
    t.expect("1 file will go with your next message")
    t.prompt()
    t._until(lambda: "📎 1 file" in toolbar(t), "the toolbar to show 1 file", None)
    t.line("/detach")
    t.expect("detached 1 file")
    t.prompt()
    t._until(lambda: "📎" not in toolbar(t), "the toolbar to drop the detached file", None)
    server.push(Reply("Plain."))
    t.line("Just text now.")
    t.expect("Plain.")
    t.prompt("Assistant")
    sent = server.last.body["input"]
    assert [m["content"] for m in sent if m.get("role") == "user"][-1] == "Just text now."  # the PDF was detached
    t.line("/history 2")
    history = t.expect("Plain.")
    assert "Again: a red pixel." in history
    assert "📎 dot.png (PNG image" in history and "📎 server log.txt (text, 48 bytes)" in history
    assert "base64" not in history
    t.exit()


def test_files_reach_a_served_agency_and_again_from_the_history_after_resume(
    cli: Run, served: tuple[FakeOpenAI, AgencyServer], files: dict[str, Path]
) -> None:
    """The same parts through agency-swarm's run_fastapi: sent with the message, then in `chat_history`."""
    server, srv = served
    server.push(Reply("The disk filled up at 03:12."))
    attach = [arg for key in ("png", "pdf", "txt") for arg in ("--attach", str(files[key]))]
    first = cli("new", "incident", "--agency", srv.url("assistant"), "-m", "What went wrong?", *attach)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "The disk filled up at 03:12.\n"
    assert user_parts(server.last.body, "responses") == [expected_parts("responses", files)]

    server.push(Reply("Free some space."))
    second = cli("resume", "incident", "-m", "And now?")
    assert second.returncode == 0, second.stderr
    assert user_parts(server.last.body, "responses")[0] == expected_parts("responses", files)
    assert server.last.user_texts()[-1] == "And now?"
    shown = cli("show", "incident")
    assert "📎 dot.png (PNG image, " in shown.stdout and "📎 report.pdf (PDF, 2 KB)" in shown.stdout
