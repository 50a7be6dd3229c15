"""The project folder a chat starts from: its `agency.py`, its `.env`, SPECs that work from any folder,
and the API key check; all before anything is created or sent. Imports no agency code.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from swarmchat.config import APIS, KEYS, Config, pick
from swarmchat.errors import UsageError

PROJECT_FILE = "agency.py"
SPEC_FORMS = "path/to/file.py[:attr], package.module[:attr] or http(s)://host:port/AGENCY"
DEFAULT_ENDPOINT_MODELS_WITHOUT_KEY = ("echo",)


def discover(folder: Path | None = None) -> Path | None:
    """`./agency.py` of the project folder (the current one), if there is one."""
    found = (folder or Path.cwd()) / PROJECT_FILE
    return found.resolve() if found.is_file() else None


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def split_spec(spec: str) -> tuple[str, str]:
    """(module or file, attr ('' if none)); a Windows drive letter is not an attr separator."""
    module, sep, attr = spec.rpartition(":")
    if not sep or (len(module) == 1 and module.isalpha()):
        return spec, ""
    return module, attr


def is_file_spec(module: str) -> bool:
    return module.endswith(".py") or os.sep in module or "/" in module


def check_form(spec: str) -> None:
    """A SPEC that cannot name anything (`.`, `dir/`, `a b:c`) is refused in one line saying what one looks like."""
    if is_url(spec):
        return
    module, attr = split_spec(spec)
    fine = bool(module) and not spec.endswith(":") and all(p.isidentifier() for p in attr.split(".") if attr)
    if fine and is_file_spec(module):
        fine = module.endswith(".py") and bool(Path(module).stem)
    elif fine:
        fine = all(part.isidentifier() for part in module.split("."))
    if not fine:
        raise UsageError(f"'{spec}' is not an agency SPEC; give {SPEC_FORMS}")


@dataclass(frozen=True)
class Anchored:
    """A SPEC in the form a session stores: works from any folder."""

    spec: str
    folder: str | None = None  # for a module SPEC found in the current folder: that folder


def anchor(spec: str, cwd: Path | None = None) -> Anchored:
    """A file SPEC with its path made absolute; a module SPEC with the folder it is found in when that is
    the current folder (as uvicorn finds `agency:app`); a URL as it is. The SPEC's form is checked first."""
    check_form(spec)
    if is_url(spec):
        return Anchored(spec)
    cwd = cwd or Path.cwd()
    module, attr = split_spec(spec)
    if is_file_spec(module):
        path = (cwd / Path(module).expanduser()).resolve()
        if not path.is_file():
            raise UsageError(f"agency SPEC '{spec}': file {path} not found; give the path of your agency file")
        return Anchored(f"{path}:{attr}" if attr else str(path))
    top = module.split(".")[0]
    found = _find(top, cwd)
    if found is None:
        raise UsageError(
            f"agency SPEC '{spec}': module '{top}' not found in {cwd} or on the import path; "
            "check the name and PYTHONPATH"
        )
    here = any(Path(place).resolve().parent == cwd.resolve() for place in found)
    return Anchored(spec, str(cwd.resolve()) if here else None)


def _find(top: str, folder: Path) -> list[str] | None:
    """Where the top-level module `top` is, `folder` first on the path (found without running it)."""
    sys.path.insert(0, str(folder))
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    finally:
        sys.path.remove(str(folder))
    if found is None:
        return None
    places: list[str | None] = list(found.submodule_search_locations or []) or [found.origin]
    return [p for p in places if p and os.path.isabs(p)]


def agency_folder(spec: str | None, folder: str | None) -> Path | None:
    """The folder of a session's agency (the file's, or the module's recorded one), for its `.env`."""
    if not spec or is_url(spec):
        return None
    module, _ = split_spec(spec)
    if is_file_spec(module):
        return Path(module).expanduser().resolve().parent
    return Path(folder) if folder else None


def load_env(*folders: Path | None) -> None:
    """Read `.env` of each folder into the environment (python-dotenv), never overriding a variable set."""
    seen: set[Path] = set()
    for folder in folders:
        if folder is None:
            continue
        path = (folder / ".env").resolve()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        from dotenv import load_dotenv

        try:
            load_dotenv(path, override=False)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{folder / '.env'}: cannot be read ({exc}); fix or remove it") from None


def check_key(*, base_url: str | None, model: str | None, spec: str | None) -> None:
    """On OpenAI's own endpoint a key is needed: refuse now (exit 2), before a session is created or
    a request sent. A custom base URL (a local server), the built-in echo model, a served agency or a
    provider-prefixed model (routed elsewhere) need none from here."""
    if os.environ.get("OPENAI_API_KEY") or base_url or os.environ.get("OPENAI_BASE_URL"):
        return
    if (model and (model in DEFAULT_ENDPOINT_MODELS_WITHOUT_KEY or "/" in model)) or (spec and is_url(spec)):
        return
    raise UsageError(
        "no OpenAI API key: set OPENAI_API_KEY in the environment or in a .env file in this folder "
        "(or use a local server with --base-url URL, or try swarmchat offline with --model echo)"
    )


@dataclass(frozen=True)
class NewSettings:
    """What a new session starts with, each setting chosen by precedence (see `swarmchat.config`)."""

    agency: Anchored | None
    model: str | None
    api: str | None
    notice: str = ""  # where the agency came from, when no flag named it ('' for the built-in one)


def prepare_new(agency: str | None, model: str | None, base_url: str | None, api: str | None) -> NewSettings:
    """Settle a `new` session's settings before anything is created: the project folder's `agency.py`
    and `.env`, the environment, the config file; refuse (UsageError) a bad SPEC or a missing key."""
    config = Config.load()
    cwd = Path.cwd()
    load_env(cwd)
    found = discover(cwd)
    project = (str(found), "project folder") if found else None
    chosen = pick("agency", agency, config, project)
    anchored = anchor(chosen.value) if chosen.value else None
    if anchored is not None:
        load_env(agency_folder(anchored.spec, anchored.folder))
    picked_model = pick("model", model, config).value
    picked_api = pick("api", api, config)
    _check_api(picked_api.value, picked_api.origin)
    use_config_base_url(config, base_url)
    check_key(base_url=base_url, model=picked_model, spec=anchored.spec if anchored else None)
    quiet = chosen.origin in ("flag", "built-in") or chosen.origin.startswith("environment")
    notice = "" if quiet else f"agency: {chosen.value} (from the {chosen.origin})"
    return NewSettings(anchored, picked_model, picked_api.value, notice)


def prepare_resume(spec: str | None, folder: str | None, *, model: str | None, base_url: str | None) -> None:
    """Before a session is resumed: `.env` of this folder and of its agency's, the config's base URL
    where the session has none, and the key check (UsageError), before anything is sent."""
    load_env(Path.cwd(), agency_folder(spec, folder))
    use_config_base_url(Config.load(), base_url)
    check_key(base_url=base_url, model=model, spec=spec)


def use_config_base_url(config: Config, session_url: str | None) -> None:
    """The config file's base URL applies where neither the session nor the environment names one."""
    url = config.values.get("base_url")
    if url and not session_url and not os.environ.get("OPENAI_BASE_URL"):
        os.environ["OPENAI_BASE_URL"] = url


def _check_api(value: str | None, origin: str) -> None:
    if value is not None and value not in APIS:
        raise UsageError(f"api '{value}' (from {origin}) is not an API; give responses or chat")


DEFAULT_SPEC = "swarmchat.default_agency:create_agency"
"""The built-in assistant's SPEC: where no project, variable, flag or config names an agency."""

BUILT_IN = {
    "agency": "(the built-in assistant)",
    "model": "(each agent's own)",
    "base_url": "https://api.openai.com/v1",
    "api": "responses",
    "store": "(files in the data dir)",
    "max_cost": "(no cap)",
}
HIDDEN = "(hidden)"


def default_max_cost() -> float | None:
    """The cap a new session gets when --max-cost is not given: SWARMCHAT_MAX_COST, else `max_cost` in
    the config file, else none."""
    from swarmchat.budget import parse_cost

    chosen = pick("max_cost", None, Config.load())
    return parse_cost(chosen.value, f"max_cost (from {chosen.origin})") if chosen.value else None


def effective_settings() -> list[tuple[str, str, str]]:
    """(origin, key, value) of every setting a `new` in this folder would use, as `config` shows them;
    a value read from a `.env` is not shown, only where it is set. The API key only as set or not."""
    config = Config.load()
    cwd = Path.cwd()
    env_file = _env_values(cwd)
    found = discover(cwd)
    rows = []
    for key, var in KEYS.items():
        project = (str(found), "project folder") if key == "agency" and found else None
        if not os.environ.get(var) and env_file.get(var):
            project = (HIDDEN, f"{cwd / '.env'} ({var})")
        chosen = pick(key, None, config, project)
        rows.append((chosen.origin, key, chosen.value if chosen.value is not None else BUILT_IN[key]))
    if os.environ.get("OPENAI_API_KEY"):
        rows.append(("environment", "OPENAI_API_KEY", "(set)"))
    elif env_file.get("OPENAI_API_KEY"):
        rows.append((str(cwd / ".env"), "OPENAI_API_KEY", "(set)"))
    else:
        rows.append(("nowhere", "OPENAI_API_KEY", "(not set)"))
    return rows


def _env_values(folder: Path) -> dict[str, str | None]:
    path = folder / ".env"
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    try:
        return dict(dotenv_values(path))
    except (OSError, UnicodeDecodeError):
        return {}
