"""Issue 11 §4 through the real CLI: a SPEC naming something that is not an agency factory is refused
without being called, and malformed client settings are refused before anything is created; each is one
line, exit 2, the process alive (no SIGABRT) and no session written."""

from __future__ import annotations

from pathlib import Path

import pytest
from agencies import write_agency
from conftest import Run, one_error_line
from fake_openai import FakeOpenAI

NOT_FACTORIES = {
    "os:abort": "built-in",  # called, it would kill the process with SIGABRT
    "os:getcwd": "built-in",
    "json:dumps": "standard library",
    "collections:OrderedDict": "not an Agency",
}

USER_FILE = """
from pathlib import Path

MARK = Path(__file__).with_name("called")

def needs_an_argument(path):
    MARK.write_text("needs_an_argument")

class Settings:
    def __init__(self):
        MARK.write_text("Settings")

count = 3
"""


def refused(done: object, data_dir: Path, *words: str) -> str:
    assert getattr(done, "returncode", None) == 2, (getattr(done, "stdout", ""), getattr(done, "stderr", ""))
    line = one_error_line(getattr(done, "stderr", ""))
    for word in words:
        assert word in line, line
    assert not list(data_dir.glob("sessions/*")), "a refused new must leave nothing behind"
    return line


@pytest.mark.parametrize("spec", NOT_FACTORIES)
def test_a_spec_that_is_not_an_agency_factory_is_refused_uncalled(cli: Run, data_dir: Path, spec: str) -> None:
    done = cli("new", "x", "--agency", spec, "-m", "hi")
    refused(done, data_dir, f"'{spec}'", NOT_FACTORIES[spec], "returns an Agency")


@pytest.mark.parametrize(
    ("attr", "why"),
    [("needs_an_argument", "needs an argument 'path'"), ("Settings", "not an Agency"), ("count", "int")],
)
def test_a_user_file_attribute_that_is_not_a_factory_is_never_called(
    cli: Run, data_dir: Path, tmp_path: Path, attr: str, why: str
) -> None:
    path = write_agency(tmp_path, USER_FILE, "helpers.py")
    done = cli("new", "x", "--agency", f"{path}:{attr}", "-m", "hi")
    refused(done, data_dir, why)
    assert not (tmp_path / "called").exists(), f"{attr} was called"


@pytest.mark.parametrize("variable", ["SWARMCHAT_TIMEOUT", "SWARMCHAT_MAX_RETRIES"])
@pytest.mark.parametrize("value", ["abc", "-5", "nan", "inf", "0x10", "1e999"])
def test_malformed_client_settings_are_refused_before_anything_is_created(
    cli: Run, data_dir: Path, variable: str, value: str
) -> None:
    done = cli("new", "x", "-m", "hi", env={variable: value})
    line = refused(done, data_dir, variable, repr(value), "such as")
    assert "Traceback" not in done.stderr, line


def test_well_formed_client_settings_are_accepted(cli: Run, server: FakeOpenAI) -> None:
    settings = {"SWARMCHAT_TIMEOUT": "2.5", "SWARMCHAT_MAX_RETRIES": "1"}
    done = cli("new", "x", "--base-url", server.url, "-m", "hi", env=settings)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: hi\n"


@pytest.mark.parametrize("spec", [".", "..x", "my agency:create", "pkg..mod"])
def test_a_malformed_spec_is_one_line_saying_what_a_spec_looks_like(cli: Run, data_dir: Path, spec: str) -> None:
    done = cli("new", "--agency", spec, "-m", "hi")
    line = refused(done, data_dir, f"'{spec}' is not an agency SPEC", "package.module[:attr]", "path/to/file.py[:attr]")
    assert "TypeError" not in line and "session:" not in done.stderr  # no generated name for what never existed
