"""A served agency that lies or sends junk (an impostor of run_fastapi on loopback) can neither make the
session unreadable nor take away what swarmchat stored itself: the user's message and the reply shown."""

from __future__ import annotations

import json
import signal
import subprocess
from typing import Any

import pytest
import zygote
from conftest import ROOT, Run, one_error_line, stored
from impostor_agency import AGENT, Impostor, reply, server_user
from test_one_shot_signals import read_until

from swarmchat.session import Item


def ours(item: Item) -> Item:
    """A user message as swarmchat stored it (its own timestamp aside)."""
    return {k: v for k, v in item.items() if k != "timestamp"}


def test_what_a_server_sends_that_is_not_an_item_is_dropped_and_said(cli: Run, impostor: Impostor) -> None:
    real = [server_user("hello"), reply("Hi there.")]
    impostor.new_messages = [7, "str", None, real[0], {"no": "type"}, {"role": ""}, real[1]]
    impostor.start()
    done = cli("new", "junk", "--agency", impostor.url, "-m", "hello")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hi there.\n"
    assert done.stderr == (
        f"swarmchat: warning: the agency at {impostor.url} sent 5 items that are not a message; "
        "not stored (the rest of the turn is)\n"
    )
    assert stored("junk") == real
    # and the session stays readable
    assert cli("show", "junk").returncode == 0
    assert [s["message_count"] for s in json.loads(cli("list", "--json").stdout)] == [2]


def test_new_messages_leaving_out_the_user_message_keep_swarmchats_copy(cli: Run, impostor: Impostor) -> None:
    impostor.new_messages = [reply("Hi there.")]
    impostor.start()
    done = cli("new", "liar", "--agency", impostor.url, "-m", "hello")
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hi there.\n", "")
    user, answer = stored("liar")
    assert ours(user) == {"role": "user", "content": "hello", "type": "message", "agent": AGENT, "callerAgent": None}
    assert answer == reply("Hi there.")

    impostor.new_messages = [server_user("again"), reply("Yes.")]
    assert cli("resume", "liar", "-m", "again").returncode == 0
    assert impostor.requests[-1]["chat_history"] == [user, answer]  # the history went back as stored
    assert stored("liar") == [user, answer, server_user("again"), reply("Yes.")]


CANCEL_REPLIES: dict[str, Any] = {
    "a_reply_never_shown": [reply("I never said that.")],
    "junk_only": [7, None, "x"],
    "another_user_message": [server_user("something else")],
}


@pytest.mark.parametrize("kind", CANCEL_REPLIES)
def test_a_cancel_reply_never_takes_away_the_message_or_the_reply_shown(impostor: Impostor, kind: str) -> None:
    impostor.words = ["word0 ", "word1 ", "word2"]
    impostor.hold = True
    impostor.cancelled = CANCEL_REPLIES[kind]
    impostor.start()
    proc = zygote.popen(
        ["new", "cut", "--agency", impostor.url, "-m", "a story"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    shown = read_until(proc, b"word2")
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert (shown + rest).decode() == "word0 word1 word2\n"

    items = stored("cut")
    user = ours(items[0])
    assert user == {"role": "user", "content": "a story", "type": "message", "agent": AGENT, "callerAgent": None}
    kept = [i for i in CANCEL_REPLIES[kind] if isinstance(i, dict)]
    assert items[1:-1] == kept  # what the server says it made, and nothing that is not an item
    partial = items[-1]
    assert (partial["role"], partial["status"]) == ("assistant", "incomplete")
    assert partial["content"][0]["text"] == "word0 word1 word2\n\n[interrupted]"


def test_a_401_echoing_the_authorization_header_never_shows_the_token(cli: Run, impostor: Impostor) -> None:
    token = "s3cret-agency-token"
    impostor.refuse = f"bad credentials in header 'Authorization: Bearer {token}' (key sk-test-not-real)"
    impostor.start()
    done = cli("new", "x", "--agency", impostor.url, "-m", "hi", env={"SWARMCHAT_AGENCY_TOKEN": token})
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "401" in line and "Bearer [redacted]" in line and "[OPENAI_API_KEY]" in line, line
    assert token not in done.stderr + done.stdout and "sk-test-not-real" not in done.stderr
