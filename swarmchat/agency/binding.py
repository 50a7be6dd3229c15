"""The local agency: an agency-swarm Agency in this process, bound to a live session (`BoundAgency`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from swarmchat.agency.build import construct, stored_items
from swarmchat.agency.environment import import_agency_swarm
from swarmchat.agency.errors import classify
from swarmchat.agency.guard import TurnGuard
from swarmchat.agency.models import configure_models
from swarmchat.agency.spec import resolve_spec
from swarmchat.bound import BoundAgency, LiveSession, Message
from swarmchat.budget import Guard, reached_line, spent
from swarmchat.events import Event, TurnDone, TurnError
from swarmchat.project import DEFAULT_SPEC, anchor
from swarmchat.session import Item, SessionMeta
from swarmchat.turn_tracker import TurnTracker

if TYPE_CHECKING:
    from swarmchat.agency.budget_hooks import CapState


@dataclass
class Binding:
    """An agency bound to a live session: every change to its history is saved through `live`."""

    agency: Any
    live: LiveSession
    replay_problems: list[str] = field(default_factory=list)
    guard: TurnGuard = field(default_factory=TurnGuard)
    cap: CapState | None = None  # the spending cap's check before every model call (budget_hooks)

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
        return stored_items(self.agency)

    def set_items(self, items: list[Item]) -> None:
        """Replace the history (undo, clear) and persist the change."""
        self.agency.thread_manager.replace_messages(items)
        self.live.save(self.live_items())
        self.live.session.end_turn(self.live_items())

    def model_name(self, agent: str | None = None) -> str:
        """The model an agent (default: the entry agent) runs on."""
        found = self.agency.agents.get(agent or self.entry_agent)
        model = getattr(found, "model", None)
        return str(getattr(model, "model", model) or "")

    def set_model(self, model: str) -> None:
        configure_models(self.agency, replace(self.live.meta, model=model))

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
        self.guard.begin(self.live_items())
        budget = self._budget()
        stream = self.agency.get_response_stream(message, recipient_agent=target)
        tracker = TurnTracker(str(target))
        try:
            try:
                async for raw in stream:
                    for event in tracker.translate(raw):
                        yield event
                result = await stream.wait_final_result()
            except Exception as exc:  # what the stream raises instead of reporting
                if budget.tripped:  # the cap's stop, as its error reached us before the cancel did
                    raise asyncio.CancelledError from exc
                yield classify(exc, tracker.error or "", tracker.tools_called)
                return
            if tracker.error is not None:
                if budget.tripped:
                    raise asyncio.CancelledError
                # reported as text only; the run's own exception, when it has one, says more
                yield classify(getattr(result, "run_loop_exception", None), tracker.error, tracker.tools_called)
                return
            tokens = tracker.tokens
            yield TurnDone(tracker.reply_text(), tracker.reply_agent, tokens[0], tokens[1])
        except (asyncio.CancelledError, GeneratorExit) as stop:
            stream.cancel(mode="immediate")
            self._keep_partial(tracker)
            if not (budget.tripped and isinstance(stop, asyncio.CancelledError)):
                raise
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                task.uncancel()
            yield TurnError(reached_line(budget.cap or 0.0, budget.spent), "budget")
        finally:
            if self.cap is not None:
                self.cap.guard = self.cap.trip = None
            session.meta.book_usage(budget.booked(tracker.usage))  # stored with the turn (end_turn)
            try:
                self._end_guard()
            finally:
                session.end_turn(self.live_items())

    def _budget(self) -> Guard:
        """The spending cap's check for the coming turn, on every agent's model calls (stops this task)."""
        meta = self.live.meta
        budget = Guard(meta.max_cost, spent(meta, self.model_name))
        if meta.max_cost is not None:
            if self.cap is None:
                from swarmchat.agency.budget_hooks import CapState
                from swarmchat.agency.budget_hooks import install as install_cap

                self.cap = CapState(self.model_name)
                install_cap(self.agency, self.cap)
            task = asyncio.current_task()
            self.cap.guard, self.cap.trip = budget, (task.cancel if task is not None else None)
        return budget

    def _end_guard(self) -> None:
        """End the turn's guard; if it stored a list other than agency-swarm's, the agency gets the stored
        history back (what the next request sends is what is stored), and a loss it prevented is told."""
        self.guard.end()
        if self.guard.changed:
            self.agency.thread_manager.replace_messages(self.live.load())
        if self.guard.kept:
            self.live.notice(
                f"agency-swarm dropped {self.guard.kept} earlier item{'s' if self.guard.kept != 1 else ''} of this "
                "session at the end of the turn (a reused id or an unanswered tool call); swarmchat kept them stored"
            )

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
    folder = anchor(spec_override).folder if spec_override else meta.agency_dir
    import_agency_swarm()
    target = resolve_spec(spec, folder)
    guard = TurnGuard()

    def save(items: list[Item]) -> None:
        """agency-swarm's save callback: never a list that lost items the turn did not add."""
        live.save(guard.checked(items))

    agency = construct(target, spec, live.load, save)
    binding = Binding(agency, live, guard=guard)
    configure_models(agency, meta)
    if spec_override and (spec_override != meta.agency or folder != meta.agency_dir):
        live.session.update_meta(agency=spec_override, agency_dir=folder)
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
