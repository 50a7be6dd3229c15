"""Files of this machine that belong to a remote store (a Redis): its catalog, its derived files, the
cache of its checks. Under SWARMCHAT_DATA_DIR when that is set, else the user cache dir; named after
the store's location (its password already removed), so that two stores never share one."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def machine_path(location: str, kind: str, suffix: str = "") -> Path:
    override = os.environ.get("SWARMCHAT_DATA_DIR")
    if override:
        base = Path(override).expanduser()
    else:
        from platformdirs import user_cache_dir

        base = Path(user_cache_dir("swarmchat", appauthor=False))
    key = hashlib.sha256(location.encode()).hexdigest()[:16]
    return base / f"{kind}-redis-{key}{suffix}"
