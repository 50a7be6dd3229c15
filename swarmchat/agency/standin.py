"""One item standing in for the settled part of a long history, so a turn does not walk it.

On every turn agency-swarm and the Agents SDK copy, filter, deep-copy and re-dump the whole user
thread (~1 s at 10,000 items) to produce a request whose settled part is the same as last turn's.
After a turn, that part (the user thread before the turn's first item) is swapped, inside
agency-swarm's ThreadManager, for ONE user message whose text is a unique token. swarmchat's own
OpenAI client (`openai_client`) puts back, in place of the token, exactly what the SDK sent for
that part: recorded from the first request of the turn that settled it (capture, not a
re-implementation). Items of other agent pairs (delegations) stay in the list, before the token.

Everything that reads the history back out (saves, /history, undo, fork...) gets the original
objects (`StandIn.expand`), so the store's diff stays O(1). A save that would store a token is
refused. A capture is also kept with the session (`capture_cache`), so the first turn of the next
process starts with it in place (`StandIn.adopt`): the region is then the store's own read-only
copy of those items (`shared`), which is copied before agency-swarm is ever given it back. Any
change the capture depends on (another recipient, model or settings; an undo) puts the originals
back first, and that turn takes the SDK's full path and captures anew.

Exactness rests on the pipeline being prefix-stable at the boundary: agency-swarm and the SDK treat
items one by one, and the Chat Completions converter carries nothing past a finished assistant
message (checked when settling). Every request checks what it can see (the token's form, what
precedes it, the boundary turn's items right after it, no reused id or call id, no token elsewhere)
and is refused, never sent differently, if one fails; tests/test_fastpath.py compares whole
conversations with the full path. `SWARMCHAT_NO_FASTPATH=1` turns it off with the client's fast path.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NoReturn

from swarmchat.session import Item
from swarmchat.store.journal import dumps

TOKEN = "\x00swarmchat-history:"
CONTROL_ORIGINS = frozenset({"handoff_reminder", "recipient_reminder"})  # agency-swarm's, read back per turn
TRACE_ID = re.compile(r"^trace_[a-f0-9]{32}$")  # agency-swarm 1.11 takes a run's trace id from the last such


class StandInError(RuntimeError):
    """A request or a save does not fit the stand-in in place: it is neither sent nor stored."""


@dataclass
class StandInStats:
    """Process-wide counts tests check: requests whose stand-in was expanded, prefixes installed,
    stand-ins taken back before a turn (key changed) and mismatches refused."""

    expanded: int = 0
    installed: int = 0
    restored: int = 0
    refused: int = 0


stats = StandInStats()


@dataclass
class Prefix:
    """A stand-in in place: the original `region` (every item before the settled boundary, other
    agent pairs included) and what the SDK sent for its user thread."""

    item: Item
    region: list[Item]
    kept: list[Item]  # the region's items of other agent pairs: still in agency-swarm's list, before `item`
    key: str
    lead: list[Any]  # what preceded the history in the request (chat: the system message)
    sent: list[Any]  # the region's user thread as the SDK sent it
    seam: list[Any]  # the boundary turn's first items as the SDK sent them (right after the token)
    plain: bool  # `sent` is plain JSON (checked once, when captured)
    unpaired: set[str] = field(default_factory=set)  # call ids seen an odd number of times in the region
    keys: set[str] = field(default_factory=set)  # the region's item ids and call ids
    collided: bool = False  # a later item reused one of `keys`: agency-swarm's cleanup would see both
    shared: bool = False  # `region` holds the store's private objects (adopted from a kept capture)
    agent: str = ""  # the agent whose thread the stand-in is in

    @property
    def token(self) -> str:
        return str(self.item["content"])


@dataclass
class Capture:
    """One turn: the stand-in it runs with and what its first request sent (filled by the client)."""

    key: str
    api: str  # "input" (Responses) or "messages" (Chat Completions)
    live: Callable[[], list[Item]]  # agency-swarm's list now
    count: int  # its length when the turn started
    start: list[Item]  # the expanded history when the turn started
    prefix: Prefix | None
    active: bool = True
    done: bool = False
    refused: bool = False
    lead: list[Any] | None = None
    sent: list[Any] | None = None
    seam: list[Any] | None = None
    plain: bool = False


CURRENT: ContextVar[Capture | None] = ContextVar("swarmchat_standin", default=None)


def outgoing(api: str, items: list[Any], plain_json: Callable[[Any], bool]) -> tuple[list[Any], bool | None]:
    """The list the client sends in place of `items` and whether it is plain JSON (None: not
    checked). Expands the stand-in; records the first request of the turn."""
    turn = CURRENT.get()
    if turn is None:  # not within a turn: no stand-in may be in it (checked where one could have come from)
        if stats.installed and _mentions(items):  # until one is installed, no request can hold a token
            stats.refused += 1
            raise StandInError("swarmchat's history stand-in reached a request outside a turn; nothing was sent")
        return items, None
    if not turn.active or api != turn.api:
        if _mentions(items):  # a request outside the turn that made it: it must never reach the model
            _refuse(turn)
        return items, None
    prefix, out, lead, plain = turn.prefix, items, 0, None
    at = _token_at(items, prefix.token) if prefix is not None else None
    if prefix is not None and at is not None:
        form = {"content": prefix.token, "role": "user"} | ({"type": "message"} if api == "input" else {})
        seam = items[at + 1 : at + 1 + len(prefix.seam)]
        rest = [*items[:at], *items[at + 1 :]]
        if items[at] != form or not _same_lead(items[:at], prefix.lead) or seam != prefix.seam or _mentions(rest):
            _refuse(turn)
        if not _sent_keys(rest).isdisjoint(prefix.keys):
            _refuse(turn)  # the SDK dedupes a request's items by id and call id across the whole list
        out, lead = [*items[:at], *prefix.sent, *items[at + 1 :]], at
        plain = prefix.plain and plain_json(rest)
        stats.expanded += 1
    elif prefix is not None and _mentions(items):
        _refuse(turn)  # the token inside some other item: it must never reach the model
    elif api == "messages" and items and _sdk_system(items[0]):
        lead = 1
    if plain is None:
        plain = plain_json(out)
    if not turn.done and (prefix is None or at is not None):
        turn.done = True
        new = len(turn.live()) - turn.count  # the items agency-swarm stored for this turn's message
        if 0 < new <= len(out) - lead:
            turn.lead, turn.sent, turn.seam = out[:lead], out[lead : len(out) - new], out[len(out) - new :]
            turn.plain = plain
    return out, plain


def _refuse(turn: Capture) -> NoReturn:
    stats.refused += 1
    turn.refused = True
    raise StandInError("swarmchat's history stand-in does not fit this request; run the turn again")


def _same_lead(lead: list[Any], captured: list[Any]) -> bool:
    """What precedes the history is what preceded it when captured: nothing (Responses), or the SDK's
    system message (Chat Completions; after a handoff, the other agent's instructions)."""
    return len(lead) == len(captured) and all(_sdk_system(item) for item in lead)


def _mentions(value: object) -> bool:
    """True if any string inside `value` holds a stand-in token."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if TOKEN in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return False


def _token_at(items: list[Any], token: str) -> int | None:
    for at, item in enumerate(items):
        if type(item) is dict and item.get("content") == token:
            return at
    return None


def _sdk_system(item: Any) -> bool:
    """The system message the SDK puts first for the agent's instructions (`content` before `role`;
    the converter writes history messages `role` first)."""
    return type(item) is dict and list(item) == ["content", "role"] and item["role"] == "system"


def is_token(item: Any) -> bool:
    content = item.get("content") if isinstance(item, dict) else None
    return isinstance(content, str) and content.startswith(TOKEN)


@dataclass
class StandIn:
    """The stand-in of one bound agency (if any) and the turn it runs."""

    enabled: bool
    prefix: Prefix | None = None

    def expand(self, items: list[Item]) -> list[Item]:
        """`items` (agency-swarm's list) with the stand-in replaced by the original items; raises
        StandInError rather than return a list that lost them or still holds a token."""
        prefix = self.prefix
        if prefix is None:
            return items
        kept = len(prefix.kept)
        if len(items) > kept and items[kept] is prefix.item:
            region, tail = prefix.region, items[kept + 1 :]
        else:
            at = next((i for i, item in enumerate(items) if item is prefix.item), None)
            if at is None:
                stats.refused += 1
                raise StandInError("the history's stand-in went missing; nothing was saved")
            still = {id(item) for item in items[:at]}
            if not still <= {id(item) for item in prefix.kept}:  # an item was replaced, not removed: never drop it
                stats.refused += 1
                raise StandInError("the history before its stand-in changed; nothing was saved")
            region = [item for item in prefix.region if item.get("callerAgent") is None or id(item) in still]
            tail = items[at + 1 :]
        for item in tail:
            if is_token(item):
                stats.refused += 1
                raise StandInError("a history stand-in would have been saved; nothing was saved")
            if not prefix.collided and not _keys(item).isdisjoint(prefix.keys):
                prefix.collided = True
        return [*region, *tail]

    def private(self, items: list[Item]) -> list[Item]:
        """`items` ready to hand to agency-swarm: those of a shared region replaced by copies."""
        prefix = self.prefix
        if prefix is None or not prefix.shared:
            return items
        store_owned = {id(item) for item in prefix.region}
        at = [n for n, item in enumerate(items) if id(item) in store_owned]
        copies = json.loads(dumps([items[n] for n in at]))
        out = list(items)
        for n, copy in zip(at, copies, strict=True):
            out[n] = copy
        return out

    def restore(self, thread_manager: Any, items: list[Item]) -> None:
        """Put the original items back into agency-swarm's ThreadManager (no save: they are stored)."""
        if self.prefix is not None:
            full = self.private(self.expand(items))
            self.prefix = None
            thread_manager.replace_messages(full)
            stats.restored += 1

    def adopt(self, stored: list[Item], kept: CapturedPrefix, tail: Callable[[int], list[Item]]) -> list[Item] | None:
        """Put a capture kept with the session in place before the agency is built: the list agency-swarm
        is to load (the stand-in, then fresh copies of the rest from `tail(start)`), or None if the
        history does not allow it. `stored` is the store's private list, whose first `kept.count` items
        the capture was checked against."""
        region = stored[: kept.count]
        scanned = _scan(region, 0, [], set(), set())
        if scanned is None:
            return None
        others, unpaired, keys = scanned
        copies: list[Item] = json.loads(dumps(others))  # agency-swarm's own objects
        swap = dict(zip(map(id, others), copies, strict=True))
        region = [swap.get(id(item), item) for item in region]
        stand = _stand_in(region, kept.agent)
        self.prefix = Prefix(
            stand, region, copies, kept.key, kept.lead, kept.sent, kept.seam, True, unpaired, keys,
            shared=True, agent=kept.agent,
        )  # fmt: skip
        stats.installed += 1
        return [*copies, stand, *tail(kept.count)]

    def begin(self, thread_manager: Any, live: Callable[[], list[Item]], key: str, api: str) -> Capture:
        """Start a turn: the stand-in stays only if it was captured under the same `key`."""
        if self.prefix is not None and (self.prefix.key != key or self.prefix.collided):
            self.restore(thread_manager, live())
        items = live()
        turn = Capture(key, api, live, len(items), list(self.expand(items)), self.prefix)
        CURRENT.set(turn)
        return turn

    def settle(self, thread_manager: Any, turn: Capture, agent: str) -> None:
        """After a completed turn: stand in for everything before its first item, if its capture and
        the history allow it; else keep what is in place."""
        turn.active = False
        if turn.sent is None or turn.lead is None or turn.seam is None or not turn.plain:
            return
        full = self.expand(turn.live())
        boundary = len(turn.start)
        if boundary == 0 or full[:boundary] != turn.start:
            return  # the history before the turn changed under it (a cleanup): keep what is in place
        old = self.prefix
        if old is not None and old.collided:
            self.restore(thread_manager, turn.live())
            return
        reuse = old is not None and len(full) >= len(old.region) and full[: len(old.region)] == old.region
        region = full[:boundary]
        if old is not None and reuse:
            scanned = _scan(region, len(old.region), list(old.kept), set(old.unpaired), set(old.keys))
        else:
            scanned = _scan(region, 0, [], set(), set())
        if scanned is None:
            return
        kept, unpaired, keys = scanned
        shared = old is not None and old.shared  # the region may hold the store's objects
        self.prefix = Prefix(
            _stand_in(region, agent), region, kept, turn.key, turn.lead, turn.sent, turn.seam, turn.plain,
            unpaired, keys, shared=shared, agent=agent,
        )  # fmt: skip
        thread_manager.replace_messages([*kept, self.prefix.item, *full[boundary:]])
        stats.installed += 1


@dataclass
class CapturedPrefix:
    """A capture as kept with the session (`capture_cache`): what the SDK sent for the session's first
    `count` stored items, under `key`, for a turn to `agent`."""

    count: int
    key: str
    agent: str
    lead: list[Any]
    sent: list[Any]
    seam: list[Any]


def _scan(
    region: list[Item], done: int, kept: list[Item], unpaired: set[str], keys: set[str]
) -> tuple[list[Item], set[str], set[str]] | None:
    """What is known of `region` (its items of other agent pairs, its unpaired call ids, its keys), given
    that of its first `done` items; None if it cannot be hidden (an unpaired call, an unclean boundary)."""
    for item in region[done:]:
        if item.get("callerAgent") is not None:
            kept.append(item)
        call_id = item.get("call_id")
        if isinstance(call_id, str):
            unpaired ^= {call_id}
        keys |= _keys(item)
    if unpaired or not region or not _clean_boundary(region):
        return None
    return kept, unpaired, keys


def _stand_in(region: list[Item], agent: str) -> Item:
    """The one user message that stands in for `region` in `agent`'s thread."""
    first = next(item for item in region if item.get("callerAgent") is None)
    stand = {
        "content": f"{TOKEN}{uuid.uuid4().hex}",
        "role": "user",
        "type": "message",
        "agent": agent,
        "callerAgent": None,
        "timestamp": first.get("timestamp", 0),
        "history_protocol": "responses",
    }
    # what agency-swarm finds scanning the history backwards for a trace id, should the visible part have none
    trace = next((t for item in reversed(region) if TRACE_ID.match(t := str(item.get("run_trace_id", "")))), None)
    if trace is not None:
        stand["run_trace_id"] = trace
    return stand


def _clean_boundary(region: list[Item]) -> bool:
    """The user thread before the boundary ends with a finished assistant message (the Chat
    Completions converter carries no state past it), and the item right before the boundary is
    neither reasoning nor a control reminder (agency-swarm reads back across those)."""
    last = region[-1]
    if last.get("type") == "reasoning" or last.get("message_origin") in CONTROL_ORIGINS:
        return False
    thread_last = next((item for item in reversed(region) if item.get("callerAgent") is None), None)
    return (
        thread_last is not None
        and thread_last.get("type") == "message"
        and thread_last.get("role") == "assistant"
        and "tool_calls" not in thread_last
    )


def _sent_keys(items: list[Any]) -> set[str]:
    """The ids and call ids of the items of a request, in the terms of `_keys`: Responses items (messages
    aside, which the SDK does not dedupe) and Chat Completions tool calls and tool results."""
    found = set()
    for item in items:
        if type(item) is not dict:
            continue
        if "role" not in item:
            found |= _keys(item)
        if isinstance(call_id := item.get("tool_call_id"), str):
            found.add(f"call_id:{call_id}")
        for call in item.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call_id := call.get("id"), str):
                found.add(f"call_id:{call_id}")
    return found


def _keys(item: Item) -> set[str]:
    """The keys agency-swarm's end-of-run cleanup matches items by across the whole list (duplicate ids,
    call/output pairs, MCP approvals): a region whose keys a later item reuses cannot be hidden."""
    found = set()
    for name in ("id", "call_id", "approval_request_id"):
        value = item.get(name)
        if isinstance(value, str) and value and value != "__fake_id__":
            found.add(f"{name}:{value}" if name != "approval_request_id" else f"id:{value}")
    return found
