"""The REPL and the files around it, in a real pty: /export never overwrites; a full disk is reported."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fill, roles, small_tmpfs
from fake_openai import FakeOpenAI
from terminal import unwrapped


def test_export_refuses_an_existing_file_and_writes_a_new_one_private(term, server: FakeOpenAI, tmp_path: Path) -> None:
    precious = tmp_path / "precious.json"
    precious.write_text("keep me")
    t = term("new", "ex", "--base-url", server.url)
    t.prompt()
    t.line("hello")
    t.expect("echo: hello")
    t.prompt()
    t.line(f"/export {precious}")
    screen = t.expect(re.compile(r"or\s+delete\s+it\s+first"))  # a long temp path wraps the line anywhere
    t.prompt()
    said = unwrapped(screen[screen.rindex("/export") :])  # a long temp path wraps the red line anywhere
    assert unwrapped(f"{precious} already exists; choose another file") in said, screen
    assert "exported" not in said
    assert precious.read_text() == "keep me"
    fresh = tmp_path / "fresh.json"
    t.line(f"/export {fresh}")
    t.expect("exported to")
    t.prompt()
    t.exit()
    assert '"echo: hello"' in fresh.read_text() and fresh.stat().st_mode & 0o777 == 0o600


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs."""
    with small_tmpfs(tmp_path / "disk", "4m") as disk:
        yield disk


def test_a_full_disk_is_reported_once_as_not_stored_and_the_chat_goes_on(
    term, server: FakeOpenAI, small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = small_disk / "data"
    monkeypatch.setenv("SWARMCHAT_DATA_DIR", str(data))
    t = term("new", "full", "--base-url", server.url, env={"SWARMCHAT_DATA_DIR": str(data)})
    t.prompt()
    t.line("first, stored")
    t.expect("echo: first, stored")
    t.prompt()

    filler = fill(small_disk)
    t.line("second, on a full disk")
    t.expect("echo: second, on a full disk")
    screen = t.prompt()
    said = t.text[t.text.rindex("second, on a full disk") :]
    assert said.count("not stored:") == 1, screen
    assert unwrapped("No space left on device") in unwrapped(said) and "Traceback" not in t.text
    assert "Unhandled exception" not in t.text

    os.unlink(filler)  # space is back: the next turn stores, and nothing stale is reported
    t.line("third, with space")
    t.expect("echo: third, with space")
    t.prompt()
    assert "not stored" not in t.text[t.text.rindex("third, with space") :]
    t.line("/status")
    t.expect("cost (this run)")
    t.prompt()
    assert "not stored" not in t.text[t.text.rindex("third, with space") :]

    filler = fill(small_disk)
    t.exit()  # Ctrl-D on a full disk: no traceback
    assert "Traceback" not in t.text
    os.unlink(filler)
    assert roles("full")[:2] == [("user", "first, stored"), ("assistant", "echo: first, stored")]
    assert roles("full")[-2:] == [("user", "third, with space"), ("assistant", "echo: third, with space")]
