"""`swarmchat.cli.main(argv)` runs a command in the caller's process (the fast tier: no process is started)
and gives back what it changed process-wide: the collector a short-lived command switches off, --debug."""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import pytest
from test_cli_offline import make_session

from swarmchat import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `swarmchat ARGV` run in this process."""
    with pytest.raises(SystemExit) as done:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), out, err


def test_offline_commands_run_in_process(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    make_session(data_dir, "alpha", "plan the trip to Lisbon")
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0 and [row["name"] for row in json.loads(out)] == ["alpha"]
    assert run(capsys, "rename", "alpha", "beta")[0] == 0
    code, out, _ = run(capsys, "show", "beta", "--format", "markdown")
    assert code == 0 and "plan the trip to Lisbon" in out and "reply to plan the trip to Lisbon" in out
    code, _, err = run(capsys, "show", "alpha")
    assert code == 2 and err.startswith("swarmchat: error: ") and len(err.splitlines()) == 1


def test_what_a_command_changes_process_wide_is_put_back(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    make_session(data_dir, "alpha", "hello")
    assert gc.isenabled() and "SWARMCHAT_DEBUG" not in os.environ
    assert run(capsys, "--debug", "show", "alpha")[0] == 0  # show switches the collector off; --debug sets a variable
    assert gc.isenabled()
    assert "SWARMCHAT_DEBUG" not in os.environ
    code, _, err = run(capsys, "show", "nobody")  # --debug is not carried over to the next call: one line
    assert code == 2 and "Traceback" not in err
