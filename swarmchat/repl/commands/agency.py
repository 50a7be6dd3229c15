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
    from swarmchat.repl.context import ReplContext


@command("agents", "", "list the agency's agents")
async def agents(ctx: ReplContext, arg: str) -> None:
    binding = await ctx.ready()
    current = ctx.recipient()
    for name in binding.agent_names:
        mark = "→" if name == current else " "
        ctx.console.print(
            say((f"{mark} {name}", "bold" if name == current else ""), " ", (binding.describe(name), "dim"))
        )


@command("agent", "NAME", "send your messages to NAME from now on", complete=lambda ctx: ctx.agent_names())
async def agent(ctx: ReplContext, arg: str) -> None:
    binding = await ctx.ready()
    match = next((n for n in binding.agent_names if n.lower() == arg.lower()), None)
    if match is None:
        names = ", ".join(binding.agent_names)
        error_line(ctx.console, f"no agent named '{arg}'; the agents are: {names}")
        return
    ctx.update_meta(recipient=match)
    ctx.console.print(say(("talking to ", "dim"), (match, "bold")))


@command("model", "[NAME]", "show or change the model of every agent")
async def model(ctx: ReplContext, arg: str) -> None:
    binding = await ctx.ready()
    if not arg:
        ctx.console.print(
            say(ctx.meta.model) if ctx.meta.model else say(ctx.agent_model(), (" (the agency's own)", "dim"))
        )
        return
    binding.set_model(arg)  # first: a served agency refuses, and nothing is stored
    ctx.update_meta(model=arg)
    ctx.console.print(say(("every agent now uses ", "dim"), (arg, "bold")))


@command("status", "", "turns, tokens, cost and model")
async def status(ctx: ReplContext, arg: str) -> None:
    binding = await ctx.ready()
    meta = ctx.meta
    used = ctx.meta.model or ctx.agent_model()
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")  # a narrow screen wraps a value; a number or a model is never cut
    table.add_row("session", say(meta.name))
    table.add_row("agency", say(meta.agency or "(built-in)"))
    table.add_row("talking to", say(ctx.recipient()))
    table.add_row("model", say(used + (f" at {meta.base_url}" if meta.base_url else "")))
    table.add_row("turns", f"{count_turns(binding.live_items()):,}")
    for label, usage in (("session", ctx.session_usage()), ("this run", ctx.usage)):
        table.add_row(f"tokens ({label})", f"{usage.input_tokens:,} in, {usage.output_tokens:,} out")
        table.add_row(f"cost ({label})", say(cost_line(used, usage)))
    ctx.console.print(table)
    if meta.usage_by_agent:
        spent = {agent: Usage(c.get("input_tokens", 0), c.get("output_tokens", 0), c.get("requests", 0))
                 for agent, c in meta.usage_by_agent.items()}  # fmt: skip
        models = {agent: binding.model_name(agent) if agent in binding.agent_names else "" for agent in spent}
        ctx.console.print(agent_table(spent, models))


@command("thinking", "[on|off]", "show or hide reasoning summaries (the setting is kept with the session)")
async def thinking(ctx: ReplContext, arg: str) -> None:
    if arg.lower() not in ("", "on", "off"):
        error_line(ctx.console, f"'/thinking {arg}': give on, off, or nothing to toggle")
        return
    shown = arg.lower() == "on" if arg else not ctx.meta.show_thinking
    ctx.update_meta(show_thinking=shown)
    if shown:
        ctx.console.print(say(("reasoning summaries are shown, dimmed", "dim")))
    else:
        ctx.console.print(say(('reasoning summaries are hidden ("thinking…" still shows)', "dim")))


@command("compact", "[INSTRUCTIONS]", "summarize the history (the original is kept as a fork)")
async def compact(ctx: ReplContext, arg: str) -> None:
    from swarmchat.compact import compact_now

    await compact_now(ctx, arg)
