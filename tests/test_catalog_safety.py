"""The catalog `list` and `search` read is a data file like the others: never written through a link, and a
wait for another process's lock is said, not silent."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest
import zygote
from conftest import ROOT, Run
from test_lifecycle import make

from swarmchat.store import open_store
from swarmchat.store.catalog.from_files import path as catalog_path


@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_a_symlinked_catalog_is_replaced_never_written_through(
    cli: Run, data_dir: Path, tmp_path: Path, suffix: str
) -> None:
    make("", "trip", "plan the trip")
    catalog = catalog_path(open_store())  # type: ignore[arg-type]
    target = tmp_path / "precious"
    target.write_bytes(b"")  # empty: SQLite would take it for a new database and write its schema into it
    Path(f"{catalog}{suffix}").symlink_to(target)

    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)] == ["trip"]
    found = cli("search", "trip", "--json")
    assert found.returncode == 0 and "trip" in found.stdout
    assert target.read_bytes() == b""
    assert not Path(f"{catalog}{suffix}").is_symlink()


def test_list_says_it_waits_for_a_catalog_another_process_holds(cli: Run, data_dir: Path) -> None:
    make("", "first", "one")
    assert cli("list").returncode == 0  # the catalog exists
    make("", "second", "two")  # the next list has to write it
    holder = sqlite3.connect(catalog_path(open_store()), isolation_level=None)  # type: ignore[arg-type]
    holder.execute("BEGIN IMMEDIATE")
    proc = zygote.popen(
        ["list", "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # said while it waits: the lock is still held
        assert line.startswith("swarmchat: waiting for ") and "catalog" in line, line
        assert "another swarmchat process is updating it" in line
        holder.execute("ROLLBACK")
        out, rest = proc.communicate(timeout=60)
    finally:
        holder.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and rest == ""
    assert sorted(s["name"] for s in json.loads(out)) == ["first", "second"]
