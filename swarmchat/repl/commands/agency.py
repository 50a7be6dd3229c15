"""/agents, /agent, /model, /status, /thinking, /compact: the agency behind the session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from swarmchat.repl.registry import command
from swarmchat.repl.usage import Usage, agent_table, cost_line
from swarmchat.safe_text import say
from swarmchat.session import count_turns
from swarmchat.stream_view import error_line

if TYPE_CHECKING:
    from swarmchat.repl.loop import Repl


@command("agents", "", "list the agency's agents")
async def agents(repl: Repl, arg: str) -> None:
    binding = await repl.ready()
    current = repl.recipient()
    for name in binding.agent_names:
        mark = "→" if name == current else " "
        repl.console.print(
            say((f"{mark} {name}", "bold" if name == current else ""), " ", (binding.describe(name), "dim"))
        )


@command("agent", "NAME", "send your messages to NAME from now on", complete=lambda repl: repl.agent_names())
async def agent(repl: Repl, arg: str) -> None:
    binding = await repl.ready()
    match = next((n for n in binding.agent_names if n.lower() == arg.lower()), None)
    if match is None:
        names = ", ".join(binding.agent_names)
        error_line(repl.console, f"no agent named '{arg}'; the agents are: {names}")
        return
    repl.live.session.update_meta(recipient=match)
    repl.console.print(say(("talking to ", "dim"), (match, "bold")))


@command("model", "[NAME]", "show or change the model of every agent")
async def model(repl: Repl, arg: str) -> None:
    binding = await repl.ready()
    if not arg:
        repl.console.print(
            say(repl.meta.model) if repl.meta.model else say(repl.agent_model(), (" (the agency's own)", "dim"))
        )
        return
    binding.set_model(arg)  # first: a served agency refuses, and nothing is stored
    repl.live.session.update_meta(model=arg)
    repl.console.print(say(("every agent now uses ", "dim"), (arg, "bold")))


@command("status", "", "turns, tokens, cost and model")
async def status(repl: Repl, arg: str) -> None:
    binding = await repl.ready()
    meta = repl.meta
    used = repl.meta.model or repl.agent_model()
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a narrow screen wraps a value; a number or a model is never cut
    table.add_row("session", say(meta.name))
    table.add_row("agency", say(meta.agency or "(built-in)"))
    table.add_row("talking to", say(repl.recipient()))
    table.add_row("model", say(used + (f" at {meta.base_url}" if meta.base_url else "")))
    table.add_row("turns", f"{count_turns(binding.live_items()):,}")
    for label, usage in (("session", repl.session_usage()), ("this run", repl.usage)):
        table.add_row(f"tokens ({label})", f"{usage.input_tokens:,} in, {usage.output_tokens:,} out")
        table.add_row(f"cost ({label})", say(cost_line(used, usage)))
    repl.console.print(table)
    if meta.usage_by_agent:
        spent = {agent: Usage(c.get("input_tokens", 0), c.get("output_tokens", 0), c.get("requests", 0))
                 for agent, c in meta.usage_by_agent.items()}  # fmt: skip
        models = {agent: binding.model_name(agent) if agent in binding.agent_names else "" for agent in spent}
        repl.console.print(agent_table(spent, models))


@command("thinking", "[on|off]", "show or hide reasoning summaries (the setting is kept with the session)")
async def thinking(repl: Repl, arg: str) -> None:
    if arg.lower() not in ("", "on", "off"):
        error_line(repl.console, f"'/thinking {arg}': give on, off, or nothing to toggle")
        return
    shown = arg.lower() == "on" if arg else not repl.meta.show_thinking
    repl.live.session.update_meta(show_thinking=shown)
    if shown:
        repl.console.print(say(("reasoning summaries are shown, dimmed", "dim")))
    else:
        repl.console.print(say(('reasoning summaries are hidden ("thinking…" still shows)', "dim")))


@command("compact", "[INSTRUCTIONS]", "summarize the history (the original is kept as a fork)")
async def compact(repl: Repl, arg: str) -> None:
    await compact_now(repl, arg)


async def compact_now(repl: Repl, instructions: str) -> bool:
    """Summarize the history (the original kept as a fork); False if there was nothing to compact."""
    from swarmchat.compact import compact as summarize

    binding = await repl.ready()
    if not binding.live_items():
        error_line(repl.console, "nothing to compact: the session has no messages")
        return False
    with repl.console.status("[dim]summarizing…[/dim]", spinner="dots"):
        kept = await summarize(repl.store, binding, repl.meta, instructions)
    repl.console.print(say(("history summarized; the full original is kept as ", "dim"), (kept, "bold")))
    return True
