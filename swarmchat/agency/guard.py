"""A turn never stores a history that lost items it did not add.

At the end of every run agency-swarm 1.11 cleans the WHOLE list it saves: items whose `id` repeats an
earlier one, tool calls it finds unanswered and items it filters out are dropped, whichever turn
stored them. A history imported from elsewhere (or written by another tool) can hold such items, and
storing the cleaned list would lose them for good. So, during a turn, every list agency-swarm saves
is checked against the items the turn started with: if one of them is missing, the list stored is
the turn's starting items, in their order, followed by the items the turn added. Nothing stored
before the turn is ever taken away by it.
"""

from __future__ import annotations

import json
from collections import Counter

from swarmchat.session import Item


class TurnGuard:
    """The items a turn started with (agency-swarm's own objects), and what the guard had to do."""

    def __init__(self) -> None:
        self._start: list[Item] | None = None
        self.kept = 0  # the most starting items one save had lost (the guard stored them anyway)
        self.changed = False  # a save was stored other than agency-swarm gave it

    def begin(self, items: list[Item]) -> None:
        """A turn starts on `items`: every save until `end` must keep them."""
        self._start = list(items)
        self.kept, self.changed = 0, False

    def end(self) -> None:
        self._start = None

    def checked(self, items: list[Item]) -> list[Item]:
        """`items`, or, if they do not begin with the turn's starting items, those items followed by the
        items the turn added (matched by content, so a copy of a starting item is not counted twice)."""
        start = self._start
        if start is None or _keeps(items, start):
            return items
        remaining = Counter(_key(item) for item in start)
        added = []
        for item in items:
            key = _key(item)
            if remaining[key] > 0:
                remaining[key] -= 1
            else:
                added.append(item)
        self.kept = max(self.kept, sum(remaining.values()))
        self.changed = True
        return [*start, *added]


def _keeps(items: list[Item], start: list[Item]) -> bool:
    """True if `items` begins with the items of `start` (the same objects, or equal ones)."""
    if len(items) < len(start):
        return False
    return all(a is b or a == b for a, b in zip(items, start, strict=False))


def _key(item: Item) -> str:
    return json.dumps(item, sort_keys=True, default=repr)
