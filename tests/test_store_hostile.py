"""Issue 11 §2–3, the store's side: a tampered data dir (symlinks and directories where a session's files
belong), a full disk (a real small tmpfs), no permission, and a data dir that is a file. Each case is one
line for the user, nothing outside the data dir is read or written, and no saved item is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Run, fill, one_error_line, small_tmpfs
from fake_openai import FakeOpenAI

from swarmchat.errors import CorruptSession, StoreUnavailable
from swarmchat.session import Item, SessionMeta
from swarmchat.store.files import FileStore


def turn(n: int, text: str = "") -> list[Item]:
    reply = text or f"answer {n}"
    return [
        {"role": "user", "content": f"question {n}", "agent": "Assistant", "callerAgent": None, "timestamp": 2 * n},
        {
            "id": f"msg_{n}",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": reply, "annotations": []}],
            "agent": "Assistant",
            "callerAgent": None,
            "timestamp": 2 * n + 1,
        },
    ]


def write(store: FileStore, name: str, turns: int, **settings: object) -> list[Item]:
    items = [item for n in range(turns) for item in turn(n)]
    store.write_new(SessionMeta.fresh(name, **settings), items)  # type: ignore[arg-type]
    return items


def every_file(root: Path) -> dict[str, bytes]:
    """Every regular file's bytes (the catalog aside: a cache derived from the sessions, rewritten any time)."""
    return {
        str(p): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not p.name.startswith(("catalog.sqlite3", "catalog-redis-"))
    }


# --- §2: only what swarmchat made ---------------------------------------------------------------------
def test_a_symlink_planted_as_the_lock_is_refused_and_its_target_untouched(
    cli: Run, server: FakeOpenAI, data_dir: Path, tmp_path: Path
) -> None:
    store = FileStore(data_dir)
    write(store, "x", 1, base_url=server.url, model="m")
    victim = tmp_path / "system-file"
    victim.write_bytes(b"precious\n")
    (data_dir / "locks" / "x.lock").symlink_to(victim)

    done = cli("resume", "x", "-m", "hi")
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert str(data_dir / "locks" / "x.lock") in line and "is a symlink" in line, line
    assert victim.read_bytes() == b"precious\n"
    assert server.requests == []
    for args in (["rename", "x", "y"], ["delete", "x", "--yes"]):
        refused = cli(*args)
        assert refused.returncode == 2 and "is a symlink" in one_error_line(refused.stderr), (args, refused.stderr)
    assert victim.read_bytes() == b"precious\n" and store.read("x")[1] == turn(0)


def _plant(kind: str, path: Path, outside: Path) -> None:
    """Put a symlink to a file outside the data dir (holding the same bytes) or an empty directory at `path`."""
    data = path.read_bytes()
    path.unlink()
    if kind == "symlink":
        outside.write_bytes(data)
        path.symlink_to(outside)
    else:
        path.mkdir()


@pytest.mark.parametrize("kind", ["symlink", "directory"])
@pytest.mark.parametrize("which", ["json", "jsonl"])
def test_a_session_file_that_is_not_a_regular_file_marks_only_that_session_damaged(
    kind: str, which: str, cli: Run, data_dir: Path, tmp_path: Path
) -> None:
    store = FileStore(data_dir)
    write(store, "good", 1)
    write(store, "bad", 2)
    planted = data_dir / "sessions" / f"bad.{which}"
    outside = tmp_path / "outside"
    _plant(kind, planted, outside)
    problem = "is a symlink" if kind == "symlink" else "is a directory, not a file"
    before = every_file(tmp_path)

    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["good"]["message_count"] == 2 and "damaged" not in rows["good"], rows
    assert problem in rows["bad"]["damaged"] and rows["bad"]["location"] == str(planted), rows["bad"]
    plain = cli("list")
    assert plain.returncode == 0 and "damaged" in plain.stdout, plain.stderr

    found = cli("search", "question 0", "--json")
    assert found.returncode == 0, found.stderr
    assert {hit["name"] for hit in json.loads(found.stdout)} == {"good"}

    no_model = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    for args in (["show", "bad"], ["resume", "bad", "-m", "hi"], ["rename", "bad", "b2"], ["fork", "bad", "b3"]):
        done = cli(*args, env=no_model)
        assert done.returncode == 2, (args, done.stderr)
        line = one_error_line(done.stderr)
        assert str(planted) in line and problem in line, (args, line)
    assert every_file(tmp_path) == before, "a refused command changed a byte (outside the data dir included)"

    store.delete("bad")  # the user may delete a damaged session: its own entries go, never a link's target
    assert not os.path.lexists(planted) and store.names() == ["good"]
    if kind == "symlink":
        assert outside.read_bytes() == before[str(outside)]


def test_delete_of_a_session_whose_journal_is_a_directory_from_the_cli(cli: Run, data_dir: Path) -> None:
    store = FileStore(data_dir)
    write(store, "bad", 1)
    write(store, "good", 1)
    (data_dir / "sessions" / "bad.jsonl").unlink()
    (data_dir / "sessions" / "bad.jsonl").mkdir()
    done = cli("delete", "bad", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "deleted 1 session: bad" and done.stderr == ""
    assert store.names() == ["good"]


# --- §3: a data dir that cannot be one -------------------------------------------------------------------
def test_a_data_dir_that_is_a_file_is_one_line_and_exit_2(cli: Run, data_dir: Path) -> None:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.write_bytes(b"not a directory\n")
    for args in (["list"], ["list", "--json"], ["show", "x"], ["search", "foo"], ["new", "x", "-m", "hi"]):
        done = cli(*args, env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        line = one_error_line(done.stderr)
        assert str(data_dir) in line and "not a directory" in line, (args, line)
    assert data_dir.read_bytes() == b"not a directory\n"


# --- §3: permission denied ---------------------------------------------------------------------------------
def without_root_powers(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`swarmchat ARGS` as root without the capabilities that ignore file permissions (as a user would be)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail(
            "setpriv (util-linux: apt-get install util-linux) is needed to drop root's file-permission override"
        )
    drop = [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]
    return subprocess.run(
        [*drop, sys.executable, "-m", "swarmchat", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=90,
        cwd=ROOT,
    )


@pytest.mark.slow  # starts a process
def test_permission_denied_on_the_data_dir_is_one_line_and_changes_nothing(data_dir: Path) -> None:
    store = FileStore(data_dir)
    write(store, "x", 1)
    before = every_file(data_dir)
    folders = [data_dir, data_dir / "sessions", data_dir / "locks"]
    for folder in folders:
        folder.chmod(0o555)
    try:
        no_model = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
        for args in (
            ["resume", "x", "-m", "hi"],
            ["new", "y", "-m", "hi"],
            ["rename", "x", "z"],
            ["delete", "x", "--yes"],
            ["fork", "x", "w"],
        ):
            done = without_root_powers(args, no_model)
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            line = one_error_line(done.stderr)
            assert "Permission denied" in line and str(data_dir) in line, (args, line)
        shown = without_root_powers(["show", "x", "--format", "json"], {})
        assert shown.returncode == 0 and json.loads(shown.stdout)["messages"] == turn(0), shown.stderr
    finally:
        for folder in folders:
            folder.chmod(0o700)
    assert every_file(data_dir) == before


# --- §3: a full disk -----------------------------------------------------------------------------------------


@pytest.mark.slow  # starts a process
def test_a_full_disk_fails_saves_cleanly_and_the_next_save_after_it_stores_everything(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        store = FileStore(disk / "data")
        items = write(store, "s", 2)
        journal = store.journal_path("s")
        session = store.open("s")
        live = session.load()
        filler = fill(disk)
        stored = journal.read_bytes()

        big = "x" * 20_000  # more than the page a small line could still fit in
        session.begin_turn()
        live += turn(2, big)
        with pytest.raises(StoreUnavailable) as err:
            session.save(live)
        assert str(journal) in str(err.value) and "No space left on device" in str(err.value)
        live += turn(3, big)
        with pytest.raises(StoreUnavailable):
            session.end_turn(live)
        assert journal.read_bytes() == stored, "a failed save left a torn line"
        assert [p.name for p in journal.parent.iterdir() if p.name.endswith(".tmp")] == []
        assert store.read("s")[1] == items  # every item saved before is still there

        filler.unlink()
        live += turn(4)
        session.save(live)  # space is back: everything the agency holds is stored
        session.end_turn(live)
        session.close()
        meta, back = store.read("s")
        assert back == live and meta.message_count == len(live)


@pytest.mark.slow  # starts a process
def test_closing_on_a_full_disk_says_so_in_one_error_and_releases_the_lock(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        store = FileStore(disk / "data")
        write(store, "s", 1)
        session = store.open("s")
        fill(disk)
        session.meta.recipient = "Other"  # a setting the meta must record at close
        with pytest.raises(StoreUnavailable, match="No space left on device"):
            session.close()
        assert [p.name for p in store.sessions.iterdir() if p.name.endswith(".tmp")] == []
        (disk / "filler").unlink()
        again = store.open("s")  # the lock was released
        assert again.meta.recipient is None and again.load() == turn(0)
        again.close()


@pytest.mark.slow  # starts a process
def test_a_failed_write_of_a_new_session_leaves_no_session(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        store = FileStore(disk / "data")
        session = store.open("new", create=SessionMeta.fresh("new"))
        fill(disk)
        with pytest.raises(StoreUnavailable):
            session.save(turn(0, "z" * 20_000))
        assert not store.exists("new") and store.list() == []
        (disk / "filler").unlink()
        session.save(turn(0, "z" * 20_000))
        session.close()
        assert store.read("new")[1] == turn(0, "z" * 20_000)


def test_a_store_error_is_never_an_oserror(tmp_path: Path) -> None:
    """Reads through a file system that fails: StoreUnavailable or CorruptSession, never a raw OSError."""
    store = FileStore(tmp_path / "data")
    write(store, "s", 1)
    (tmp_path / "data" / "sessions" / "s.json").unlink()
    (tmp_path / "data" / "sessions" / "s.json").symlink_to(tmp_path / "data" / "sessions" / "s.json")  # a loop
    with pytest.raises(CorruptSession, match="is a symlink"):
        store.read("s")
