"""The OpenAI client swarmchat runs agencies on, with a fast path for long histories.

openai-python turns every request's parameters into the body with `async_maybe_transform`: a
recursive walk of the TypedDict annotations of each item of the Responses `input` list (Chat
Completions: `messages`). For plain JSON items (what agency-swarm stores and the Agents SDK
sends) it returns them unchanged, yet it costs ~0.4 ms per item: 4 s of every turn of a
10,000-item session. The transform only ever changes an item that holds a non-JSON value (a
Pydantic model, a datetime, a file object or path to base64-encode, an iterator, an omitted value)
or a key the types alias to another wire name. So when the list is plain JSON and the item types
declare no alias, the list goes through the public `extra_body`, which the SDK merges into the
body untransformed; the parameter itself gets an empty list, so the key keeps its place and the
body's bytes are the same. Anything else takes the SDK's own path, unchanged.

`SWARMCHAT_NO_FASTPATH=1` builds a plain `AsyncOpenAI` (for the benchmark's before/after).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import typing_extensions
from openai import AsyncOpenAI
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions
from openai.resources.responses import AsyncResponses

FASTPATH_OFF = "SWARMCHAT_NO_FASTPATH"
JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


@dataclass
class FastPathStats:
    """How many requests of this process sent their list through `extra_body` (fast) or through
    the SDK's transform (slow): what tests/test_fastpath.py checks after a real turn."""

    fast: int = 0
    slow: int = 0


stats = FastPathStats()


def fastpath_off() -> bool:
    return os.environ.get(FASTPATH_OFF, "") in ("1", "true", "yes")


def build_client(*, api_key: str | None, base_url: str | None, max_retries: int, timeout: float) -> AsyncOpenAI:
    """The client every agent of the session talks through. `base_url=None` and `api_key=None`
    read OPENAI_BASE_URL and OPENAI_API_KEY as the SDK does."""
    cls = AsyncOpenAI if fastpath_off() else FastOpenAI
    return cls(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout)


class FastOpenAI(AsyncOpenAI):
    """AsyncOpenAI whose `responses` and `chat.completions` send plain-JSON histories untransformed."""

    @cached_property
    def responses(self) -> FastResponses:
        return FastResponses(self)

    @cached_property
    def chat(self) -> FastChat:
        return FastChat(self)


class FastResponses(AsyncResponses):
    async def create(self, **params: Any) -> Any:  # the SDK's overloads, passed on
        return await super().create(**_route("input", params))


class FastCompletions(AsyncCompletions):
    async def create(self, **params: Any) -> Any:  # the SDK's overloads, passed on
        return await super().create(**_route("messages", params))


class FastChat(AsyncChat):
    @cached_property
    def completions(self) -> FastCompletions:
        return FastCompletions(self._client)


def _route(key: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the list under `key` moved to `extra_body` when the transform would not
    change it; the caller's own `extra_body` keys still win, as the SDK documents."""
    items = params.get(key)
    extra = params.get("extra_body")
    if not isinstance(items, list) or not items:
        return params  # a string input or nothing to walk
    if (extra is not None and not isinstance(extra, Mapping)) or key in (extra or {}):
        stats.slow += 1
        return params
    if aliased_keys(key) or not plain_json(items):
        stats.slow += 1
        return params
    stats.fast += 1
    return {**params, key: [], "extra_body": {key: items, **(extra or {})}}


def plain_json(value: object) -> bool:
    """True if `value` is made only of dicts with str keys, lists, str, int, float, bool and None,
    by exact type: a subclass, a tuple, a model or anything else may be converted by the transform."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        node: Any = pop()
        if type(node) is dict:
            for key in node:
                if type(key) is not str:
                    return False
            node = node.values()
        elif type(node) is not list:
            return type(node) in JSON_SCALARS
        for child in node:
            kind = type(child)
            if kind in JSON_SCALARS:
                continue
            if kind is dict or kind is list:
                push(child)
            else:
                return False
    return True


@cache
def aliased_keys(param: str) -> frozenset[str]:
    """Item keys the SDK's types rename on the wire under the list parameter `param` (`input`
    or `messages`). None in openai 2.x; if a release adds one, the fast path steps aside (and
    tests/test_fastpath.py fails)."""
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.responses import ResponseInputParam

    return aliases_under(ResponseInputParam if param == "input" else ChatCompletionMessageParam)


def aliases_under(root: object) -> frozenset[str]:
    """Keys of every TypedDict reachable from the type `root` that are annotated with an alias
    (`Annotated[T, PropertyInfo(alias=...)]`), found by walking the public type annotations."""
    found: set[str] = set()
    seen: dict[int, object] = {}  # holding each type keeps its id from being reused
    stack: list[tuple[Any, str | None]] = [(root, None)]
    while stack:
        tp, field_name = stack.pop()
        if id(tp) in seen:
            continue
        seen[id(tp)] = tp
        if field_name and any(getattr(m, "alias", None) for m in getattr(tp, "__metadata__", ())):
            found.add(field_name)
        if typing_extensions.is_typeddict(tp):
            hints = typing_extensions.get_type_hints(tp, include_extras=True)
            stack.extend((hint, name) for name, hint in hints.items())
        else:
            args = typing_extensions.get_args(tp)
            stack.extend((arg, field_name) for arg in args if not isinstance(arg, str | int | float))
    return frozenset(found)
