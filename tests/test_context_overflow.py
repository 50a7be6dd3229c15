"""A full context window never strands the user (issue 12 item 4), against the scripted server answering
400 `context_length_exceeded` above a number of input items: `-m` exits 1 with the hint; the REPL offers
to /compact and send the message again; the toolbar warns when the last turn filled 80 % of a known window."""

from __future__ import annotations

import pytest
from conftest import Run, one_error_line, roles, stored
from fake_openai import FakeOpenAI, Reply

from swarmchat.session import Item, SessionMeta
from swarmchat.store import open_store


def long_session(name: str, server: FakeOpenAI, api: str = "responses") -> list[Item]:
    items: list[Item] = []
    for n in range(3):
        items.append({"role": "user", "content": f"question {n}", "agent": "Assistant", "callerAgent": None,
                      "timestamp": 10 * n + 1})  # fmt: skip
        items.append({"type": "message", "role": "assistant", "agent": "Assistant", "callerAgent": None,
                      "content": [{"type": "output_text", "text": f"answer {n}", "annotations": []}],
                      "timestamp": 10 * n + 2})  # fmt: skip
    meta = SessionMeta.fresh(name, base_url=server.url, model="fake-model", api=api, title="question 0")
    open_store().write_new(meta, items)
    return items


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_one_shot_exits_1_with_the_hint(cli: Run, server: FakeOpenAI, api: str) -> None:
    long_session("full", server, api)
    server.max_input_items = 6  # the stored six and the new message do not fit
    out = cli("resume", "full", "-m", "one more")
    assert out.returncode == 1
    line = one_error_line(out.stderr)
    assert "longer than the model's context window" in line and "/compact" in line, line
    assert out.stdout == ""
    assert server.last.api == api  # the server answered 400 context_length_exceeded on this API


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_the_repl_offers_to_compact_and_sends_the_message_again(term, server: FakeOpenAI, api: str) -> None:
    original = long_session("full", server, api)
    server.max_input_items = 7 if api == "chat" else 6  # chat also sends the system message
    t = term("resume", "full")
    t.prompt()
    t.line("Where were we?")
    t.expect("longer than the model's context window")
    t.expect("compact now and send again? [y/N]")
    t.line("y")
    t.expect("history summarized; the full original is kept as full-full")
    t.expect("echo: Where were we?")  # sent again, now that it fits
    t.prompt()
    t.exit()

    said = [text for role, text in roles("full") if role == "user"]
    assert said.count("Where were we?") == 1  # the failed attempt is not kept beside the resent one
    assert said[0].startswith("Summary of our conversation so far:")
    assert roles("full")[-1] == ("assistant", "echo: Where were we?")
    assert stored("full-full") == original  # the fork holds the original, without the failed attempt
    assert server.last.user_texts()[-1] == "Where were we?"


def test_the_toolbar_warns_when_the_context_is_nearly_full(term, server: FakeOpenAI) -> None:
    t = term("new", "warm", "--base-url", server.url, "--model", "gpt-4o")  # a 128,000-token window
    t.prompt()
    assert "context" not in t.display()
    server.push(Reply("Noted.", usage=(110_000, 10)))
    t.line("Here is a long document.")
    t.expect("Noted.")
    t.prompt()
    toolbar = t.on_screen("context 86%").splitlines()[-1]  # 110,000 of 128,000 input tokens
    assert "gpt-4o" in toolbar and "/compact" in toolbar
    t.exit()

    t = term("resume", "warm")  # the warning is kept with the session, before any new turn
    t.prompt()
    toolbar = t.on_screen("context 86%").splitlines()[-1]
    assert "/compact" in toolbar

    t.line("/model house-model-7")  # a model whose window nobody publishes: no warning
    t.expect("every agent now uses")
    t.prompt()
    server.push(Reply("Still here.", usage=(110_000, 10)))
    t.line("More?")
    t.expect("Still here.")
    t.prompt()
    toolbar = t.on_screen("house-model-7  ·").splitlines()[-1]
    assert "220,020 tokens" in toolbar and "context" not in toolbar
    t.exit()


def test_declining_the_offer_changes_nothing_but_the_kept_message(term, server: FakeOpenAI) -> None:
    original = long_session("full", server)
    server.max_input_items = 6
    t = term("resume", "full")
    t.prompt()
    t.line("Where were we?")
    t.expect("compact now and send again? [y/N]")
    t.line("n")
    t.expect("nothing changed")
    t.prompt()
    t.exit()
    assert not open_store().exists("full-full")  # no compaction happened
    assert stored("full")[: len(original)] == original
    assert [text for role, text in roles("full") if role == "user"][-1] == "Where were we?"  # kept, as any failure
