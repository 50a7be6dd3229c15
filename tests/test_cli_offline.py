"""The offline commands as a user runs them: list, show, rename, delete, and their errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import Run, one_error_line

from swarmchat.session import SessionMeta
from swarmchat.store.files import FileStore


def make_session(data_dir: Path, name: str, *texts: str, agency: str | None = None) -> None:
    items: list[dict[str, object]] = []
    for n, text in enumerate(texts):
        items.append({"role": "user", "content": text, "agent": "Assistant", "callerAgent": None, "timestamp": 2 * n})
        items.append(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"reply to {text}", "annotations": []}],
                "agent": "Assistant",
                "callerAgent": None,
                "timestamp": 2 * n + 1,
            }
        )
    FileStore(data_dir).write_new(SessionMeta.fresh(name, agency=agency), items)


def snapshot(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_list_shows_name_title_agency_count(cli: Run, data_dir: Path) -> None:
    make_session(data_dir, "alpha", "plan the trip to Lisbon", "and the hotels")
    make_session(data_dir, "beta", "write a haiku", agency="team.py:create_agency")
    out = cli("list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TITLE", "AGENCY", "TURNS", "LAST", "USED"]
    row = next(ln for ln in lines if ln.startswith("alpha"))
    assert "plan the trip to Lisbon" in row and "(built-in)" in row and " 2 " in row  # two turns
    assert any(ln.startswith("beta") and "team.py:create_agency" in ln for ln in lines)

    rows = json.loads(cli("list", "--json").stdout)
    assert [r["name"] for r in rows] == ["beta", "alpha"]  # most recent first
    assert (rows[1]["message_count"], rows[1]["turn_count"], rows[1]["title"]) == (4, 2, "plan the trip to Lisbon")


def test_list_empty_says_how_to_start(cli: Run) -> None:
    out = cli("list")
    assert out.returncode == 0 and "swarmchat new" in out.stdout


def test_resume_without_a_name_or_any_session_says_how_to_start(cli: Run, data_dir: Path) -> None:
    out = cli("resume", "-m", "hello")
    assert out.returncode == 2
    assert "no session to resume yet" in one_error_line(out.stderr) and "swarmchat new" in out.stderr
    assert snapshot(data_dir) == {}


def test_show_prints_transcript_as_markdown_and_json(cli: Run, data_dir: Path) -> None:
    make_session(data_dir, "alpha", "first question", "second question")
    md = cli("show", "alpha")
    assert md.returncode == 0, md.stderr
    assert md.stdout.index("first question") < md.stdout.index("reply to first question")
    assert md.stdout.index("reply to first question") < md.stdout.index("second question")
    data = json.loads(cli("show", "alpha", "--format", "json").stdout)
    assert data["session"]["name"] == "alpha"
    assert [m.get("content") for m in data["messages"] if m["role"] == "user"] == ["first question", "second question"]


def test_rename_moves_everything_and_keeps_history(cli: Run, data_dir: Path) -> None:
    make_session(data_dir, "old", "keep me")
    before = json.loads(cli("show", "old", "--format", "json").stdout)["messages"]
    out = cli("rename", "old", "new")
    assert out.returncode == 0, out.stderr
    assert json.loads(cli("show", "new", "--format", "json").stdout)["messages"] == before
    assert "no session named 'old'" in cli("show", "old").stderr
    assert sorted(p.name for p in (data_dir / "sessions").iterdir()) == ["new.json", "new.jsonl"]


def test_delete_asks_unless_yes_and_deletes_several(cli: Run, data_dir: Path) -> None:
    for name in ("a", "b", "c"):
        make_session(data_dir, name, f"hello {name}")
    refused = cli("delete", "a")
    assert refused.returncode == 2 and "--yes" in one_error_line(refused.stderr)
    out = cli("delete", "a", "b", "--yes")
    assert out.returncode == 0, out.stderr
    assert "deleted 2 sessions: a, b" in out.stdout
    assert [r["name"] for r in json.loads(cli("list", "--json").stdout)] == ["c"]


def test_delete_with_one_unknown_name_deletes_nothing(cli: Run, data_dir: Path) -> None:
    make_session(data_dir, "a", "hello")
    before = snapshot(data_dir)
    out = cli("delete", "a", "ghost", "--yes")
    assert out.returncode == 2
    assert "no session named 'ghost'" in one_error_line(out.stderr)
    assert snapshot(data_dir) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("show", "ghost"), "no session named 'ghost'"),
        (("resume", "ghost", "-m", "hi"), "no session named 'ghost'"),
        (("rename", "ghost", "other"), "no session named 'ghost'"),
        (("show", "../etc"), "session name"),
        (("new", "a/b", "-m", "hi"), "session name"),
        (("new", "-dash", "-m", "hi"), ""),
        (("rename", "taken", "taken2"), "already exists"),
        (("new", "taken", "-m", "hi"), "already exists"),
        (("new", "x", "--agency", "nope_missing_module:create_agency", "-m", "hi"), "not found"),
        (("new", "x", "--agency", "missing/file.py:create_agency", "-m", "hi"), "not found"),
        (("prune", "--older-than", "soon"), "not a duration"),
        (("show", "taken", "--format", "yaml"), "yaml"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    cli: Run, data_dir: Path, args: tuple[str, ...], expected: str
) -> None:
    make_session(data_dir, "taken", "hello")
    make_session(data_dir, "taken2", "hello again")
    before = snapshot(data_dir / "sessions")
    out = cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert expected in one_error_line(out.stderr)
    assert snapshot(data_dir / "sessions") == before


def test_version_and_module_entry(cli: Run) -> None:
    from swarmchat import __version__

    out = cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"swarmchat {__version__}"


def test_files_are_private(data_dir: Path) -> None:
    make_session(data_dir, "secret", "my diary")
    assert (data_dir.stat().st_mode & 0o777) == 0o700
    assert ((data_dir / "sessions").stat().st_mode & 0o777) == 0o700
    for path in (data_dir / "sessions").iterdir():
        assert (path.stat().st_mode & 0o777) == 0o600, path
