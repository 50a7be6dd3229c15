"""A scripted OpenAI-compatible server on 127.0.0.1 for tests and benchmarks.

It speaks the Responses API (JSON and SSE streaming, text and function calls) and Chat Completions
(JSON and streaming with tool calls), records every request body, and plays a script of replies in
order; with the script empty it answers "echo: <last user text>". Replies can fail (any HTTP status),
hang, stream slowly, or cut the connection mid-stream, so fault handling is tested for real. A reply can
reason first (streamed reasoning summaries, as reasoning models do), and with `max_input_items` set the
server answers 400 `context_length_exceeded` to any request carrying more input items than that.

In-process:   srv = FakeOpenAI([Reply("hi")]).start(); ... srv.url ...; srv.stop()
Standalone:   python tests/fake_openai.py --port-file PORT [--script replies.json] [--words N --delay S]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


@dataclass
class ToolCall:
    """A function call the model makes, e.g. agency-swarm's send_message."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    call_id: str = field(default_factory=lambda: _id("call"))

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


def send_message(recipient: str, message: str) -> ToolCall:
    """The call an agency-swarm agent makes to delegate to another agent."""
    return ToolCall("send_message", {"recipient_agent": recipient, "message": message, "additional_instructions": ""})


@dataclass
class Reply:
    """One scripted model answer.

    status: an HTTP status other than 200 answers with an OpenAI-style error body instead.
    chunks: how many stream deltas the text is split into (default: one per word).
    delay: seconds between stream deltas; hang: seconds to wait before answering at all.
    cut_after: close the connection abruptly after this many text deltas (a stream cut).
    reasoning: summary paragraphs streamed before the answer (Responses: a reasoning item with
    `response.reasoning_summary_*` events; Chat Completions: `reasoning_content` deltas).
    """

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    status: int = 200
    error: str = "scripted failure"
    chunks: int | None = None
    delay: float = 0.0
    hang: float = 0.0
    cut_after: int | None = None
    usage: tuple[int, int] = (12, 7)
    reasoning: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        calls = [ToolCall(**c) for c in data.pop("tool_calls", [])]
        if "usage" in data:
            data["usage"] = tuple(data["usage"])
        return cls(tool_calls=calls, **data)

    def pieces(self) -> list[str]:
        if not self.text:
            return []
        words = re.findall(r"\S+\s*|\s+", self.text)
        if self.chunks is None or self.chunks >= len(words):
            return words
        size = -(-len(words) // self.chunks)
        return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


@dataclass
class Request:
    """A request the server received."""

    path: str
    body: dict[str, Any]
    authorization: str = ""  # the Authorization header: which API key the client sent

    @property
    def api(self) -> str:
        return "chat" if self.path.endswith("/chat/completions") else "responses"

    @property
    def instructions(self) -> str:
        if self.api == "responses":
            return str(self.body.get("instructions") or "")
        return "\n".join(_text(m.get("content")) for m in self.body.get("messages", []) if m.get("role") == "system")

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def tool_names(self) -> list[str]:
        names = []
        for tool in self.body.get("tools") or []:
            names.append(tool.get("name") or tool.get("function", {}).get("name", ""))
        return names

    @property
    def input_count(self) -> int:
        """How many input items (Responses) or messages (Chat Completions) the request carries."""
        raw = self.body.get("input") if self.api == "responses" else self.body.get("messages")
        return len(raw) if isinstance(raw, list) else 1

    def messages(self) -> list[tuple[str, str]]:
        """(role, text) of every user/assistant message sent, in order, for either API."""
        raw = self.body.get("input") if self.api == "responses" else self.body.get("messages")
        if isinstance(raw, str):
            return [("user", raw)]
        out = []
        for item in raw or []:
            role = item.get("role")
            if role in ("user", "assistant") and item.get("type", "message") == "message":
                text = _text(item.get("content"))
                if text:
                    out.append((role, text))
        return out

    def user_texts(self) -> list[str]:
        return [text for role, text in self.messages() if role == "user"]

    def transcript(self) -> str:
        """Everything sent, as one string, to assert that some text reached the model."""
        return json.dumps(self.body, ensure_ascii=False)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


class FakeOpenAI:
    """The server. `script` replies are used in order; `respond` (request → Reply) overrides."""

    def __init__(
        self,
        script: list[Reply] | None = None,
        respond: Callable[[Request], Reply | None] | None = None,
        model_name: str = "fake-model",
        max_input_items: int | None = None,
    ) -> None:
        self.script: list[Reply] = list(script or [])
        self.respond = respond
        self.model_name = model_name
        self.max_input_items = max_input_items
        """Answer 400 context_length_exceeded when a request carries more input items than this."""
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- control ---------------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self) -> int:
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to hand to swarmchat (`--base-url`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    @property
    def last(self) -> Request:
        return self.requests[-1]

    # --- behaviour -------------------------------------------------------------------------------
    def _next(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.respond:
                reply = self.respond(request)
                if reply is not None:
                    return reply
            if self.script:
                return self.script.pop(0)
        users = request.user_texts()
        return Reply(f"echo: {users[-1] if users else ''}")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": self.fake.model_name, "object": "model"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?")[0].rstrip("/")
        if not (path.endswith("/responses") or path.endswith("/chat/completions")):
            self._json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
            return
        request = Request(path, body, self.headers.get("Authorization", ""))
        limit = self.fake.max_input_items
        if limit is not None and request.input_count > limit:
            with self.fake._lock:
                self.fake.requests.append(request)
            message = f"This model's maximum context length is {limit} items; your input has {request.input_count}"
            error = {"message": message, "type": "invalid_request_error", "code": "context_length_exceeded"}
            self._json(400, {"error": {**error, "param": "input" if request.api == "responses" else "messages"}})
            return
        reply = self.fake._next(request)
        if reply.hang:
            time.sleep(reply.hang)
        if reply.status != 200:
            kind = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(reply.status, "server_error")
            self._json(reply.status, {"error": {"message": reply.error, "type": kind, "code": kind, "param": None}})
            return
        stream = bool(body.get("stream"))
        model = str(body.get("model") or self.fake.model_name)
        if request.api == "responses":
            if stream:
                self._sse(_responses_events(reply, model))
            else:
                self._json(200, _response_object(reply, model, _id("resp"), "completed"))
        elif stream:
            self._sse(_chat_chunks(reply, model), done_marker=True)
        else:
            self._json(200, _chat_completion(reply, model))

    # --- wire ------------------------------------------------------------------------------------
    def _json(self, status: int, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _sse(self, events: Any, done_marker: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for kind, data in events:
                if kind == "cut":  # drop the connection in the middle of the chunked body
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if kind == "sleep":
                    time.sleep(data)
                    continue
                line = (f"event: {kind}\n" if kind != "chunk" else "") + f"data: {json.dumps(data)}\n\n"
                self._chunk(line.encode())
            if done_marker:
                self._chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client went away (cancel, kill)
            self.close_connection = True

    def _chunk(self, raw: bytes) -> None:
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()


# --- Responses API -----------------------------------------------------------------------------------
def _usage_responses(reply: Reply) -> dict[str, Any]:
    i, o = reply.usage
    return {
        "input_tokens": i,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": o,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": i + o,
    }


def _message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content = (
        [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []
    )
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _call_item(item_id: str, call: ToolCall, status: str) -> dict[str, Any]:
    args = call.arguments_json if status == "completed" else ""
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.call_id,
        "name": call.name,
        "arguments": args,
        "status": status,
    }


def _reasoning_item(item_id: str, parts: list[str]) -> dict[str, Any]:
    return {"type": "reasoning", "id": item_id, "summary": [{"type": "summary_text", "text": t} for t in parts]}


def _output(reply: Reply, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    if reply.reasoning:
        out.append(_reasoning_item(f"rs_{ids[0]}", reply.reasoning))
    if reply.text:
        out.append(_message_item(ids[0], reply.text, "completed"))
    for call, item_id in zip(reply.tool_calls, ids[1:], strict=False):
        out.append(_call_item(item_id, call, "completed"))
    return out


def _response_object(
    reply: Reply, model: str, resp_id: str, status: str, ids: list[str] | None = None
) -> dict[str, Any]:
    ids = ids or [_id("msg")] + [_id("fc") for _ in reply.tool_calls]
    done = status == "completed"
    return {
        "id": resp_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": _output(reply, ids) if done else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "metadata": {},
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "usage": _usage_responses(reply) if done else None,
    }


def _responses_events(reply: Reply, model: str) -> Any:
    seq = itertools.count()
    resp_id = _id("resp")
    ids = [_id("msg")] + [_id("fc") for _ in reply.tool_calls]

    def ev(kind: str, **data: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, "sequence_number": next(seq), **data}

    yield ev("response.created", response=_response_object(reply, model, resp_id, "in_progress", ids))
    yield ev("response.in_progress", response=_response_object(reply, model, resp_id, "in_progress", ids))
    index = 0
    if reply.reasoning:
        rs_id = f"rs_{ids[0]}"
        yield ev("response.output_item.added", output_index=0, item=_reasoning_item(rs_id, []))
        for n, text in enumerate(reply.reasoning):
            part: dict[str, Any] = {"type": "summary_text", "text": ""}
            where = {"item_id": rs_id, "output_index": 0, "summary_index": n}
            yield ev("response.reasoning_summary_part.added", **where, part=part)
            for piece in re.findall(r"\S+\s*|\s+", text):
                if reply.delay:
                    yield "sleep", reply.delay
                yield ev("response.reasoning_summary_text.delta", **where, delta=piece)
            yield ev("response.reasoning_summary_text.done", **where, text=text)
            yield ev("response.reasoning_summary_part.done", **where, part={**part, "text": text})
        yield ev("response.output_item.done", output_index=0, item=_reasoning_item(rs_id, reply.reasoning))
        index = 1
    if reply.text:
        msg_id = ids[0]
        yield ev("response.output_item.added", output_index=index, item=_message_item(msg_id, "", "in_progress"))
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        yield ev("response.content_part.added", item_id=msg_id, output_index=index, content_index=0, part=part)
        for n, piece in enumerate(reply.pieces()):
            if reply.cut_after is not None and n >= reply.cut_after:
                yield "cut", None
                return
            if reply.delay and n:
                yield "sleep", reply.delay
            yield ev(
                "response.output_text.delta",
                item_id=msg_id,
                output_index=index,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        yield ev(
            "response.output_text.done",
            item_id=msg_id,
            output_index=index,
            content_index=0,
            text=reply.text,
            logprobs=[],
        )
        part = {**part, "text": reply.text}
        yield ev("response.content_part.done", item_id=msg_id, output_index=index, content_index=0, part=part)
        yield ev("response.output_item.done", output_index=index, item=_message_item(msg_id, reply.text, "completed"))
        index += 1
    for call, item_id in zip(reply.tool_calls, ids[1:], strict=False):
        yield ev("response.output_item.added", output_index=index, item=_call_item(item_id, call, "in_progress"))
        args = call.arguments_json
        yield ev("response.function_call_arguments.delta", item_id=item_id, output_index=index, delta=args)
        yield ev("response.function_call_arguments.done", item_id=item_id, output_index=index, arguments=args)
        yield ev("response.output_item.done", output_index=index, item=_call_item(item_id, call, "completed"))
        index += 1
    yield ev("response.completed", response=_response_object(reply, model, resp_id, "completed", ids))


# --- Chat Completions --------------------------------------------------------------------------------
def _usage_chat(reply: Reply) -> dict[str, int]:
    i, o = reply.usage
    return {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}


def _chat_completion(reply: Reply, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments_json}}
            for c in reply.tool_calls
        ]
    return {
        "id": _id("chatcmpl"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
        "usage": _usage_chat(reply),
    }


def _chat_chunks(reply: Reply, model: str) -> Any:
    cid = _id("chatcmpl")
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> tuple[str, dict[str, Any]]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return "chunk", {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [choice]}  # fmt: skip

    for n, text in enumerate(reply.reasoning):  # as DeepSeek-style servers stream their reasoning
        for piece in re.findall(r"\S+\s*|\s+", ("\n\n" if n else "") + text):
            if reply.delay:
                yield "sleep", reply.delay
            yield chunk({"role": "assistant", "content": None, "reasoning_content": piece})
    yield chunk({"role": "assistant", "content": ""})
    for n, piece in enumerate(reply.pieces()):
        if reply.cut_after is not None and n >= reply.cut_after:
            yield "cut", None
            return
        if reply.delay and n:
            yield "sleep", reply.delay
        yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        fn = {"name": call.name, "arguments": call.arguments_json}
        yield chunk({"tool_calls": [{"index": index, "id": call.call_id, "type": "function", "function": fn}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    usage = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": []}
    yield "chunk", {**usage, "usage": _usage_chat(reply)}


# --- standalone --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, help="write the chosen port here once listening")
    parser.add_argument("--script", type=Path, help="JSON list of replies (Reply fields)")
    parser.add_argument("--words", type=int, default=0, help="default reply: N words instead of an echo")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds between deltas of the default reply")
    parser.add_argument("--max-input-items", type=int, help="answer 400 context_length_exceeded above this many")
    parser.add_argument("--log", type=Path, help="append each request body here as a JSON line")
    args = parser.parse_args()
    script = [Reply.from_json(d) for d in json.loads(args.script.read_text())] if args.script else []

    def respond(request: Request) -> Reply | None:
        if args.log:
            with args.log.open("a") as f:
                f.write(json.dumps({"path": request.path, "body": request.body}) + "\n")
        if args.words and not srv.script:
            return Reply(" ".join(f"word{i}" for i in range(args.words)), delay=args.delay)
        return None

    srv = FakeOpenAI(script, respond=respond, max_input_items=args.max_input_items).start(args.port)
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(srv.port))
        tmp.rename(args.port_file)
    print(f"fake OpenAI server on {srv.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
