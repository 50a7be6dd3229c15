"""An impostor of agency-swarm's `run_fastapi` server on 127.0.0.1: it speaks the same endpoints
(get_metadata, get_response_stream as SSE, cancel_response_stream) but sends what the test tells it to,
so a client can be tried against a server that lies or sends junk.

    imp = Impostor(words=["Hello", " there"], new_messages=[...]).start(); ... imp.url ...; imp.stop()

or the `impostor` fixture (a plugin of conftest.py): set its fields, then `impostor.start()`.

With `hold` set, the stream stops after its words and waits for the cancel (whose answer is `cancelled`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from fake_openai import _Handler as JsonHandler

AGENT = "Assistant"


@dataclass
class Impostor:
    words: list[str] = field(default_factory=lambda: ["Hi", " there."])
    new_messages: list[Any] | None = None  # the final `messages` frame's new_messages (None: no frame)
    hold: bool = False  # stop after the words and wait for a cancel
    cancelled: Any = None  # the cancel endpoint's new_messages
    refuse: str = ""  # answer every request 401 with this detail
    requests: list[dict[str, Any]] = field(default_factory=list)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _httpd: ThreadingHTTPServer | None = None

    def start(self) -> Impostor:
        impostor = self

        class Handler(_Handler):
            owner = impostor

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._cancel.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/agency"


@pytest.fixture
def impostor() -> Iterator[Impostor]:
    imp = Impostor()
    yield imp
    imp.stop()


def server_user(text: str) -> dict[str, Any]:
    """The user's message as the server's agency-swarm stored it."""
    return {"role": "user", "content": text, "type": "message", "agent": AGENT, "callerAgent": None,
            "timestamp": 1, "agent_run_id": "run-1"}  # fmt: skip


def reply(text: str) -> dict[str, Any]:
    return {"id": "msg_9", "type": "message", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}], "agent": AGENT,
            "callerAgent": None, "timestamp": 2}  # fmt: skip


def delta(text: str) -> dict[str, Any]:
    """A text delta as run_fastapi serializes agency-swarm's stream event."""
    data = {"type": "response.output_text.delta", "delta": text}
    return {"type": "raw_response_event", "agent": AGENT, "callerAgent": None, "data": data}


class _Handler(JsonHandler):
    """The scripted model server's handler (quiet, `_json`) answering agency-swarm's endpoints instead."""

    owner: Impostor
    protocol_version = "HTTP/1.0"  # the stream ends when the connection closes

    def do_GET(self) -> None:
        if self.owner.refuse:
            self._json(401, {"detail": self.owner.refuse})
        elif self.path.endswith("/get_metadata"):
            self._json(200, {"metadata": {"agents": [AGENT], "entryPoints": [AGENT]}, "nodes": []})
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.owner.requests.append(body)
        if self.path.endswith("/cancel_response_stream"):
            self.owner._cancel.set()
            self._json(200, {"ok": True, "run_id": body.get("run_id"), "new_messages": self.owner.cancelled})
        elif self.path.endswith("/get_response_stream"):
            self._stream()
        else:
            self._json(404, {"detail": "Not Found"})

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self._event({"run_id": "run-1"}, "meta")
        for word in self.owner.words:
            self._event({"data": delta(word)})
        if self.owner.hold:
            self.owner._cancel.wait(60)
            return
        if self.owner.new_messages is not None:
            usage = {"input_tokens": 5, "output_tokens": 3, "requests": 1}
            self._event({"new_messages": self.owner.new_messages, "usage": usage}, "messages")
        self.wfile.write(b"event: end\ndata: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, data: dict[str, Any], event: str | None = None) -> None:
        head = f"event: {event}\n" if event else ""
        self.wfile.write(f"{head}data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()
