"""agency-swarm's own FastAPI server (`run_fastapi` under uvicorn) on a free loopback port, in a
subprocess, for the remote-agency tests; its agents' model is the scripted server (fake_openai.py).

As a script:  python tests/agency_server.py --port PORT NAME=SPEC [NAME=SPEC...]
(SPEC: path/to/file.py:attr or package.module:attr, a factory taking load_threads_callback).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agencies import HANDOFF, TWO_AGENTS, write_agency
from fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent


def load_factory(spec: str) -> Callable[..., Any]:
    module_part, _, attr = spec.rpartition(":")
    if module_part.endswith(".py"):
        loader = importlib.util.spec_from_file_location(Path(module_part).stem, module_part)
        assert loader is not None and loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
    else:
        module = importlib.import_module(module_part)
    factory: Callable[..., Any] = getattr(module, attr)
    return factory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("agencies", nargs="+")
    args = parser.parse_args()
    import uvicorn
    from agency_swarm.integrations.fastapi import run_fastapi

    agencies = {name: load_factory(spec) for name, _, spec in (a.partition("=") for a in args.agencies)}
    app = run_fastapi(agencies=agencies, return_app=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


class AgencyServer:
    """One run_fastapi server; `url(name)` is the SPEC swarmchat takes."""

    def __init__(self, workdir: Path, agencies: dict[str, str], model_url: str, env: dict[str, str]) -> None:
        from redis_server import free_port

        self.port = free_port()
        self.log = workdir / f"agency-server-{self.port}.log"
        environ = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "OPENAI_BASE_URL": model_url,
            "OPENAI_API_KEY": "sk-test-not-real",
            "OPENAI_AGENTS_DISABLE_TRACING": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            **env,
        }
        if "APP_TOKEN" not in env:
            environ.pop("APP_TOKEN", None)
        args = [f"{name}={spec}" for name, spec in agencies.items()]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "--port", str(self.port), *args],
                env=environ,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_up()

    def _wait_up(self, timeout: float = 90) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the agency server exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"the agency server did not come up in {timeout} s:\n{self.log.read_text()[-3000:]}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, agency: str) -> str:
        return f"{self.base}/{agency}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


StartServer = Callable[..., AgencyServer]
ASSISTANT = "swarmchat.default_agency:create_agency"


@pytest.fixture(scope="session")
def shared_agency_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeOpenAI, AgencyServer]]:
    """One scripted model and one run_fastapi server (assistant, helper, team, desk) for every test that does not
    need a server of its own: the server is stateless, and starting one costs agency-swarm's import."""
    work = tmp_path_factory.mktemp("served")
    fake = FakeOpenAI().start()
    agencies = {
        "assistant": ASSISTANT,
        "helper": ASSISTANT,
        "team": f"{write_agency(work, TWO_AGENTS)}:create_agency",
        "desk": f"{write_agency(work, HANDOFF, 'desk.py')}:create_agency",
    }
    srv = AgencyServer(work, agencies, fake.url, {})
    try:
        yield fake, srv
    finally:
        srv.kill()
        fake.stop()


@pytest.fixture
def served(shared_agency_server: tuple[FakeOpenAI, AgencyServer]) -> tuple[FakeOpenAI, AgencyServer]:
    """The shared servers, with the model's script and its record of requests emptied for this test."""
    fake, srv = shared_agency_server
    with fake._lock:
        fake.script.clear()
        fake.requests.clear()
    return fake, srv


@pytest.fixture
def agency_server(tmp_path: Path, server: Any) -> Iterator[StartServer]:
    """Start run_fastapi servers whose agents talk to the scripted model server; killed after the test."""
    started: list[AgencyServer] = []

    def start(agencies: dict[str, str], env: dict[str, str] | None = None) -> AgencyServer:
        srv = AgencyServer(tmp_path, agencies, server.url, env or {})
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.kill()


if __name__ == "__main__":
    main()
