"""The zygote (zygote.py) stands in for `python -m swarmchat` only where nobody could tell the two apart."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
import zygote
from conftest import Run

pytestmark = pytest.mark.slow  # the zygote is a process

CASES = [
    ("--version",),
    ("list",),
    ("show", "nobody"),  # one error line, exit 2
    ("new", "twice", "--model", "echo", "-m", "héllo\tworld"),
    ("new", "twice", "--model", "echo", "-m", "again"),  # exit 2: it exists
    ("show", "twice", "--format", "markdown"),
    ("fork", "twice"),
    ("delete", "twice"),  # no terminal to confirm on: refused
]


def test_a_forked_run_prints_and_exits_as_a_new_interpreter_does(cli: Run, data_dir: os.PathLike[str]) -> None:
    """Each command runs twice, forked and in a new interpreter, each on its own data: same output, same code."""
    runs: dict[bool, list[tuple[int, str, str]]] = {}
    for fresh in (False, True):
        env = {"SWARMCHAT_DATA_DIR": f"{data_dir}-{fresh}"}
        runs[fresh] = [
            (done.returncode, done.stdout, done.stderr) for done in (cli(*args, env=env, fresh=fresh) for args in CASES)
        ]
    assert runs[False] == runs[True]
    assert [code for code, _, _ in runs[True]] == [0, 0, 2, 0, 2, 0, 0, 2]


def test_a_forked_child_is_a_process_of_its_own_that_a_signal_ends() -> None:
    """A one-turn `new` reading its message from a pipe that stays open waits; SIGKILL ends it as kill -9 would."""
    child = zygote.popen(["new", "x", "--model", "echo"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)  # fmt: skip
    assert child.pid not in (os.getpid(), os.getppid())
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(0.5)
    assert child.poll() is None
    child.kill()
    assert child.wait(30) == -signal.SIGKILL
    for stream in (child.stdin, child.stdout, child.stderr):
        stream.close()


@pytest.mark.parametrize("variable", ["LANG", "PYTHONIOENCODING", "SWARMCHAT_DEBUG"])
def test_a_start_up_variable_changed_needs_a_new_interpreter(variable: str) -> None:
    assert zygote.needs_fresh({**os.environ, variable: "C"}, ["list"])
    assert not zygote.needs_fresh(dict(os.environ), ["list"])
    assert zygote.needs_fresh(dict(os.environ), ["--debug", "list"])
