"""The session record, its schema version and migrations (pure: no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1
TITLE_CHARS = 60

Item = dict[str, Any]
"""One stored agency-swarm message item, exactly as agency-swarm saves it."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class SessionMeta:
    """Everything about a session except its messages. Never holds an API key."""

    name: str
    created_at: str
    updated_at: str
    agency: str | None = None
    # the folder a module SPEC (`agency:create_agency`) was found in, put first on the import path on
    # resume wherever swarmchat runs; None for a file SPEC (stored as an absolute path) or an installed module
    agency_dir: str | None = None
    model: str | None = None
    base_url: str | None = None
    api: str | None = None
    recipient: str | None = None
    title: str = ""
    message_count: int = 0  # stored items (what --json reports); a person counts turns
    turn_count: int = 0  # messages the user typed (each starts a turn)
    journal_seq: int = 0
    ttl_seconds: int | None = None
    reported_missing: list[str] = field(default_factory=list)
    input_tokens: int = 0  # used by every turn so far, as the model API reported them
    output_tokens: int = 0
    # the same, per agent (each agent's own model calls, delegations included; the totals are their sum):
    # {agent: {"input_tokens": n, "output_tokens": n, "requests": n}}
    usage_by_agent: dict[str, dict[str, int]] = field(default_factory=dict)
    show_thinking: bool = True  # the REPL shows reasoning summaries (/thinking toggles it)
    tags: list[str] = field(default_factory=list)  # sorted, unique without case, each valid as a name (lifecycle.tag)
    # False for an imported session whose agency SPEC the user has not confirmed yet: importing a
    # SPEC runs its code, so `resume` asks first (see lifecycle.confirm_agency).
    agency_trusted: bool = True
    remote_agency: dict[str, Any] | None = None  # a served agency's agents (get_metadata), for an instant prompt
    # how full its model's context window was at the last turn's largest call (None: unknown window): the
    # REPL's toolbar warning, kept across resume
    context_used: float | None = None
    max_cost: float | None = None  # the spending cap in dollars (--max-cost, /budget); None: no cap
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def fresh(cls, name: str, **settings: Any) -> SessionMeta:
        stamp = now_iso()
        return cls(name=name, created_at=stamp, updated_at=stamp, **settings)

    def book_usage(self, spent: dict[str, dict[str, int]]) -> None:
        """Add a turn's model calls ({agent: {input_tokens, output_tokens, requests}}), per agent and in
        total, so the totals stay the per-agent sum. A binding calls it for the calls that finished, even
        when the turn then failed or was stopped: those were billed."""
        for agent, counts in spent.items():
            kept = self.usage_by_agent.setdefault(agent, dict.fromkeys(USAGE_KEYS, 0))
            for key in USAGE_KEYS:
                kept[key] = kept.get(key, 0) + counts.get(key, 0)
            self.input_tokens += counts.get("input_tokens", 0)
            self.output_tokens += counts.get("output_tokens", 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> SessionMeta:
        """Build from stored JSON, migrating old versions; raises ValueError with the problem."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found {type(data).__name__}")
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("no schema_version: this is not a swarmchat session")
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"schema_version {version} is newer than this swarmchat understands "
                f"({SCHEMA_VERSION}); upgrade swarmchat"
            )
        data = migrate(dict(data))
        known = {f.name for f in fields(cls)}
        for required in ("name", "created_at", "updated_at"):
            if not isinstance(data.get(required), str):
                raise ValueError(f"field '{required}' is missing or not a string")
        for count in ("message_count", "turn_count", "input_tokens", "output_tokens"):
            if not isinstance(data.get(count, 0), int):
                raise ValueError(f"field '{count}' is not an integer")
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("field 'tags' is not a list of strings")
        for flag in ("agency_trusted", "show_thinking"):
            if not isinstance(data.get(flag, True), bool):
                raise ValueError(f"field '{flag}' is not true or false")
        cap = data.get("max_cost")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float) or not cap > 0):
            raise ValueError("field 'max_cost' is not an amount of dollars above 0")
        if not _usage_table(data.get("usage_by_agent", {})):
            raise ValueError("field 'usage_by_agent' is not a table of agent names to token counts")
        return cls(**{k: v for k, v in data.items() if k in known})


USAGE_KEYS = ("input_tokens", "output_tokens", "requests")


def _usage_table(value: object) -> bool:
    """{agent: {input_tokens, output_tokens, requests}}, each count a non-negative integer."""
    if not isinstance(value, dict):
        return False
    for agent, counts in value.items():
        if not isinstance(agent, str) or not isinstance(counts, dict) or set(counts) - set(USAGE_KEYS):
            return False
        if not all(type(n) is int and n >= 0 for n in counts.values()):
            return False
    return True


def title_from(text: str) -> str:
    """The first user message, on one line and shortened, as a session title."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def first_user_text(items: list[Item]) -> str:
    """What the user typed first (without any files sent with it), for a title."""
    from swarmchat.attachments import typed_text

    for item in items:
        if item.get("role") == "user" and item.get("callerAgent") is None:
            return typed_text(item.get("content"))
    return ""


def is_user_turn(item: Item) -> bool:
    """Whether `item` starts a turn: a message from the user (not one agent asking another)."""
    return item.get("role") == "user" and item.get("type") in (None, "message") and item.get("callerAgent") is None


def count_turns(items: list[Item]) -> int:
    return sum(1 for item in items if is_user_turn(item))


def happened_order(items: list[Item]) -> list[int]:
    """The items' positions in the order they happened: agency-swarm stores items out of order, and their
    timestamps tell it (an item without one goes with the one before it)."""
    last = 0
    keyed = []
    in_order = True
    for pos, item in enumerate(items):
        stamp = item.get("timestamp")
        if isinstance(stamp, int) and not isinstance(stamp, bool):
            in_order = in_order and stamp >= last
            last = stamp
        keyed.append((last, pos))
    if in_order:  # the usual case: nothing to sort
        return list(range(len(items)))
    return [pos for _, pos in sorted(keyed)]


def turn_numbers(items: list[Item]) -> list[int]:
    """The user turn each item (by its stored position) belongs to, numbered from 1 as /history, `show` and
    `fork --at` number them, in the order items happened; 0 for an item before the first user message."""
    numbers = [0] * len(items)
    turn = 0
    for pos in happened_order(items):
        turn += is_user_turn(items[pos])
        numbers[pos] = turn
    return numbers


def item_text(item: Item) -> str:
    """The readable text of a message item (string content or its text parts)."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


# Migrations: MIGRATIONS[v] turns a version-v record into version v+1.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    while data["schema_version"] < SCHEMA_VERSION:
        step = MIGRATIONS.get(data["schema_version"])
        if step is None:
            raise ValueError(f"no migration from schema_version {data['schema_version']}")
        data = step(data)
    return data
