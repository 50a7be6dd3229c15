"""Text search over a session's messages, shared by both backends."""

from __future__ import annotations

from swarmchat.errors import CorruptSession, SessionNotFound
from swarmchat.session import Item, SessionMeta, item_text
from swarmchat.store.base import SearchHit, SessionStore, newest_first

LINE_CHARS = 120


def search_sessions(store: SessionStore, text: str) -> list[SearchHit]:
    """Every message containing `text`, most recently used session first; damaged sessions skipped
    (`list` marks them)."""
    listed = store.list()
    hits: list[SearchHit] = []
    for found in newest_first(listed, len(listed))[0]:
        if not isinstance(found, SessionMeta):
            continue
        try:
            meta, items = store.read(found.name)
        except (CorruptSession, SessionNotFound):  # damaged, or deleted since it was listed
            continue
        hits.extend(search_items(meta, items, text))
    return hits


def search_items(meta: SessionMeta, items: list[Item], text: str) -> list[SearchHit]:
    """One hit per message whose text contains `text` (case-insensitive), with the matching line."""
    needle = text.casefold()
    hits = []
    for item in items:
        body = item_text(item)
        if needle not in body.casefold():
            continue
        line = next(ln for ln in body.splitlines() or [body] if needle in ln.casefold())
        hits.append(SearchHit(meta.name, meta.title, _speaker(item), _clip(line.strip(), needle)))
    return hits


def _speaker(item: Item) -> str:
    if item.get("role") == "user":
        return "user" if item.get("callerAgent") is None else str(item.get("callerAgent"))
    return str(item.get("agent") or item.get("role") or "?")


def _clip(line: str, needle: str) -> str:
    if len(line) <= LINE_CHARS:
        return line
    at = line.casefold().find(needle)
    start = max(0, at - LINE_CHARS // 3)
    clipped = line[start : start + LINE_CHARS]
    return ("…" if start else "") + clipped + ("…" if start + LINE_CHARS < len(line) else "")
