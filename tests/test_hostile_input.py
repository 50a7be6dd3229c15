"""Bad and hostile input, through the real CLI: binary messages, mistyped store URLs, pathological
import files, an imported session that names code to run, deleting damaged sessions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pexpect
import pytest
import zygote
from conftest import ROOT, Run, hostile_export, one_error_line
from fake_openai import FakeOpenAI, Reply
from terminal import Terminal

from swarmchat.session import SessionMeta
from swarmchat.store import open_store


def run_bytes(*args: str | bytes, stdin: bytes | None = None, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`swarmchat ARGS` with raw bytes for arguments and stdin; (exit code, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "swarmchat", *args],
        input=stdin, stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True, env={**os.environ, **(env or {})}, cwd=ROOT, timeout=90,
    )  # fmt: skip
    return done.returncode, done.stderr.decode("utf-8", "replace")


def nothing_stored(data_dir: Path) -> bool:
    sessions = data_dir / "sessions"
    return not sessions.exists() or not any(sessions.iterdir())


# --- §4 bad input ---------------------------------------------------------------------------------


@pytest.mark.slow  # starts a process
@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"\xff\xfe\x00binary\x89PNG", "not UTF-8"), (b"text\x00with a NUL", "NUL"), (b"caf\xe9 latin-1", "not UTF-8")],
)
def test_binary_or_invalid_utf8_on_stdin_is_refused_and_creates_nothing(
    data_dir: Path, data: bytes, expected: str
) -> None:
    for args in (("new", "piped"), ("resume", "piped")):
        code, stderr = run_bytes(*args, stdin=data)
        assert code == 2
        assert expected in one_error_line(stderr)
    assert nothing_stored(data_dir)


@pytest.mark.slow  # starts a process
def test_a_message_argument_that_is_not_utf8_is_refused(data_dir: Path) -> None:
    code, stderr = run_bytes("new", "argv", "-m", b"caf\xe9", env={"LC_ALL": "C.UTF-8"})
    assert code == 2 and "not valid UTF-8" in one_error_line(stderr)
    assert nothing_stored(data_dir)


@pytest.mark.parametrize("url", ["garbage://x", "redis:/host", "redis//x", "REDIS-host:6379", "redis://"])
def test_a_store_url_that_is_not_one_is_refused_naming_the_accepted_forms(cli: Run, data_dir: Path, url: str) -> None:
    for args in (("list",), ("new", "x", "-m", "hi")):
        out = cli(*args, env={"SWARMCHAT_STORE": url})
        assert out.returncode == 2, out.stdout
        line = one_error_line(out.stderr)
        assert "redis://" in line and "rediss://" in line and "unix://" in line and "empty" in line
    assert not data_dir.exists()  # the local files were not used instead


def test_a_store_url_with_a_password_is_not_echoed(cli: Run) -> None:
    out = cli("list", env={"SWARMCHAT_STORE": "redis://:hunter2@/0"})
    assert out.returncode == 2 and "hunter2" not in out.stderr


def test_a_redis_database_index_out_of_range_is_one_line(cli: Run, redis_url: str) -> None:
    parts = urlsplit(redis_url)
    for path in ("/99", "/abc"):
        url = urlunsplit(parts._replace(path=path))
        out = cli("list", env={"SWARMCHAT_STORE": url})
        assert out.returncode == 2, out.stdout
        assert "database" in one_error_line(out.stderr)


def test_import_of_deeply_nested_json_is_one_line(cli: Run, tmp_path: Path, data_dir: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    out = cli("import", str(deep))
    assert out.returncode == 2 and "nested too deeply" in one_error_line(out.stderr)
    wrapped = tmp_path / "wrapped.json"  # deep inside an otherwise good agency-swarm chat file
    wrapped.write_text('{"items": [{"role": "user", "content": ' + "[" * 100_000 + "]" * 100_000 + "}]}")
    out = cli("import", str(wrapped))
    assert out.returncode == 2 and "nested too deeply" in one_error_line(out.stderr)
    assert nothing_stored(data_dir)


def test_import_under_an_unusable_name_says_which_name_it_got(cli: Run, tmp_path: Path) -> None:
    chat = tmp_path / "messages_trip to Lisbon!.json"  # an agency-swarm chat file: its name would be the stem
    chat.write_text(json.dumps({"items": [{"role": "user", "content": "hello"}], "metadata": {}}))
    out = cli("import", str(chat))
    assert out.returncode == 0, out.stderr
    name = out.stdout.split()[1]
    assert out.stdout.startswith(f"imported {name} (1 turn)")
    warning = out.stderr.strip()
    assert warning.startswith("swarmchat: warning:") and "\n" not in warning
    assert "trip to Lisbon!" in warning and f"imported as '{name}'" in warning and "--name" in warning
    assert [s["name"] for s in json.loads(cli("list", "--json").stdout)] == [name]
    out = cli("import", str(chat), "--name", "bad name")  # a name the user gives is never replaced
    assert out.returncode == 2 and "bad name" in one_error_line(out.stderr)


# --- §5 an imported session does not run code on its own say-so ----------------------------------


def test_an_imported_spec_runs_only_once_confirmed(
    cli: Run, server: FakeOpenAI, tmp_path: Path, store_url: str
) -> None:
    export, spec, marker = hostile_export(tmp_path, server.url)
    imported = cli("import", str(export))
    assert imported.returncode == 0, imported.stderr
    assert spec in imported.stderr  # said at once
    assert spec in cli("show", "gift").stdout  # `show` names the code it would run
    assert cli("fork", "gift", "copy").returncode == 0  # a copy is no more trusted than its source

    for name in ("gift", "copy"):
        refused = cli("resume", name, "-m", "hi")
        assert refused.returncode == 2
        line = one_error_line(refused.stderr)
        assert f"session '{name}' was imported and names agency SPEC '{spec}'" in line
        assert f"swarmchat resume {name} --agency {spec}" in line
    assert not marker.exists()
    assert open_store().read_meta("gift").agency_trusted is False

    server.push(Reply("confirmed"))
    confirmed = cli("resume", "gift", "--agency", spec, "-m", "hi")
    assert confirmed.returncode == 0, confirmed.stderr
    assert confirmed.stdout == "confirmed\n" and marker.exists()
    assert open_store().read_meta("gift").agency_trusted is True
    server.push(Reply("trusted now"))
    again = cli("resume", "gift", "-m", "again")  # once confirmed, trusted like any other session
    assert again.returncode == 0 and again.stdout == "trusted now\n", again.stderr


def test_on_a_terminal_resume_shows_the_spec_and_asks(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    export, spec, marker = hostile_export(tmp_path, server.url)
    assert cli("import", str(export)).returncode == 0

    child = zygote.spawn(
        ["resume", "gift"], env=dict(os.environ), cwd=str(ROOT),
        encoding="utf-8", timeout=60, dimensions=(40, 200),
    )  # fmt: skip
    child.expect_exact("Go on? [y/N]")
    assert spec in child.before
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and not marker.exists()
    assert open_store().read_meta("gift").agency_trusted is False

    t = Terminal("resume", "gift")
    try:
        t.expect("Go on? [y/N]")
        t.line("y")
        t.prompt()
        t.line("hi")  # a turn: the agency file has surely been imported by its end
        t.expect("echo: hi")
        t.prompt()
        t.exit()
    finally:
        t.close()
    assert marker.exists() and open_store().read_meta("gift").agency_trusted is True


def test_an_imported_model_server_is_used_only_once_confirmed(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    """An export that names only a base URL would send the user's API key to a server the file chose."""
    export = tmp_path / "url.json"
    session = {**SessionMeta.fresh("url-only", base_url=server.url).to_dict(), "agency": None}
    messages = [{"role": "user", "content": "hi", "agent": "Assistant", "callerAgent": None}]
    export.write_text(
        json.dumps({"format": "swarmchat-session", "version": 1, "session": session, "messages": messages})
    )
    assert cli("import", str(export)).returncode == 0
    refused = cli("resume", "url-only", "-m", "hi")
    assert refused.returncode == 2
    assert f"names model server '{server.url}'" in one_error_line(refused.stderr)
    assert server.requests == []  # nothing, and no key, was sent


def test_an_agency_swarm_chat_file_has_no_spec_and_is_trusted(cli: Run, tmp_path: Path) -> None:
    chat = tmp_path / "messages_demo.json"
    chat.write_text(json.dumps({"items": [{"role": "user", "content": "hello"}], "metadata": {}}))
    assert cli("import", str(chat)).returncode == 0
    assert open_store().read_meta("demo").agency_trusted is True


# --- §6 a damaged session can be deleted ---------------------------------------------------------


def damaged_sessions(data_dir: Path, store_url: str = "") -> None:
    store = open_store()
    for name in ("meta", "journal", "fine"):
        store.write_new(SessionMeta.fresh(name), [{"role": "user", "content": f"hi {name}"}])
    if store_url:
        import redis

        client = redis.Redis.from_url(store_url)
        client.set("swarmchat:s:meta:meta", "{broken")
        client.lpush("swarmchat:s:journal:log", "garbage line")
        return
    (data_dir / "sessions" / "meta.json").write_text("{broken")
    journal = data_dir / "sessions" / "journal.jsonl"
    journal.write_text("garbage line\n" + journal.read_text())


def test_delete_yes_removes_sessions_whose_meta_or_journal_is_damaged(cli: Run, data_dir: Path, store_url: str) -> None:
    damaged_sessions(data_dir, store_url)
    listed = {s["name"]: s.get("damaged") for s in json.loads(cli("list", "--json").stdout)}
    assert listed["meta"] and not listed["fine"]  # (Redis lists from the records alone: its journals are not read)
    out = cli("delete", "meta", "journal", "--yes")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "deleted 2 sessions: meta, journal"
    assert [s["name"] for s in json.loads(cli("list", "--json").stdout)] == ["fine"]
    if not store_url:
        assert sorted(p.name for p in (data_dir / "sessions").iterdir()) == ["fine.json", "fine.jsonl"]


@pytest.mark.slow  # starts a process
def test_the_confirmation_names_each_damaged_session_and_why(data_dir: Path) -> None:
    damaged_sessions(data_dir)
    child = zygote.spawn(
        ["delete", "meta", "journal", "fine"], env=dict(os.environ),
        cwd=str(ROOT), encoding="utf-8", timeout=60, dimensions=(40, 400),
    )  # fmt: skip
    child.expect_exact("[y/N]")
    question = " ".join(child.before.split())
    assert "'meta' (damaged: not valid JSON" in question
    assert "'journal' (damaged: line 1 is not valid JSON" in question
    assert "'fine'" in question and "'fine' (damaged" not in question
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not (data_dir / "sessions").exists() or not any((data_dir / "sessions").iterdir())
