"""The test tiers say what they do: a test of the fast tier (`pytest -m "not slow"`) starts no process and no
server. conftest.py runs every test of such a run inside `tiers.no_process_or_server()`; these tests show the
guard refuses every route to a process or a listening socket, and gives everything back after."""

from __future__ import annotations

import multiprocessing
import os
import pty
import socket
import subprocess
import sys

import pexpect
import pytest
from conftest import fast_tier
from tiers import GUARDED, no_process_or_server


def test_the_guard_fails_every_way_to_start_a_process_or_a_server() -> None:
    attempts = {
        "subprocess.run": lambda: subprocess.run([sys.executable, "-c", "pass"], check=False),
        "os.fork": lambda: os.fork(),
        "pty.fork": lambda: pty.fork(),
        "os.system": lambda: os.system("true"),
        "pexpect.spawn": lambda: pexpect.spawn(sys.executable, ["-c", "pass"]),
        "multiprocessing": lambda: multiprocessing.get_context("spawn").Process(target=print).start(),
        "a server": lambda: socket.create_server(("127.0.0.1", 0)),
    }
    before = [getattr(owner, name) for owner, name, _ in GUARDED]
    with no_process_or_server():
        for what, attempt in attempts.items():
            with pytest.raises(pytest.fail.Exception, match="a test of the fast tier started"):
                attempt()
                raise AssertionError(f"{what} was not refused")
    assert [getattr(owner, name) for owner, name, _ in GUARDED] == before  # all given back


@pytest.mark.parametrize(
    ("markexpr", "fast"),
    [("not slow", True), ("not  slow and not redis", True), ("", False), ("slow", False)],
)
def test_a_run_that_deselects_slow_tests_is_the_fast_tier(
    pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch, markexpr: str, fast: bool
) -> None:
    monkeypatch.setattr(pytestconfig.option, "markexpr", markexpr)
    assert fast_tier(pytestconfig) is fast


def test_the_fast_tier_and_it_alone_runs_under_the_guard(pytestconfig: pytest.Config) -> None:
    guarded = pytestconfig.pluginmanager.has_plugin("swarmchat-fast-tier-guard")
    assert guarded is fast_tier(pytestconfig)
    assert (subprocess._fork_exec.__name__ == "refused") is guarded  # type: ignore[attr-defined]
