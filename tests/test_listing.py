"""The file store's listing (served by the catalog, store/catalog/): `list` shows what the files hold,
checks only the rows it shows while nothing was created, renamed or deleted, and keeps damaged
sessions in view."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Run, write_dated

import swarmchat.store.catalog.from_files as from_files
from swarmchat.session import Item, SessionMeta
from swarmchat.store import BadSession
from swarmchat.store.files import FileStore

HOUR_AGO = time.time() - 3600


def chat(text: str) -> list[Item]:
    return [
        {"role": "user", "content": text, "agent": "Assistant", "callerAgent": None},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}], "agent": "A"},
    ]


def sessions(data_dir: Path, count: int, monkeypatch: pytest.MonkeyPatch) -> FileStore:
    """`count` sessions, s00 the oldest; the sessions dir then dated an hour back, as if settled long ago."""
    store = FileStore(data_dir)
    start = datetime.now(UTC) - timedelta(days=count)
    for n in range(count):
        stamp = (start + timedelta(days=n)).isoformat(timespec="milliseconds")
        write_dated(monkeypatch, store, f"s{n:02d}", stamp, chat(f"topic {n}"))
    settle(store)
    return store


def settle(store: FileStore) -> None:
    os.utime(store.sessions, (HOUR_AGO, HOUR_AGO))


def settled_dir(data_dir: Path) -> str | None:
    """The sessions directory's signature as the catalog trusts it (None: every session is checked)."""
    with sqlite3.connect(data_dir / from_files.FILE) as conn:
        row = conn.execute("SELECT value FROM settings WHERE key = 'dir'").fetchone()
    return None if row is None else row[0]


def names(listed: Sequence[object]) -> list[str]:
    return [getattr(m, "name", "?") for m in listed]


def count_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    real = from_files.file_sig

    def spy(store: FileStore, name: str) -> str:
        checked.append(name)
        return real(store, name)

    monkeypatch.setattr(from_files, "file_sig", spy)
    return checked


def test_recent_checks_only_the_rows_it_shows_once_the_directory_is_settled(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sessions(data_dir, 60, monkeypatch)
    newest = [f"s{n:02d}" for n in range(59, 9, -1)]
    shown, total = store.recent(50)  # the first listing reads everything and trusts the settled directory
    assert (names(shown), total) == (newest, 60)
    assert settled_dir(data_dir) is not None

    checked = count_checks(monkeypatch)
    shown, total = store.recent(50)
    assert (names(shown), total) == (newest, 60)
    assert sorted(checked) == sorted(newest)  # 50 rows checked, not 60 sessions

    # changed in place (no rename: the directory does not move): a shown row is still seen to change
    (store.journal_path("s59")).write_bytes(b"garbage\n")
    meta = json.loads(store.meta_path("s58").read_text())
    store.meta_path("s58").write_text(json.dumps({**meta, "title": "renamed by hand"}))
    shown, _ = store.recent(50)
    assert next(m.title for m in shown if isinstance(m, SessionMeta)) == "renamed by hand"
    assert isinstance(shown[-1], BadSession) and shown[-1].name == "s59"
    assert "line 1" in shown[-1].problem
    assert store.recent(50)[0] == shown  # and the cache now holds what was seen


def test_a_created_renamed_or_deleted_session_is_seen_at_once(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = sessions(data_dir, 55, monkeypatch)
    store.recent(50)
    store.write_new(SessionMeta.fresh("fresh"), chat("new topic"))
    assert names(store.recent(50)[0])[:2] == ["fresh", "s54"]
    # changed a moment ago, the directory could change again within its timestamp's granularity unseen
    assert settled_dir(data_dir) is None
    store.rename("s54", "moved")
    store.delete("s53")
    shown, total = store.recent(50)
    assert names(shown)[:3] == ["fresh", "moved", "s52"] and total == 55
    settle(store)
    assert store.recent(50) == (shown, total)
    assert store.recent(3) == (shown[:3], total)


def test_damaged_sessions_are_listed_however_old(cli: Run, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = sessions(data_dir, 55, monkeypatch)
    store.meta_path("s00").write_bytes(b"{")  # the oldest: far below the 50 rows shown
    for _ in range(2):  # the first run reads everything, the second trusts the cache
        out = cli("list", env={"COLUMNS": "120"})
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[1].startswith("s54") and lines[50].startswith("s05")
        assert lines[51].startswith("s00") and "damaged: not valid JSON" in lines[51]
        assert lines[52] == "… 4 older sessions not shown (use --all)"
    every = cli("list", "--all").stdout.splitlines()
    assert len(every) == 56 and every[-1].startswith("s00") and every[-2].startswith("s01")
    rows = json.loads(cli("list", "--json").stdout)
    assert len(rows) == 55 and rows[-1]["name"] == "s00" and "damaged" in rows[-1]


def test_a_lost_stale_or_damaged_catalog_only_costs_time(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = sessions(data_dir, 5, monkeypatch)
    expected = store.recent(50)
    catalog = data_dir / from_files.FILE
    for damage in (b"", b"garbage, not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 5000):
        catalog.write_bytes(damage)
        for suffix in ("-wal", "-shm"):
            (data_dir / f"{from_files.FILE}{suffix}").unlink(missing_ok=True)
        assert store.recent(50) == expected
    with sqlite3.connect(catalog) as conn:  # a row whose signature no longer matches its files
        conn.execute("UPDATE sessions SET sig = 'stale', title = 'wrong' WHERE name = 's03'")
    assert store.recent(50) == expected  # read again
    assert store.list() and store.recent(50) == expected
    catalog.unlink()
    assert store.recent(50) == expected
    assert catalog.stat().st_mode & 0o777 == 0o600
