"""Durations such as '30d', '12h', '90m', '1w' (for prune and --ttl)."""

from __future__ import annotations

import re

from swarmchat.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(text: str) -> int:
    """Seconds in a duration like '30d' or '1d12h'; UsageError for anything else."""
    compact = text.strip().lower()
    parts = _PATTERN.findall(compact)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != compact.replace(" ", ""):
        raise UsageError(f"'{text}' is not a duration; write it like 30d, 12h, 90m or 1w")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"duration '{text}' must be longer than zero")
    return seconds
