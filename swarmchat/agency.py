"""The only module that imports agency-swarm: load a SPEC, build the agency around a session,
and run turns as a stream of swarmchat events.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmchat.errors import AgencyLoadError, SwarmchatError
from swarmchat.events import (
    Delegation,
    Event,
    Handoff,
    MessageDone,
    TextDelta,
    ToolCall,
    ToolOutput,
    TurnDone,
    TurnError,
)
from swarmchat.session import Item, SessionMeta
from swarmchat.store import OpenSession

DEFAULT_SPEC = "swarmchat.default_agency:create_agency"
INTERRUPTED = "[interrupted]"


def import_agency_swarm() -> Any:
    """Import agency-swarm without letting it change the user's environment.

    Its import runs `load_dotenv(override=True)`, which finds a `.env` near the installed
    package and overrides variables the user set; those are put back. Tracing export is
    switched off unless SWARMCHAT_TRACING=1 (conversations stay on the user's machine).
    """
    if "agency_swarm" in sys.modules:
        return sys.modules["agency_swarm"]
    if os.environ.get("SWARMCHAT_TRACING", "") not in ("1", "true", "yes"):
        os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    before = dict(os.environ)
    import agency_swarm

    if not os.environ.get("SWARMCHAT_DEBUG"):
        # agency-swarm logs (and swallows) model errors; swarmchat reports them in one line
        for logger_name in ("agency_swarm", "openai.agents", "openai", "httpx", "LiteLLM"):
            logging.getLogger(logger_name).setLevel(logging.CRITICAL)

    for key, value in before.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    if os.environ.get("OPENAI_AGENTS_DISABLE_TRACING") == "1":
        from agents import set_tracing_disabled

        set_tracing_disabled(True)
    return agency_swarm


def resolve_spec(spec: str) -> Any:
    """The object a SPEC names: `pkg.module:attr` or `path/to/file.py:attr` (attr defaults to
    `create_agency`, then `agency`)."""
    module_part, _, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if len(module_part) == 1 and module_part.isalpha():  # a Windows drive letter, no attr
        module_part, attr = spec, ""
    try:
        if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
            module = _module_from_file(Path(module_part), spec)
        else:
            module = importlib.import_module(module_part)
    except SwarmchatError:
        raise
    except ModuleNotFoundError as exc:
        raise AgencyLoadError(
            f"agency SPEC '{spec}': module '{exc.name}' not found; check the name and PYTHONPATH"
        ) from None
    except Exception as exc:
        raise AgencyLoadError(f"agency SPEC '{spec}' failed to import: {type(exc).__name__}: {exc}") from None
    names = [attr] if attr else ["create_agency", "agency"]
    for name in names:
        if hasattr(module, name):
            return getattr(module, name)
    raise AgencyLoadError(
        f"agency SPEC '{spec}': '{module_part}' has no attribute '{names[0]}'; "
        "name a factory or an Agency as module:attr"
    )


def _module_from_file(path: Path, spec: str) -> Any:
    if not path.is_file():
        raise AgencyLoadError(f"agency SPEC '{spec}': file {path} not found")
    path = path.resolve()
    sys.path.insert(0, str(path.parent))  # let the agency import its sibling modules
    module_name = f"_swarmchat_agency_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise AgencyLoadError(f"agency SPEC '{spec}': {path} is not a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    loader_spec.loader.exec_module(module)
    return module


def construct(target: Any, spec: str, load: Callable[[], list[Item]], save: Callable[[list[Item]], None]) -> Any:
    """Build the agency from a factory or instance and attach the session's history and saves."""
    agency_cls = import_agency_swarm().Agency
    if isinstance(target, agency_cls):
        agency, passed_load, passed_save = target, False, False
    elif callable(target):
        params = _parameters(target)
        kwargs: dict[str, Any] = {}
        if "load_threads_callback" in params:
            kwargs["load_threads_callback"] = load
        if "save_threads_callback" in params:
            kwargs["save_threads_callback"] = save
        try:
            agency = target(**kwargs)
        except Exception as exc:
            raise AgencyLoadError(f"agency SPEC '{spec}': the factory raised {type(exc).__name__}: {exc}") from None
        passed_load, passed_save = "load_threads_callback" in kwargs, "save_threads_callback" in kwargs
    else:
        raise AgencyLoadError(f"agency SPEC '{spec}' names a {type(target).__name__}, not an Agency or a factory")
    if not isinstance(agency, agency_cls):
        raise AgencyLoadError(f"agency SPEC '{spec}': the factory returned {type(agency).__name__}, not an Agency")
    manager = agency.thread_manager
    if not passed_load:
        manager.replace_messages(load())
    if not passed_save:
        manager._save_threads_callback = save
        agency._save_threads_callback = save
    agency._load_threads_callback = load
    return agency


def _parameters(factory: Callable[..., Any]) -> set[str]:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return {"load_threads_callback", "save_threads_callback"}
    return set(params)


def configure_models(agency: Any, meta: SessionMeta) -> None:
    """Route every agent to the session's model, server and API."""
    import agents

    from swarmchat.openai_client import build_client

    api_key = os.environ.get("OPENAI_API_KEY") or ("not-needed" if meta.base_url else None)
    client = None
    if api_key or meta.base_url or os.environ.get("OPENAI_BASE_URL"):
        client = build_client(
            api_key=api_key or "missing",
            base_url=meta.base_url or None,
            max_retries=int(os.environ.get("SWARMCHAT_MAX_RETRIES", "2")),
            timeout=float(os.environ.get("SWARMCHAT_TIMEOUT", "120")),
        )
        agents.set_default_openai_client(client, use_for_tracing=False)
    agents.set_default_openai_api("chat_completions" if meta.api == "chat" else "responses")
    if not meta.model:
        return
    for agent in agency.agents.values():
        if "/" in meta.model and client is not None:
            model_cls = agents.OpenAIChatCompletionsModel if meta.api == "chat" else agents.OpenAIResponsesModel
            agent.model = model_cls(model=meta.model, openai_client=client)
        else:
            agent.model = meta.model


@dataclass
class Binding:
    """An agency bound to an open session: every change to its history is persisted."""

    agency: Any
    session: OpenSession
    save_errors: list[str] = field(default_factory=list)
    replay_problems: list[str] = field(default_factory=list)

    @property
    def agent_names(self) -> list[str]:
        return list(self.agency.agents)

    @property
    def entry_agent(self) -> str:
        entry = self.agency.entry_points
        return str(entry[0].name) if entry else self.agent_names[0]

    def live_items(self) -> list[Item]:
        return self.agency.thread_manager._store.messages  # type: ignore[no-any-return]

    def set_items(self, items: list[Item]) -> None:
        """Replace the history (undo, clear) and persist the change."""
        self.agency.thread_manager.replace_messages(items)
        self.session.save(self.live_items())
        self.session.end_turn(self.live_items())

    def model_name(self, agent: str | None = None) -> str:
        """The model an agent (default: the entry agent) runs on."""
        found = self.agency.agents.get(agent or self.entry_agent)
        model = getattr(found, "model", None)
        return str(getattr(model, "model", model) or "")

    async def summarize(self, transcript: str, instructions: str) -> str:
        """Ask the entry agent's model (same client, same API) for a summary of `transcript`."""
        import agents

        entry = self.agency.agents[self.entry_agent]
        summarizer = agents.Agent(name="Summarizer", instructions=instructions, model=entry.model)
        result = await agents.Runner.run(summarizer, transcript)
        return str(result.final_output or "").strip()

    async def turn(self, text: str, recipient: str | None = None) -> AsyncIterator[Event]:
        """Run one turn, yielding events; persisted as it goes. Cancel by cancelling the task
        that iterates: the partial reply is stored, marked as interrupted."""
        self.session.begin_turn()
        target = recipient if recipient in self.agency.agents else self.entry_agent
        stream = self.agency.get_response_stream(text, recipient_agent=target)
        tracker = _TurnTracker(str(target))
        try:
            failed = False
            try:
                async for raw in stream:
                    for event in tracker.translate(raw):
                        failed = failed or isinstance(event, TurnError)
                        yield event
                result = await stream.wait_final_result()
            except Exception as exc:  # what the stream raises instead of reporting
                if not failed:
                    yield TurnError(describe_error(f"{type(exc).__name__}: {exc}"))
                return
            if failed:
                return
            usage = _usage(result)
            meta = self.session.meta  # stored with the turn (end_turn)
            meta.input_tokens += usage[0]
            meta.output_tokens += usage[1]
            yield TurnDone(tracker.reply_text(), tracker.reply_agent, usage[0], usage[1])
        except (asyncio.CancelledError, GeneratorExit):
            stream.cancel(mode="immediate")
            self._keep_partial(tracker)
            raise
        finally:
            self.session.end_turn(self.live_items())

    def _keep_partial(self, tracker: _TurnTracker) -> None:
        """agency-swarm drops a cancelled reply; store what was shown, marked as interrupted."""
        partial = tracker.reply_text()
        text = f"{partial}\n\n{INTERRUPTED}" if partial else INTERRUPTED
        items = self.live_items()
        if items and items[-1].get("role") == "assistant" and items[-1].get("callerAgent") is None:
            return  # the reply was stored before the cancel landed
        stamp = int(time.time() * 1_000_000)
        self.agency.thread_manager.add_message(
            {
                "id": f"msg_interrupted_{stamp}",
                "type": "message",
                "role": "assistant",
                "status": "incomplete",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
                "agent": tracker.reply_agent,
                "callerAgent": None,
                "timestamp": stamp,
                "message_origin": "swarmchat_interrupted",
            }
        )


class _TurnTracker:
    """Turns agency-swarm stream events into swarmchat events, remembering the visible reply."""

    def __init__(self, recipient: str) -> None:
        self.reply_agent = recipient
        self._texts: list[str] = []
        self._current: list[str] = []
        self._delegations: dict[str, str] = {}  # call id -> the agent asked

    def reply_text(self) -> str:
        return "\n\n".join(t for t in [*self._texts, "".join(self._current)] if t)

    def translate(self, raw: Any) -> list[Event]:
        if isinstance(raw, dict):
            if raw.get("type") == "error":
                return [TurnError(describe_error(str(raw.get("content", "unknown error"))))]
            return []
        kind = getattr(raw, "type", None)
        agent = str(getattr(raw, "agent", None) or self.reply_agent)
        caller = getattr(raw, "callerAgent", None)
        if kind == "raw_response_event":
            return self._raw(raw.data, agent, caller)
        if kind == "run_item_stream_event":
            return self._item(raw, agent, caller)
        return []

    def _raw(self, data: Any, agent: str, caller: str | None) -> list[Event]:
        data_type = getattr(data, "type", None)
        if data_type == "response.output_text.delta":
            delta = str(getattr(data, "delta", "") or "")
            if caller is None and delta:
                if agent != self.reply_agent:
                    self._flush()
                    self.reply_agent = agent
                self._current.append(delta)
            return [TextDelta(agent, caller, delta)] if delta else []
        if data_type == "response.output_text.done":
            if caller is None:
                self._flush()
            return [MessageDone(agent, caller)]
        return []

    def _flush(self) -> None:
        if self._current:
            self._texts.append("".join(self._current))
            self._current = []

    def _item(self, raw: Any, agent: str, caller: str | None) -> list[Event]:
        name = getattr(raw, "name", "")
        item = getattr(raw, "item", None)
        raw_item = getattr(item, "raw_item", None)
        if name == "tool_called":
            tool = str(_get(raw_item, "name") or "tool")
            arguments = str(_get(raw_item, "arguments") or "")
            if tool.startswith("send_message"):
                args = _json(arguments)
                recipient = str(args.get("recipient_agent", "?"))
                self._delegations[str(_get(raw_item, "call_id"))] = recipient
                return [Delegation(agent, recipient, str(args.get("message", "")))]
            if tool.startswith("transfer_to_"):
                return [Handoff(agent, tool.removeprefix("transfer_to_"))]
            return [ToolCall(agent, caller, tool, arguments)]
        if name == "tool_output":
            call_id = str(_get(raw_item, "call_id"))
            output = str(getattr(item, "output", "") or "")
            if call_id in self._delegations:  # the other agent's answer: shown as coming from it
                return [ToolOutput(self._delegations[call_id], agent, output, delegated=True)]
            return [ToolOutput(agent, caller, output, delegated=False)]
        if name in ("handoff_occured", "handoff_occurred"):
            target = getattr(getattr(item, "target_agent", None), "name", None)
            if target:
                self.reply_agent = str(target)
                return [Handoff(agent, str(target))]
        return []


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _usage(result: Any) -> tuple[int, int]:
    usage = getattr(getattr(result, "context_wrapper", None), "usage", None)
    return int(getattr(usage, "input_tokens", 0) or 0), int(getattr(usage, "output_tokens", 0) or 0)


def describe_error(content: str) -> str:
    """One line for a model API failure: what happened and what to do."""
    low = content.lower()
    if "401" in low or "invalid_api_key" in low or "authentication" in low or "api key" in low:
        return "the model API rejected the API key (401); set OPENAI_API_KEY to a valid key"
    if "429" in low or "rate limit" in low or "ratelimit" in low or "quota" in low:
        return "the model API is rate limiting (429); wait a moment and send again (/retry)"
    if "timed out" in low or "timeout" in low:
        return "the model API did not answer in time; check the server and send again (/retry)"
    if "incomplete" in low or "peer closed" in low or "remoteprotocolerror" in low:
        return "the model's reply was cut off mid-stream; send again (/retry)"
    if "connection" in low or "connect" in low:
        return "cannot reach the model API (connection failed); check --base-url and that the server runs"
    if any(code in low for code in ("500", "502", "503", "504", "internal server error")):
        return "the model API failed with a server error; try again shortly (/retry)"
    if "stream" in low:
        return "the model's reply was cut off mid-stream; send again (/retry)"
    first = " ".join(content.split())[:200]
    return f"the model API failed: {first}"


def bind(meta: SessionMeta, session: OpenSession, spec_override: str | None = None) -> Binding:
    """Import agency-swarm, build the session's agency and attach its history and persistence."""
    spec = spec_override or meta.agency or DEFAULT_SPEC
    import_agency_swarm()
    target = resolve_spec(spec)
    binding_ref: list[Binding] = []

    def save(items: list[Item]) -> None:
        try:  # through the binding: the REPL's /rename reopens the session under its new name
            (binding_ref[0].session if binding_ref else session).save(items)
        except Exception as exc:  # agency-swarm would log and swallow it: keep it to report
            if binding_ref:
                binding_ref[0].save_errors.append(f"{type(exc).__name__}: {exc}")
            raise

    agency = construct(target, spec, session.load, save)
    configure_models(agency, meta)
    binding = Binding(agency, session)
    binding_ref.append(binding)
    if spec_override and spec_override != meta.agency:
        session.update_meta(agency=spec_override)
    binding.replay_problems = _changed_agency(binding, meta)
    return binding


def _changed_agency(binding: Binding, meta: SessionMeta) -> list[str]:
    """Report, once per session, saved items whose agents this agency no longer has.

    They stay in the session untouched (agency-swarm only sends the model the items of the
    agents it knows), so renaming an agent back brings them back into play."""
    problems = []
    known = set(binding.agent_names)
    gone: dict[str, int] = {}
    for item in binding.live_items():
        for key in ("agent", "callerAgent"):
            name = item.get(key)
            if isinstance(name, str) and name not in known:
                gone[name] = gone.get(name, 0) + 1
                break
    new = sorted(set(gone) - set(meta.reported_missing))
    if new:
        count = sum(gone[name] for name in new)
        problems.append(
            f"{count} saved item(s) belong to agents this agency no longer has ({', '.join(new)}); "
            "they stay in the session file but the agents cannot continue them"
        )
        binding.session.update_meta(reported_missing=sorted(set(meta.reported_missing) | set(new)))
    if meta.recipient and meta.recipient not in known:
        problems.append(f"agent '{meta.recipient}' is gone; talking to '{binding.entry_agent}' instead")
        binding.session.update_meta(recipient=None)
    return problems


def check_spec(spec: str | None) -> None:
    """Fail early (exit 2, nothing written) if a SPEC does not resolve."""
    import_agency_swarm()
    resolve_spec(spec or DEFAULT_SPEC)


def price_per_token(model: str) -> tuple[float, float] | None:
    """(input, output) dollars per token from agency-swarm's price table, or None if unknown."""
    from agency_swarm.utils.usage_tracking import get_model_pricing

    prices = get_model_pricing(model.rsplit("/", 1)[-1]) if model else None
    if not prices:
        return None
    return prices.get("input_cost_per_token", 0.0), prices.get("output_cost_per_token", 0.0)
