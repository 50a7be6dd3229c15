"""Wording a failed turn: what happened and what to do, in one line, with a kind a screen can act on.

Classified by the SDK's exception types and HTTP status codes; text is matched only when nothing
typed reached us (agency-swarm reports some failures as a message string alone)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from swarmchat.events import TurnError
from swarmchat.safe_text import safe_line

AUTH = TurnError("the model API rejected the API key (401); set OPENAI_API_KEY to a valid key", "auth")
RATE_LIMIT = TurnError("the model API is rate limiting (429); wait a moment and send again (/retry)", "rate_limit")
TIMEOUT = TurnError("the model API did not answer in time; check the server and send again (/retry)", "timeout")
STREAM_CUT = TurnError("the model's reply was cut off mid-stream; send again (/retry)", "stream_cut")
CONNECTION = TurnError(
    "cannot reach the model API (connection failed); check --base-url and that the server runs", "connection"
)
SERVER = TurnError("the model API failed with a server error; try again shortly (/retry)", "server")
CONTEXT_OVERFLOW = TurnError(
    "the conversation is longer than the model's context window; /compact it (or start a new session) and send again",
    "context_overflow",
)

OPENAI_ENDPOINT = "https://api.openai.com"
_OVERFLOW_WORDS = ("context_length_exceeded", "maximum context length", "context window", "context length exceeded")
_STATUS_IN_TEXT = re.compile(r"\b(?:error code|status code|status|http)[:\s]+([1-5]\d\d)\b", re.IGNORECASE)


def classify(exc: BaseException | None, text: str = "", tools: Sequence[str] = ()) -> TurnError:
    """The TurnError for a failure: from the exception when there is one, else from its text. `tools`:
    those the model called last (named when one of them turns out to need approval)."""
    if "ToolApprovalItem" in f"{text} {exc}":
        return needs_approval(tools)
    if exc is not None:
        typed = _typed(exc)
        if typed is not None:
            return typed
        text = text or f"{type(exc).__name__}: {exc}"
    return from_text(text)


def _typed(exc: BaseException) -> TurnError | None:
    import httpx
    import openai
    from agents import exceptions as sdk

    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 404 and (base := _base_url(exc)):
            return not_found(base, _requested_model(exc), exc.code, _server_message(exc))
        return from_status(exc.status_code, exc.code, _server_message(exc))
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return TIMEOUT
    cause = exc.__cause__ if isinstance(exc, openai.APIConnectionError) else exc
    if isinstance(cause, httpx.RemoteProtocolError | httpx.ReadError):
        return STREAM_CUT
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return connection(_endpoint(exc))
    if isinstance(exc, sdk.ModelBehaviorError):
        return TurnError(f"the model's reply could not be used ({_flat(str(exc))}); send again (/retry)", "bad_reply")
    if isinstance(exc, sdk.MaxTurnsExceeded):
        return TurnError(
            "the agents used up their turns without a final answer; send again, or ask for less at once", "failed"
        )
    if isinstance(exc, openai.APIError) and _overflow(exc.code, exc.message):
        return CONTEXT_OVERFLOW  # an error event inside a stream: no HTTP status, but the API's code
    return None


def connection(endpoint: str | None) -> TurnError:
    """Cannot connect: naming the endpoint tried, and what to check there (OpenAI's own, or --base-url)."""
    if not endpoint:
        return CONNECTION
    if endpoint.startswith(OPENAI_ENDPOINT):
        return TurnError(
            f"cannot reach the model API at {endpoint} (connection failed); check your network connection",
            "connection",
        )
    return TurnError(
        f"cannot reach the model API at {endpoint} (connection failed); check that the server runs there "
        "(--base-url sets another)",
        "connection",
    )


def not_found(base: str, model: str | None, code: Any, message: str) -> TurnError:
    """A 404 from the model API at `base`: the model asked for is not served there (what to give instead),
    or nothing answers at that address (the base URL or the API is wrong). One line, safe to print."""
    said = safe_line(message)
    if model and (code == "model_not_found" or "model" in message.lower()):
        return TurnError(
            f"the model API at {base} has no model '{safe_line(model)}' (404: {said}); "
            "give a model it serves with --model NAME (/model NAME in the chat)"
        )
    if base.startswith(OPENAI_ENDPOINT):
        return TurnError(f"the model API at {base} answered 404 ({said}); check --model and --api (responses or chat)")
    return TurnError(
        f"nothing answers at {base} (404: {said}); check --base-url (for most servers it ends in /v1) "
        "and --api (responses or chat)"
    )


def _base_url(exc: BaseException) -> str | None:
    """The base URL the failed request went to: its URL less the operation (/responses, /chat/completions)."""
    url = _request_url(exc)
    if url is None:
        return None
    path = re.sub(r"/(responses|chat/completions|completions)/?$", "", url.path).rstrip("/")
    port = f":{url.port}" if url.port else ""
    return safe_line(f"{url.scheme}://{url.host}{port}{path}")


def _requested_model(exc: BaseException) -> str | None:
    """The model the failed request asked for (from its JSON body), if it can be read."""
    try:
        request = getattr(exc, "request", None)
        body = json.loads(request.content) if request is not None else None
    except (RuntimeError, ValueError, TypeError, AttributeError):  # no request, a streamed body, not JSON
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model else None


def _request_url(exc: BaseException) -> Any:
    try:
        request = getattr(exc, "request", None)  # httpx raises RuntimeError for a request never set
    except RuntimeError:
        return None
    return getattr(request, "url", None)


def _endpoint(exc: BaseException) -> str | None:
    """Where the failed request went: scheme, host and port of its URL (None if it is not known)."""
    url = _request_url(exc)
    if url is None:
        return None
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def needs_approval(tools: Sequence[str]) -> TurnError:
    """A tool made with needs_approval=True was called: the Agents SDK pauses the run for a yes or no,
    which agency-swarm 1.11's streaming cannot do (it fails converting the pending approval)."""
    named = ", ".join(f"'{t}'" for t in dict.fromkeys(tools)) or "a tool"
    return TurnError(
        f"{named} needs approval (needs_approval=True), which agency-swarm's streaming cannot pause for; "
        "the tool did not run: build the agent without needs_approval to use it here"
    )


def from_status(status: int, code: Any, message: str) -> TurnError:
    """An HTTP error answer from the model API."""
    if status in (400, 413) and _overflow(code, message):
        return CONTEXT_OVERFLOW
    if status == 401:
        return AUTH
    if status == 403:
        return TurnError(f"the model API refused access (403): {message}; check the API key and the model", "auth")
    if status == 429:
        return RATE_LIMIT
    if status >= 500:
        return SERVER
    if status == 404:
        return TurnError(f"the model API has no such model or endpoint (404): {message}; check --model and --base-url")
    return TurnError(f"the model API refused the request ({status}): {message}")


def from_text(text: str) -> TurnError:
    """Only a message string: status codes matched as `Error code: 500`-style numbers, never digits
    inside other numbers ("8500 tokens" is not a server error)."""
    low = text.lower()
    if _overflow(None, low):
        return CONTEXT_OVERFLOW
    status = _STATUS_IN_TEXT.search(text)
    if status:
        return from_status(int(status.group(1)), None, _flat(text))
    if any(w in low for w in ("invalid_api_key", "incorrect api key", "invalid api key", "authentication")):
        return AUTH
    if any(w in low for w in ("rate limit", "rate_limit", "ratelimit", "quota")):
        return RATE_LIMIT
    if "timed out" in low or re.search(r"\btimeout\b", low):
        return TIMEOUT
    if any(w in low for w in ("peer closed", "incomplete chunked read", "remoteprotocolerror", "connection reset")):
        return STREAM_CUT
    if any(w in low for w in ("connection error", "connection refused", "connecterror", "name or service not known")):
        return CONNECTION
    if any(w in low for w in ("internal server error", "bad gateway", "service unavailable", "gateway timeout")):
        return SERVER
    return TurnError(f"the model API failed: {_flat(text)}")


def _overflow(code: Any, message: str) -> bool:
    return code == "context_length_exceeded" or any(w in message.lower() for w in _OVERFLOW_WORDS)


def _server_message(exc: Any) -> str:
    """The API's own message (the body's `message`), not the "Error code: 400 - {...}" repr."""
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    return _flat(str(message or exc.message))


def _flat(text: str) -> str:
    return " ".join(text.split())[:200]
