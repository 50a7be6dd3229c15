"""Imports that would lose or poison a conversation: items reusing ids (agency-swarm keeps one item per id),
and files whose data is not valid base64 (a model API would refuse every later turn)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from conftest import Run, one_error_line, raw_state, stored
from fake_openai import FakeOpenAI

from swarmchat.session import Item

STAMP = 1_795_543_882_000_000


def turn(n: int, question: str, answer: str) -> list[Item]:
    """One turn as a real export has it: the assistant's `msg_` id and the tool's call id repeat every turn."""
    base = {"agent": "Assistant", "callerAgent": None}
    return [
        {"role": "user", "content": question, "type": "message", "timestamp": STAMP + 10 * n, **base},
        {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "lookup", "arguments": "{}",
         "status": "completed", "timestamp": STAMP + 10 * n + 1, **base},
        {"type": "function_call_output", "call_id": "call_1", "output": f"looked up {n}",
         "timestamp": STAMP + 10 * n + 2, **base},
        {"id": "msg_1", "role": "assistant", "type": "message", "status": "completed",
         "content": [{"type": "output_text", "text": answer, "annotations": []}], "timestamp": STAMP + 10 * n + 3,
         **base},
    ]  # fmt: skip


def test_an_import_reusing_ids_keeps_every_item_through_a_turn(
    cli: Run, store_url: str, server: FakeOpenAI, tmp_path: Path
) -> None:
    items = [item for n in range(3) for item in turn(n, f"question {n}", f"answer {n}")]
    path = tmp_path / "messages_reused.json"
    path.write_text(json.dumps({"items": items, "metadata": {}}))

    out = cli("import", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "imported reused (3 turns)"
    assert out.stderr.strip() == (
        "gave 6 reused ids new ones, so the agency keeps every message (it keeps one item per id)"
    )
    imported = stored("reused")
    # every item is there, in order, with only its reused ids changed; a call and its output still pair up
    assert [{k: v for k, v in i.items() if k not in ("id", "call_id")} for i in imported] == [
        {k: v for k, v in i.items() if k not in ("id", "call_id")} for i in items
    ]
    ids = [i["id"] for i in imported if "id" in i]
    assert len(ids) == len(set(ids)) == 6
    calls = [(i["type"], i["call_id"]) for i in imported if "call_id" in i]
    kinds = ("function_call", "function_call_output")
    pairs = [(kind, f"call_1{suffix}") for suffix in ("", "_2", "_3") for kind in kinds]
    assert calls == pairs

    resumed = cli("resume", "reused", "-m", "and now?", env={"OPENAI_BASE_URL": server.url})
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "echo: and now?"
    after = stored("reused")
    assert after[: len(imported)] == imported  # nothing lost, nothing altered
    assert (after[len(imported)].get("role"), after[len(imported)].get("content")) == ("user", "and now?")
    sent = server.last.messages()
    assert [text for role, text in sent if role == "assistant"] == ["answer 0", "answer 1", "answer 2"]


def test_an_import_without_reused_ids_says_nothing_about_ids(cli: Run, tmp_path: Path) -> None:
    items = turn(0, "only once", "fine")
    path = tmp_path / "messages_single.json"
    path.write_text(json.dumps({"items": items, "metadata": {}}))
    out = cli("import", str(path))
    assert (out.returncode, out.stderr) == (0, "")
    assert stored("single") == items


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(16)).decode()
BAD_PARTS = {
    "image": ({"type": "input_image", "image_url": "data:image/png;base64,not*base64!", "detail": "auto"}, "an image"),
    "pdf": ({"type": "input_file", "filename": "plan.pdf", "file_data": "data:application/pdf;base64,%%%"}, "plan.pdf"),
    "cut_image": ({"type": "input_image", "image_url": f"data:image/png;base64,{PNG[:-3]}"}, "an image"),
}


@pytest.mark.parametrize("kind", BAD_PARTS)
def test_an_imported_attachment_with_invalid_base64_is_refused(
    cli: Run, store_url: str, data_dir: Path, tmp_path: Path, kind: str
) -> None:
    part, named = BAD_PARTS[kind]
    good = {"role": "user", "content": [{"type": "input_text", "text": "see"}, {"type": "input_image",
            "image_url": f"data:image/png;base64,{PNG}"}], "agent": "Assistant", "callerAgent": None}  # fmt: skip
    bad = {"role": "user", "content": [{"type": "input_text", "text": "and this"}, part], "callerAgent": None}
    path = tmp_path / "messages_files.json"
    path.write_text(json.dumps({"items": [good, bad], "metadata": {}}))
    before = raw_state(store_url, data_dir)

    out = cli("import", str(path))
    assert out.returncode == 2, out.stdout
    line = one_error_line(out.stderr)
    assert "message 2 holds" in line and named in line and "not valid base64" in line and "nothing was imported" in line
    assert raw_state(store_url, data_dir) == before
    assert cli("list", "--json").stdout.strip() == "[]"


def test_reused_ids_are_renamed_in_pairs_and_fresh_names_avoid_taken_ones() -> None:
    from swarmchat.item_ids import unique_ids

    items: list[Item] = [
        {"type": "mcp_approval_request", "id": "mcpr_1"},
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_1"},
        {"type": "mcp_approval_request", "id": "mcpr_1"},
        {"type": "mcp_approval_response", "approval_request_id": "mcpr_1"},
        {"id": "msg_1_2", "role": "assistant"},  # the name a rename would pick first is taken
        {"id": "msg_1", "role": "assistant"},
        {"id": "msg_1", "role": "assistant"},
        {"id": "__fake_id__", "role": "assistant"},  # the Agents SDK's shared placeholder is left alone
        {"id": "__fake_id__", "role": "assistant"},
    ]
    renamed, count = unique_ids(items)
    assert count == 2
    assert [i.get("id") or i.get("approval_request_id") for i in renamed] == [
        "mcpr_1", "mcpr_1", "mcpr_1_2", "mcpr_1_2", "msg_1_2", "msg_1", "msg_1_3", "__fake_id__", "__fake_id__"
    ]  # fmt: skip
    assert items[2]["id"] == "mcpr_1"  # the file's items are not changed in place
