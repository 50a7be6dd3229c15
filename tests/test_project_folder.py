"""The first five minutes (issue 23): an ordinary agency-swarm project folder (agency.py with create_agency()
and a .env holding OPENAI_API_KEY) just works, from that folder and from any other; defaults live in a
config file; a missing key costs nothing; "last used" is the last chat.

Every test drives the swarmchat a user runs, in a real folder the test makes, against the scripted server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zygote
from conftest import MARKER_AGENCY, Run, one_error_line, raw_state, stored, write_dated
from fake_openai import FakeOpenAI
from test_import_guard import imported

from swarmchat.session import parse_time
from swarmchat.store import open_store

pytestmark = pytest.mark.timeout(400)  # several processes per test, each paying the imports

SECRET = "sk-from-dotenv-7f3a9c"
LONG_AGO = "2026-01-01T00:00:00.000+00:00"


def agency_source(agent: str) -> str:
    return textwrap.dedent(
        f"""
        from agency_swarm import Agency, Agent

        def create_agency(load_threads_callback=None):
            agent = Agent(name="{agent}", instructions="You are {agent}.")
            return Agency(agent, load_threads_callback=load_threads_callback)
        """
    )


def project(
    tmp_path: Path, server: FakeOpenAI | None = None, *, file: str = "agency.py", agent: str = "Helper"
) -> Path:
    """A project folder as agency-swarm's template makes one: the agency file and a .env with the key."""
    folder = tmp_path / "proj"
    folder.mkdir(exist_ok=True)
    (folder / file).write_text(agency_source(agent))
    env = [f"OPENAI_API_KEY={SECRET}"] + ([f"OPENAI_BASE_URL={server.url}"] if server else [])
    (folder / ".env").write_text("\n".join(env) + "\n")
    return folder


def elsewhere(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    return folder


def sessions(cli: Run) -> dict[str, dict[str, object]]:
    out = cli("list", "--json")
    assert out.returncode == 0, out.stderr
    return {row["name"]: row for row in json.loads(out.stdout)}


def every_stored_byte(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


def test_a_project_folder_is_found_and_its_env_read_never_stored(
    cli: Run, server: FakeOpenAI, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    proj = project(tmp_path, server)
    first = cli("new", "mine", "-m", "hello", cwd=proj)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "echo: hello\n"
    assert "agency.py" in first.stderr and "project folder" in first.stderr  # one quiet line names it
    assert server.last.authorization == f"Bearer {SECRET}"  # the key came from ./.env
    assert {i.get("agent") for i in stored("mine")} == {"Helper"}  # the project's agency, not the built-in one
    assert sessions(cli)["mine"]["agency"] == str((proj / "agency.py").resolve())
    assert SECRET.encode() not in every_stored_byte(data_dir)
    assert SECRET not in first.stdout + first.stderr

    # a variable already set wins over the .env; resume without a name says which session it took
    again = cli("resume", "-m", "again", cwd=proj, env={"OPENAI_API_KEY": "sk-set-by-the-user"})
    assert again.returncode == 0, again.stderr
    assert "resuming mine" in again.stderr
    assert server.last.authorization == "Bearer sk-set-by-the-user"
    assert server.last.user_texts() == ["hello", "again"]


def test_the_built_in_assistant_only_where_no_project_is_found(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    done = cli("new", "plain", "--base-url", server.url, "-m", "hi", cwd=elsewhere(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and sessions(cli)["plain"]["agency"] is None


def test_a_module_spec_resolves_like_uvicorn_and_resumes_from_any_folder(
    cli: Run, server: FakeOpenAI, tmp_path: Path
) -> None:
    proj = project(tmp_path, file="team.py", agent="Planner")
    made = cli(
        "new", "mod", "--agency", "team:create_agency", "--base-url", server.url, "-m", "one", cwd=proj, installed=True
    )
    assert made.returncode == 0, made.stderr
    row = sessions(cli)["mod"]
    assert (row["agency"], row["agency_dir"]) == ("team:create_agency", str(proj.resolve()))
    rel = cli("new", "rel", "--agency", "team.py:create_agency", "--base-url", server.url, "-m", "uno", cwd=proj)
    assert rel.returncode == 0, rel.stderr
    assert sessions(cli)["rel"]["agency"] == f"{(proj / 'team.py').resolve()}:create_agency"

    other = elsewhere(tmp_path)
    for name, first, then in (("mod", "one", "two"), ("rel", "uno", "dos")):
        done = cli("resume", name, "-m", then, cwd=other, installed=True)
        assert done.returncode == 0, done.stderr
        assert server.last.user_texts() == [first, then]
        assert {i.get("agent") for i in stored(name)} == {"Planner"}


@pytest.mark.parametrize("spec", [".", "proj/", "team.py:", "a b:create_agency", "team:1x"])
def test_a_malformed_spec_is_one_line_saying_what_a_spec_looks_like(
    cli: Run, spec: str, tmp_path: Path, data_dir: Path
) -> None:
    for args in (("new", "x", "--agency", spec, "-m", "hi"), ("resume", "x", "--agency", spec, "-m", "hi")):
        done = cli(*args, cwd=elsewhere(tmp_path))
        assert done.returncode == 2
        line = one_error_line(done.stderr)
        assert f"'{spec}' is not an agency SPEC" in line and "path/to/file.py[:attr]" in line
    assert not (data_dir / "sessions").exists() or not any((data_dir / "sessions").iterdir())


def test_no_key_refuses_before_anything_is_created_or_sent(
    cli: Run, server: FakeOpenAI, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    here = elsewhere(tmp_path)
    for args in (("new", "-m", "hi"), ("new", "named", "-m", "hi")):
        done = cli(*args, cwd=here)
        assert done.returncode == 2
        line = one_error_line(done.stderr)
        assert "OPENAI_API_KEY" in line and ".env" in line and "--model echo" in line
    assert sessions(cli) == {}
    assert cli("new", "offline", "--model", "echo", "-m", "hi", cwd=here).stdout == "echo: hi\n"
    local = cli("new", "local", "--base-url", server.url, "-m", "hi", cwd=here)  # a local server needs no key
    assert local.returncode == 0 and server.last.authorization == "Bearer not-needed"

    write_dated(monkeypatch, open_store(), "cloud", LONG_AGO, [{"role": "user", "content": "a"}])
    before = raw_state("", data_dir)
    refused = cli("resume", "cloud", "-m", "more", cwd=here)
    assert refused.returncode == 2 and "OPENAI_API_KEY" in one_error_line(refused.stderr)
    assert raw_state("", data_dir) == before


def test_config_file_precedence_and_origins(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text("# my defaults, kept by set and unset\nmodel = 'cfg-model'\n")
    assert cli("config", "set", "api", "chat").returncode == 0
    assert cli("config", "set", "base_url", server.url).returncode == 0
    assert config.read_text().startswith("# my defaults, kept by set and unset\n")

    shown = cli("config", cwd=elsewhere(tmp_path)).stdout.splitlines()
    assert f"config file {config}:2\tmodel=cfg-model" in shown
    assert f"config file {config}:3\tapi=chat" in shown
    assert "built-in\tagency=(the built-in assistant)" in shown

    here = elsewhere(tmp_path)
    assert cli("new", "c1", "-m", "hi", cwd=here).returncode == 0  # model, API and server from the config file
    assert (server.last.model, server.last.api) == ("cfg-model", "chat")
    assert cli("new", "c2", "-m", "hi", cwd=here, env={"SWARMCHAT_MODEL": "env-model"}).returncode == 0
    assert server.last.model == "env-model"
    assert cli("new", "c3", "--model", "flag-model", "-m", "hi", cwd=here).returncode == 0
    assert server.last.model == "flag-model"
    shown = cli("config", cwd=here, env={"SWARMCHAT_MODEL": "env-model"}).stdout.splitlines()
    assert "environment (SWARMCHAT_MODEL)\tmodel=env-model" in shown

    # the project folder's agency.py beats the config file's agency
    other = tmp_path / "other.py"
    other.write_text(agency_source("Other"))
    assert cli("config", "set", "agency", str(other)).returncode == 0
    assert cli("new", "c4", "-m", "hi", cwd=here).returncode == 0
    assert {i.get("agent") for i in stored("c4")} == {"Other"}
    proj = project(tmp_path)
    assert cli("new", "c5", "-m", "hi", cwd=proj).returncode == 0
    assert {i.get("agent") for i in stored("c5")} == {"Helper"}
    assert f"project folder\tagency={(proj / 'agency.py').resolve()}" in cli("config", cwd=proj).stdout.splitlines()
    assert cli("config", "unset", "agency").returncode == 0 and "agency" not in config.read_text()


def test_the_configs_base_url_applies_only_where_the_session_has_none(
    cli: Run, server: FakeOpenAI, tmp_path: Path
) -> None:
    assert cli("new", "own", "--base-url", server.url, "--model", "m", "-m", "one").returncode == 0
    assert cli("config", "set", "base_url", "http://127.0.0.1:9/v1").returncode == 0  # nothing listens there
    done = cli("resume", "own", "-m", "two")
    assert done.returncode == 0, done.stderr
    assert server.last.user_texts() == ["one", "two"]


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ("model = 'x'\ncolour = 'blue'\n", ":2: unknown key 'colour'"),
        ("model = 'x'\napi = = 1\n", ":2: not valid TOML"),
    ],
)
def test_a_bad_config_file_is_one_line_with_file_line_and_key(
    cli: Run, tmp_path: Path, content: str, where: str
) -> None:
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir()
    config.write_text(content)
    for args in (("config",), ("new", "-m", "hi"), ("list",)):
        done = cli(*args)
        assert done.returncode == 2, done.stdout
        assert f"{config}{where}" in one_error_line(done.stderr)
    assert config.read_text() == content


def test_resume_changes_model_base_url_and_api_for_later_turns(cli: Run, server: FakeOpenAI) -> None:
    assert cli("new", "s", "--base-url", server.url, "--model", "m1", "-m", "one").returncode == 0
    moved = FakeOpenAI().start()  # the local server came back on another port
    url = moved.url
    try:
        done = cli("resume", "s", "--model", "m2", "--base-url", url, "--api", "chat", "-m", "two")
        assert done.returncode == 0, done.stderr
        assert (moved.last.model, moved.last.api, moved.last.user_texts()) == ("m2", "chat", ["one", "two"])
        assert cli("resume", "s", "-m", "three").returncode == 0  # kept for later turns
        assert (moved.last.model, moved.last.api) == ("m2", "chat")
    finally:
        moved.stop()
    row = sessions(cli)["s"]
    assert (row["model"], row["base_url"], row["api"]) == ("m2", url, "chat")


def test_last_used_is_the_last_turn(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store()
    day = timedelta(days=1)
    old = (datetime.now(UTC) - 3 * day).isoformat(timespec="milliseconds")
    newer = (datetime.now(UTC) - 2 * day).isoformat(timespec="milliseconds")
    chat = [{"role": "user", "content": "hotel in Lisbon"}, {"role": "assistant", "content": "Alfama"}]
    write_dated(monkeypatch, store, "old", old, chat)
    write_dated(monkeypatch, store, "newer", newer, chat)
    for args in (("tag", "old", "trip"), ("rename", "old", "older"), ("show", "older"), ("export", "older")):
        assert cli(*args).returncode == 0
    assert "older" in cli("search", "hotel").stdout
    after = parse_time(str(sessions(cli)["older"]["updated_at"]))
    assert after - parse_time(old) < timedelta(seconds=1)  # none of them counted as using it

    done = cli("resume", "-m", "and today?", "--model", "echo")
    assert done.returncode == 0, done.stderr
    assert "resuming newer" in done.stderr and done.stdout == "echo: and today?\n"
    pruned = cli("prune", "--older-than", "2d", "--yes")
    assert "deleted 1 session" in pruned.stdout
    assert sorted(sessions(cli)) == ["newer"]


def test_a_moved_agency_file_keeps_the_repl_open(cli: Run, term, server: FakeOpenAI, tmp_path: Path) -> None:
    proj = project(tmp_path, server)
    assert cli("new", "moved", "-m", "what was said", cwd=proj).returncode == 0
    (proj / "agency.py").rename(proj / "renamed.py")

    t = term("resume", "moved", cwd=elsewhere(tmp_path))
    t.on_screen("echo: what was said")  # the old turns stay readable
    t.printed("not found; if it moved, run 'swarmchat resume moved --agency PATH'")
    t.prompt()
    t.line("are you there?")
    t.printed("not sent:")
    t.prompt()  # still open: what the user types goes to the REPL, not to the shell
    t.line("/export kept.json")
    t.printed("exported to kept.json")
    t.exit()
    exported = json.loads((tmp_path / "elsewhere" / "kept.json").read_text())
    assert exported["messages"][0]["content"] == "what was said"
    assert len(stored("moved")) == 2  # nothing was added or lost

    fixed = cli("resume", "moved", "--agency", "../proj/renamed.py", "-m", "back again", cwd=elsewhere(tmp_path))
    assert fixed.returncode == 0, fixed.stderr  # the fix the line showed
    assert server.last.user_texts() == ["what was said", "back again"]
    assert sessions(cli)["moved"]["agency"] == str((proj / "renamed.py").resolve())


@pytest.mark.slow  # a process of its own
@pytest.mark.parametrize("args", [["list"], ["--help"], ["show", "kept"]])
def test_offline_commands_read_no_env_and_import_no_agency(args: list[str], tmp_path: Path) -> None:
    """Start-up stays fast in a project folder: the agency file is not imported, the .env not read."""
    proj = project(tmp_path)
    (proj / "agency.py").write_text(MARKER_AGENCY)
    write_dated(
        pytest.MonkeyPatch(), open_store(), "kept", "2026-01-01T00:00:00.000+00:00", [{"role": "user", "content": "a"}]
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "swarmchat", *args],
        cwd=proj,
        env={**os.environ, **zygote.in_checkout(proj)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = imported(done.stderr)
    assert "swarmchat.cli" in names  # the log is real
    assert not {n for n in names if n.split(".")[0] in ("dotenv", "agency_swarm", "agents", "openai")}
    assert not (proj / "RAN").exists()


def test_help_teaches(cli: Run) -> None:
    """`--help` opens with how to start; each command's help ends with examples of it."""
    top = cli("--help").stdout
    assert top.index("Getting started") < top.index("Options:")
    for words in ("swarmchat new", "OPENAI_API_KEY", "config file", "project folder", ".env"):
        assert words in top.split("Options:")[0], words
    commands = ["new", "resume", "list", "show", "delete", "rename", "fork", "tag", "export", "import", "search"]
    for command in [*commands, "prune", "config", "config set", "config unset"]:
        shown = cli(*command.split(), "--help").stdout.rstrip().splitlines()
        tail = shown[shown.index("  Examples:") + 1 :]
        assert tail and all(line.strip().startswith(f"swarmchat {command}") for line in tail), (command, shown[-4:])


def test_the_config_files_max_cost_caps_new_sessions(cli: Run, server: FakeOpenAI, tmp_path: Path) -> None:
    """`max_cost` in the config file is a new session's cap (SWARMCHAT_MAX_COST and --max-cost beat it); a
    bad one is one line naming the file, the line and the key."""
    config = tmp_path / "config" / "config.toml"
    here = elsewhere(tmp_path)
    assert cli("config", "set", "max_cost", "$0.50").returncode == 0
    assert "max_cost = 0.5" in config.read_text()
    assert f"config file {config}:1\tmax_cost=0.5" in cli("config", cwd=here).stdout.splitlines()
    for name, extra, env, cap in (
        ("capped", [], {}, 0.5),
        ("by-env", [], {"SWARMCHAT_MAX_COST": "2"}, 2.0),
        ("by-flag", ["--max-cost", "3"], {"SWARMCHAT_MAX_COST": "2"}, 3.0),
    ):
        done = cli("new", name, "--base-url", server.url, *extra, "-m", "hi", cwd=here, env=env)
        assert done.returncode == 0, done.stderr
        assert sessions(cli)[name]["max_cost"] == cap
    config.write_text("model = 'm'\nmax_cost = -1\n")
    bad = cli("new", "never", "--base-url", server.url, "-m", "hi", cwd=here)
    line = one_error_line(bad.stderr)
    assert bad.returncode == 2 and f"{config}:2" in line and "max_cost" in line
    config.unlink()
    assert "never" not in sessions(cli)
