"""The catalog: a SQLite file derived from a store's sessions, for `list` and `search`.

It is a cache. It may be deleted at any time and is rebuilt from the store; a catalog that is
corrupt, of another version, or locked for longer than any update takes is deleted and built again,
and where no file can be written one in memory answers instead. Saves never touch it: whoever lists
or searches brings it up to date first (see from_files.py, from_redis.py). WAL mode lets readers go
on while one process updates it; updates take the write lock first and re-check what they found, so
two processes catching up at once do the work once.

sessions   one row per session: its signature (what it looked like when read; NULL: read it again
           next time), state ('ok', 'damaged', 'gone'), where and why damaged, the SessionMeta's fields
messages   FTS5, one row per message (texts.Row: its text, who said it, its turn); rowid = session id << 24 |
           position in its list
docs       FTS5 without content, one row per session that has messages (rowid = session id): its messages'
           texts joined, so that sessions are ranked by bm25 over sessions, not over every matching message
settings   key/value: the sessions directory's signature once it has settled (file store)
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path

from swarmchat.session import Item, SessionMeta
from swarmchat.store.base import BadSession, Listed
from swarmchat.store.catalog.texts import rows
from swarmchat.store.datafiles import NotAFile, open_file
from swarmchat.store.datafiles import remove as remove_entry

VERSION = 3  # 3: each message row keeps its turn
META = [f.name for f in fields(SessionMeta)]
JSON_FIELDS = {f.name for f in fields(SessionMeta) if "list" in str(f.type) or "dict" in str(f.type)}
"""Structured fields (tags, usage by agent, a remote agency's agents...), stored as JSON text."""
BOOL_FIELDS = {f.name for f in fields(SessionMeta) if str(f.type) == "bool"}
"""True/false fields, which SQLite gives back as 1/0."""
POS_BITS = 24  # items per session that are indexed: 16.7 million
BUSY_MS = 30_000  # longer than a cold build of a large store takes
NOTICE_MS = 1_000  # a wait for another process's write lock longer than this is told to `waiting`
waiting: Callable[[Path], None] | None = None
"""Called (once per wait) when another process has held the catalog's write lock for NOTICE_MS: the CLI
says so on stderr, so `list` and `search` never stall silently."""
_FINGERPRINT = f"{VERSION}:{','.join(META)}"

_SCHEMA = f"""
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  sig TEXT,
  state TEXT NOT NULL,
  location TEXT,
  problem TEXT,
  {", ".join(f'"{f}"' for f in META if f != "name")}
);
CREATE INDEX sessions_by_use ON sessions(state, updated_at);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);
CREATE VIRTUAL TABLE messages USING fts5(
  text, role UNINDEXED, agent UNINDEXED, caller UNINDEXED, stamp UNINDEXED, turn UNINDEXED, fp UNINDEXED,
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE docs USING fts5(text, content = '', tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO settings VALUES ('fingerprint', '{_FINGERPRINT}');
"""

Entry = tuple[SessionMeta, list[Item]] | BadSession | None  # None: the session is gone


class Catalog:
    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self.path = path
        # message rows to write once the session rows are: FTS5 flushes its pending index to disk at
        # every statement savepoint (an upsert opens one), which made a cold build several times slower
        self._pending: list[tuple[int, list[Item], bool]] = []

    # reading ------------------------------------------------------------------------------------
    def signatures(self, names: list[str] | None = None) -> dict[str, str | None]:
        """name -> signature of every session, or at least of `names` (a few looked up by name)."""
        if names is None or len(names) > 500:
            return dict(self.conn.execute("SELECT name, sig FROM sessions"))
        marks = ", ".join("?" * len(names))
        return dict(self.conn.execute(f"SELECT name, sig FROM sessions WHERE name IN ({marks})", names))

    def setting(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM sessions WHERE state != 'gone'").fetchone()[0])

    def newest(self, count: int) -> list[Listed]:
        """The `count` most recently used sessions, newest first, then every damaged one."""
        good = self.conn.execute(
            "SELECT * FROM sessions WHERE state = 'ok' ORDER BY updated_at DESC LIMIT ?", (count,)
        ).fetchall()
        bad = self.conn.execute("SELECT * FROM sessions WHERE state = 'damaged'").fetchall()
        return [_listed(r) for r in good + bad]

    def every(self) -> list[Listed]:
        return [_listed(r) for r in self.conn.execute("SELECT * FROM sessions WHERE state != 'gone'")]

    # writing ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One write transaction, the lock taken at its start (another writer is waited for)."""
        _begin(self.conn, self.path)
        try:
            yield
            for sid, items, fresh in self._pending:
                self._index(sid, items, fresh)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self._pending.clear()
        self.conn.execute("COMMIT")

    def set_setting(self, key: str, value: str | None) -> None:
        self.conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    def drop(self, name: str) -> None:
        row = self.conn.execute("DELETE FROM sessions WHERE name = ? RETURNING id", (name,)).fetchone()
        if row is not None:
            self._pending.append((row[0], [], False))

    def put(self, name: str, sig: str | None, entry: Entry, *, new: bool = False) -> None:
        """(Within `writing`.) Record what a session holds now (read just after its signature was taken); `new`: the
        catalog holds nothing of it yet (a cold build need not look for rows to keep)."""
        if entry is None:
            self.drop(name)
            return
        if isinstance(entry, BadSession):
            values = {"sig": sig, "state": "damaged", "location": entry.location, "problem": entry.problem}
        else:
            meta = entry[0]
            values = {"sig": sig, "state": "ok", "location": None, "problem": None}
            for f in META[1:]:  # after the name
                value = getattr(meta, f)
                values[f] = json.dumps(value) if f in JSON_FIELDS else value
        columns = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join("?" * len(values))
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in values)
        (sid,) = self.conn.execute(
            f"INSERT INTO sessions (name, {columns}) VALUES (?, {marks}) "
            f"ON CONFLICT(name) DO UPDATE SET {updates} RETURNING id",
            (name, *values.values()),
        ).fetchone()
        self._pending.append((sid, [] if isinstance(entry, BadSession) else entry[1], new))

    def mark_gone(self, name: str, sig: str | None) -> None:
        """A name the store still lists but cannot read any more (an expired Redis session)."""
        self.put(name, sig, BadSession(name, "", ""))
        self.conn.execute("UPDATE sessions SET state = 'gone' WHERE name = ?", (name,))

    def _index(self, sid: int, items: list[Item], fresh: bool) -> None:
        """Bring the session's messages up to date: rows from the first one that changed are replaced
        (a turn appends, an undo cuts back), so a long session costs only what changed; then its doc."""
        new = [(row, row.fingerprint()) for row in rows(items[: 1 << POS_BITS])]
        base = sid << POS_BITS
        keep = 0
        if not fresh:
            old = dict(
                self.conn.execute(
                    "SELECT rowid - ?, fp FROM messages WHERE rowid BETWEEN ? AND ?", (base, base, base | _MASK)
                )
            )
            for row, fp in new:
                if old.get(row.pos) != fp:
                    break
                keep = row.pos + 1
            unchanged = sum(1 for row, _ in new if row.pos < keep)
            if unchanged == len(old) == len(new):
                return  # nothing changed
            if old:
                # a contentless FTS5 row is deleted by giving the very text it was indexed with
                self.conn.execute(
                    "INSERT INTO docs (docs, rowid, text) VALUES ('delete', ?, ?)", (sid, self._doc_text(sid))
                )
            if len(old) > unchanged:
                self._cut(sid, keep)
        self.conn.executemany(
            "INSERT INTO messages (rowid, text, role, agent, caller, stamp, turn, fp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(base | r.pos, r.text, r.role, r.agent, r.caller, r.stamp, r.turn, fp) for r, fp in new if r.pos >= keep],
        )
        if new:
            text = _DOC_SEP.join(r.text for r, _ in new) if fresh else self._doc_text(sid)
            self.conn.execute("INSERT INTO docs (rowid, text) VALUES (?, ?)", (sid, text))

    def _doc_text(self, sid: int) -> str:
        """The session's doc: the texts of its message rows, in order (what its docs row holds)."""
        base = sid << POS_BITS
        found = self.conn.execute(
            "SELECT text FROM messages WHERE rowid BETWEEN ? AND ? ORDER BY rowid", (base, base | _MASK)
        )
        return _DOC_SEP.join(text for (text,) in found)

    def _cut(self, sid: int, keep: int) -> None:
        base = sid << POS_BITS
        self.conn.execute("DELETE FROM messages WHERE rowid BETWEEN ? AND ?", (base | keep, base | _MASK))


_MASK = (1 << POS_BITS) - 1
_DOC_SEP = "\n"


def _listed(row: sqlite3.Row) -> Listed:
    if row["state"] == "damaged":
        return BadSession(row["name"], row["location"], row["problem"])
    values = {f: row[f] for f in META}
    for f in JSON_FIELDS:
        values[f] = json.loads(values[f]) if values[f] is not None else _default(f)
    for f in BOOL_FIELDS:
        values[f] = bool(values[f])
    return SessionMeta(**values)


def _default(name: str) -> object:
    field = next(f for f in fields(SessionMeta) if f.name == name)
    return field.default_factory() if callable(field.default_factory) else field.default


# opening ------------------------------------------------------------------------------------------
def using[T](path: Path | None, work: Callable[[Catalog], T]) -> T:
    """`work` on the catalog at `path`; a damaged, foreign or stuck one is deleted and built again,
    and where no file can be used (None, an unwritable directory) a catalog in memory does the job."""
    if path is not None:
        for attempt in range(2):
            try:
                conn = _connect(path)
            except (OSError, NotAFile):
                break
            try:
                return _work(conn, work, path)
            except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise  # a bug, not a bad file
            except sqlite3.DatabaseError:
                if attempt == 0:
                    remove(path)
    return _work(sqlite3.connect(":memory:", isolation_level=None), work)


def _connect(path: Path) -> sqlite3.Connection:
    """The catalog's connection; its files are private, like the sessions, and, like every data file,
    never opened through a link: a symlink (or anything but a regular file) where one belongs is
    removed (it is a cache), so nothing is written through to a link's target."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        entry = Path(f"{path}{suffix}")
        try:
            os.close(open_file(entry, os.O_RDWR | (0 if suffix else os.O_CREAT)))
        except FileNotFoundError:
            pass
        except NotAFile:
            remove_entry(entry)
            if not suffix:
                os.close(open_file(entry, os.O_RDWR | os.O_CREAT | os.O_EXCL))
    return sqlite3.connect(path, isolation_level=None, timeout=BUSY_MS / 1000)


def _work[T](conn: sqlite3.Connection, work: Callable[[Catalog], T], path: Path | None = None) -> T:
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        _prepare(conn, path)
        return work(Catalog(conn, path))
    finally:
        conn.close()


def _begin(conn: sqlite3.Connection, path: Path | None) -> None:
    """BEGIN IMMEDIATE: another process's write lock is waited for, and a long wait is told to `waiting`."""
    if path is None or waiting is None:
        conn.execute("BEGIN IMMEDIATE")
        return
    conn.execute(f"PRAGMA busy_timeout = {NOTICE_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
    waiting(path)
    conn.execute("BEGIN IMMEDIATE")


def _prepare(conn: sqlite3.Connection, path: Path | None = None) -> None:
    conn.execute("PRAGMA synchronous = NORMAL")  # a crash may lose the last update (then redone), not corrupt
    if _fingerprint(conn) == _FINGERPRINT:
        return
    conn.execute("PRAGMA journal_mode = WAL")
    _begin(conn, path)
    try:
        found = _fingerprint(conn)
        if found is None and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        elif found != _FINGERPRINT:  # another version's catalog, or not one at all
            raise sqlite3.DatabaseError("not a catalog of this version")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _fingerprint(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM settings WHERE key = 'fingerprint'").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else str(row[0])


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
