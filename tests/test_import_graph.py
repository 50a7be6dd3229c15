"""The package's import graph, read from the source with `ast` (nothing is imported, no process starts).

Seams have no arrow back up: no circle of imports runs through modules of two packages, the remote agency
and the local one never import each other, and storage imports nothing of the screen or of the agency.
Every import counts, those inside functions too; only `if TYPE_CHECKING:` blocks are left out.
Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first, so it is an edge to each of them.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PACKAGE = Path(__file__).resolve().parent.parent / "swarmchat"
STORE = "swarmchat.store"
SCREEN = (
    "rich",
    "prompt_toolkit",
    "pygments",
    "swarmchat.repl",
    "swarmchat.render",
    "swarmchat.stream_view",
    "swarmchat.search_view",
    "swarmchat.safe_text",
    "swarmchat.pager",
    "swarmchat.terminal_modes",
    "swarmchat.transcript",
)
AGENCY = ("agency_swarm", "agents", "openai", "swarmchat.agency", "swarmchat.remote", "swarmchat.bound")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """The package a module belongs to (a package's __init__ belongs to the package itself)."""
    path = PACKAGE.parent.joinpath(*module.split("."))
    return module if path.is_dir() else module.rpartition(".")[0]


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(module: str, tree: ast.AST, is_package: bool) -> set[str]:
    """Every module name `tree` imports (absolute), TYPE_CHECKING blocks aside."""
    found: set[str] = set()
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = str(node.module)
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)  # `from pkg import module`
        todo.extend(ast.iter_child_nodes(node))
    return found


@cache
def graph() -> dict[str, set[str]]:
    """module -> the modules of the package it imports (with their packages' __init__), and the outside
    packages by their top-level name (e.g. `rich`)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for imported in _imported(name, ast.parse(path.read_text(), str(path)), path.name == "__init__.py"):
            if imported.split(".")[0] != "swarmchat":
                targets.add(imported.split(".")[0])
                continue
            parts = imported.split(".")
            chain = [".".join(parts[:n]) for n in range(2, len(parts) + 1)]  # with the packages on the way
            own = {p for p in chain[:-1] if name.startswith(f"{p}.")}  # already run before `name` itself
            targets.update(m for m in chain if m in modules and m not in own)
        edges[name] = targets - {name}
    return edges


def reaches(start: str) -> set[str]:
    """Everything `start` imports, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph().get(todo.pop(), set()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def circles() -> list[list[str]]:
    """The strongly connected parts of the graph with more than one module (Tarjan), each sorted."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, set()) & edges.keys():
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


# circles inside these packages are mended by other issues' work; until then their tests fail, and say so
HANDED_OFF: dict[str, str] = {}


def across_packages(area: str | None) -> list[list[str]]:
    """The circles that span more than one package and lie wholly inside `area`; with `area=None`, every
    one that lies in no area of HANDED_OFF."""
    spanning = [c for c in circles() if len({package_of(m) for m in c}) > 1]
    if area:
        return [c for c in spanning if all(under(m, (area,)) for m in c)]
    return [c for c in spanning if not any(all(under(m, (a,)) for m in c) for a in HANDED_OFF)]


def under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in prefixes)


def test_the_reader_sees_what_a_module_imports() -> None:
    """The graph is read right: known edges are there, imports in functions count, TYPE_CHECKING ones do not,
    relative imports resolve."""
    assert "swarmchat.remote.binding" in graph()["swarmchat.remote"]  # imported inside bind_remote()
    edges = graph()
    assert len(edges) > 50
    assert "swarmchat.store.journaled" in edges["swarmchat.store.files"]
    assert "swarmchat.repl.registry" in edges["swarmchat.repl.commands.basic"]
    assert "swarmchat.repl" not in edges["swarmchat.repl.commands.basic"]  # its own package ran before it anyway
    assert {"swarmchat.store.catalog", "swarmchat.store.catalog.db"} <= edges["swarmchat.store.search"]  # via a package
    assert "swarmchat.store" not in edges["swarmchat.store.search"]
    assert "rich" in edges["swarmchat.render"] and "typer" in edges["swarmchat.cli"]
    tree = ast.parse("from . import a\nfrom .b import c\nif TYPE_CHECKING:\n    import d\n")
    assert _imported("swarmchat.x.y", tree, False) == {
        "swarmchat.x",
        "swarmchat.x.a",
        "swarmchat.x.b",
        "swarmchat.x.b.c",
    }


def test_no_circle_of_imports_runs_through_two_packages() -> None:
    assert across_packages(None) == []


@pytest.mark.parametrize(
    "area",
    [
        "swarmchat.repl",  # mended: commands take a ReplContext and the registry imports none of them (issue 26)
        *(pytest.param(area, marks=pytest.mark.xfail(strict=True, reason=why)) for area, why in HANDED_OFF.items()),
    ],
)
def test_no_circle_of_imports_runs_through_two_packages_of(area: str) -> None:
    assert across_packages(area) == []


def test_only_the_repl_s_entry_loads_the_commands() -> None:
    """The loop and the registry import no command module (the loop's /compact offer is compact.py's);
    `run_repl` registers them, and a command reaches the REPL only through its ReplContext."""
    commands = ("swarmchat.repl.commands",)
    for module in ("swarmchat.repl.loop", "swarmchat.repl.registry", "swarmchat.repl.completion"):
        assert sorted(t for t in reaches(module) if under(t, commands)) == [], module
    assert "swarmchat.repl.commands" in graph()["swarmchat.repl"]
    assert all("swarmchat.repl.loop" not in reaches(m) for m in graph() if under(m, commands))


def test_the_remote_and_the_local_agency_never_import_each_other() -> None:
    def imports(source: str, target: str) -> set[tuple[str, str]]:
        return {(m, t) for m, targets in graph().items() if under(m, (source,)) for t in targets if under(t, (target,))}

    assert imports("swarmchat.remote", "swarmchat.agency") == set()
    assert imports("swarmchat.agency", "swarmchat.remote") == set()


@pytest.mark.parametrize(
    "module",
    [m for m in sorted(m for m in graph() if under(m, (STORE,)))],
)
def test_storage_imports_nothing_of_the_screen_or_the_agency(module: str) -> None:
    assert sorted(t for t in reaches(module) | graph()[module] if under(t, SCREEN + AGENCY)) == []


def test_every_package_the_code_imports_is_declared() -> None:
    """What swarmchat imports is in pyproject.toml's dependencies (the redis extra for Redis), not merely
    brought in by another package (agency-swarm brings openai and the Agents SDK)."""

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["redis"]]
    declared = {canonical(Requirement(line).name) for line in wanted}
    outside = {t for targets in graph().values() for t in targets if "." not in t and t != "__future__"}
    imported = outside - set(sys.stdlib_module_names)
    assert {"openai", "agents", "agency_swarm", "rich"} <= imported
    distributions = packages_distributions()
    undeclared = {t for t in imported if not {canonical(d) for d in distributions.get(t, [t])} & declared}
    assert undeclared == set()
