"""The wire protocol of agency-swarm's own FastAPI server (`run_fastapi`): metadata, streamed turns
(SSE), cancel and one-shot replies, over httpx. Every failure becomes one `RemoteAgencyError` line
that says what is wrong and what to do; nothing here knows about sessions or the screen.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import SSEError, aconnect_sse

from swarmchat.errors import RemoteAgencyError, UsageError

TOKEN_ENV = "SWARMCHAT_AGENCY_TOKEN"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0  # between two events of a turn: a model or a tool may think for minutes
CANCEL_TIMEOUT = 20.0
ENDPOINTS = ("get_metadata", "get_response_stream", "cancel_response_stream", "get_response")


@dataclass(frozen=True)
class AgencyUrl:
    """`http(s)://host:port[/prefix]/<agency>` split into the server's base and the agency's name."""

    spec: str
    base: str  # scheme://host:port[/prefix], without a trailing slash
    agency: str  # "" when the URL names none (the server may have only one)
    warnings: list[str] = field(default_factory=list)

    def endpoint(self, name: str, agency: str | None = None) -> str:
        return f"{self.base}/{agency or self.agency}/{name}"

    @property
    def display(self) -> str:
        return f"{self.base}/{self.agency}" if self.agency else self.base


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def parse_url(spec: str) -> AgencyUrl:
    """Check an agency URL (UsageError if it cannot be one) and note what deserves a warning."""
    try:
        parts = urlsplit(spec)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"agency URL '{spec}' is not valid ({exc}); use http(s)://host:port/<agency>") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"agency URL '{spec}' names no host; use http(s)://host:port/<agency>")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(
            f"agency URL '{spec}' carries a query, fragment or credentials; use http(s)://host:port/<agency> "
            f"and put the token in {TOKEN_ENV}"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    origin = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    segments = [s for s in parts.path.split("/") if s]
    warnings = []
    if parts.scheme == "http" and not _loopback(parts.hostname):
        warnings.append(
            f"{spec} is plain http to another machine: the conversation and {TOKEN_ENV} travel unencrypted; use https"
        )
    if len(segments) > 1:
        warnings.append(
            f"the path of {spec} has {len(segments)} parts; taking '{segments[-1]}' as the agency "
            f"served under {origin}/{'/'.join(segments[:-1])}"
        )
    prefix = "".join(f"/{s}" for s in segments[:-1])
    return AgencyUrl(spec, origin + prefix, segments[-1] if segments else "", warnings)


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def agencies_in(openapi: object) -> list[str]:
    """The agencies an agency-swarm server serves, from the paths of its OpenAPI schema."""
    paths = openapi.get("paths") if isinstance(openapi, dict) else None
    names = []
    for path in paths or {}:
        head, _, tail = str(path).strip("/").rpartition("/")
        if tail == "get_response_stream" and head and head not in names:
            names.append(head.rsplit("/", 1)[-1])
    return names


class AgencyClient:
    """One served agency. The token is read from the environment for each request, never stored."""

    def __init__(self, url: AgencyUrl) -> None:
        self.url = url
        read = float(os.environ.get("SWARMCHAT_TIMEOUT") or READ_TIMEOUT)
        self.timeout = httpx.Timeout(connect=CONNECT_TIMEOUT, read=read, write=30.0, pool=CONNECT_TIMEOUT)
        self._client: httpx.AsyncClient | None = None

    def _headers(self) -> dict[str, str]:
        token = os.environ.get(TOKEN_ENV, "").strip()
        return {"Authorization": f"Bearer {token}"} if token else {}

    @property
    def client(self) -> httpx.AsyncClient:
        """One connection pool per event loop (the REPL's, or -m's asyncio.run)."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, trust_env=True)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- metadata ------------------------------------------------------------------------------
    def metadata_sync(self) -> dict[str, Any]:
        """get_metadata, blocking (binding runs in a worker thread or before the event loop)."""
        with httpx.Client(timeout=self.timeout, trust_env=True) as client:
            try:
                if not self.url.agency:
                    self.url = self._only_agency(self._get_json_sync(client, f"{self.url.base}/openapi.json"))
                response = client.get(self.url.endpoint("get_metadata"), headers=self._headers())
            except httpx.HTTPError as exc:
                raise self._transport(exc) from None
            if response.status_code == 404:
                raise self._missing(self._get_json_sync(client, f"{self.url.base}/openapi.json"))
            return self._metadata(response)

    async def metadata(self) -> dict[str, Any]:
        try:
            response = await self.client.get(self.url.endpoint("get_metadata"), headers=self._headers())
            if response.status_code == 404:
                listing = await self.client.get(f"{self.url.base}/openapi.json")
                raise self._missing(_json_or_none(listing))
        except httpx.HTTPError as exc:
            raise self._transport(exc) from None
        return self._metadata(response)

    def _get_json_sync(self, client: httpx.Client, url: str) -> object:
        try:
            return _json_or_none(client.get(url))
        except httpx.HTTPError:
            return None

    def _metadata(self, response: httpx.Response) -> dict[str, Any]:
        self._check(response, "get_metadata")
        data = _json_or_none(response)
        agents = data.get("metadata", {}).get("agents") if isinstance(data, dict) else None
        if not isinstance(agents, list) or not agents:
            raise RemoteAgencyError(
                f"{self.url.display} did not answer as an agency-swarm server (no agents in its get_metadata); "
                "check the URL: http(s)://host:port/<agency> of a run_fastapi server"
            )
        assert isinstance(data, dict)
        return data

    def _only_agency(self, openapi: object) -> AgencyUrl:
        names = agencies_in(openapi)
        if len(names) != 1:
            served = f"it serves: {', '.join(names)}" if names else "it does not say which agencies it serves"
            raise UsageError(f"agency URL '{self.url.spec}' names no agency; {served}; use {self.url.base}/<agency>")
        url = self.url
        warning = f"{url.spec} names no agency; using the server's only one, '{names[0]}'"
        return AgencyUrl(url.spec, url.base, names[0], [*url.warnings, warning])

    def _missing(self, openapi: object) -> RemoteAgencyError:
        names = agencies_in(openapi)
        if names:
            return RemoteAgencyError(
                f"the server at {self.url.base} has no agency '{self.url.agency}'; it serves: {', '.join(names)}; "
                f"use {self.url.base}/<agency>"
            )
        return RemoteAgencyError(
            f"{self.url.display} is not an agency-swarm agency (404 on get_metadata); "
            "check the URL: http(s)://host:port/<agency> of a run_fastapi server"
        )

    # --- turns ---------------------------------------------------------------------------------
    @asynccontextmanager
    async def stream(self, payload: dict[str, Any]) -> AsyncIterator[AsyncIterator[tuple[str, Any]]]:
        """POST get_response_stream; yields the frames as (kind, data): ("meta", run_id), ("event", raw
        event dict), ("error", text), ("messages", the final payload), ("end", None)."""
        try:
            async with aconnect_sse(
                self.client, "POST", self.url.endpoint("get_response_stream"), json=payload, headers=self._headers()
            ) as source:
                response = source.response
                if response.status_code != 200:
                    await response.aread()
                    self._check(response, "get_response_stream")
                yield self._frames(source.aiter_sse())
        except httpx.HTTPError as exc:
            raise self._transport(exc) from None
        except SSEError:
            raise RemoteAgencyError(
                f"{self.url.display} did not answer as an agency-swarm server (no event stream); "
                "check the URL: http(s)://host:port/<agency> of a run_fastapi server"
            ) from None

    async def _frames(self, events: AsyncIterator[Any]) -> AsyncIterator[tuple[str, Any]]:
        async for sse in events:
            if sse.data == "[DONE]" or sse.event == "end":
                yield "end", None
                return
            try:
                data = json.loads(sse.data) if sse.data else None
            except ValueError:
                continue  # not ours to understand (a proxy's note): the stream goes on
            if sse.event == "meta" and isinstance(data, dict):
                yield "meta", str(data.get("run_id") or "")
            elif sse.event == "messages" and isinstance(data, dict):
                yield "messages", data
            elif isinstance(data, dict) and "error" in data:
                yield "error", str(data["error"])
            elif isinstance(data, dict) and isinstance(data.get("data"), dict):
                yield "event", data["data"]

    async def cancel(self, run_id: str) -> list[dict[str, Any]] | None:
        """Stop a run on the server now; the messages it made before it stopped (None if unknown)."""
        try:
            response = await self.client.post(
                self.url.endpoint("cancel_response_stream"),
                json={"run_id": run_id, "cancel_mode": "immediate"},
                headers=self._headers(),
                timeout=httpx.Timeout(CANCEL_TIMEOUT, connect=CONNECT_TIMEOUT),
            )
        except httpx.HTTPError:
            return None
        data = _json_or_none(response)
        messages = data.get("new_messages") if response.status_code == 200 and isinstance(data, dict) else None
        return messages if isinstance(messages, list) else None

    async def get_response(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self.client.post(self.url.endpoint("get_response"), json=payload, headers=self._headers())
        except httpx.HTTPError as exc:
            raise self._transport(exc) from None
        self._check(response, "get_response")
        data = _json_or_none(response)
        if not isinstance(data, dict):
            raise RemoteAgencyError(f"{self.url.display} answered get_response with something that is not JSON")
        if "error" in data:
            raise RemoteAgencyError(f"the agency at {self.url.display} failed: {_flat(str(data['error']))}")
        return data

    # --- errors --------------------------------------------------------------------------------
    def _check(self, response: httpx.Response, endpoint: str) -> None:
        status = response.status_code
        if status == 200:
            return
        detail = _detail(response)
        if status in (401, 403):
            sent = "the token in" if os.environ.get(TOKEN_ENV, "").strip() else "no token: set"
            raise RemoteAgencyError(
                f"the agency server at {self.url.base} refused the request ({status} {detail or 'Unauthorized'}); "
                f"we sent {sent} {TOKEN_ENV}; set it to the server's APP_TOKEN"
            )
        if status == 404:
            raise RemoteAgencyError(
                f"{self.url.display} has no {endpoint} endpoint (404); check the URL and the agency name"
            )
        if status == 422:
            raise RemoteAgencyError(f"the agency server at {self.url.base} rejected the request: {detail}")
        if status >= 500:
            raise RemoteAgencyError(
                f"the agency server at {self.url.base} failed ({status}{': ' + detail if detail else ''}); "
                "check its logs and try again (/retry)"
            )
        raise RemoteAgencyError(f"the agency server at {self.url.base} answered {status} to {endpoint}: {detail}")

    def _transport(self, exc: httpx.HTTPError) -> RemoteAgencyError:
        where = self.url.base
        if isinstance(exc, httpx.ConnectTimeout):
            return RemoteAgencyError(f"the agency server at {where} did not accept a connection in time; is it up?")
        if isinstance(exc, httpx.ConnectError):
            return RemoteAgencyError(
                f"cannot reach the agency server at {where} ({_flat(str(exc)) or 'connection failed'}); "
                "check the URL and that the server runs"
            )
        if isinstance(exc, httpx.ReadTimeout):
            return RemoteAgencyError(
                f"the agency server at {where} sent nothing for {self.timeout.read:.0f} s; "
                "check it and send again (/retry); SWARMCHAT_TIMEOUT sets the wait"
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return RemoteAgencyError(
                f"the agency server at {where} closed the connection mid-reply; "
                "check the server and send again (/retry)"
            )
        return RemoteAgencyError(f"talking to the agency server at {where} failed: {type(exc).__name__}: {exc}")

    def cut(self) -> RemoteAgencyError:
        """The stream ended without the final messages (the server stopped or a proxy cut it)."""
        return RemoteAgencyError(
            f"the agency server at {self.url.base} ended the stream before the reply was complete; "
            "check the server and send again (/retry)"
        )


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: httpx.Response) -> str:
    data = _json_or_none(response)
    if isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        if isinstance(detail, list):  # FastAPI's validation errors
            return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
        return _flat(str(detail))
    if isinstance(data, dict) and "error" in data:
        return _flat(str(data["error"]))
    return _flat(response.text)


def _flat(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
