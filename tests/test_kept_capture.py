"""The history stand-in's capture kept with the session (swarmchat/agency/capture_cache.py): the first turn
of the next process (`resume -m`, a new REPL) starts with the stand-in in place, sends exactly what the
SDK's own path sends, and a kept capture that no longer fits is never used.

Real stack against the scripted server; a "process" is a fresh open + bind of the stored session (and,
for `-m`, a real subprocess). Each case runs twice, with the stand-in and on the SDK's own path
(SWARMCHAT_NO_FASTPATH=1), and the request bodies and stored sessions are compared item for item.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import Run
from fake_openai import FakeOpenAI, Reply
from test_fastpath import APIS, conversation, one_turn, sent_list, stable, unstamped

from swarmchat.agency import bind, capture_cache, openai_client, standin
from swarmchat.agency.binding import Binding
from swarmchat.agency.build import stored_items
from swarmchat.bound import LiveSession
from swarmchat.session import SessionMeta
from swarmchat.store import SessionStore, open_store

SIZE = 600  # above capture_cache.MIN_ITEMS: the first turn's capture is kept


def kept_file(store: SessionStore, name: str) -> Path:
    return store.derived_dir() / f"{name}.{capture_cache.KIND}"  # type: ignore[attr-defined, no-any-return]


def process(store: SessionStore, server: FakeOpenAI, name: str, script: Callable[[Binding], Any]) -> dict[str, Any]:
    """Open and bind the session as a new process would, run `script`, close; what happened."""
    session = store.open(name)
    try:
        counted = replace(standin.stats)
        binding = bind(session.meta, LiveSession(session))
        assert isinstance(binding, Binding)
        before = len(server.requests)
        loaded = len(stored_items(binding.agency))
        asyncio.run(script(binding))
        assert not binding.live.take_errors()
        return {
            "bodies": [r.body for r in server.requests[before:]],
            "loaded": loaded,  # what agency-swarm was given at construction
            "installed": standin.stats.installed - counted.installed,
            "expanded": standin.stats.expanded - counted.expanded,
            "restored": standin.stats.restored - counted.restored,
            "refused": standin.stats.refused - counted.refused,
        }
    finally:
        session.close()


def turns(server: FakeOpenAI, *texts: str) -> Callable[[Binding], Any]:
    async def script(binding: Binding) -> None:
        for text in texts:
            server.push(Reply(f"re: {text}"))
            await one_turn(binding, text)

    return script


def twice(
    server: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
    api: str,
    between: Callable[[SessionStore, str], None],
    later: Callable[[Binding], Any] | None = None,
) -> dict[str, Any]:
    """Process 1 (two turns) and process 2 (`later`: a turn), with `between` done to the stored session in
    between; on both paths. Asserts that every body and the stored sessions are the same; returns what
    process 2 did with the stand-in."""
    store = open_store()
    seen: dict[str, dict[str, Any]] = {}
    stored: dict[str, str] = {}
    for variant in ("standin", "plain"):
        if variant == "plain":
            monkeypatch.setenv(openai_client.FASTPATH_OFF, "1")
        store.write_new(SessionMeta.fresh(variant, base_url=server.url, model="m", api=api), conversation(SIZE))
        first = process(store, server, variant, turns(server, "one", "two"))
        between(store, variant)
        second = process(store, server, variant, later or turns(server, "three", "four"))
        seen[variant] = {**second, "bodies": first["bodies"] + second["bodies"]}
        meta, items = store.read(variant)
        assert not any(standin.is_token(item) for item in items)
        stored[variant] = f"{meta.message_count} {stable(items)}"
    monkeypatch.delenv(openai_client.FASTPATH_OFF)
    assert not kept_file(store, "plain").exists()  # nothing is kept without the stand-in
    got, expected = seen["standin"]["bodies"], seen["plain"]["bodies"]
    assert len(got) == len(expected)
    for body, twin in zip(got, expected, strict=True):
        for item, twin_item in zip(sent_list(body), sent_list(twin), strict=True):
            assert unstamped(item) == unstamped(twin_item)
        assert unstamped(body) == unstamped(twin)
    assert stored["standin"] == stored["plain"]
    assert seen["standin"]["refused"] == 0
    return seen["standin"]


def untouched(store: SessionStore, name: str) -> None:
    pass


@pytest.mark.parametrize("api", APIS)
def test_the_next_process_starts_with_the_kept_capture_in_place(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, api: str
) -> None:
    """agency-swarm is handed the stand-in and the last turns, not 600 items; the first request of the new
    process already carries the stand-in, and the model gets what the SDK's own path sends."""
    second = twice(server, monkeypatch, api, untouched)
    assert second["loaded"] == 1 + 4  # the stand-in, then the two turns after the kept capture
    assert second["installed"] == 1 + 2  # adopted at load, then settled after each turn
    assert second["expanded"] == 2  # both requests, the first included
    assert second["restored"] == 0
    assert json.loads(kept_file(open_store(), "standin").read_bytes())["count"] == SIZE


@pytest.mark.parametrize("api", APIS)
def test_an_undo_after_resume_gives_agency_swarm_copies_never_the_stores_objects(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, api: str
) -> None:
    """The adopted region is the store's own copy of the history; an undo hands it back to agency-swarm,
    which must get objects of its own (it could change them, and the store would not see it)."""
    shared: list[int] = []

    async def script(binding: Binding) -> None:
        items = binding.live_items()
        binding.set_items(items[: SIZE - 2])  # an undo into the captured part
        own = {id(item) for item in binding.live.session.items()}
        shared.append(sum(id(item) in own for item in stored_items(binding.agency)))
        await turns(server, "after the undo")(binding)

    second = twice(server, monkeypatch, api, untouched, script)
    assert shared == [0, 0]  # with the stand-in, then on the SDK's own path
    assert second["loaded"] == 5 and second["expanded"] == 0  # the turn after an undo takes the full path
    # the file no longer fit the stored history: the turn after the undo kept its own capture
    assert json.loads(kept_file(open_store(), "standin").read_bytes())["count"] == SIZE - 2


def damage(store: SessionStore, name: str) -> None:
    path = kept_file(store, name)
    if path.exists():
        path.write_bytes(path.read_bytes()[:-100])


def symlink(store: SessionStore, name: str) -> None:
    path = kept_file(store, name)
    if path.exists():  # the same bytes, behind a link: never followed
        os.replace(path, path.with_name("elsewhere.json"))
        path.symlink_to("elsewhere.json")


def other_release(store: SessionStore, name: str) -> None:
    path = kept_file(store, name)
    if path.exists():
        data = json.loads(path.read_bytes())
        data["releases"]["openai"] = "0.0.1"
        path.write_text(json.dumps(data))


def rewritten(store: SessionStore, name: str) -> None:
    """The captured part changed under the file: one early answer edited (an import over it, another tool)."""
    session = store.open(name)
    try:
        items = json.loads(json.dumps(session.items()))
        items[3]["content"][0]["text"] = "an edited answer"
        session.save(items)
        session.end_turn(items)
    finally:
        session.close()


def other_model(store: SessionStore, name: str) -> None:
    session = store.open(name)
    try:
        session.update_meta(model="m2")
    finally:
        session.close()


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("change", [damage, symlink, other_release, rewritten], ids=lambda f: f.__name__)
def test_a_kept_capture_that_does_not_fit_is_not_used(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, api: str, change: Callable[[SessionStore, str], None]
) -> None:
    """A damaged file, a link, another release, a history changed under it: the full path, the same bodies."""
    second = twice(server, monkeypatch, api, change)
    assert second["loaded"] == SIZE + 4
    assert second["installed"] == 2 and second["expanded"] == 1  # captured anew, used from the next turn


@pytest.mark.parametrize("api", APIS)
def test_a_kept_capture_under_another_model_is_put_back_before_the_turn(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, api: str
) -> None:
    second = twice(server, monkeypatch, api, other_model)
    assert second["loaded"] == 5  # it fits the stored history, so it is in place at load
    assert second["restored"] == 1 and second["expanded"] == 1  # but not this model: the full path first
    assert second["bodies"][-1]["model"] == "m2"


def test_a_capture_that_cannot_be_written_costs_nothing_but_speed(server: FakeOpenAI) -> None:
    store = open_store()
    store.write_new(SessionMeta.fresh("s", base_url=server.url, model="m"), conversation(SIZE))
    blocked = store.derived_dir()  # type: ignore[attr-defined]
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("not a directory")
    first = process(store, server, "s", turns(server, "one", "two"))
    assert first["expanded"] == 1 and first["refused"] == 0
    second = process(store, server, "s", turns(server, "three"))
    assert second["loaded"] == SIZE + 4 and second["expanded"] == 0
    assert len(store.read("s")[1]) == SIZE + 6


def test_the_kept_capture_is_renamed_and_deleted_with_its_session(server: FakeOpenAI, store_url: str) -> None:
    """It holds the conversation: it goes where the session goes, on either backend."""
    store = open_store()
    store.write_new(SessionMeta.fresh("s", base_url=server.url, model="m"), conversation(SIZE))
    process(store, server, "s", turns(server, "one"))
    assert kept_file(store, "s").exists()
    store.rename("s", "t")
    assert not kept_file(store, "s").exists() and kept_file(store, "t").exists()
    assert process(store, server, "t", turns(server, "two"))["expanded"] == 1  # still used under the new name
    store.delete("t")
    assert not kept_file(store, "t").exists()


@pytest.mark.parametrize("api", APIS)
def test_resume_m_sends_what_the_sdk_sends_with_the_kept_capture(cli: Run, server: FakeOpenAI, api: str) -> None:
    """Two `resume -m` in a row on a 3,000-item session: the first keeps its capture, the second starts
    with it; the model gets the same requests as on the SDK's own path, and the same session is stored."""
    store = open_store()
    for name in ("long", "plain"):
        store.write_new(SessionMeta.fresh(name, base_url=server.url, model="m", api=api), conversation(3_000))
    bodies: dict[str, list[dict[str, Any]]] = {}
    for name in ("long", "plain"):
        env = {openai_client.FASTPATH_OFF: "1"} if name == "plain" else {}
        before = len(server.requests)
        for text in ("hi", "again"):
            result = cli("resume", name, "-m", text, env=env)
            assert result.returncode == 0, result.stderr
            assert result.stdout == f"echo: {text}\n"
        bodies[name] = [r.body for r in server.requests[before:]]
    assert json.loads(kept_file(store, "long").read_bytes())["count"] == 3_000
    assert not kept_file(store, "plain").exists()
    assert [unstamped(b) for b in bodies["long"]] == [unstamped(b) for b in bodies["plain"]]
    assert len(sent_list(bodies["long"][-1])) == 3_003 + (1 if api == "chat" else 0)
    assert stable(store.read("long")[1]) == stable(store.read("plain")[1])
