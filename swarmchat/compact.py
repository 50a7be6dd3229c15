"""/compact: replace a long history by a summary written by the session's own model.

The full original is first kept as a fork, so nothing is lost. `compact_now` does it in the REPL: for
/compact, and for the offer made after a context overflow."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from swarmchat.bound import BoundAgency
from swarmchat.errors import ModelError
from swarmchat.lifecycle import fork
from swarmchat.session import Item, SessionMeta
from swarmchat.store import SessionStore
from swarmchat.transcript import to_markdown

if TYPE_CHECKING:
    from swarmchat.repl.context import ReplContext

SUMMARY_INSTRUCTIONS = (
    "Summarize the conversation you are given so that it can replace it: keep every fact, decision, "
    "open question, name, number and piece of code the participants will need later. Write the "
    "summary only, in the conversation's language."
)
SUMMARY_ORIGIN = "swarmchat_compact"
ACKNOWLEDGED = "Understood; I will continue from this summary."


def kept_name(store: SessionStore, name: str) -> str:
    taken = set(store.names())
    candidate = f"{name}-full"
    number = 2
    while candidate in taken:
        candidate = f"{name}-full-{number}"
        number += 1
    return candidate


def summary_items(summary: str, agent: str) -> list[Item]:
    """The new history: the summary as a user message the agent acknowledges (never two users in a row)."""
    stamp = int(time.time() * 1_000_000)
    return [
        {
            "role": "user",
            "content": f"Summary of our conversation so far:\n\n{summary}",
            "agent": agent,
            "callerAgent": None,
            "timestamp": stamp,
            "message_origin": SUMMARY_ORIGIN,
        },
        {
            "id": f"msg_compact_{stamp}",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": ACKNOWLEDGED, "annotations": []}],
            "agent": agent,
            "callerAgent": None,
            "timestamp": stamp + 1,
            "message_origin": SUMMARY_ORIGIN,
        },
    ]


async def compact(store: SessionStore, binding: BoundAgency, meta: SessionMeta, instructions: str) -> str:
    """Fork the session, summarize it, replace its history by the summary; returns the fork's name."""
    items = list(binding.live_items())
    kept = kept_name(store, meta.name)
    fork(store, meta.name, kept)
    rules = SUMMARY_INSTRUCTIONS + (f"\n\nAlso: {instructions}" if instructions else "")
    summary = await binding.summarize(to_markdown(meta.title or meta.name, items), rules)
    if not summary:
        store.delete(kept)
        raise ModelError("the model returned an empty summary; the history is unchanged (try /compact again)")
    binding.set_items(summary_items(summary, binding.entry_agent))
    return kept


async def compact_now(ctx: ReplContext, instructions: str) -> bool:
    """Summarize the REPL's history (the original kept as a fork), saying so; False if there was nothing to
    compact."""
    from swarmchat.safe_text import say
    from swarmchat.stream_view import error_line

    binding = await ctx.ready()
    if not binding.live_items():
        error_line(ctx.console, "nothing to compact: the session has no messages")
        return False
    with ctx.console.status("[dim]summarizing…[/dim]", spinner="dots"):
        kept = await compact(ctx.store, binding, ctx.meta, instructions)
    ctx.console.print(say(("history summarized; the full original is kept as ", "dim"), (kept, "bold")))
    return True
