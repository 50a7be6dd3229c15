"""cli.py replaces typer's PRIVATE `_TyperParameter.process_value` to keep pydantic out of start-up (typer
offers no public way). These fail loudly when a typer release stops taking that patch, or when the installed
typer leaves the range pyproject.toml bounds it to; the import guard checks the effect (no pydantic in `list`)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest
import typer
import typer.core
from conftest import ROOT
from packaging.specifiers import SpecifierSet


def test_the_installed_typer_is_the_tested_one() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bound = next(d for d in deps if re.match(r"typer\b", d)).removeprefix("typer")
    assert "<" in bound, f"typer must be bounded above while cli.py patches it: {bound}"
    assert typer.__version__ in SpecifierSet(bound), f"typer {typer.__version__} is outside {bound}"


def test_the_patch_applies_to_this_typer() -> None:
    import swarmchat.cli

    assert swarmchat.cli.TYPER_PATCHED, "typer.core._TyperParameter no longer has what cli.py patches"
    method = typer.core._TyperParameter.process_value
    assert "_plain_values_as_they_are" in method.__qualname__, "the patched process_value was replaced"
    for name in ("get_runtime_param", "value_is_missing"):
        assert hasattr(typer.core._TyperParameter, name), name


@pytest.mark.slow  # starts a process
def test_values_still_go_through_typer_when_they_need_it() -> None:
    """An Enum option given as text is converted by typer and a bad one is typer's usage error: the
    patch passes through only what is already converted."""
    code = "import sys, swarmchat.cli as c; sys.argv = ['swarmchat', 'show', 'nope', '--format', 'yaml']; c.main()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "'yaml'" in done.stderr and "--format" in done.stderr, done.stderr
