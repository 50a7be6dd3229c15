"""Data sets for the benchmarks: many small sessions, one long one, shaped like what agency-swarm saves."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from swarmchat.session import Item, SessionMeta, first_user_text, title_from
from swarmchat.store.encoding import meta_bytes
from swarmchat.store.files import FileStore
from swarmchat.store.journal import Change

VOCABULARY = """agency agent model session journal token stream reply research summary budget hotel flight paris
tokyo berlin weather python rust docs invoice meeting draft review plan test deploy cache index latency memory
disk query answer question because therefore however quickly carefully"""
WORDS = tuple(VOCABULARY.split())
BASE_STAMP = 1_760_000_000_000_000  # microseconds, like agency-swarm's item timestamps


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def user_item(text: str, stamp: int, run: int) -> Item:
    return {
        "content": text,
        "role": "user",
        "agent": "Assistant",
        "callerAgent": None,
        "agent_run_id": f"agent_run_{run:032x}",
        "run_trace_id": f"trace_{run:032x}",
        "history_protocol": "responses",
        "timestamp": stamp,
        "type": "message",
    }


def assistant_item(text: str, stamp: int, run: int) -> Item:
    return {
        "id": f"msg_{run:06d}",
        "content": [{"annotations": [], "text": text, "type": "output_text", "logprobs": []}],
        "role": "assistant",
        "status": "completed",
        "type": "message",
        "agent": "Assistant",
        "callerAgent": None,
        "agent_run_id": f"agent_run_{run + 1:032x}",
        "run_trace_id": f"trace_{run:032x}",
        "history_protocol": "responses",
        "timestamp": stamp,
    }


def conversation(count: int, seed: int = 0, reply_words: int = 60) -> list[Item]:
    """`count` items alternating user question / assistant reply (a short question, a paragraph back)."""
    rng = random.Random(seed)
    items: list[Item] = []
    for n in range(count):
        stamp = BASE_STAMP + seed * 1_000_000_000 + n * 1000
        if n % 2 == 0:
            items.append(user_item(sentence(rng, rng.randint(6, 16)), stamp, n))
        else:
            paragraph = " ".join(sentence(rng, rng.randint(8, 14)) for _ in range(reply_words // 10))
            items.append(assistant_item(f"**{rng.choice(WORDS)}**: {paragraph}", stamp, n))
    return items


def session_meta(name: str, items: list[Item], updated: datetime, **settings: object) -> SessionMeta:
    stamp = updated.isoformat(timespec="milliseconds")
    meta = SessionMeta(name=name, created_at=stamp, updated_at=stamp, **settings)  # type: ignore[arg-type]
    meta.title = title_from(first_user_text(items))
    return meta


def write_session_files(store: FileStore, meta: SessionMeta, items: list[Item]) -> None:
    """What FileStore.write_new leaves on disk (one checkpoint line and the meta), without its fsyncs."""
    meta.message_count = len(items)
    meta.journal_seq = 1
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    for path, data in (
        (store.journal_path(meta.name), Change(seq=1, at=0, items=items).encode()),
        (store.meta_path(meta.name), meta_bytes(meta)),
    ):
        fd = os.open(path, flags, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


RARE = "zanzibar"  # a word of a few sessions (every RARE_EVERY-th), for the search benchmark
RARE_EVERY = 500


def many_sessions(
    root: Path, count: int, messages: int = 4, base_url: str | None = None, rare: bool = False
) -> FileStore:
    """`count` sessions of `messages` items each, last used at spread-out times over the past 90 days.

    With `rare`, every RARE_EVERY-th session's first message also holds the word RARE.
    The first goes through FileStore.write_new; the rest are written with the same bytes directly
    (write_new's three fsyncs per session would make 10,000 sessions take half a minute), and a
    sample of them is read back through the store to prove they are what it writes."""
    store = FileStore(root)
    now = datetime.now(UTC)
    rng = random.Random(count)
    for n in range(count):
        items = conversation(messages, seed=n, reply_words=20)
        if rare and n % RARE_EVERY == 7:
            items[0]["content"] += f" {RARE}!"
        updated = now - timedelta(seconds=rng.randint(60, 90 * 86400))
        agency = None if n % 3 else "agencies/research.py:create_agency"
        meta = session_meta(f"chat-{n:05d}", items, updated, agency=agency, base_url=base_url)
        if n == 0:
            store.write_new(meta, items)
        else:
            write_session_files(store, meta, items)
    reference = store.read("chat-00000")[0]
    for n in rng.sample(range(count), min(count, 20)):
        meta, items = store.read(f"chat-{n:05d}")
        assert len(items) == messages == meta.message_count, meta
        assert set(meta.to_dict()) == set(reference.to_dict())
    return store


def long_session(store: FileStore, name: str, count: int, base_url: str | None = None) -> SessionMeta:
    """One session with `count` items, stored through FileStore.write_new (a checkpointed journal)."""
    items = conversation(count, seed=7)
    meta = session_meta(name, items, datetime.now(UTC), base_url=base_url)
    store.write_new(meta, items)
    return store.read_meta(name)


def copy_session(source: FileStore, target: FileStore, name: str, new: str) -> None:
    """A byte copy of a session's files under another name (to recreate a deleted one, untimed)."""
    for suffix in (".json", ".jsonl"):
        data = (source.sessions / f"{name}{suffix}").read_bytes()
        if suffix == ".json":
            data = data.replace(f'"name": "{name}"'.encode(), f'"name": "{new}"'.encode(), 1)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        fd = os.open(target.sessions / f"{new}{suffix}", flags, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
