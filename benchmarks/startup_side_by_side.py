"""`list` and `--help` start-up, this checkout side by side with another revision (default `main`), in one run.

Issue 23 made swarmchat find a project folder (`agency.py`, `.env`) and read a config file; the commands
that only list must not pay for it. Both revisions run the same way, interleaved round by round so that
they meet the same machine: `python -m swarmchat ARGS` from a project folder (an agency.py that would take
seconds to import, and a .env), with a config file present, each revision on its own copy of a data set
of 1,000 sessions (the catalog's columns differ between revisions, so a shared one would be rebuilt).
The other revision is exported with `git archive` into a temporary folder: no branch or worktree is made.

    python benchmarks/startup_side_by_side.py [--against REF] [--runs 15] [--sessions 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_data import many_sessions

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"list": ["list"], "--help": ["--help"]}


def export(ref: str, into: Path) -> Path:
    """The tree of `ref` in `into` (git archive | tar): the other revision's code, untouched by this one."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def project_folder(tmp: Path) -> Path:
    folder = tmp / "project"
    folder.mkdir()
    (folder / "agency.py").write_text("import time\ntime.sleep(5)  # importing this would show\n")
    (folder / ".env").write_text("OPENAI_API_KEY=sk-not-read-by-list\n")
    return folder


def one_run(code: Path, args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "swarmchat", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(code)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{code}: swarmchat {' '.join(args)} exited {done.returncode}: {done.stderr.decode()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", help="the git revision to compare with (default main)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sessions", type=int, default=1000)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="swarmchat-startup-") as raw:
        tmp = Path(raw)
        (tmp / "other").mkdir()
        other = export(opts.against, tmp / "other")
        cwd = project_folder(tmp)
        many_sessions(tmp / "data-this", opts.sessions)
        shutil.copytree(tmp / "data-this", tmp / "data-other")
        (tmp / "config").mkdir()
        (tmp / "config" / "config.toml").write_text("# my defaults\nmodel = 'gpt-4.1-mini'\n")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SWARMCHAT_", "OPENAI_"))}
        base["SWARMCHAT_CONFIG_DIR"] = str(tmp / "config")
        sides = {
            "this checkout": (ROOT, {**base, "SWARMCHAT_DATA_DIR": str(tmp / "data-this")}),
            opts.against: (other, {**base, "SWARMCHAT_DATA_DIR": str(tmp / "data-other")}),
        }
        times: dict[tuple[str, str], list[float]] = {(s, c): [] for s in sides for c in COMMANDS}
        for code, env in sides.values():  # warm: the catalog is built, the bytecode compiled
            for args in COMMANDS.values():
                one_run(code, args, cwd, env)
        for _ in range(opts.runs):
            for command, args in COMMANDS.items():
                for side, (code, env) in sides.items():
                    times[side, command].append(one_run(code, args, cwd, env))
        print(
            f"median of {opts.runs} interleaved runs, {opts.sessions:,} sessions, "
            "in a project folder, config file present"
        )
        print(f"{'command':<10} {'this checkout':>14} {opts.against:>14} {'ratio':>7}")
        for command in COMMANDS:
            mine = statistics.median(times["this checkout", command]) * 1000
            theirs = statistics.median(times[opts.against, command]) * 1000
            print(f"{command:<10} {mine:>11.1f} ms {theirs:>11.1f} ms {mine / theirs:>6.2f}x")


if __name__ == "__main__":
    main()
