"""Resolving an agency SPEC (`pkg.module:attr` or `path/to/file.py:attr`) to what it names, and
refusing, before anything runs, a name that cannot be an agency factory (`os:abort` must not be called)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from swarmchat.errors import AgencyLoadError, AgencyMissing, SwarmchatError
from swarmchat.project import is_file_spec, split_spec

CALLBACKS = ("load_threads_callback", "save_threads_callback")


def resolve_spec(spec: str, folder: str | None = None) -> Any:
    """The object a SPEC names (attr defaults to `create_agency`, then `agency`).

    A module SPEC is imported with `folder` (the one the session found it in), else the current
    folder, first on the import path, as uvicorn imports `agency:app`."""
    module_part, attr = split_spec(spec)
    try:
        if is_file_spec(module_part):
            module = _module_from_file(Path(module_part), spec)
        elif not all(part.isidentifier() for part in module_part.split(".")):
            raise AgencyLoadError(
                f"agency SPEC '{spec}' names no module or file; a SPEC looks like pkg.module:attr, "
                "path/to/file.py:attr or http(s)://host:port/AGENCY"
            )
        else:
            place = str(Path(folder or os.getcwd()).resolve())
            if place not in sys.path:
                sys.path.insert(0, place)
            module = importlib.import_module(module_part)
    except SwarmchatError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and module_part.split(".")[0] == exc.name.split(".")[0]:
            where = f"in {folder} or " if folder else ""
            raise AgencyMissing(
                f"agency SPEC '{spec}': module '{exc.name}' not found {where}on the import path"
            ) from None
        raise AgencyLoadError(
            f"agency SPEC '{spec}': module '{exc.name}' not found; check the name and PYTHONPATH"
        ) from None
    except Exception as exc:
        raise AgencyLoadError(f"agency SPEC '{spec}' failed to import: {type(exc).__name__}: {exc}") from None
    names = [attr] if attr else ["create_agency", "agency"]
    for name in names:
        if hasattr(module, name):
            return getattr(module, name)
    raise AgencyLoadError(
        f"agency SPEC '{spec}': '{module_part}' has no attribute '{names[0]}'; "
        "name a factory or an Agency as module:attr"
    )


def _module_from_file(path: Path, spec: str) -> Any:
    if not path.is_file():
        raise AgencyMissing(f"agency SPEC '{spec}': file {path} not found")
    path = path.resolve()
    sys.path.insert(0, str(path.parent))  # let the agency import its sibling modules
    module_name = f"_swarmchat_agency_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise AgencyLoadError(f"agency SPEC '{spec}': {path} is not a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    loader_spec.loader.exec_module(module)
    return module


def factory_callbacks(target: Any, spec: str, agency_cls: type) -> set[str]:
    """Which history callbacks a factory takes; raises unless `target` can be an agency factory.

    A SPEC is code the user asked to run, but only as a factory: a builtin (`os:abort`), a
    standard-library function (`json:dumps`), a class other than an Agency, or a function with
    required parameters beyond the callbacks is refused without being called."""
    what = f"agency SPEC '{spec}' names {_label(target)}"
    fix = "name a function that returns an Agency (create_agency(load_threads_callback=None)) or an Agency"
    if inspect.isbuiltin(target) or inspect.ismethoddescriptor(target):
        raise AgencyLoadError(f"{what}, a built-in, not an agency factory; {fix}")
    if inspect.isclass(target):
        if not issubclass(target, agency_cls):
            raise AgencyLoadError(f"{what}, a class that is not an Agency; {fix}")
    elif not (inspect.isfunction(target) or inspect.ismethod(target)):
        raise AgencyLoadError(f"{what}, a {type(target).__name__}, not an Agency or a factory; {fix}")
    module = str(getattr(target, "__module__", "") or "").split(".")[0]
    if module in sys.stdlib_module_names:
        raise AgencyLoadError(f"{what}, from Python's standard library, not an agency factory; {fix}")
    return _callback_parameters(target, what, fix)


def _callback_parameters(factory: Callable[..., Any], what: str, fix: str) -> set[str]:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        raise AgencyLoadError(f"{what}, whose parameters cannot be read; {fix}") from None
    taken: set[str] = set()
    for param in params:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            taken.update(CALLBACKS)
        elif param.name in CALLBACKS and param.kind is not inspect.Parameter.POSITIONAL_ONLY:
            taken.add(param.name)
        elif param.default is inspect.Parameter.empty and param.kind is not inspect.Parameter.VAR_POSITIONAL:
            raise AgencyLoadError(f"{what}, which needs an argument '{param.name}' swarmchat cannot give; {fix}")
    return taken


def _label(target: Any) -> str:
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    return f"{module}.{name}" if module and name else (str(name) if name else type(target).__name__)
