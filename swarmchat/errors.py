"""The one small tree of errors swarmchat raises; each carries the line the user sees."""

from __future__ import annotations

import os
import re

SECRETS = ("OPENAI_API_KEY", "SWARMCHAT_AGENCY_TOKEN")
"""The variables whose values swarmchat sends as credentials: never shown, whatever a server echoes."""
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s'\",;]+")


def redact(text: str) -> str:
    """`text` without the credentials swarmchat sends (a server's error may echo the Authorization
    header): each secret is replaced by its variable's name."""
    for variable in SECRETS:
        secret = os.environ.get(variable, "").strip()
        if len(secret) >= 4 and secret in text:
            text = text.replace(secret, f"[{variable}]")
    return _BEARER.sub(r"\1[redacted]", text)


class SwarmchatError(Exception):
    """Base: `str(err)` is one line saying what is wrong and what to do (credentials redacted)."""

    exit_code = 2

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class UsageError(SwarmchatError):
    """Bad input on the command line (a duration, a flag value, a file)."""


class InvalidName(SwarmchatError):
    """A session name that cannot be used."""


class SessionNotFound(SwarmchatError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no session named '{name}'; run 'swarmchat list' to see your sessions")
        self.name = name


class NameTaken(SwarmchatError):
    def __init__(self, name: str, detail: str = "") -> None:
        extra = f" ({detail})" if detail else ""
        super().__init__(f"a session named '{name}' already exists{extra}; pick another name")
        self.name = name


class SessionLocked(SwarmchatError):
    """Another live process holds the session's one-writer lock (its own exit code: try again later)."""

    exit_code = 3

    def __init__(self, name: str, holder: str) -> None:
        super().__init__(f"session '{name}' is open in another process ({holder}); close it there first")
        self.name = name
        self.holder = holder


class StoreUnavailable(SwarmchatError):
    """The store cannot be reached (Redis down, data dir unwritable)."""

    exit_code = 1


class SessionsLocked(SwarmchatError):
    """Several sessions are open in other processes (a delete or prune of many)."""

    exit_code = 3


class SessionTakenOver(SessionLocked, StoreUnavailable):
    """The open session's lock was lost (Redis away longer than its life) and another process holds
    it now: this window's later messages are not stored."""

    def __init__(self, name: str, holder: str) -> None:
        SwarmchatError.__init__(
            self,
            f"session '{name}' is open in another process now ({holder}); this window's messages from here on "
            "are not stored: /export FILE saves them",
        )
        self.name = name
        self.holder = holder


class CorruptSession(SwarmchatError):
    """Stored data that does not parse or has an unknown shape; it is never overwritten."""

    def __init__(self, name: str, path: str, problem: str) -> None:
        super().__init__(
            f"session '{name}' cannot be read: {path}: {problem}; "
            "swarmchat leaves it untouched (move it aside or restore a backup)"
        )
        self.name = name
        self.path = path
        self.problem = problem


class AgencyLoadError(SwarmchatError):
    """The agency SPEC does not load or does not produce an Agency."""


class AgencyMissing(AgencyLoadError):
    """The file or module a session's SPEC names is not there (moved, renamed, another folder)."""


class RemoteAgencyError(SwarmchatError):
    """A served agency (an http(s) SPEC) cannot be reached, refuses us, or answers wrongly."""

    exit_code = 1


class ModelError(SwarmchatError):
    """The model API failed (auth, rate limit, server down, stream cut)."""

    exit_code = 1
