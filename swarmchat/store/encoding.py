"""How a session is written down, for every backend: the meta as JSON, the journal checked against it."""

from __future__ import annotations

import json

from swarmchat.errors import CorruptSession
from swarmchat.session import SessionMeta
from swarmchat.store.journal import JournalError, Replay, replay


def meta_bytes(meta: SessionMeta) -> bytes:
    return json.dumps(meta.to_dict(), ensure_ascii=False, indent=1).encode() + b"\n"


def parse_meta(name: str, where: str, raw: bytes) -> SessionMeta:
    try:
        meta = SessionMeta.from_dict(json.loads(raw))
    except UnicodeDecodeError:
        raise CorruptSession(name, where, "not text (binary data)") from None
    except json.JSONDecodeError as exc:
        problem = "empty file" if not raw.strip() else f"not valid JSON ({exc.msg} at byte {exc.pos})"
        raise CorruptSession(name, where, problem) from None
    except (ValueError, TypeError) as exc:
        raise CorruptSession(name, where, str(exc)) from None
    meta.name = name
    return meta


def check_replay(meta: SessionMeta, where: str, data: bytes | list[bytes]) -> Replay:
    """Replay a journal and check it holds every change the meta says was stored."""
    try:
        rep = replay(data)
    except JournalError as exc:
        raise CorruptSession(meta.name, where, str(exc)) from None
    if rep.seq < meta.journal_seq:
        what = "is missing" if not data else "is truncated"
        raise CorruptSession(meta.name, where, f"the journal {what}: it ends at change {rep.seq} of {meta.journal_seq}")
    return rep
