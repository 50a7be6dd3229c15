"""A session bound to a served agency: the `BoundAgency` the REPL and `-m` use, over HTTP.

The history lives here, in the session; each turn sends it as `chat_history` and stores the
`new_messages` the server returns. The server's stream carries agency-swarm's own events,
serialized; they are read through the same translation as a local turn's (`TurnTracker`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from swarmchat.bound import LiveSession, Message
from swarmchat.budget import reached_line
from swarmchat.budget import spent as spent_so_far
from swarmchat.errors import RemoteAgencyError, SwarmchatError
from swarmchat.events import Event, Notice, TurnDone, TurnError
from swarmchat.remote.client import AgencyClient, AgencyUrl, parse_url
from swarmchat.session import Item, SessionMeta, item_text
from swarmchat.turn_tracker import TurnTracker


@dataclass
class AgencyInfo:
    """What get_metadata says of the agency, as cached in the session meta (`remote_agency`)."""

    url: str
    agents: list[str]
    entry: str
    descriptions: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, url: str, data: dict[str, Any]) -> AgencyInfo:
        meta = data.get("metadata") or {}
        agents = [str(a) for a in meta.get("agents") or []]
        entries = [str(e) for e in meta.get("entryPoints") or [] if str(e) in agents]
        descriptions: dict[str, str] = {}
        models: dict[str, str] = {}
        for node in data.get("nodes") or []:
            if not isinstance(node, dict) or node.get("type", "agent") != "agent":
                continue
            about: dict[str, Any] = node["data"] if isinstance(node.get("data"), dict) else {}
            name = str(node.get("id") or about.get("label") or "")
            if name in agents:
                descriptions[name] = str(about.get("description") or "")
                models[name] = str(about.get("model") or "")
                if about.get("isEntryPoint") and not entries:
                    entries.append(name)
        return cls(url, agents, (entries or agents)[0], descriptions, models)

    @classmethod
    def from_cache(cls, url: str, cached: dict[str, Any] | None) -> AgencyInfo | None:
        if not isinstance(cached, dict) or cached.get("url") != url:
            return None
        try:
            info = cls(**cached)
        except TypeError:
            return None
        return info if info.agents and info.entry in info.agents else None

    def to_cache(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "agents": self.agents,
            "entry": self.entry,
            "descriptions": self.descriptions,
            "models": self.models,
        }


class _Seen:
    """A serialized stream event read like agency-swarm's objects, so `TurnTracker` translates both."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        value = self._data.get(name)
        if isinstance(value, dict):
            return _Seen(value)
        if value == "None" and name in ("callerAgent", "agent"):  # serialize() writes None as "None"
            return None
        return value


class RemoteBinding:
    """The agency at a URL bound to an open session."""

    checks_cap_between_turns = True
    """The server makes the model calls: the spending cap is checked before each turn, not each call."""

    def __init__(self, live: LiveSession, client: AgencyClient, info: AgencyInfo, fresh: bool) -> None:
        self.live = live
        self.client = client
        self.info = info
        self.replay_problems: list[str] = []
        self._items: list[Item] = live.load()
        self._fresh = fresh  # get_metadata already asked during this run

    @property
    def agent_names(self) -> list[str]:
        return list(self.info.agents)

    @property
    def entry_agent(self) -> str:
        return self.info.entry

    def describe(self, agent: str) -> str:
        return self.info.descriptions.get(agent, "")

    def model_name(self, agent: str | None = None) -> str:
        return self.info.models.get(agent or self.entry_agent, "")

    def set_model(self, model: str) -> None:
        raise SwarmchatError(
            f"the agency at {self.client.url.display} runs its agents on the server, which chooses their models; "
            "change them there"
        )

    def live_items(self) -> list[Item]:
        return self._items

    def set_items(self, items: list[Item]) -> None:
        self._commit(list(items))
        self.live.session.end_turn(self._items)

    def _commit(self, items: list[Item]) -> None:
        """The history is now `items`: durable when this returns (or the failure kept to report)."""
        self._items = items
        with contextlib.suppress(Exception):  # LiveSession keeps the failure, reported once by the caller
            self.live.save(items)

    async def refresh(self) -> None:
        """Ask get_metadata once per run (the cached agents served the prompt meanwhile)."""
        if self._fresh:
            return
        info = AgencyInfo.from_metadata(self.client.url.display, await self.client.metadata())
        self._fresh = True
        if info != self.info:
            self.info = info
            self.live.session.update_meta(remote_agency=info.to_cache())

    async def turn(self, message: Message, recipient: str | None = None) -> AsyncIterator[Event]:
        """One turn on the server. Cancelling the task that iterates cancels the run there; what it
        made is stored, and the partial reply marked interrupted."""
        meta = self.live.meta
        if meta.max_cost is not None and (now := spent_so_far(meta, self.model_name)) >= meta.max_cost:
            yield TurnError(reached_line(meta.max_cost, now, stopped=False), "budget")
            return
        session = self.live.session
        session.begin_turn()
        history = list(self._items)
        target = recipient if recipient in self.info.agents else self.entry_agent
        tracker = TurnTracker(target)
        run_id = ""
        asked = _user_items(message, target)
        done: dict[str, Any] | None = None
        failed = False
        try:
            await self.refresh()
            target = target if target in self.info.agents else self.entry_agent
            payload = {"message": message, "chat_history": history, "recipient_agent": target}
            async with self.client.stream(payload) as frames:
                # a reader task holds the connection: cancelling a read would make httpx drop it, and the
                # server, seeing the client gone, would forget the run before our cancel asks what it made
                queue: asyncio.Queue[tuple[str, Any] | BaseException | None] = asyncio.Queue()
                reader = asyncio.create_task(_pump(frames, queue))
                try:
                    while (frame := await queue.get()) is not None:
                        if isinstance(frame, BaseException):
                            raise frame
                        kind, data = frame
                        if kind == "meta":
                            run_id = data
                            self._commit(history + asked)  # the server took the message: the session's now
                        elif kind == "event":
                            for event in self._translate(tracker, data):
                                failed = failed or isinstance(event, TurnError)
                                yield event
                        elif kind == "error":
                            failed = True
                            yield TurnError(self._server_failed(data))
                        elif kind == "messages":
                            done = data
                            returned, dropped = server_items(data.get("new_messages"))
                            if dropped:
                                yield Notice(self._dropped(dropped))
                            if returned:
                                self._commit(history + _keeping(asked, returned))
                        elif kind == "end":
                            break
                except (asyncio.CancelledError, GeneratorExit):
                    if run_id and done is None:
                        returned, _ = server_items(await self.client.cancel(run_id))
                        base = history + _keeping(asked, returned) if returned else list(self._items)
                        self._commit(_with_partial(base, tracker, returned))
                    raise
                finally:
                    reader.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await reader
            if done is None:
                raise self.client.cut()
            if failed:
                return
            if not tracker.usage:  # no per-call usage in the stream: the server's total, to the agent that replied
                usage: dict[str, Any] = done["usage"] if isinstance(done.get("usage"), dict) else {}
                spent = {key: int(usage.get(key) or 0) for key in ("input_tokens", "output_tokens")}
                tracker.usage[tracker.reply_agent] = {**spent, "requests": int(usage.get("requests") or 0)}
            tokens = [
                sum(counts[key] for counts in tracker.usage.values()) for key in ("input_tokens", "output_tokens")
            ]
            yield TurnDone(tracker.reply_text(), tracker.reply_agent, tokens[0], tokens[1])
        except RemoteAgencyError as exc:
            if run_id and done is None:  # the stream broke mid-reply: keep what was said, as for Ctrl-C
                self._commit(_with_partial(list(self._items), tracker))
            yield TurnError(str(exc))
        finally:
            session.meta.book_usage(tracker.usage)  # what the finished calls spent, stored with the turn
            session.end_turn(self._items)

    def _translate(self, tracker: TurnTracker, data: dict[str, Any]) -> list[Event]:
        if data.get("type") == "error":  # agency-swarm streams a model failure as an error event
            return [TurnError(self._server_failed(str(data.get("content", ""))))]
        return tracker.translate(_Seen(data))

    def _dropped(self, count: int) -> str:
        return (
            f"the agency at {self.client.url.display} sent {count} item{'s' if count != 1 else ''} that "
            f"{'are' if count != 1 else 'is'} not a message; not stored (the rest of the turn is)"
        )

    def _server_failed(self, text: str) -> str:
        line = " ".join(text.split())[:200] or "unknown error"
        return f"the agency at {self.client.url.display} failed on the server: {line}; check its logs, then /retry"

    async def summarize(self, transcript: str, instructions: str) -> str:
        """The entry agent, on the server, summarizes `transcript` (no history: a fresh conversation)."""
        data = await self.client.get_response(
            {
                "message": transcript,
                "chat_history": [],
                "recipient_agent": self.entry_agent,
                "additional_instructions": instructions,
            }
        )
        return str(data.get("response") or "").strip()


async def _pump(frames: AsyncIterator[tuple[str, Any]], queue: asyncio.Queue[Any]) -> None:
    """Read the stream into `queue`, then None; a failure is put there to be raised by the reader."""
    try:
        async for frame in frames:
            queue.put_nowait(frame)
        queue.put_nowait(None)
    except Exception as exc:
        queue.put_nowait(exc)


def _user_items(message: Message, agent: str) -> list[Item]:
    """The user's message as agency-swarm stores it, until the server's own copy replaces it."""
    stamp = int(time.time() * 1_000_000)
    extra = {"agent": agent, "callerAgent": None, "timestamp": stamp}
    if isinstance(message, str):
        return [{"role": "user", "content": message, "type": "message", **extra}]
    return [{**item, **extra} for item in message]


def server_items(returned: object) -> tuple[list[Item], int]:
    """The items of a server's answer that can be stored (JSON objects with a `type` or a `role`), and
    how many others it held: whatever a server sends, the stored history stays readable."""
    if not isinstance(returned, list):
        return [], 0
    kept = [i for i in returned if isinstance(i, dict) and (_named(i.get("type")) or _named(i.get("role")))]
    return kept, len(returned) - len(kept)


def _named(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _keeping(asked: list[Item], returned: list[Item]) -> list[Item]:
    """The server's copy of the turn, which replaces ours, never without the user's message: one it
    left out is kept as swarmchat stored it."""
    theirs = [(i.get("role"), i.get("content")) for i in returned if i.get("callerAgent") is None]
    missing = [i for i in asked if (i.get("role"), i.get("content")) not in theirs]
    return [*missing, *returned]


def _with_partial(items: list[Item], tracker: TurnTracker, returned: list[Item] | None = None) -> list[Item]:
    """The same rule as a local turn: what was shown of the reply is kept, marked as interrupted, so
    the history never ends in two user messages in a row; nor is it lost to a server's answer that
    holds no reply beginning with what was shown."""
    kept = tracker.interrupted_reply(items) if items else None
    shown = tracker.reply_text().strip()
    replies = [text for i in returned or [] if i.get("role") == "assistant" and (text := item_text(i).strip())]
    if kept is None and shown and returned and not any(r.startswith(shown) or shown.startswith(r) for r in replies):
        kept = tracker.interrupted_reply([])
    return items if kept is None else [*items, kept]


def bind(meta: SessionMeta, live: LiveSession, spec: str) -> RemoteBinding:
    """The session's agency at `spec`: from the session's cache of its agents when it has one for this
    URL (the prompt is up at once; get_metadata is asked at the first turn), else asked now."""
    url: AgencyUrl = parse_url(spec)
    client = AgencyClient(url)
    info = AgencyInfo.from_cache(spec, meta.remote_agency) if url.agency else None
    fresh = info is None
    if info is None:
        data = client.metadata_sync()  # a URL naming no agency is resolved to the server's only one
        spec = client.url.display
        info = AgencyInfo.from_metadata(spec, data)
    binding = RemoteBinding(live, client, info, fresh)
    changes: dict[str, object] = {}
    if meta.agency != spec:
        changes["agency"] = spec
    if fresh:
        changes["remote_agency"] = info.to_cache()
    if changes:
        live.session.update_meta(**changes)
    binding.replay_problems = [*client.url.warnings, *_ignored_settings(meta)]
    if meta.recipient and meta.recipient not in info.agents:
        binding.replay_problems.append(f"agent '{meta.recipient}' is gone; talking to '{info.entry}' instead")
        live.session.update_meta(recipient=None)
    return binding


def _ignored_settings(meta: SessionMeta) -> list[str]:
    given = [
        flag for flag, value in (("--model", meta.model), ("--base-url", meta.base_url), ("--api", meta.api)) if value
    ]
    if not given:
        return []
    return [f"{', '.join(given)} do not apply to a served agency: the server chooses its agents' models"]
