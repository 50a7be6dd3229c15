"""The history stand-in's capture, kept with the session so the next process starts with it in place.

A turn of a long session is fast once a capture is in place (`standin`), but a capture lives in its
process: without this, `resume NAME -m` and the first REPL turn of every process would pay the full
path. After a turn, the capture (what the SDK sent for the session's first COUNT stored items) is
written to the session's derived file (`OpenSession.derived_path`, removed and renamed with it).

The file is a cache, trusted only as far as it is checked: it is used only if it was written by the
same swarmchat, agency-swarm, Agents SDK and openai releases, for the same agency SPEC and key
(API, recipient, every agent's model and settings), and if the digest of the first COUNT items stored
now is the one they had when captured. Anything else (a damaged, foreign or stale file, an undo into
the captured part) and the turn takes the full path and captures anew. Writing is best effort: a full
disk costs speed, never a turn. Each request still checks what it can see (`standin.outgoing`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from swarmchat.agency.standin import CapturedPrefix, Prefix
from swarmchat.session import Item
from swarmchat.store.datafiles import NotAFile, read_file, write_atomic
from swarmchat.store.journal import dumps

KIND = "standin.json"
FORMAT = 1
MIN_ITEMS = 200  # a shorter settled part costs the full path little: not worth a file
STEP = 200  # written again once the settled part grew by this many items since the file was written
CHUNK = 2048  # items per encoded piece of the digest (bounds the memory it takes)
PACKAGES = ("swarmchat", "agency-swarm", "openai-agents", "openai")


@cache
def releases() -> dict[str, str]:
    """The releases a capture depends on: any other and it is not used."""
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "?"
    return found


def digest(items: list[Item]) -> str:
    """A digest of `items` as the store encodes them."""
    h = hashlib.blake2b(digest_size=32)
    for at in range(0, len(items), CHUNK):
        h.update(dumps(items[at : at + CHUNK]))
    return h.hexdigest()


@dataclass
class CaptureCache:
    """One session's kept capture, for the agency `spec`: `where` says where it is on this machine now
    (a /rename moves it with the session)."""

    where: Callable[[], Path]
    spec: str
    count: int = 0  # how many items the file on disk covers (0: none known)

    def read(self, stored: list[Item]) -> CapturedPrefix | None:
        """The kept capture if it fits `stored` (the store's list) and this process, else None."""
        try:
            raw = read_file(self.where())
            data = json.loads(raw) if raw is not None else None
        except (OSError, NotAFile, ValueError):  # unreadable, not a file, damaged: the full path, once
            return None
        if not isinstance(data, dict) or data.get("releases") != releases() or data.get("spec") != self.spec:
            return None
        found = _parse(data)
        if found is None or found.count > len(stored) or data.get("digest") != digest(stored[: found.count]):
            return None  # the history it was captured from is not the one stored now
        self.count = found.count
        return found

    def keep(self, prefix: Prefix, stored: list[Item]) -> None:
        """Write `prefix`'s capture if it covers enough new items and `stored` (the store's list) holds
        its region; best effort."""
        count = len(prefix.region)
        if count < MIN_ITEMS or count < self.count + STEP or stored[:count] != prefix.region:
            return
        body = {
            "format": FORMAT,
            "releases": releases(),
            "spec": self.spec,
            "count": count,
            "digest": digest(stored[:count]),
            "key": prefix.key,
            "agent": prefix.agent,
            "lead": prefix.lead,
            "sent": prefix.sent,
            "seam": prefix.seam,
        }
        path = self.where()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_atomic(path, dumps(body))
        except (OSError, NotAFile):  # a full disk, no permission: the next process takes the full path once
            return
        self.count = count


def _parse(data: dict[str, Any]) -> CapturedPrefix | None:
    if data.get("format") != FORMAT:
        return None
    count, key, agent = data.get("count"), data.get("key"), data.get("agent")
    lead, sent, seam = data.get("lead"), data.get("sent"), data.get("seam")
    if type(count) is not int or count <= 0 or not isinstance(key, str) or not isinstance(agent, str):
        return None
    if not (isinstance(lead, list) and isinstance(sent, list) and isinstance(seam, list) and sent and seam):
        return None
    return CapturedPrefix(count, key, agent, lead, sent, seam)
