"""Items that reuse an id, made unique before an agency sees them (pure: no I/O, no agency-swarm).

Real exports reuse ids: an assistant's `msg_` id can repeat across turns, and so can a tool's call id.
agency-swarm de-duplicates the whole history by `id` at the end of every streamed run (keeping the
first), so such items would vanish on the first turn. `unique_ids` renames the later ones: an item id
gets a suffix (`msg_x` → `msg_x_2`), a reused call id is renamed on the call *and* on the outputs that
answer it (up to the next call reusing it), and an MCP approval response follows its request's new id.
"""

from __future__ import annotations

from collections.abc import Iterable

from swarmchat.session import Item

PLACEHOLDER_ID = "__fake_id__"  # the Agents SDK's id for items from Chat Completions: shared on purpose
_APPROVAL_REQUESTS = {"mcp_approval_request", "mcp_approval_request_item"}
_APPROVAL_RESPONSES = {"mcp_approval_response", "mcp_approval_response_item"}


def _is_output(kind: object) -> bool:
    return isinstance(kind, str) and kind.endswith(("_output", "_output_item"))


def _name(value: object) -> str | None:
    return value if isinstance(value, str) and value and value != PLACEHOLDER_ID else None


class _Namer:
    """Hands out names not taken yet: the name itself the first time, then NAME_2, NAME_3..."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self.given: set[str] = set()

    def claim(self, name: str) -> str:
        if name not in self.given:
            self.given.add(name)
            return name
        number = 2
        while f"{name}_{number}" in self.taken or f"{name}_{number}" in self.given:
            number += 1
        fresh = f"{name}_{number}"
        self.given.add(fresh)
        return fresh


def unique_ids(items: list[Item]) -> tuple[list[Item], int]:
    """The items with every reused id renamed, and how many ids were renamed (a call and its outputs
    count once). Items that need no change are the same objects; changed ones are copies."""
    ids = _Namer(n for i in items if (n := _name(i.get("id"))))
    calls = _Namer(n for i in items if (n := _name(i.get("call_id"))))
    open_calls: dict[str, str] = {}  # a call id as the file gives it -> the name its latest call got
    approvals: dict[str, str] = {}  # the same for MCP approval requests
    renamed = 0
    result: list[Item] = []
    for item in items:
        changes: dict[str, str] = {}
        kind = item.get("type")
        if (own := _name(item.get("id"))) is not None:
            fresh = ids.claim(own)
            if kind in _APPROVAL_REQUESTS:
                approvals[own] = fresh
            if fresh != own:
                changes["id"] = fresh
                renamed += 1
        if (call := _name(item.get("call_id"))) is not None:
            if _is_output(kind):
                current = open_calls.get(call, call)
            else:
                current = open_calls[call] = calls.claim(call)
                renamed += current != call
            if current != call:
                changes["call_id"] = current
        asked = _name(item.get("approval_request_id")) if kind in _APPROVAL_RESPONSES else None
        if asked is not None and approvals.get(asked, asked) != asked:
            changes["approval_request_id"] = approvals[asked]
        result.append({**item, **changes} if changes else item)
    return result, renamed
