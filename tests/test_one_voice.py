"""The CLI says what the REPL says, in the words a person uses (issue 24): turns, not stored items; plurals
right; declining is not an error; `fork` and `tag` behave as /fork and /tag; `show` and `list` read as
expected. Each compares the text a user sees (whitespace normalised: no assertion depends on a wrap)."""

from __future__ import annotations

import json
from pathlib import Path

import pexpect
import pytest
from conftest import Run, raw_state
from terminal import Terminal
from test_features import store_session
from test_item_view import AS_MARKDOWN, delegated_turn

from swarmchat.session import SessionMeta
from swarmchat.store import open_store


def words(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_show_prints_a_delegation_as_two_lines_the_answer_once_and_marks_the_unanswered_turn(cli: Run) -> None:
    store_session("tides", delegated_turn())
    out = cli("show", "tides")
    assert out.returncode == 0, out.stderr
    assert words(out.stdout) == ["# explain the tides", *AS_MARKDOWN]


def test_list_counts_turns_and_its_json_keeps_items_true_false_and_rounded_fractions(cli: Run) -> None:
    store_session("tides", delegated_turn(), agency="team.py:create_agency", context_used=1.0500431472275043e-05)
    out = cli("list", env={"COLUMNS": "110"})
    assert out.returncode == 0, out.stderr
    header, row = words(out.stdout)
    assert header == "NAME TITLE AGENCY TURNS LAST USED"
    assert row == "tides explain the tides team.py:create_agency 2 just now"
    listed = json.loads(cli("list", "--json").stdout)[0]
    assert (listed["message_count"], listed["turn_count"]) == (len(delegated_turn()), 2)
    assert listed["show_thinking"] is True and listed["agency_trusted"] is True
    assert listed["context_used"] == 0.0


def test_fork_without_a_name_picks_source_fork_as_slash_fork_does(cli: Run) -> None:
    store_session("tides", delegated_turn())
    first = cli("fork", "tides")
    assert (first.returncode, first.stdout.strip()) == (0, "forked tides → tides-fork (2 turns)"), first.stderr
    again = cli("fork", "tides", "--at", "1")
    assert (again.returncode, again.stdout.strip()) == (0, "forked tides → tides-fork-2 (1 turn)"), again.stderr
    assert sorted(open_store().names()) == ["tides", "tides-fork", "tides-fork-2"]


def test_tag_without_tags_lists_them_as_slash_tag_does(cli: Run) -> None:
    store_session("tides", delegated_turn())
    assert cli("tag", "tides").stdout.strip() == "tides: no tags"
    assert cli("tag", "tides", "sea", "moon").stdout.strip() == "tides: #moon #sea"
    assert cli("tag", "tides").stdout.strip() == "tides: #moon #sea"
    bad = cli("tag", "tides", "--remove")
    assert bad.returncode == 2 and "give the tags to remove" in bad.stderr


@pytest.mark.slow  # a real pty
def test_declining_a_confirmation_changes_nothing_and_is_not_an_error(data_dir: Path) -> None:
    for name in ("a", "b"):
        store_session(name, delegated_turn())
    before = raw_state("", data_dir)
    t = Terminal("delete", "a", "b", columns=60)
    try:
        t.expect("Delete 2 sessions: 'a', 'b'?")
        t.line("n")
        t.child.expect(pexpect.EOF, timeout=30)
        t.child.close()
        assert t.child.exitstatus == 1
        shown = t.child.before or ""
        assert "nothing was changed" in shown and "error" not in shown
    finally:
        t.close()
    assert raw_state("", data_dir) == before


def test_new_names_a_generated_session_only_once_it_can_exist(cli: Run) -> None:
    out = cli("new", "--agency", "no_such_module_anywhere:create_agency", "-m", "hi")
    assert out.returncode != 0
    assert "session:" not in out.stderr
    assert open_store().names() == []


def test_a_stored_meta_without_a_turn_count_is_listed_with_its_turns(cli: Run, data_dir: Path) -> None:
    """Sessions stored before turns were counted: the listing counts them from the items."""
    store_session("old", delegated_turn())
    meta_path = data_dir / "sessions" / "old.json"
    data = json.loads(meta_path.read_text())
    data.pop("turn_count", None)
    meta_path.write_text(json.dumps(data))
    assert SessionMeta.from_dict(data).turn_count == 0
    assert words(cli("list").stdout)[1].split()[-3] == "2"
