"""Session lifecycle services: create names, fork, tag, export/import, prune (store only)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from swarmchat.attachments import bad_attachment
from swarmchat.errors import CorruptSession, InvalidName, UsageError
from swarmchat.item_ids import unique_ids
from swarmchat.names import generate_name, validate_name
from swarmchat.safe_text import json_dumps
from swarmchat.session import (
    Item,
    SessionMeta,
    count_turns,
    first_user_text,
    is_user_turn,
    now_iso,
    parse_time,
    title_from,
)
from swarmchat.store import Listed, SessionStore
from swarmchat.transcript import chronological

EXPORT_FORMAT = "swarmchat-session"
EXPORT_VERSION = 1


def fresh_name(store: SessionStore) -> str:
    return generate_name(set(store.names()))


def fork(store: SessionStore, source: str, new: str, at: int | None = None) -> SessionMeta:
    """Copy `source` as `new`, whole or cut at user turn `at` (see `cut_at_turn`). A cut copy starts
    its token counts at zero: the source's counts cover turns the copy does not hold."""
    meta, items = store.read(source)
    if not items:  # a session exists from its first message: an empty copy would not be stored
        raise UsageError(f"session '{meta.name}' has no messages yet; there is nothing to fork")
    stamp = now_iso()
    copy = replace(meta, name=validate_name(new), created_at=stamp, updated_at=stamp, journal_seq=0)
    if at is not None:
        items = cut_at_turn(meta.name, items, at)
        copy.input_tokens = copy.output_tokens = 0
        copy.usage_by_agent = {}
    store.write_new(copy, items)
    return copy


def fork_name(store: SessionStore, source: str) -> str:
    """A free name for a copy of `source`: `source-fork`, else `source-fork-2`, `-3`..."""
    taken = set(store.names())
    candidate, number = f"{source}-fork", 2
    while candidate in taken:
        candidate, number = f"{source}-fork-{number}", number + 1
    return candidate


def cut_at_turn(name: str, items: list[Item], at: int) -> list[Item]:
    """The items up to user turn `at`, numbered from 1 as /history and `show` number them.

    `at` > 0 keeps that turn with everything said in reply (delegations and tool calls included);
    `at` < 0 counts from the end and keeps that turn's user message *without* its reply, so -1 is
    the conversation with the last answer taken away, ready to be asked again. Items keep their
    stored order; "up to" follows the order they happened in (their timestamps)."""
    ordered = chronological(items)
    starts = [pos for pos, item in enumerate(ordered) if is_user_turn(item)]
    count = len(starts)
    if count == 0:
        raise UsageError(f"session '{name}' has no user turns to fork at; fork it whole (without --at)")
    if at == 0 or not -count <= at <= count:
        raise UsageError(
            f"session '{name}' has no turn {at}: it has {count} turn{'s' if count != 1 else ''}; "
            f"give --at 1 to {count}, or -1 to -{count} counting from the end"
        )
    end = (starts[at] if at < count else len(ordered)) if at > 0 else starts[count + at] + 1
    kept = {id(item) for item in ordered[:end]}
    return [item for item in items if id(item) in kept]


def validate_tag(raw: str) -> str:
    """Tags follow the rules of session names (no spaces, no control characters, not too long)."""
    return validate_name(raw, what="tag")


def tag(store: SessionStore, name: str, tags: Iterable[str], *, remove: bool = False) -> SessionMeta:
    """Add (or remove) tags; only the meta changes, under the session's one-writer lock, so a session
    open in another process is refused (SessionLocked) rather than overwritten behind its back.
    Tags compare without case: adding `trip` to a session tagged `Trip` keeps `Trip`."""
    wanted = [validate_tag(t) for t in tags]
    session = store.open(name)
    try:
        retag(session, wanted, remove=remove)
        return session.meta
    finally:
        session.close()


class Settings(Protocol):
    """A session open under our lock, as far as changing its settings goes (an OpenSession, the REPL's context)."""

    @property
    def meta(self) -> SessionMeta: ...

    def update_meta(self, **changes: object) -> None: ...


def retag(session: Settings, tags: Iterable[str], *, remove: bool = False) -> None:
    """Add (or remove) tags on a session open under our lock (`tag`, and /tag on the REPL's own
    session); tags are validated first, so a bad one changes nothing."""
    wanted = [validate_tag(t) for t in tags]
    kept = {t.casefold(): t for t in session.meta.tags}
    for one in wanted:
        if remove:
            kept.pop(one.casefold(), None)
        else:
            kept.setdefault(one.casefold(), one)
    changed = sorted(kept.values(), key=lambda t: (t.casefold(), t))
    if changed != session.meta.tags:
        session.update_meta(tags=changed)


def has_tags(meta: SessionMeta, wanted: Iterable[str]) -> bool:
    """Whether the session carries every tag in `wanted`, case aside (the filter of `list --tag` and
    `search --tag`)."""
    return {w.casefold() for w in wanted} <= {t.casefold() for t in meta.tags}


def with_tags(listed: list[Listed], wanted: Iterable[str]) -> list[Listed]:
    """The sessions of a listing that carry every wanted tag (damaged ones cannot be known to)."""
    want = list(wanted)
    return [m for m in listed if isinstance(m, SessionMeta) and has_tags(m, want)]


def export_text(meta: SessionMeta, items: list[Item]) -> str:
    """The export of a session as an open window holds it (exact data, every control character escaped)."""
    return json_dumps(session_export(meta, items)) + "\n"


def session_export(meta: SessionMeta, items: list[Item]) -> dict[str, Any]:
    session = meta.to_dict()
    session.pop("journal_seq", None)
    session["message_count"] = len(items)
    session["turn_count"] = count_turns(items)
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": now_iso(),
        "session": session,
        "messages": items,
    }


def export_json(store: SessionStore, name: str) -> str:
    """The export as text: exact data, every control character escaped (safe to print)."""
    return export_text(*store.read(name))


def read_import(path: Path) -> tuple[SessionMeta | None, list[Item], str]:
    """Parse an export (or an agency-swarm demo chat); returns (meta or None, items, suggested name)."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except RecursionError:
        raise UsageError(
            f"{path}: its JSON is nested too deeply to be a session; give a file made by 'swarmchat export'"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path}: not a JSON file ({exc}); give a file made by 'swarmchat export'") from None
    if isinstance(data, dict) and data.get("format") == EXPORT_FORMAT:
        if not isinstance(data.get("version"), int) or data["version"] > EXPORT_VERSION:
            raise UsageError(f"{path}: export version {data.get('version')!r} is newer than this swarmchat; upgrade it")
        try:
            meta = SessionMeta.from_dict({**data.get("session", {}), "journal_seq": 0})
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{path}: the session in this export is damaged: {exc}") from None
        items = _items(path, data.get("messages"))
        return meta, items, meta.name
    stem = path.stem.removeprefix("messages_")
    if isinstance(data, dict) and "items" in data and isinstance(data.get("metadata", {}), dict):
        # agency-swarm's terminal demo: .agency_swarm/messages_<id>.json
        return None, _items(path, data["items"]), stem
    if isinstance(data, list):  # the same demo's older chat files: the bare list of items (it still reads them)
        return None, _items(path, data), stem
    raise UsageError(f"{path}: not a swarmchat export or an agency-swarm chat file")


def _items(path: Path, value: object) -> list[Item]:
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise UsageError(f"{path}: its messages are not a list of JSON objects")
    return value


@dataclass
class Imported:
    meta: SessionMeta
    renamed: str = ""  # why the name the file gives could not be kept (it was imported under meta.name)
    ids_renamed: int = 0  # how many ids items reused were given new ones (see item_ids.unique_ids)


def import_file(store: SessionStore, path: Path, name: str | None) -> Imported:
    """Store the file's session. Its agency SPEC, if it names one, is code the file chose: the session
    keeps it untrusted (`agency_trusted` False) until the user confirms it (see `confirm_agency`).

    A name given with `--name` must be valid; a file's own name that cannot be a session name is
    replaced by a fresh one, and `renamed` says why (the CLI tells the user)."""
    meta, items, suggested = read_import(path)
    if not items:  # a session exists from its first message: there would be nothing to store
        raise UsageError(f"{path}: holds no messages; there is nothing to import")
    if problem := bad_attachment(items):
        raise UsageError(f"{path}: {problem}; a model API would refuse it on every turn; nothing was imported")
    items, ids_renamed = unique_ids(items)
    renamed = ""
    if name is None:
        try:
            name = validate_name(suggested)
        except InvalidName as exc:
            name = fresh_name(store)
            renamed = f"the name in {path.name} cannot be a session name ({exc})"
        if store.exists(name):
            raise UsageError(f"a session named '{name}' already exists; import it under another name with --name NEW")
    stamp = now_iso()
    if meta is None:  # an agency-swarm chat file names no agency: the built-in one (or yours) runs it
        meta = SessionMeta.fresh(name, title=title_from(first_user_text(items)))
    else:
        trusted = not (meta.agency or meta.base_url)
        meta = replace(meta, name=validate_name(name), updated_at=meta.updated_at or stamp, agency_trusted=trusted)
    try:
        store.write_new(meta, items)
    except RecursionError:
        raise UsageError(f"{path}: its messages are nested too deeply to store; nothing was imported") from None
    return Imported(meta, renamed, ids_renamed)


def damage(store: SessionStore, name: str) -> str | None:
    """What is wrong with a stored session that cannot be read, or None if it reads."""
    try:
        store.read(name)
    except CorruptSession as exc:
        return exc.problem
    return None


def untrusted(meta: SessionMeta) -> str:
    """What an imported, unconfirmed session would run or contact ('' when there is nothing to confirm):
    its agency SPEC (code), its model server (where the user's API key would be sent)."""
    if meta.agency_trusted:
        return ""
    parts = [
        f"agency SPEC '{meta.agency}'" if meta.agency else "",
        f"model server '{meta.base_url}'" if meta.base_url else "",
    ]
    return " and ".join(p for p in parts if p)


def confirm_agency(store: SessionStore, name: str, given: str | None, ask: Callable[[str], bool] | None) -> None:
    """Before an imported session's agency SPEC is imported (which runs its code), the user confirms it:
    by naming a SPEC (`--agency`), which then becomes the session's, or by `ask(spec)` answering yes
    (on a terminal). Without either, refuse. Once confirmed, the session is trusted like any other."""
    meta = store.read_meta(name)
    what = untrusted(meta)
    if not what:
        return
    if given is None:
        if ask is None:
            how = (
                f"'swarmchat resume {name} --agency {shlex.quote(meta.agency)}'"
                if meta.agency
                else f"'swarmchat resume {name}' at a terminal"
            )
            raise UsageError(f"session '{name}' was imported and names {what}; run {how} to confirm it")
        if not ask(what):
            raise UsageError(f"session '{name}' was not confirmed; nothing was run or sent")
        given = meta.agency
    session = store.open(name)
    try:
        session.update_meta(agency=given, agency_trusted=True)
    finally:
        session.close()


def change_settings(store: SessionStore, name: str, **settings: str | None) -> None:
    """`resume --model/--base-url/--api`: kept with the session, as /model keeps a model (None: unchanged)."""
    changes = {key: value for key, value in settings.items() if value is not None}
    if not changes:
        return
    session = store.open(name)
    try:
        session.update_meta(**changes)
    finally:
        session.close()


def prune_candidates(store: SessionStore, older_than: int, now: datetime | None = None) -> list[SessionMeta]:
    """Sessions last used more than `older_than` seconds ago, oldest first."""
    try:
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=older_than)
    except OverflowError:  # longer ago than datetime reaches: no session is that old
        return []
    old = [m for m in store.list() if isinstance(m, SessionMeta) and parse_time(m.updated_at) < cutoff]
    return sorted(old, key=lambda m: m.updated_at)
