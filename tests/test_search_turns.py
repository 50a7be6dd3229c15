"""Search snippets carry their turn (issue 24): `#N` on screen, `turn` in `--json`, numbered as `fork --at`
takes it, on both backends. The catalog keeps each message's turn; a catalog from before it did is rebuilt.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from conftest import Run
from test_search import _catalog_file, msg

from swarmchat.session import Item, SessionMeta
from swarmchat.store import open_store
from swarmchat.store.catalog import db
from swarmchat.store.search import search_sessions


def said(role: str, text: str, stamp: int) -> Item:
    return {**msg(role, text), "timestamp": stamp}


# stored out of order, as agency-swarm may: the reply stamped 3 belongs to turn 1, though stored after turn 2
TRIP = [
    said("user", "plan the trip", 1),
    said("assistant", "sure", 2),
    said("user", "the ferry to Naxos?", 5),
    said("assistant", "it leaves at nine", 6),
    said("assistant", "the volcano tour is on Santorini", 3),
    said("user", "and the hotel?", 7),
    said("assistant", "booked the volcano view", 8),
]
TRIP_FOUND = """\
trip  plan the trip
  #3 Assistant: booked the volcano view
  #1 Assistant: the volcano tour is on Santorini
"""


def make(name: str, items: list[Item]) -> None:
    open_store().write_new(SessionMeta.fresh(name), items)


def ok(cli: Run, *args: str) -> str:
    out = cli(*args)
    assert (out.returncode, out.stderr) == (0, ""), out.stderr
    return out.stdout


def blocks(printed: str) -> dict[str, list[str]]:
    """`search`'s plain output: session name -> its snippet lines."""
    found: dict[str, list[str]] = {}
    name = ""
    for line in printed.splitlines():
        if line.startswith("  "):
            found[name].append(line.strip())
        else:
            name = line.split("  ")[0]
            found[name] = []
    return found


def test_each_snippet_names_its_turn_and_fork_at_it_ends_there(cli: Run, store_url: str) -> None:
    make("trip", TRIP)
    assert ok(cli, "search", "volcano") == TRIP_FOUND
    hits = json.loads(ok(cli, "search", "volcano", "--json"))
    assert [(s["turn"], s["text"]) for s in hits[0]["snippets"]] == [
        (3, "booked the volcano view"),
        (1, "the volcano tour is on Santorini"),
    ]
    for line in blocks(ok(cli, "search", "volcano"))["trip"]:
        turn, text = re.fullmatch(r"#(\d+) Assistant: (.*)", line).groups()  # type: ignore[union-attr]
        assert ok(cli, "fork", "trip", f"at-{turn}", "--at", turn) == (
            f"forked trip → at-{turn} ({turn} turn{'s' if turn != '1' else ''})\n"
        )
        shown = ok(cli, "show", f"at-{turn}").rstrip("\n")
        assert shown.endswith(f"**Assistant:**\n\n{text}"), shown  # the fork ends at the hit
    assert ok(cli, "show", "at-1") == (
        "# plan the trip\n\n**You** → Assistant:\n\nplan the trip\n\n**Assistant:**\n\nsure\n\n"
        "**Assistant:**\n\nthe volcano tour is on Santorini\n"
    )


def test_identical_forks_stay_and_their_turns_tell_them_apart(cli: Run, store_url: str) -> None:
    make("demo", [said("user", "is the volcano active?", 1), said("assistant", "yes", 2),
                  said("user", "is the volcano active?", 3), said("assistant", "still yes", 4)])  # fmt: skip
    ok(cli, "fork", "demo", "demo-fork")
    ok(cli, "fork", "demo", "demo-early", "--at", "1")
    found = blocks(ok(cli, "search", "volcano"))
    assert found == {
        "demo": ["#1 user: is the volcano active?", "#2 user: is the volcano active?"],  # equally good: in order
        "demo-fork": ["#1 user: is the volcano active?", "#2 user: is the volcano active?"],
        "demo-early": ["#1 user: is the volcano active?"],
    }


def test_a_delegation_is_one_snippet_of_its_turn_and_a_note_before_any_turn_has_none(cli: Run, store_url: str) -> None:
    items: list[Item] = [
        {"role": "system", "type": "message", "content": "the pelican rules apply", "agent": "Lead"},
        msg("user", "hello", agent="Lead"),
        msg("assistant", "hi", agent="Lead"),
        msg("user", "ask about the pelican", agent="Lead"),
        {"type": "function_call", "name": "send_message", "agent": "Lead", "callerAgent": None, "call_id": "c1",
         "arguments": json.dumps({"recipient_agent": "Researcher", "message": "what eats a pelican"})},
        msg("user", "what eats a pelican", agent="Researcher", caller="Lead"),
    ]  # fmt: skip
    make("team", items)
    (shown,) = blocks(ok(cli, "search", "pelican")).values()
    delegation = {"#2 Lead (tool call): what eats a pelican", "#2 Lead → Researcher: what eats a pelican"}
    assert len(shown) == 3 and len(set(shown) & delegation) == 1  # the call and the message it delivered: one
    assert set(shown) - delegation == {"note: the pelican rules apply", "#2 user: ask about the pelican"}


def test_turns_follow_a_history_changed_in_place(store_url: str) -> None:
    """A turn stamped before the ones stored ahead of it renumbers them: the catalog kept up to date gives
    the turns one built afresh does."""
    store = open_store()
    make("s", [said("user", "walrus one", 10), said("assistant", "walrus reply", 20), said("user", "walrus two", 50)])

    def turns() -> list[tuple[int | None, str]]:
        (hit,) = search_sessions(store, "walrus")
        return sorted((s.turn, s.text) for s in hit.snippets)

    assert turns() == [(1, "walrus one"), (1, "walrus reply"), (2, "walrus two")]
    session = store.open("s")
    try:
        items = [*store.read("s")[1], said("user", "walrus early", 30)]  # happened before "walrus two"
        session.begin_turn()
        session.save(items)
        session.end_turn(items)
    finally:
        session.close()
    kept_up = turns()
    assert [t for t, text in kept_up if text == "walrus two"] == [3]
    for suffix in ("", "-wal", "-shm"):
        Path(f"{_catalog_file(store)}{suffix}").unlink(missing_ok=True)
    assert turns() == kept_up


def test_a_catalog_from_before_turns_were_kept_is_rebuilt_not_trusted(cli: Run, store_url: str) -> None:
    make("trip", TRIP)
    ok(cli, "search", "volcano")  # built
    path = _catalog_file(open_store())
    old = f"2:{','.join(db.META)}"  # version 2: its message rows had no turn
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE messages")
        conn.execute(
            "CREATE VIRTUAL TABLE messages USING fts5(text, role UNINDEXED, agent UNINDEXED, caller UNINDEXED, "
            "stamp UNINDEXED, fp UNINDEXED)"
        )
        conn.execute("UPDATE settings SET value = ? WHERE key = 'fingerprint'", (old,))
    conn.close()
    assert ok(cli, "search", "volcano") == TRIP_FOUND
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM settings WHERE key = 'fingerprint'").fetchone()[0].startswith("3:")
    conn.close()
