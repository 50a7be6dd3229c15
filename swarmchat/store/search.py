"""Ranked full-text search over every session, served by the catalog (see store/catalog/).

The query is FTS5's: words (all must occur), "quoted phrases", prefix* words, OR, NOT; case and
accents are ignored. A query FTS5 cannot parse ("unbalanced, AND OR, a lone *) is searched as its
plain words. Sessions come ranked by bm25 over whole sessions (with --agent: by their best message to or
from that agent), then by last use; each with its best one to three messages, cut to the line around the
first match, and the user turn it belongs to (as `fork --at` takes it). A session only matches if one of its
messages does.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field

from swarmchat.store.base import SessionStore
from swarmchat.store.catalog.db import POS_BITS, Catalog
from swarmchat.store.catalog.texts import END, START

SNIPPETS = 3
LINE_CHARS = 160


@dataclass
class Snippet:
    role: str  # user, assistant, system, tool_call, tool_output
    agent: str | None
    caller: str | None
    pieces: list[tuple[str, bool]]  # the line, in pieces; True marks a match
    turn: int | None = None  # the user turn it belongs to, as `fork --at` takes it (None: before the first)

    @property
    def text(self) -> str:
        return "".join(piece for piece, _ in self.pieces)


@dataclass
class Found:
    name: str
    title: str
    updated_at: str
    score: float  # higher is better
    snippets: list[Snippet] = field(default_factory=list)


def search_sessions(
    store: SessionStore, text: str, limit: int = 20, agent: str | None = None, tags: list[str] | None = None
) -> list[Found]:
    """The best `limit` sessions for `text`; with `agent`, only what that agent said or was told; with
    `tags`, only sessions carrying every one of them (case aside). Damaged sessions are skipped."""
    return store.searched(lambda catalog: _ranked(catalog, text, limit, agent, tags))


def _ranked(catalog: Catalog, text: str, limit: int, agent: str | None, tags: list[str] | None) -> list[Found]:
    try:
        return _query(catalog, text, limit, agent, tags)
    except sqlite3.OperationalError:  # not FTS5 syntax: the same words, each taken literally
        return _query(catalog, plain_words(text), limit, agent, tags)


def plain_words(text: str) -> str:
    """Each word quoted (a trailing * still asks for a prefix); a word of punctuation matches nothing."""
    quoted = []
    for word in text.split():
        star = word.endswith("*") and len(word) > 1
        core = word.rstrip("*") if star else word
        quoted.append('"' + core.replace('"', '""') + '"' + ("*" if star else ""))
    return " ".join(quoted)


_WHO = "AND (agent = :agent COLLATE NOCASE OR caller = :agent COLLATE NOCASE)"
_TAGGED = """AND NOT EXISTS (SELECT 1 FROM json_each(:tags) AS w WHERE NOT EXISTS (
                SELECT 1 FROM json_each(s.tags) AS t WHERE lower(t.value) = lower(w.value)))"""


def _query(catalog: Catalog, query: str, limit: int, agent: str | None, tags: list[str] | None) -> list[Found]:
    params: dict[str, object] = {"q": query, "agent": agent, "tags": json.dumps(tags or [])}
    found = []
    for sid, name, title, updated_at, score in _candidates(catalog, params, agent, tags):
        snippets = _snippets(catalog, sid, params, agent)
        if not snippets:
            continue  # the session's text matches only across two messages (a phrase, NOT): no message does
        found.append(Found(name, title or "", updated_at, round(-score, 4) + 0.0, snippets))
        if len(found) == limit:
            break
    return found


def _candidates(
    catalog: Catalog, params: dict[str, object], agent: str | None, tags: list[str] | None
) -> Iterator[tuple[int, str, str, str, float]]:
    """Matching sessions, best first: ranked by bm25 over whole sessions (their docs); with `agent`, by
    their best message to or from that agent. Fetched as they are consumed."""
    tagged = _TAGGED if tags else ""
    if agent:
        ranked = f"""SELECT rowid >> {POS_BITS} AS sid, min(rank) AS score FROM messages
                     WHERE messages MATCH :q {_WHO} GROUP BY sid"""
    else:
        ranked = "SELECT rowid AS sid, rank AS score FROM docs WHERE docs MATCH :q"
    yield from catalog.conn.execute(
        f"""SELECT s.id, s.name, s.title, s.updated_at, best.score FROM ({ranked}) AS best
            JOIN sessions AS s ON s.id = best.sid AND s.state = 'ok' {tagged}
            ORDER BY round(best.score, 2), s.updated_at DESC""",
        params,
    )


def _snippets(catalog: Catalog, sid: int, params: dict[str, object], agent: str | None) -> list[Snippet]:
    """The session's best one to three matching messages, each cut to its matching line."""
    base = sid << POS_BITS
    hits = catalog.conn.execute(
        f"""SELECT highlight(messages, 0, '{START}', '{END}'), role, agent, caller, turn FROM messages
            WHERE messages MATCH :q AND rowid BETWEEN :lo AND :hi {_WHO if agent else ""}
            ORDER BY rank, rowid LIMIT 10""",
        {**params, "lo": base, "hi": base | ((1 << POS_BITS) - 1)},
    ).fetchall()
    snippets: list[Snippet] = []
    seen: set[object] = set()
    for marked, role, who_agent, caller, turn in hits:
        pieces = _line(marked)
        line = "".join(p for p, _ in pieces)
        # a delegation is stored twice: the send_message call and the message it delivered (in one turn)
        delegated = role == "tool_call" or (role == "user" and caller)
        key = (line, turn) if delegated else (line, role, who_agent, caller, turn)
        if key in seen:
            continue
        seen.add(key)
        snippets.append(Snippet(role, who_agent, caller, pieces, turn or None))
        if len(snippets) == SNIPPETS:
            break
    return snippets


def _line(marked: str) -> list[tuple[str, bool]]:
    """The line of `marked` holding its first match, cut to LINE_CHARS around it, as pieces."""
    at = marked.find(START)
    if at < 0:
        at = 0
    start = marked.rfind("\n", 0, at) + 1
    stop = marked.find("\n", at)
    line = marked[start : stop if stop >= 0 else len(marked)]
    pieces: list[tuple[str, bool]] = []
    inside = False
    plain_len = 0
    first = None
    for part in _split_markers(line):
        if part == START:
            inside = True
            if first is None:
                first = plain_len
        elif part == END:
            inside = False
        elif part:
            pieces.append((part.replace("\t", " "), inside))
            plain_len += len(part)
    total = plain_len
    if total <= LINE_CHARS:
        return _strip(pieces)
    begin = max(0, min((first or 0) - LINE_CHARS // 3, total - LINE_CHARS))
    return _strip(_cut(pieces, begin, begin + LINE_CHARS, total))


def _split_markers(line: str) -> list[str]:
    return re.split(f"([{START}{END}])", line)


def _cut(pieces: list[tuple[str, bool]], begin: int, end: int, total: int) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = [("…", False)] if begin else []
    pos = 0
    for text, hit in pieces:
        lo, hi = max(begin - pos, 0), min(end - pos, len(text))
        if lo < hi:
            out.append((text[lo:hi], hit))
        pos += len(text)
    if end < total:
        out.append(("…", False))
    return out


def _strip(pieces: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    while pieces and not pieces[0][0].strip() and not pieces[0][1]:
        pieces.pop(0)
    if pieces and not pieces[0][1]:
        pieces[0] = (pieces[0][0].lstrip(), False)
    if pieces and not pieces[-1][1]:
        pieces[-1] = (pieces[-1][0].rstrip(), False)
    return [p for p in pieces if p[0]]
