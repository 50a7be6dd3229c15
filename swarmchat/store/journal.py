"""The journal: one JSON line per change to a session's item list, replayed on load.

Each line is `{"seq": n, "at": k, "items": [...]}`: cut the list back to `k` items, then append
`items`. Appending (k == len), cutting back (items == []) and in-place rewrites of the tail are all
one kind of line, written with a single append, so a crash can only leave a torn last line.
`Mirror` keeps a private copy of what is stored and turns agency-swarm's live list into the
smallest such change; its cost depends on what changed, not on the length of the history.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from swarmchat.session import Item


class JournalError(ValueError):
    """A journal line that does not parse or has the wrong shape (never a torn last line)."""


@dataclass(frozen=True)
class Change:
    seq: int
    at: int
    items: list[Item]

    def encode(self) -> bytes:
        return dumps({"seq": self.seq, "at": self.at, "items": self.items}) + b"\n"


def line_seq(line: bytes) -> int:
    """The seq of an encoded line, read from its start (`Change.encode` writes it first)."""
    return int(line[len(b'{"seq":') : line.index(b",")])


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_fallback).encode()


def _fallback(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    return str(value)


@dataclass
class Replay:
    items: list[Item]
    seq: int
    lines: int
    torn_tail: int  # bytes of an incomplete last line (a crash artifact), 0 if none
    good_bytes: int  # length of the journal up to the end of its last complete line

    @classmethod
    def empty(cls) -> Replay:
        """What a session with no journal yet replays to."""
        return cls(items=[], seq=0, lines=0, torn_tail=0, good_bytes=0)


def replay(data: bytes | list[bytes]) -> Replay:
    """Rebuild the item list from journal bytes (or a list of lines, as Redis returns them)."""
    torn = 0
    if isinstance(data, bytes):
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the journal ends with a newline
        torn = len(tail)
        good = len(data) - torn
    else:
        lines = data
        good = sum(len(line) + 1 for line in lines)
    items: list[Item] = []
    seq = 0
    with paused_gc():
        for number, line in enumerate(lines, 1):
            change = parse_line(line, number)
            if change.at > len(items):
                raise JournalError(f"line {number} cuts at {change.at} but only {len(items)} items exist")
            if change.seq <= seq:
                raise JournalError(f"line {number} is out of order (seq {change.seq} after {seq})")
            del items[change.at :]
            items.extend(change.items)
            seq = change.seq
    return Replay(items=items, seq=seq, lines=len(lines), torn_tail=torn, good_bytes=good)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while parsing: JSON builds many objects and no cycles, and the
    collector's passes over them cost ~40% of reading a 10,000-message session."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_line(line: bytes, number: int) -> Change:
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JournalError(f"line {number} is not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise JournalError(f"line {number} is not a journal entry")
    seq, at, items = obj.get("seq"), obj.get("at"), obj.get("items")
    if not (isinstance(seq, int) and isinstance(at, int) and _is_int(seq) and _is_int(at) and at >= 0):
        raise JournalError(f"line {number} is not a journal entry (needs seq, at, items)")
    if not isinstance(items, list):
        raise JournalError(f"line {number} is not a journal entry (needs seq, at, items)")
    if not all(isinstance(i, dict) for i in items):
        raise JournalError(f"line {number} holds an item that is not a JSON object")
    return Change(seq=seq, at=at, items=items)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Mirror:
    """A private copy of the stored list, to diff agency-swarm's live list against.

    `stable` marks a prefix that did not change during the current turn, so a save compares only
    the items after it. That is trusted only while the live list still holds, up to `stable`, the
    objects it held at the last full diff (checked by identity, which is cheap): agency-swarm's
    end-of-turn cleanup drops orphaned tool calls from anywhere in the history, and such a save
    must be diffed in full or an item would be lost. `diff(full=True)` checks everything.
    """

    def __init__(self, items: list[Item], seq: int) -> None:
        self.items = items
        self.seq = seq
        self.stable = 0
        self.seen: list[Item] = []  # the live list's objects at the last full diff (references)
        self._pending: list[Item] | None = None  # a full diff's objects, trusted once its change is stored

    def diff(self, live: list[Item], *, full: bool = False) -> Change | None:
        """The change that turns the stored list into `live`, or None if they are equal."""
        start = 0 if full else min(self.stable, len(self.items), len(live))
        if start and not self._same_objects(live, start):
            start = 0
        end = min(len(self.items), len(live))
        at = start
        while at < end and live[at] == self.items[at]:
            at += 1
        # compared in full: these objects are the prefix later saves are checked against, once the
        # stored list equals them (a change whose write fails must not make them trusted)
        pending = list(live) if not start else None
        if at == len(self.items) == len(live):
            self._pending = None
            if pending is not None:
                self.seen = pending
            return None
        self._pending = pending
        return Change(seq=self.seq + 1, at=at, items=list(live[at:]))

    def _same_objects(self, live: list[Item], upto: int) -> bool:
        if len(self.seen) < upto:
            return False
        # List equality tries identity first, in C: 5x faster than an `is` per item in Python at 10,000
        # items (a save must not grow with the history). Where objects differ it compares contents,
        # which is as good: a prefix equal to the one last saved needs no rewrite.
        return live[:upto] == (self.seen if len(self.seen) == upto else self.seen[:upto])

    def record(self, change: Change, line: bytes) -> None:
        """Record a change once its encoded `line` is durable; the copy comes from the line."""
        del self.items[change.at :]
        self.items.extend(json.loads(line)["items"])
        self.seq = change.seq
        self.stable = min(self.stable, change.at)
        if self._pending is not None:
            self.seen, self._pending = self._pending, None
