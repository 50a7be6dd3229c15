"""Fast unit tests: a failed turn is worded from the SDK's exception type and HTTP status, built here as
the openai client builds them (real exception classes around real httpx responses); text is matched only
when nothing typed exists, and then never inside other numbers."""

from __future__ import annotations

import httpx
import openai
import pytest
from agents.exceptions import MaxTurnsExceeded, ModelBehaviorError

from swarmchat.agency.errors import classify

URL = "http://127.0.0.1:9/v1/responses"
REQUEST = httpx.Request("POST", URL)


def status_error(
    status: int, message: str, code: str | None = None, *, model: str = "m", base_url: str = "http://127.0.0.1:9/v1"
) -> openai.APIStatusError:
    """What openai-python raises when the server answers `status`: a real client call through a public
    httpx MockTransport, so the exception is built exactly as in production (class per status, body)."""
    body = {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}}
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    http = httpx.Client(transport=transport)
    client = openai.OpenAI(api_key="sk-test", base_url=base_url, max_retries=0, http_client=http)
    try:
        client.responses.create(model=model, input="hi")
    except openai.APIStatusError as exc:
        return exc
    raise AssertionError("the client accepted an error answer")


def test_the_client_builds_the_subclass_per_status() -> None:
    assert isinstance(status_error(401, "x"), openai.AuthenticationError)
    assert isinstance(status_error(429, "x"), openai.RateLimitError)
    assert isinstance(status_error(503, "x"), openai.InternalServerError)
    assert status_error(400, "x", "context_length_exceeded").code == "context_length_exceeded"


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (status_error(401, "Incorrect API key provided"), "auth", ["401", "OPENAI_API_KEY"]),
        (status_error(403, "model not allowed"), "auth", ["403", "model not allowed"]),
        (status_error(429, "Rate limit reached"), "rate_limit", ["429", "send again"]),
        (status_error(500, "The server had an error"), "server", ["server error", "try again"]),
        (status_error(502, "bad gateway"), "server", ["server error"]),
        (status_error(404, "no model 'gpt-x'"), "failed", ["404", "no model 'gpt-x'", "--model"]),
        (status_error(422, "weird"), "failed", ["422", "weird"]),
        (status_error(400, "Input exceeds the window", "context_length_exceeded"), "context_overflow", ["/compact"]),
        (status_error(400, "This model's maximum context length is 8192 tokens"), "context_overflow", ["/compact"]),
        (status_error(400, "prompt of 8500 tokens has an invalid field"), "failed", ["400", "8500 tokens"]),
        (openai.APITimeoutError(REQUEST), "timeout", ["did not answer in time"]),
        (openai.APIConnectionError(request=REQUEST), "connection", ["at http://127.0.0.1:9 ", "--base-url"]),
        (httpx.ConnectError("refused", request=REQUEST), "connection", ["cannot reach", "127.0.0.1:9"]),
        (httpx.ReadTimeout("slow", request=REQUEST), "timeout", ["did not answer in time"]),
        (httpx.RemoteProtocolError("peer closed connection", request=REQUEST), "stream_cut", ["cut off"]),
        (ModelBehaviorError("Invalid JSON when parsing tool arguments"), "bad_reply", ["Invalid JSON", "/retry"]),
        (MaxTurnsExceeded("Max turns (10) exceeded"), "failed", ["turns"]),
    ],
)
def test_typed_failures(exc: BaseException, kind: str, words: list[str]) -> None:
    error = classify(exc)
    assert error.kind == kind, error
    for word in words:
        assert word in error.message, error.message
    assert "\n" not in error.message


def test_a_connection_failure_names_the_endpoint_used_not_a_flag_the_user_never_gave() -> None:
    """OpenAI's own endpoint: the network is what to check, not --base-url."""
    official = httpx.Request("POST", "https://api.openai.com/v1/responses")
    error = classify(openai.APIConnectionError(request=official))
    assert error.message == (
        "cannot reach the model API at https://api.openai.com (connection failed); check your network connection"
    )
    local = classify(openai.APIConnectionError(request=REQUEST)).message
    assert "at http://127.0.0.1:9 " in local and "check that the server runs there" in local


def test_a_404_names_the_endpoint_and_the_model_used_and_what_to_do() -> None:
    """Not "check --model and --base-url" whatever was given: where the request went, the model it asked for."""
    official = status_error(
        404,
        "The model `gpt-9` does not exist or you do not have access to it.",
        "model_not_found",
        model="gpt-9",
        base_url="https://api.openai.com/v1",
    )
    assert classify(official).message == (
        "the model API at https://api.openai.com/v1 has no model 'gpt-9' (404: The model `gpt-9` does not exist or "
        "you do not have access to it.); give a model it serves with --model NAME (/model NAME in the chat)"
    )
    local = status_error(404, "model 'llama9' not found", model="llama9", base_url="http://localhost:11434/v1/")
    assert classify(local).message == (
        "the model API at http://localhost:11434/v1 has no model 'llama9' (404: model 'llama9' not found); "
        "give a model it serves with --model NAME (/model NAME in the chat)"
    )
    no_route = status_error(404, "Not Found", base_url="http://localhost:8000")
    assert classify(no_route).message == (
        "nothing answers at http://localhost:8000 (404: Not Found); check --base-url (for most servers it ends in "
        "/v1) and --api (responses or chat)"
    )


def test_a_404_line_is_safe_to_print() -> None:
    """The model name and the server's message are one line, with no escape sequence acted upon."""
    error = classify(status_error(404, "no model\x1b]0;pwned\x07 here\nreally", model="gpt\x1b[2Jx"))
    assert "\x1b" not in error.message and "\x07" not in error.message and "\n" not in error.message
    assert error.message.startswith("the model API at http://127.0.0.1:9/v1 has no model 'gpt")


def test_a_stream_cut_wrapped_in_a_connection_error_is_a_cut() -> None:
    wrapped = openai.APIConnectionError(request=REQUEST)
    wrapped.__cause__ = httpx.RemoteProtocolError("incomplete chunked read", request=REQUEST)
    assert classify(wrapped).kind == "stream_cut"


def test_an_error_event_inside_a_stream_is_typed_by_its_code() -> None:
    exc = openai.APIError("Your input exceeds the context window of this model", REQUEST, body=None)
    assert classify(exc).kind == "context_overflow"


def test_the_exception_wins_over_the_text() -> None:
    """agency-swarm's text says "Error code: 500"; the exception, when reachable, decides."""
    assert classify(status_error(429, "slow down"), "Error code: 500 - boom").kind == "rate_limit"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Error code: 500 - {'error': {'message': 'boom'}}", "server"),
        ("Error code: 401 - {'error': {'code': 'invalid_api_key'}}", "auth"),
        ("Error code: 429 - too many requests", "rate_limit"),
        ("Error code: 400 - {'error': {'code': 'context_length_exceeded'}}", "context_overflow"),
        ("This model's maximum context length is 128000 tokens", "context_overflow"),
        ("Request timed out.", "timeout"),
        ("Connection error.", "connection"),
        ("peer closed connection without sending complete message body (incomplete chunked read)", "stream_cut"),
        ("503 Service Unavailable", "server"),
        # numbers that merely contain a status code are not one
        ("the prompt has 8500 tokens and the tool returned nothing", "failed"),
        ("tool output 4010 chars, 4290 ms", "failed"),
        ("model gpt-500x refused the tool schema", "failed"),
    ],
)
def test_text_only_failures(text: str, kind: str) -> None:
    assert classify(None, text).kind == kind, classify(None, text)


def test_an_unknown_failure_quotes_the_text_on_one_line() -> None:
    error = classify(None, "something\n  odd   happened " + "x" * 500)
    assert error.kind == "failed"
    assert error.message.startswith("the model API failed: something odd happened x")
    assert "\n" not in error.message and len(error.message) < 260


def test_an_unknown_exception_falls_back_to_its_text() -> None:
    assert classify(RuntimeError("Error code: 503 - down")).kind == "server"
    assert classify(ValueError("8500 tokens")).message == "the model API failed: ValueError: 8500 tokens"
