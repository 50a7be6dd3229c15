"""The user's defaults: `config.toml` in the user config dir, and where each effective setting comes from.

Precedence, first match wins: a flag > the environment (a `.env` read into it counts as the project
folder's) > the project folder > the config file > built-in. Reading uses the standard library's
tomllib (fast: `list` reads the file for `store`); `set`/`unset` edit it with tomlkit, which keeps the
user's comments and layout, and replace it atomically.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from swarmchat.errors import UsageError

if TYPE_CHECKING:
    import tomlkit

KEYS: dict[str, str] = {
    "agency": "SWARMCHAT_AGENCY",
    "model": "SWARMCHAT_MODEL",
    "base_url": "OPENAI_BASE_URL",
    "api": "SWARMCHAT_API",
    "store": "SWARMCHAT_STORE",
    "max_cost": "SWARMCHAT_MAX_COST",
}
"""Each key of the config file, and the environment variable that overrides it."""
APIS = ("responses", "chat")


def config_path() -> Path:
    """SWARMCHAT_CONFIG_DIR/config.toml, else platformdirs' user config dir (~/.config/swarmchat on Linux)."""
    override = os.environ.get("SWARMCHAT_CONFIG_DIR")
    if override:
        return Path(override).expanduser() / "config.toml"
    from platformdirs import user_config_dir

    return Path(user_config_dir("swarmchat", appauthor=False)) / "config.toml"


@dataclass(frozen=True)
class Setting:
    """One effective value and where it came from (`config` prints both)."""

    key: str
    value: str | None
    origin: str


class Config:
    """The config file's values, checked: every key known, every value a string that fits its key."""

    def __init__(self, path: Path, values: dict[str, str], text: str = "") -> None:
        self.path = path
        self.values = values
        self._text = text

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        """The file's values ({} when there is no file); a UsageError naming file, line and key if it is bad."""
        path = path or config_path()
        text = _read(path)
        if text is None:
            return cls(path, {})
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(
                f"{path}:{_error_line(str(exc))}: not valid TOML ({_reason(str(exc))}); fix or delete the file"
            ) from None
        values: dict[str, str] = {}
        for key, value in data.items():
            if key not in KEYS:
                raise UsageError(
                    f"{path}:{line_of(text, key)}: unknown key '{key}'; the keys are {', '.join(KEYS)} "
                    f"(remove it with 'swarmchat config unset {key}')"
                )
            problem = value_problem(key, value)
            if problem:
                raise UsageError(f"{path}:{line_of(text, key)}: key '{key}': {problem}")
            values[key] = str(value)
        return cls(path, values, text)

    def origin(self, key: str) -> str:
        return f"config file {self.path}:{line_of(self._text, key)}"


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise UsageError(f"{path}:1: not UTF-8 text; fix or delete the file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror}); fix its permissions or delete it") from None


def _error_line(message: str) -> str:
    found = re.search(r"at line (\d+)", message)
    return found.group(1) if found else "1"


def _reason(message: str) -> str:
    return re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)


def line_of(text: str, key: str) -> int:
    """The line where `key` is set (or its table opens), 1 if it cannot be found."""
    pattern = re.compile(rf"^\s*(\[\s*)?[\"']?{re.escape(key)}[\"']?\s*(=|\]|\.)", re.MULTILINE)
    found = pattern.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else 1


def value_problem(key: str, value: object) -> str | None:
    """Why `value` cannot be the value of `key`, or None."""
    if key == "max_cost":
        return _cost_problem(value)
    if not isinstance(value, str) or not value.strip():
        return "give a non-empty string in quotes"
    if key == "api" and value not in APIS:
        return f"'{value}' is not an API; give responses or chat"
    if key == "base_url" and not value.startswith(("http://", "https://")):
        return f"'{value}' is not a URL; give one such as http://localhost:11434/v1"
    return None


def _cost_problem(value: object) -> str | None:
    """A spending cap: dollars above 0, as a number or a string such as "0.50"."""
    from swarmchat.budget import parse_cost

    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return "give an amount of dollars above 0, such as 0.50"
    try:
        parse_cost(str(value), "max_cost")
    except UsageError as exc:
        return str(exc)
    return None


def check_key(key: str) -> None:
    if key not in KEYS:
        raise UsageError(f"unknown key '{key}'; the keys are {', '.join(KEYS)}")


def pick(key: str, flag: str | None, config: Config, project: tuple[str, str] | None = None) -> Setting:
    """The effective value of `key`: flag > environment > project folder (value, origin) > config file.

    None when nothing sets it (the built-in default applies)."""
    if flag is not None:
        return Setting(key, flag, "flag")
    env = os.environ.get(KEYS[key])
    if env:
        return Setting(key, env, f"environment ({KEYS[key]})")
    if project is not None:
        return Setting(key, project[0], project[1])
    if key in config.values:
        return Setting(key, config.values[key], config.origin(key))
    return Setting(key, None, "built-in")


def set_value(key: str, value: str, path: Path | None = None) -> Path:
    """Set `key` in the config file (created if missing), keeping the rest of it as written."""
    check_key(key)
    problem = value_problem(key, value)
    if problem:
        raise UsageError(f"config {key}: {problem}")
    import tomlkit

    path = path or config_path()
    doc = _document(path)
    doc[key] = float(value.strip().removeprefix("$")) if key == "max_cost" else value
    _replace(path, tomlkit.dumps(doc))
    return path


def unset_value(key: str, path: Path | None = None) -> bool:
    """Remove `key` from the config file (unknown keys too, so a bad file can be mended); False if unset."""
    path = path or config_path()
    doc = _document(path)
    if key not in doc:
        check_key(key)
        return False
    import tomlkit

    del doc[key]
    _replace(path, tomlkit.dumps(doc))
    return True


def _document(path: Path) -> tomlkit.TOMLDocument:
    import tomlkit
    from tomlkit.exceptions import ParseError

    text = _read(path)
    try:
        return tomlkit.parse(text or "")
    except ParseError as exc:
        raise UsageError(f"{path}:{exc.line}: not valid TOML; fix or delete the file") from None


def _replace(path: Path, text: str) -> None:
    """Write the whole file anew, atomically: a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
