"""Files swarmchat writes outside its data dir (exports): one rule for `export -o` and `/export`."""

from __future__ import annotations

import os
from pathlib import Path

from swarmchat.errors import UsageError


def write_new_file(path: Path, data: bytes) -> None:
    """Create `path` holding `data`, private (0600) like the session it came from; never replace a file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raise UsageError(f"{path} already exists; choose another file or delete it first") from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another file") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as exc:
        path.unlink(missing_ok=True)  # no half-written export left behind
        raise UsageError(f"cannot write {path}: {exc.strerror}; choose another file") from None
