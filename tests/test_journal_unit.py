"""Fast unit tests of the storage's pure core: the journal's diff (Mirror), replay with torn tails, and
the meta/journal encoding. No subprocess, no server: the edit-test loop runs these in well under a second."""

from __future__ import annotations

import json

import pytest

from swarmchat.errors import CorruptSession
from swarmchat.session import Item, SessionMeta
from swarmchat.store.encoding import check_replay, meta_bytes, parse_meta
from swarmchat.store.journal import Change, JournalError, Mirror, Replay, replay


def item(n: int, text: str = "") -> Item:
    return {"id": f"msg_{n}", "role": "assistant", "content": text or f"answer {n} — ✓"}


def journal(*changes: Change) -> bytes:
    return b"".join(change.encode() for change in changes)


def stored(mirror: Mirror, change: Change | None) -> None:
    """What a session does once a change's write succeeded."""
    assert change is not None
    mirror.record(change, change.encode())


# --- Mirror.diff ------------------------------------------------------------------------------------
def test_equal_lists_need_no_change() -> None:
    mirror = Mirror([item(0), item(1)], seq=3)
    assert mirror.diff([item(0), item(1)]) is None
    assert mirror.diff([item(0), item(1)], full=True) is None


def test_an_append_is_a_change_at_the_old_end() -> None:
    mirror = Mirror([item(0)], seq=1)
    change = mirror.diff([item(0), item(1)])
    assert change == Change(seq=2, at=1, items=[item(1)])


def test_a_cut_back_is_a_change_with_no_items() -> None:
    mirror = Mirror([item(0), item(1), item(2)], seq=1)
    assert mirror.diff([item(0)]) == Change(seq=2, at=1, items=[])


def test_an_in_place_rewrite_starts_at_the_first_difference() -> None:
    mirror = Mirror([item(0), item(1), item(2)], seq=5)
    assert mirror.diff([item(0), item(1, "rewritten"), item(2)]) == Change(6, 1, [item(1, "rewritten"), item(2)])


def test_record_applies_the_change_from_its_line_not_the_live_objects() -> None:
    mirror = Mirror([item(0)], seq=1)
    live = [item(0), item(1)]
    stored(mirror, mirror.diff(live))
    assert mirror.items == live and mirror.seq == 2
    live[1]["content"] = "mutated by the agency afterwards"
    assert mirror.items[1]["content"] == "answer 1 — ✓"  # a private copy


def test_a_stable_prefix_is_skipped_while_the_live_list_holds_the_same_objects() -> None:
    live = [item(0), item(1)]
    mirror = Mirror([], seq=0)
    stored(mirror, mirror.diff(live, full=True))
    mirror.stable = 2  # begin_turn
    live.append(item(2))
    assert mirror.diff(live) == Change(seq=2, at=2, items=[item(2)])


def test_an_item_removed_from_the_middle_is_found_although_the_prefix_was_stable() -> None:
    """agency-swarm's cleanup can drop an item anywhere: new objects in the prefix force a full diff."""
    live = [item(0), item(1), item(2)]
    mirror = Mirror([], seq=0)
    stored(mirror, mirror.diff(live, full=True))
    mirror.stable = 3
    live = [item(0), item(2), item(3)]  # a new list without item 1
    change = mirror.diff(live)
    assert change == Change(seq=2, at=1, items=[item(2), item(3)])


def test_a_failed_write_does_not_make_the_live_objects_trusted() -> None:
    """A full diff whose write failed must not let the next save skip the prefix it found changed."""
    first = [item(0), item(1), item(2)]
    mirror = Mirror([], seq=0)
    stored(mirror, mirror.diff(first, full=True))
    mirror.stable = 3
    live = [item(0), item(2)]  # item 1 dropped from the middle ...
    failed = mirror.diff(live, full=True)
    assert failed == Change(seq=2, at=1, items=[item(2)])  # ... and this write fails: not recorded
    live.append(item(3))
    retry = mirror.diff(live)  # the next save must still carry the removal
    assert retry is not None
    stored(mirror, retry)
    assert mirror.items == [item(0), item(2), item(3)]


def test_applying_every_change_to_the_old_list_gives_the_new_one() -> None:
    lists = [[], [item(0)], [item(0), item(1)], [item(0), item(1, "x")], [item(0)], [item(5), item(6)], []]
    mirror = Mirror([], seq=0)
    lines = b""
    for live in lists[1:]:
        change = mirror.diff(live, full=True)
        assert change is not None
        stored(mirror, change)
        lines += change.encode()
        assert replay(lines).items == live


# --- replay -----------------------------------------------------------------------------------------
def test_replay_of_nothing_is_empty() -> None:
    assert replay(b"") == Replay.empty() == Replay([], 0, 0, 0, 0)
    assert replay([]) == Replay.empty()


@pytest.mark.parametrize("keep", [1, 10, -1])
def test_a_torn_last_line_is_ignored_and_measured(keep: int) -> None:
    good = journal(Change(1, 0, [item(0)]), Change(2, 1, [item(1)]))
    torn = Change(3, 2, [item(2)]).encode()[:keep]
    rep = replay(good + torn)
    assert rep.items == [item(0), item(1)] and rep.seq == 2 and rep.lines == 2
    assert rep.torn_tail == len(torn) and rep.good_bytes == len(good)


def test_a_line_list_from_redis_replays_like_the_file() -> None:
    data = journal(Change(1, 0, [item(0), item(1)]), Change(2, 1, []))
    assert replay(data.splitlines()).items == replay(data).items == [item(0)]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"seq": 1, "at": 0, "items": []}\nnot json\n', "line 2 is not valid JSON"),
        (b"[1]\n", "line 1 is not a journal entry"),
        (b'{"seq": 1, "at": 0}\n', "needs seq, at, items"),
        (b'{"seq": 1, "at": 0, "items": [1]}\n', "not a JSON object"),
        (b'{"seq": 2, "at": 0, "items": []}\n{"seq": 2, "at": 0, "items": []}\n', "out of order"),
        (b'{"seq": 1, "at": 3, "items": []}\n', "cuts at 3"),
        (b'{"seq": true, "at": 0, "items": []}\n', "needs seq, at, items"),
    ],
)
def test_a_damaged_line_is_an_error_naming_it(data: bytes, words: str) -> None:
    with pytest.raises(JournalError, match=words):
        replay(data)


# --- encoding ---------------------------------------------------------------------------------------
def test_meta_round_trips_and_takes_its_name_from_where_it_is() -> None:
    meta = SessionMeta.fresh("trip", model="m", ttl_seconds=60)
    meta.title = "Ünïcode ✓"
    back = parse_meta("renamed", "somewhere", meta_bytes(meta))
    assert back.name == "renamed" and back.title == "Ünïcode ✓" and back.model == "m" and back.ttl_seconds == 60
    assert "Ünïcode" in meta_bytes(meta).decode()  # readable text, not \\u escapes


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"", "empty file"),
        (b"\x80\x81 garbage", "binary"),
        (b"{", "not valid JSON"),
        (b"[1]", "expected a JSON object"),
    ],
)
def test_a_bad_meta_is_a_corrupt_session_naming_the_problem(raw: bytes, words: str) -> None:
    with pytest.raises(CorruptSession, match=words) as err:
        parse_meta("x", "/data/x.json", raw)
    assert err.value.path == "/data/x.json"


def test_a_journal_shorter_than_the_meta_says_is_damage() -> None:
    meta = SessionMeta.fresh("x")
    meta.journal_seq = 3
    data = journal(Change(1, 0, [item(0)]), Change(2, 1, [item(1)]))
    with pytest.raises(CorruptSession, match="is truncated: it ends at change 2 of 3"):
        check_replay(meta, "x.jsonl", data)
    with pytest.raises(CorruptSession, match="is missing"):
        check_replay(meta, "x.jsonl", b"")
    meta.journal_seq = 2
    assert check_replay(meta, "x.jsonl", data + b'{"seq": 3, "a').items == [item(0), item(1)]


def test_a_line_is_compact_json_ending_in_a_newline() -> None:
    line = Change(1, 0, [item(0)]).encode()
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and b": " not in line
    assert json.loads(line) == {"seq": 1, "at": 0, "items": [item(0)]}
