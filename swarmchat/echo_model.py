"""The built-in `echo` model (`--model echo`): try swarmchat with no API key and no network.

An Agents SDK `Model` that streams the user's last message back ("echo: ..."), and delegates when
asked: a message of the form `ask <Agent>: <task>` makes an agent that can talk to <Agent> call its
`send_message` tool (or hand off, in a Handoff flow), and it then replies with what <Agent> said.
So the REPL, the delegation view, sessions and resume all run for real, only the model is fake.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from agents import FunctionTool, Handoff, ModelResponse, Usage
from agents.models.interface import Model, ModelTracing
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseStreamEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

if TYPE_CHECKING:
    from agents import AgentOutputSchemaBase, ModelSettings, Tool, TResponseInputItem
    from openai.types.responses.response_prompt_param import ResponsePromptParam

NAME = "echo"
ASK = re.compile(r"^\s*ask\s+([^\s:]+)\s*:\s*(.+)$", re.IGNORECASE | re.DOTALL)
STREAM_SECONDS = 0.6  # the longest a reply takes to stream, so it can be watched (and interrupted)


def maybe_echo(model: str | None) -> EchoModel | None:
    """The echo model when the session asked for it, else None (a real model is configured)."""
    return EchoModel() if model == NAME else None


def configure(agency: Any, model: str | None) -> bool:
    """Put every agent of `agency` on the echo model if `model` names it; whether it did."""
    echo = maybe_echo(model)
    if echo is None:
        return False
    for agent in agency.agents.values():
        agent.model = echo
    return True


class EchoModel(Model):
    """Answers from the input alone: no client, no key, no network."""

    model = NAME  # read where the model's name is shown (toolbar, /status)

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        response = _respond(input, tools, handoffs)
        usage = response.usage
        assert usage is not None
        return ModelResponse(
            output=response.output,
            usage=Usage(
                requests=1,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
            ),
            response_id=response.id,
        )

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[ResponseStreamEvent]:
        """The events the Responses API streams, in its order, for one message or one tool call."""
        response = _respond(input, tools, handoffs)
        item = response.output[0]
        seq = iter(range(1_000_000))
        started = response.model_copy(update={"output": [], "usage": None, "status": "in_progress"})
        yield ResponseCreatedEvent(type="response.created", response=started, sequence_number=next(seq))
        if isinstance(item, ResponseFunctionToolCall):
            pending = item.model_copy(update={"arguments": "", "status": "in_progress"})
            yield ResponseOutputItemAddedEvent(
                type="response.output_item.added", item=pending, output_index=0, sequence_number=next(seq)
            )
            item_id = item.id or ""
            yield ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                delta=item.arguments,
                item_id=item_id,
                output_index=0,
                sequence_number=next(seq),
            )
            yield ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                arguments=item.arguments,
                name=item.name,
                item_id=item_id,
                output_index=0,
                sequence_number=next(seq),
            )
        else:
            assert isinstance(item, ResponseOutputMessage)
            text = "".join(p.text for p in item.content if isinstance(p, ResponseOutputText))
            empty = ResponseOutputText(type="output_text", text="", annotations=[])
            pending_msg = item.model_copy(update={"content": [], "status": "in_progress"})
            yield ResponseOutputItemAddedEvent(
                type="response.output_item.added", item=pending_msg, output_index=0, sequence_number=next(seq)
            )
            yield ResponseContentPartAddedEvent(
                type="response.content_part.added",
                content_index=0,
                item_id=item.id,
                output_index=0,
                part=empty,
                sequence_number=next(seq),
            )
            chunks = re.findall(r"\s*\S+", text) or [text]
            pause = STREAM_SECONDS / max(len(chunks), 30)
            for chunk in chunks:
                await asyncio.sleep(pause)
                yield ResponseTextDeltaEvent(
                    type="response.output_text.delta",
                    content_index=0,
                    delta=chunk,
                    item_id=item.id,
                    logprobs=[],
                    output_index=0,
                    sequence_number=next(seq),
                )
            yield ResponseTextDoneEvent(
                type="response.output_text.done",
                content_index=0,
                item_id=item.id,
                logprobs=[],
                output_index=0,
                text=text,
                sequence_number=next(seq),
            )
            yield ResponseContentPartDoneEvent(
                type="response.content_part.done",
                content_index=0,
                item_id=item.id,
                output_index=0,
                part=item.content[0],
                sequence_number=next(seq),
            )
        yield ResponseOutputItemDoneEvent(
            type="response.output_item.done", item=item, output_index=0, sequence_number=next(seq)
        )
        yield ResponseCompletedEvent(type="response.completed", response=response, sequence_number=next(seq))


def _respond(input: str | list[TResponseInputItem], tools: list[Tool], handoffs: list[Handoff]) -> Response:
    """The whole answer to `input`: a delegation's result passed on, a delegation, or the echo."""
    items: list[Any] = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
    asked = [n for n, i in enumerate(items) if _is_user(i)]
    said = _text(_get(items[asked[-1]], "content")) if asked else ""
    answered = [n for n, i in enumerate(items) if _get(i, "type") == "function_call_output"]
    output: ResponseFunctionToolCall | ResponseOutputMessage | None = None
    if answered and (not asked or answered[-1] > asked[-1]):  # this turn's delegation came back
        result = items[answered[-1]]
        recipient = _recipient(items, str(_get(result, "call_id")))
        if recipient is not None:
            output = _message(f"{recipient} replied: {_text(_get(result, 'output'))}")
    else:
        output = _delegation(said, tools, handoffs)
    if output is None:  # also the agent a handoff reached: it answers the message itself
        output = _message(f"echo: {said}" if said.strip() else "echo: (nothing)")
    spent_in = max(1, len(json.dumps(items, default=str)) // 4)  # about four characters a token
    spent_out = max(1, len(output.model_dump_json()) // 4)
    return Response(
        id=f"resp_echo_{uuid.uuid4().hex}",
        created_at=time.time(),
        model=NAME,
        object="response",
        status="completed",
        output=[output],
        tool_choice="auto",
        tools=[],
        parallel_tool_calls=False,
        usage=ResponseUsage(
            input_tokens=spent_in,
            input_tokens_details=InputTokensDetails(cached_tokens=0),
            output_tokens=spent_out,
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
            total_tokens=spent_in + spent_out,
        ),
    )


def _delegation(said: str, tools: list[Tool], handoffs: list[Handoff]) -> ResponseFunctionToolCall | None:
    """`ask <Agent>: <task>`: a call to the send_message tool that reaches <Agent>, or its handoff."""
    found = ASK.match(said)
    if found is None:
        return None
    wanted, task = found.group(1).casefold(), found.group(2).strip()
    for tool in tools:
        if isinstance(tool, FunctionTool) and tool.name.startswith("send_message"):
            props = tool.params_json_schema.get("properties", {})
            recipients = props.get("recipient_agent", {}).get("enum", [])
            match = next((r for r in recipients if str(r).casefold() == wanted), None)
            if match is not None:
                args = {"recipient_agent": match, "message": task, "additional_instructions": ""}
                args = {k: v for k, v in args.items() if k in props}
                return _call(tool.name, json.dumps(args))
    for handoff in handoffs:
        if handoff.agent_name.casefold() == wanted:
            return _call(handoff.tool_name, "{}")
    return None


def _call(name: str, arguments: str) -> ResponseFunctionToolCall:
    suffix = uuid.uuid4().hex
    return ResponseFunctionToolCall(
        type="function_call",
        id=f"fc_echo_{suffix}",
        call_id=f"call_echo_{suffix}",
        name=name,
        arguments=arguments,
        status="completed",
    )


def _message(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        type="message",
        id=f"msg_echo_{uuid.uuid4().hex}",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def _recipient(items: list[Any], call_id: str) -> str | None:
    """The agent a delegation went to, from the send_message call that `call_id` answers."""
    for item in items:
        if _get(item, "type") == "function_call" and _get(item, "call_id") == call_id:
            if not str(_get(item, "name")).startswith("send_message"):
                return None
            try:
                args = json.loads(str(_get(item, "arguments") or "{}"))
            except ValueError:
                return None
            recipient = args.get("recipient_agent") if isinstance(args, dict) else None
            return str(recipient) if recipient else None
    return None


def _is_user(item: Any) -> bool:
    return _get(item, "role") == "user" and _get(item, "type") in (None, "message")


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def _text(content: Any) -> str:
    """The text of a message's content or a tool's output; attachments named, not echoed."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            kind = _get(part, "type")
            if kind in ("input_text", "output_text", "text"):
                parts.append(str(_get(part, "text") or ""))
            elif kind in ("input_image", "input_file"):
                parts.append(f"[{_get(part, 'filename') or kind.removeprefix('input_')}]")
        return " ".join(p for p in parts if p)
    return "" if content is None else str(content)
