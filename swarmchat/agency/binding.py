"""The local agency: an agency-swarm Agency in this process, bound to a live session (`BoundAgency`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from swarmchat.agency.build import construct, stored_items
from swarmchat.agency.capture_cache import KIND, CaptureCache
from swarmchat.agency.environment import import_agency_swarm
from swarmchat.agency.errors import classify
from swarmchat.agency.models import configure_models
from swarmchat.agency.spec import DEFAULT_SPEC, resolve_spec
from swarmchat.agency.standin import Capture, StandIn, StandInError
from swarmchat.agency.stream import TurnTracker
from swarmchat.bound import BoundAgency, LiveSession, Message
from swarmchat.events import Event, TurnDone
from swarmchat.session import Item, SessionMeta


@dataclass
class Binding:
    """An agency bound to a live session: every change to its history is saved through `live`."""

    agency: Any
    live: LiveSession
    replay_problems: list[str] = field(default_factory=list)
    standin: StandIn = field(default_factory=lambda: StandIn(enabled=False))
    client: Any = None  # swarmchat's OpenAI client, when configure_models made one
    own_models: list[Any] = field(default_factory=list)  # model objects configure_models made on it
    kept: CaptureCache | None = None  # where the stand-in's capture is kept with the session

    @property
    def agent_names(self) -> list[str]:
        return list(self.agency.agents)

    @property
    def entry_agent(self) -> str:
        entry = self.agency.entry_points
        return str(entry[0].name) if entry else self.agent_names[0]

    def describe(self, agent: str) -> str:
        return str(getattr(self.agency.agents.get(agent), "description", "") or "")

    def live_items(self) -> list[Item]:
        return self.standin.expand(stored_items(self.agency))

    def set_items(self, items: list[Item]) -> None:
        """Replace the history (undo, clear) and persist the change."""
        items = self.standin.private(items)
        self.standin.prefix = None  # `items` are originals: the next turn takes the full path
        if self.kept is not None:
            self.kept.count = 0  # the kept capture may cover items cut here: the next one is written anew
        self.agency.thread_manager.replace_messages(items)
        self.live.save(self.live_items())
        self.live.session.end_turn(self.live_items())

    def model_name(self, agent: str | None = None) -> str:
        """The model an agent (default: the entry agent) runs on."""
        found = self.agency.agents.get(agent or self.entry_agent)
        model = getattr(found, "model", None)
        return str(getattr(model, "model", model) or "")

    def set_model(self, model: str) -> None:
        self.configured(configure_models(self.agency, replace(self.live.meta, model=model)), model)

    def configured(self, client: Any, model: str) -> None:
        """Remember the client configure_models made, and the model objects it made on it for `model`."""
        self.client = client
        agents = self.agency.agents.values()
        self.own_models = [a.model for a in agents if not isinstance(a.model, str)] if client and model else []

    def standin_key(self, target: str) -> str | None:
        """What the stand-in's capture depends on for a turn to `target`, or None if the turn must not
        use one: a request could go through a client that would not expand it (another client or
        provider), or agency-swarm or the SDK would rewrite the history in ways the capture cannot
        see (system reminders, input guardrails, store=False replay, Claude thinking blocks)."""
        from swarmchat.agency.openai_client import FastOpenAI

        if not self.standin.enabled or not isinstance(self.client, FastOpenAI):
            return None
        chat = self.live.meta.api == "chat"
        for agent in self.agency.agents.values():
            model = agent.model
            ours = any(model is own for own in self.own_models)
            if not (ours or (isinstance(model, str) and "/" not in model)):
                return None
            settings = getattr(agent, "model_settings", None)
            if getattr(agent, "system_reminders", None) or getattr(agent, "input_guardrails", None):
                return None
            if getattr(settings, "store", None) is False:
                return None
            name = str(getattr(model, "model", model)).lower()
            if chat and ("claude" in name or "anthropic" in name):
                return None
        # a handoff hands the thread to another agent within the turn: every agent's model and settings count
        models = tuple(
            (name, self.model_name(name), repr(getattr(agent, "model_settings", None)))
            for name, agent in self.agency.agents.items()
        )
        return repr((self.live.meta.api, target, models))

    async def summarize(self, transcript: str, instructions: str) -> str:
        """Ask the entry agent's model (same client, same API) for a summary of `transcript`."""
        import agents

        entry = self.agency.agents[self.entry_agent]
        summarizer = agents.Agent(name="Summarizer", instructions=instructions, model=entry.model)
        result = await agents.Runner.run(summarizer, transcript)
        return str(result.final_output or "").strip()

    async def turn(self, message: Message, recipient: str | None = None) -> AsyncIterator[Event]:
        """Run one turn, yielding events; persisted as it goes. Cancel by cancelling the task
        that iterates: the partial reply is stored, marked as interrupted."""
        session = self.live.session
        session.begin_turn()
        target = recipient if recipient in self.agency.agents else self.entry_agent
        capture = self._begin_standin(str(target))
        stream = self.agency.get_response_stream(message, recipient_agent=target)
        tracker = TurnTracker(str(target))
        completed = False
        try:
            try:
                async for raw in stream:
                    for event in tracker.translate(raw):
                        yield event
                result = await stream.wait_final_result()
            except Exception as exc:  # what the stream raises instead of reporting
                yield classify(exc, tracker.error or "", tracker.tools_called)
                return
            if tracker.error is not None:
                # reported as text only; the run's own exception, when it has one, says more
                yield classify(getattr(result, "run_loop_exception", None), tracker.error, tracker.tools_called)
                return
            tokens = tracker.tokens
            completed = True
            yield TurnDone(tracker.reply_text(), tracker.reply_agent, tokens[0], tokens[1])
        except (asyncio.CancelledError, GeneratorExit):
            stream.cancel(mode="immediate")
            self._keep_partial(tracker)
            raise
        finally:
            session.meta.book_usage(tracker.usage)  # stored with the turn (end_turn)
            try:
                self._end_standin(capture, str(target), completed)
            finally:
                session.end_turn(self.live_items())
            self._keep_capture()

    def _begin_standin(self, target: str) -> Capture | None:
        key = self.standin_key(target)
        thread_manager = self.agency.thread_manager
        try:
            if key is None:
                self.standin.restore(thread_manager, stored_items(self.agency))
                return None
            api = "messages" if self.live.meta.api == "chat" else "input"
            return self.standin.begin(thread_manager, lambda: stored_items(self.agency), key, api)
        except StandInError:
            self._reload()
            return None

    def _end_standin(self, capture: Capture | None, target: str, completed: bool) -> None:
        if capture is None:
            return
        capture.active = False
        try:
            if capture.refused:
                self.standin.restore(self.agency.thread_manager, stored_items(self.agency))
            elif completed:
                self.standin.settle(self.agency.thread_manager, capture, target)
            # stopped or failed: the stand-in in place stays
        except StandInError:
            self._reload()

    def _keep_capture(self) -> None:
        """Keep the stand-in's capture with the session for the next process (when it grew enough)."""
        prefix, kept = self.standin.prefix, self.kept
        if prefix is not None and kept is not None:
            kept.keep(prefix, self.live.session.items())

    def _reload(self) -> None:
        """The stand-in can no longer be expanded (never expected): drop it and take the history back
        from the session, which never stored a stand-in and refused every save that would have lost items."""
        self.standin.prefix = None
        self.agency.thread_manager.replace_messages(self.live.load())

    def _keep_partial(self, tracker: TurnTracker) -> None:
        """agency-swarm drops a cancelled reply; store what was shown, marked as interrupted."""
        kept = tracker.interrupted_reply(self.live_items())
        if kept is not None:
            self.agency.thread_manager.add_message(kept)


def _satisfies_the_seam(binding: Binding) -> BoundAgency:
    return binding  # mypy checks that the local Binding is a BoundAgency


def bind(meta: SessionMeta, live: LiveSession, spec_override: str | None = None) -> Binding:
    """Import agency-swarm, build the session's agency and attach its history and persistence."""
    spec = spec_override or meta.agency or DEFAULT_SPEC
    import_agency_swarm()
    from swarmchat.agency.openai_client import fastpath_off

    target = resolve_spec(spec)
    standin = StandIn(enabled=not fastpath_off())
    kept = CaptureCache(lambda: live.session.derived_path(KIND), spec) if standin.enabled else None

    def load() -> list[Item]:
        """agency-swarm's load callback: with the kept capture in place when it still fits."""
        stored = live.session.items()
        found = kept.read(stored) if kept is not None else None
        initial = standin.adopt(stored, found, live.session.load) if found is not None else None
        return initial if initial is not None else live.load()

    def save(items: list[Item]) -> None:
        """agency-swarm's save callback: the original items, never a stand-in."""
        try:
            expanded = standin.expand(items)
        except StandInError as exc:
            live.failed(exc)
            raise
        live.save(expanded)

    agency = construct(target, spec, load, save)
    binding = Binding(agency, live, standin=standin, kept=kept)
    binding.configured(configure_models(agency, meta), meta.model or "")
    if spec_override and spec_override != meta.agency:
        live.session.update_meta(agency=spec_override)
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
        binding.live.session.update_meta(reported_missing=sorted(set(meta.reported_missing) | set(new)))
    if meta.recipient and meta.recipient not in known:
        problems.append(f"agent '{meta.recipient}' is gone; talking to '{binding.entry_agent}' instead")
        binding.live.session.update_meta(recipient=None)
    return problems
