"""The REPL in a real pseudo-terminal, 110 and 60 columns wide, says things as the CLI does (issue 24):
@names that are no agent, /attach of a bad file, /clear in turns, /search that opens a hit, Ctrl-D's
hint, the stored agent from the first prompt; and on a narrow screen numbers are never cut."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from agencies import TWO_AGENTS, write_agency
from conftest import roles
from terminal import ANSI, Terminal
from test_features import (
    answer,
    no_key,  # noqa: F401  (a fixture)
    said,
)
from test_one_voice import words

from swarmchat.session import SessionMeta
from swarmchat.store import open_store

Start = Callable[..., Terminal]


def one_line(screen: str) -> str:
    return " ".join(screen.split())


def leave(t: Terminal) -> str:
    """Ctrl-D, and what the REPL printed as it left."""
    t.exit()
    return one_line(ANSI.sub("", t.child.before or ""))


@pytest.fixture
def team(tmp_path: Path, no_key: None) -> str:  # noqa: F811
    return f"{write_agency(tmp_path, TWO_AGENTS)}:create_agency"


def test_the_repl_at_110_columns(term: Start, team: str, tmp_path: Path) -> None:
    t = term("new", "lab", "--agency", team, "--model", "echo", columns=110)
    t.prompt("Lead")
    t.line("ask Researcher: the tides")
    t.expect("Researcher replied: echo: the tides")
    t.prompt("Lead")

    t.line("@Nobody hi")
    assert "'@Nobody' is not an agent here; nothing was sent. The agents are: Lead, Researcher" in one_line(
        t.expect(re.compile(r"send the line\s+as written"))
    )
    t.prompt("Lead")
    t.line("@res hello")  # a unique prefix: accepted, and it says whom it went to
    t.expect("to Researcher")
    t.expect("echo: hello")
    t.prompt("Lead")
    assert [text for _, text in roles("lab")][-2:] == ["hello", "echo: hello"]

    good = tmp_path / "notes.txt"
    good.write_text("some notes")
    t.line(f"/attach {good} /bin/ls")
    t.expect("none of the 2 files was attached")
    t.prompt("Lead")

    t.line("/clear")
    t.expect("Delete all 2 turns of 'lab'?")
    t.line("n")
    t.expect("nothing was changed")
    t.prompt("Lead")

    t.line("/history")
    t.prompt("Lead")
    shown = words(t.display())
    assert "→ Lead asks Researcher: the tides" in shown and "← Researcher: echo: the tides" in shown
    assert "resume with: swarmchat resume lab" in leave(t)


def test_the_stored_agent_shows_from_the_first_prompt_and_search_opens_a_hit(term: Start, team: str) -> None:
    here = [said("how high is the tide?", "Lead", 1), answer("Two metres.", "Lead", 2), said("@R", "Researcher", 3)]
    open_store().write_new(SessionMeta.fresh("tides", agency=team, model="echo"), here)
    far = [said("where does the albatross fly?", "Lead", 1), answer("Over the southern ocean.", "Lead", 2)]
    open_store().write_new(SessionMeta.fresh("far", agency=team, model="echo"), far)
    t = term("resume", "tides", columns=110)
    t.prompt("Lead")  # the agent the session talks to, from the first prompt on (before the agency is built)
    t.line("/search albatross")
    t.expect("open which? 1-1")
    t.line("1")
    t.expect("Over the southern ocean.")  # the replay of the session switched to
    t.prompt("Lead")
    assert "resume with: swarmchat resume far" in leave(t)
    assert "… › " not in t.text


def test_the_repl_at_60_columns_cuts_names_never_numbers(term: Start, team: str) -> None:
    t = term(
        "new", "a-rather-long-session-name", "--agency", team, "--model", "echo", columns=60, lines=20,
        env={"PAGER": "sed 's/^/paged: /'"},
    )  # fmt: skip
    t.prompt("Lead")
    t.line("hello")
    t.expect("echo: hello")
    t.prompt("Lead")
    screen = t.on_screen(" tokens")  # the toolbar is drawn after the prompt
    toolbar = next(line for line in screen.splitlines() if " tokens" in line)
    assert re.search(r"·\s+[\d,]+ tokens$", toolbar), toolbar  # the numbers whole, the hints left out
    assert toolbar.lstrip().startswith("a-rather-lo") and "…" in toolbar  # the name is cut instead

    t.line("/status")
    t.expect("cost (this run)")
    t.prompt("Lead")
    status = words("\n".join(t.scrollback()))
    assert "model echo" in status
    assert any(re.fullmatch(r"tokens \(session\) [\d,]+ in, [\d,]+ out", line) for line in status), status
    assert "turns 1" in status

    t.line("/help")  # taller than 20 lines: paged
    t.expect(re.compile(r"paged:\s+/help"))
    t.prompt("Lead")
    t.exit()
