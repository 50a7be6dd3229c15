"""/budget: the session's spending cap (what is spent, the cap; set, raise or lift it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from swarmchat.budget import cap_problems, dollars, parse_cost, spent
from swarmchat.errors import UsageError
from swarmchat.repl.registry import command
from swarmchat.safe_text import say
from swarmchat.stream_view import error_line, warning_line

if TYPE_CHECKING:
    from swarmchat.repl.context import ReplContext


@command("budget", "[USD|off]", "show the spending and the cap; set the cap (kept with the session), or off")
async def budget(ctx: ReplContext, arg: str) -> None:
    binding = await ctx.ready()
    meta = ctx.meta
    if not arg:
        now = dollars(spent(meta, binding.model_name))
        limit = dollars(meta.max_cost) if meta.max_cost is not None else "none (/budget USD sets one)"
        ctx.console.print(say(("spent ", "dim"), now, ("  cap ", "dim"), limit))
        return
    if arg.lower() == "off":
        ctx.update_meta(max_cost=None)
        ctx.console.print(say(("no spending cap", "dim")))
        return
    try:
        cap = parse_cost(arg, "/budget")
    except UsageError as exc:
        error_line(ctx.console, str(exc))
        return
    ctx.update_meta(max_cost=cap)
    ctx.console.print(
        say(("spending cap ", "dim"), dollars(cap), (f" ({dollars(spent(meta, binding.model_name))} spent)", "dim"))
    )
    for problem in cap_problems(binding):
        warning_line(ctx.console, problem)
