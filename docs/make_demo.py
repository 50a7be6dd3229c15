"""Record docs/demo.svg: a real swarmchat session, in a real pseudo-terminal, against the scripted server.

    python docs/make_demo.py            # needs the test extras (pexpect, pyte)

The two-agent agency, the REPL and agency-swarm are all real; only the model's words are scripted.
The final screen is read through a VT100 emulator and drawn with rich's SVG export.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from agencies import TWO_AGENTS, write_agency  # noqa: E402
from fake_openai import FakeOpenAI, Reply, send_message  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.style import Style  # noqa: E402
from rich.text import Text  # noqa: E402
from terminal import Terminal  # noqa: E402

ROWS, COLUMNS = 30, 100
NAMED = {"brown": "yellow", "default": None}


def color(name: str) -> str | None:
    if name in NAMED:
        return NAMED[name]
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return f"#{name}"
    return name.replace("bright", "bright_") if name.startswith("bright") else name


def screen_text(term: Terminal) -> Text:
    screen = term.screen
    out = Text()
    last = max((y for y in range(screen.lines) if screen.display[y].strip()), default=0)
    for y in range(last + 1):
        row = screen.buffer[y]
        for x in range(screen.columns):
            char = row[x]
            fg, bg = color(char.fg), color(char.bg)
            if char.reverse:
                fg, bg = bg or "black", fg or "white"
            out.append(char.data, Style(color=fg, bgcolor=bg, bold=char.bold, italic=char.italics, dim=False))
        out.rstrip()
        out.append("\n")
    return out


def main() -> None:
    server = FakeOpenAI().start()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(SWARMCHAT_DATA_DIR=f"{tmp}/data", OPENAI_API_KEY="demo", OPENAI_AGENTS_DISABLE_TRACING="1")
        write_agency(Path(tmp), TWO_AGENTS, "team.py")
        os.chdir(tmp)
        spec = "team.py:create_agency"
        term = Terminal("new", "boiling", "--agency", spec, "--base-url", server.url, "--model", "gpt-4o")
        term.child.setwinsize(ROWS, COLUMNS)
        term.screen.resize(ROWS, COLUMNS)
        try:
            term.prompt("Lead")
            server.push(
                Reply(tool_calls=[send_message("Researcher", "At what temperature does water boil at 3,000 m?")]),
                Reply("About **90 °C**: air pressure there is ~70 kPa.", delay=0.02),
                Reply(
                    "Water boils at **about 90 °C** at 3,000 m.\n\n"
                    "- lower pressure, lower boiling point\n- cook pasta a little longer",
                    delay=0.02,
                ),
            )
            term.line("How hot is boiling water on a 3,000 m mountain?")
            term.expect("a little longer")
            term.prompt("Lead")
            term.line("/status")
            term.expect("cost")
            term.prompt("Lead")
            for _ in range(20):  # let the prompt's toolbar settle
                term._read(0.05)
            console = Console(record=True, width=COLUMNS, file=open(os.devnull, "w"))  # noqa: SIM115
            console.print(screen_text(term))
            console.save_svg(str(ROOT / "docs" / "demo.svg"), title="swarmchat new boiling --agency team.py")
        finally:
            term.close()
            server.stop()
    print("wrote docs/demo.svg")


if __name__ == "__main__":
    main()
