"""The command line: parse, call a service, print, map errors to exit codes. Nothing more.

Imports are lazy so that listing commands start fast and never load agency-swarm.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from swarmchat import __version__
from swarmchat.errors import SessionLocked, SessionsLocked, SwarmchatError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from swarmchat.attachments import Attachment
    from swarmchat.session import SessionMeta
    from swarmchat.store import SessionStore


def _plain_values_as_they_are() -> bool:
    """Keep pydantic out of the commands' start-up; True if the patch applied.

    typer (0.29) coerces each parameter through a pydantic TypeAdapter, which imports pydantic
    (~90 ms, more than half of `list`'s budget) even for an unset option (--help's None) or a
    plain string. typer offers no public way around it: its own options (--help, the completion
    ones) are unset bools, and `parser=` still builds an adapter. A value that already is what its
    annotation says (None, a str for `str`, a bool for `bool`, a member of the Enum, strings for
    `list[str]`) comes out of that adapter unchanged, so it is passed through as is; every other
    value still goes through typer. This replaces the PRIVATE `_TyperParameter.process_value`:
    pyproject.toml bounds typer to the tested minor version and tests/test_typer_patch.py fails
    loudly if a typer release stops taking the patch. A typer without this machinery is left alone.
    """
    param_cls: Any = getattr(getattr(typer, "core", None), "_TyperParameter", None)
    original = getattr(param_cls, "process_value", None)
    if param_cls is None or original is None or not hasattr(param_cls, "get_runtime_param"):
        return False

    class AsIs:
        @staticmethod
        def coerce(value: object, param: Any, ctx: object) -> object:
            if value is None:
                return () if param.multiple or param.nargs == -1 else None
            return list(value) if isinstance(value, tuple) else value

    def plain(param: object, value: object) -> bool:
        desc = getattr(param, "type_descriptor", None)
        info = getattr(desc, "parameter_info", None)
        if desc is None or desc.file_annotation is not None or getattr(info, "parser", None) is not None:
            return False
        kind = desc.annotation
        if value is None:
            return True
        if kind in (str, bool):
            return type(value) is kind
        if isinstance(kind, type) and issubclass(kind, Enum):
            return isinstance(value, kind)
        return bool(kind == list[str] and isinstance(value, tuple | list) and all(type(v) is str for v in value))

    def process_value(self: Any, ctx: object, value: object) -> object:
        if getattr(self, "_runtime_param", True) is None and plain(self, value):
            self._runtime_param = AsIs
            try:
                return original(self, ctx, value)
            finally:
                self._runtime_param = None
        return original(self, ctx, value)

    param_cls.process_value = process_value
    return True


TYPER_PATCHED = _plain_values_as_they_are()

GETTING_STARTED = """Named, durable chat sessions with agency-swarm agencies.

\b
Getting started: in your agency-swarm project folder (agency.py with
create_agency(), a .env holding OPENAI_API_KEY) run 'swarmchat new'.
'swarmchat resume' goes back to the last chat; 'swarmchat list' and
'swarmchat search TEXT' find the others. No key yet? 'swarmchat new
--model echo' works offline.

\b
Environment: OPENAI_API_KEY, OPENAI_BASE_URL, SWARMCHAT_AGENCY,
SWARMCHAT_MODEL, SWARMCHAT_API, SWARMCHAT_STORE (redis://...),
SWARMCHAT_DATA_DIR, SWARMCHAT_CONFIG_DIR. Defaults live in the config
file: 'swarmchat config' shows each setting and where it comes from
(flag > environment > project folder > config file > built-in).
"""

app = typer.Typer(
    name="swarmchat",
    help=GETTING_STARTED,
    no_args_is_help=False,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
_debug = False


class Api(StrEnum):
    responses = "responses"
    chat = "chat"


def _store() -> SessionStore:
    """The store SWARMCHAT_STORE names, else the config file's `store`, else files in the data dir; what its
    checks on connect found is said (once in a while, never on a save)."""
    from swarmchat.safe_text import safe_line
    from swarmchat.store import open_store

    url = os.environ.get("SWARMCHAT_STORE")
    if not url:
        from swarmchat.config import Config

        url = Config.load().values.get("store", "")
    store = open_store(url)
    for warning in store.checked():
        sys.stderr.write(f"swarmchat: warning: {safe_line(warning)}\n")
    return store


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, no_color="NO_COLOR" in os.environ or None)


def _short_lived() -> None:
    """A command that reads, prints and exits: cyclic GC only costs it time (a third of `show` on a
    10,000-message session), and the process ends before garbage could matter."""
    gc.disable()


def _catalog_waits() -> None:
    """`list` and `search` say so when the catalog they read is locked by another process a while."""
    from swarmchat.store.catalog import db

    def waiting(path: Path) -> None:
        sys.stderr.write(f"swarmchat: waiting for {path}: another swarmchat process is updating it\n")
        sys.stderr.flush()

    db.waiting = waiting


def _complete_name(incomplete: str) -> list[str]:
    try:
        return [n for n in _store().names() if n.startswith(incomplete)]
    except Exception:
        return []


NameArg = Annotated[str, typer.Argument(help="Session name.", autocompletion=_complete_name)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"swarmchat {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    global _debug
    _debug = debug
    if debug:
        os.environ["SWARMCHAT_DEBUG"] = "1"
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def _message_text(message: str | None) -> str | None:
    """-m TEXT, or text piped on stdin: the one-turn scripting path. Only text is sent: bytes that are
    not UTF-8 (or a NUL: binary data) are refused before anything is created."""
    if message is not None:
        if any("\ud800" <= c <= "\udfff" for c in message):  # argv bytes Python could not decode
            raise UsageError("the message given with -m is not valid UTF-8; pass text in UTF-8")
        if not message.strip():
            raise UsageError("the message given with -m is empty; write something to send")
        return message
    if sys.stdin is None or sys.stdin.isatty():
        return None
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"stdin is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); pipe text, not binary data"
        ) from None
    if "\x00" in text:
        raise UsageError(f"stdin holds a NUL byte (offset {data.index(0)}): binary data; pipe text instead")
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write is not part of the message
    if not text.strip():
        raise UsageError("stdin is not a terminal but held no message; pipe some text or use -m TEXT")
    return text.rstrip("\r\n")  # the newline that ends a piped file or echo is not part of the message


# list[str], not list[Path]: a path is converted by us, so typer's pydantic adapter (and its start-up
# cost) stays out of the way (see _plain_values_as_they_are).
AttachOption = Annotated[
    list[str] | None,
    typer.Option(
        "--attach",
        "-a",
        metavar="FILE",
        help="Send FILE with the message (-m or stdin): an image (PNG, JPEG, GIF, WebP), a PDF or a text "
        "file. Repeat for more files.",
    ),
]


def _attachments(paths: list[str] | None, text: str | None) -> list[Attachment] | None:
    """--attach FILE...: every file read and checked now, before anything is created or sent."""
    if not paths:
        return None
    if text is None:
        raise UsageError("--attach needs a message to go with the files; give one with -m TEXT (or on stdin)")
    from swarmchat.attachments import read_attachments

    return read_attachments(paths)


def _examples(*lines: str) -> str:
    """A command's help ends with these, shown as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


MaxCostOption = Annotated[
    str | None,
    typer.Option(
        "--max-cost",
        metavar="USD",
        help="Spending cap for the session in dollars (kept with it): a turn stops before a model call past it.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="With -m (or stdin): every event of the turn as JSON Lines on stdout.")
]


def _json_needs_message(as_json: bool, text: str | None) -> None:
    if as_json and text is None:
        raise UsageError("--json needs a message to send; give one with -m TEXT (or on stdin)")


@app.command(
    epilog=_examples(
        "swarmchat new                 # in a folder holding agency.py and .env",
        'swarmchat new trip --agency team.agency:create_agency -m "plan a trip"',
    )
)
def new(
    name: Annotated[str | None, typer.Argument(help="Name for the session (default: a fresh one).")] = None,
    agency: Annotated[
        str | None,
        typer.Option("--agency", help="Agency SPEC: pkg.module:attr, path/file.py:attr or http(s)://host:port/AGENCY."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model for every agent.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server URL.")] = None,
    api: Annotated[Api | None, typer.Option("--api", help="Model API: responses or chat.")] = None,
    message: Annotated[
        str | None, typer.Option("-m", "--message", help="Send one message, print the reply, exit.")
    ] = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="Forget the session after this long unused (redis).")] = None,
    attach: AttachOption = None,
    as_json: JsonOption = False,
    max_cost: MaxCostOption = None,
) -> None:
    """Start a new named session.

    The agency is --agency SPEC, else SWARMCHAT_AGENCY, else ./agency.py (its create_agency, else its
    agency), else `agency` in the config file, else the built-in assistant; ./.env is read first.
    """
    from swarmchat import lifecycle, project
    from swarmchat.budget import parse_cost
    from swarmchat.durations import parse_duration
    from swarmchat.names import validate_name
    from swarmchat.session import SessionMeta

    text = _message_text(message)  # bad input is refused before the store is touched
    files = _attachments(attach, text)
    _json_needs_message(as_json, text)
    cap = parse_cost(max_cost) if max_cost is not None else project.default_max_cost()
    _check_client_settings()
    chosen = project.prepare_new(agency, model, base_url, api.value if api else None)
    store = _store()
    generated = name is None
    name = lifecycle.fresh_name(store) if name is None else validate_name(name)
    meta = SessionMeta.fresh(
        name,
        agency=chosen.agency.spec if chosen.agency else None,
        agency_dir=chosen.agency.folder if chosen.agency else None,
        model=chosen.model,
        base_url=base_url,
        api=chosen.api,
        ttl_seconds=parse_duration(ttl) if ttl else None,
        max_cost=cap,
    )
    if chosen.notice:
        _dim(chosen.notice)
    announce = (lambda: typer.echo(f"session: {name}", err=True)) if generated else None  # once it will exist
    _run_chat(
        store,
        name,
        create=meta,
        agency=None,
        text=text,
        files=files,
        announce=announce,
        as_json=as_json,
        cap_set=cap is not None,
    )


def _dim(line: str) -> None:
    """One quiet line on stderr (which agency, which session): not part of a reply piped from stdout."""
    from swarmchat.safe_text import say

    _console(stderr=True).print(say((line, "dim")), soft_wrap=True)


@app.command(
    epilog=_examples(
        "swarmchat resume               # the last chat",
        "swarmchat resume trip --base-url http://localhost:11434/v1 --api chat",
    )
)
def resume(
    name: Annotated[
        str | None,
        typer.Argument(help="Session (default: the one with the latest turn).", autocompletion=_complete_name),
    ] = None,
    agency: Annotated[
        str | None, typer.Option("--agency", help="Use this SPEC (a moved or renamed agency module).")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="Switch every agent to this model (kept).")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Switch to this OpenAI-compatible server URL (kept).")
    ] = None,
    api: Annotated[Api | None, typer.Option("--api", help="Switch the model API: responses or chat (kept).")] = None,
    message: Annotated[
        str | None, typer.Option("-m", "--message", help="Send one message, print the reply, exit.")
    ] = None,
    attach: AttachOption = None,
    as_json: JsonOption = False,
    max_cost: MaxCostOption = None,
) -> None:
    """Go back to a session: same agency, same history, same agent and model.

    Without NAME, the session with the latest turn (named on stderr). --model, --base-url and --api
    change the session for this and later turns, as /model does.
    """
    from swarmchat import project
    from swarmchat.budget import parse_cost
    from swarmchat.session import SessionMeta

    _check_client_settings()
    text = _message_text(message)
    files = _attachments(attach, text)  # read and checked before the store is touched
    override = project.anchor(agency) if agency else None
    project.load_env(Path.cwd())  # before the store: a project's .env may name it, as for `new`
    _json_needs_message(as_json, text)
    cap = parse_cost(max_cost) if max_cost is not None else None
    store = _store()
    if name is None:
        newest = [m for m in store.recent(1)[0] if isinstance(m, SessionMeta)]
        if not newest:
            raise UsageError("there is no session to resume yet; start one with 'swarmchat new'")
        name = newest[0].name
        _dim(f"resuming {name} (the last chat; 'swarmchat list' shows the others)")
    from swarmchat.lifecycle import change_settings, confirm_agency

    meta = store.read_meta(name)
    spec = override.spec if override else meta.agency
    project.prepare_resume(
        spec,
        override.folder if override else meta.agency_dir,
        model=model or meta.model,
        base_url=base_url or meta.base_url,
    )  # .env read, and a missing key refused, before anything is written or sent
    at_terminal = text is None and sys.stdin is not None and sys.stdin.isatty()
    given = override.spec if override else None
    confirm_agency(store, name, given, _ask_to_run if at_terminal else None)  # before anything is imported
    change_settings(store, name, model=model, base_url=base_url, api=api.value if api else None)
    if cap is not None:
        from swarmchat.budget import set_cap

        set_cap(store, name, cap)
    _run_chat(store, name, create=None, agency=given, text=text, files=files, as_json=as_json, cap_set=cap is not None)


def _ask_to_run(what: str) -> bool:
    from swarmchat.safe_text import safe_line

    typer.echo(f"This session was imported. It names {safe_line(what)}.", err=True)
    typer.echo("Resuming runs that module's code and sends the conversation (and your API key) there.", err=True)
    return typer.confirm("Go on?", default=False, abort=True, err=True)


def _check_client_settings() -> None:
    """A malformed SWARMCHAT_TIMEOUT / SWARMCHAT_MAX_RETRIES is bad input: refused before anything is created."""
    from swarmchat.agency.models import client_settings

    client_settings()


def _run_chat(
    store: SessionStore,
    name: str,
    *,
    create: SessionMeta | None,
    agency: str | None,
    text: str | None,
    files: list[Attachment] | None,
    announce: Callable[[], None] | None = None,
    as_json: bool = False,
    cap_set: bool = False,
) -> None:
    """The REPL (it names a new session itself), or with a message the one-shot path (its exit code
    becomes the process's)."""
    from swarmchat import chat

    if text is None:
        chat.interactive(store, name, create=create, agency=agency)
    else:
        code = chat.one_shot(
            store,
            name,
            create=create,
            agency=agency,
            text=text,
            files=files,
            announce=announce,
            as_json=as_json,
            cap_set=cap_set,
        )
        raise typer.Exit(code)


@app.command("list", epilog=_examples("swarmchat list", "swarmchat list --tag work --json"))
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (every session).")] = False,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Show every session, not just the latest 50.")] = False,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only sessions tagged TAG (repeat: every one of them).")
    ] = None,
) -> None:
    """List sessions, most recently used first."""
    _short_lived()
    _catalog_waits()
    from swarmchat.safe_text import json_dumps
    from swarmchat.store.base import BadSession, newest_first

    store = _store()
    if tags:
        from swarmchat.lifecycle import validate_tag, with_tags

        wanted = [validate_tag(t) for t in tags]
        listed = with_tags(store.list(), wanted)
        shown, total = newest_first(listed, len(listed) if as_json or all_ else 50)
        if not shown and not as_json:
            typer.echo(f"no session is tagged {' '.join(f'#{t}' for t in wanted)}; tag one with 'swarmchat tag'")
            return
    elif as_json or all_:
        listed = store.list()
        shown, total = newest_first(listed, len(listed))
    else:
        shown, total = store.recent(50)  # checks only the rows it shows
    from swarmchat.store.holders import open_elsewhere

    busy = open_elsewhere(store, [m.name for m in shown if not isinstance(m, BadSession)])
    if as_json:
        rows = [
            {"name": m.name, "damaged": m.problem, "location": m.location}
            if isinstance(m, BadSession)
            else {k: round(v, 4) if isinstance(v, float) else v for k, v in m.to_dict().items() if k != "journal_seq"}
            | _busy(busy, m.name)
            for m in shown
        ]
        sys.stdout.write(json_dumps(rows) + "\n")
        return
    if not shown:
        typer.echo("no sessions yet; start one with 'swarmchat new'")
        return
    from swarmchat.render import session_table

    session_table(shown, total, busy=busy)


def _busy(busy: dict[str, str], name: str) -> dict[str, str]:
    """list --json: `busy` names the process a session is open in, when it is."""
    return {"busy": busy[name]} if name in busy else {}


class Format(StrEnum):
    markdown = "markdown"
    json = "json"


@app.command(epilog=_examples("swarmchat show trip", "swarmchat show trip --format json > trip.json"))
def show(
    name: NameArg,
    fmt: Annotated[Format, typer.Option("--format", help="markdown or json.")] = Format.markdown,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Then print each new message as it is stored, until Ctrl-C.")
    ] = False,
) -> None:
    """Print a session's transcript (offline, read-only)."""
    store = _store()
    if follow:
        if fmt is Format.json:
            raise UsageError("--follow prints the transcript as show does; leave out --format json")
        from swarmchat.follow import follow as follow_session

        raise typer.Exit(follow_session(store, name))
    _short_lived()
    if fmt is Format.json:
        from swarmchat.lifecycle import export_json

        sys.stdout.write(export_json(store, name))
        return
    meta, items = store.read(name)
    if sys.stdout.isatty():
        from swarmchat.pager import ScreenPager
        from swarmchat.render import transcript

        console = _console()
        with console.pager(ScreenPager(console), styles=True):  # paged when taller than the screen
            transcript(console, meta, items)
    else:
        from swarmchat.render import untrusted_note
        from swarmchat.transcript import to_markdown

        note = untrusted_note(meta)
        sys.stdout.write(to_markdown(meta.title or meta.name, items, note=note))


@app.command(epilog=_examples("swarmchat delete trip", "swarmchat delete old-1 old-2 --yes"))
def delete(
    names: Annotated[list[str], typer.Argument(help="Sessions to delete.", autocompletion=_complete_name)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete sessions (asks first)."""
    _short_lived()
    from swarmchat.names import validate_name
    from swarmchat.words import counted

    store = _store()
    unique = list(dict.fromkeys(validate_name(n) for n in names))
    for n in unique:  # all or nothing: check every name before deleting any; a damaged session may go too
        if not store.exists(n):
            _missing(n)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("delete needs confirmation; pass --yes when not at a terminal")
        from swarmchat.lifecycle import damage
        from swarmchat.safe_text import safe_line

        shown = []
        for n in unique:
            problem = damage(store, n)
            shown.append(f"'{n}' (damaged: {safe_line(problem)})" if problem else f"'{n}'")
        typer.confirm(f"Delete {counted(len(unique), 'session')}: {', '.join(shown)}?", abort=True, err=True)
    deleted, busy = _delete_each(store, unique)
    if deleted:
        typer.echo(f"deleted {counted(len(deleted), 'session')}: {', '.join(deleted)}")
    if len(busy) == 1:
        raise busy[0]
    if busy:
        held = "; ".join(f"'{e.name}' ({e.holder})" for e in busy)
        raise SessionsLocked(f"{len(busy)} sessions are open in other processes: {held}; close them there first")


def _delete_each(store: SessionStore, names: list[str]) -> tuple[list[str], list[SessionLocked]]:
    """Delete what can be; a session open in another process is kept: (deleted, the lock errors of those kept)."""
    from swarmchat.errors import SessionNotFound

    deleted: list[str] = []
    busy: list[SessionLocked] = []
    for n in names:
        try:
            store.delete(n)
        except SessionLocked as exc:
            busy.append(exc)
        except SessionNotFound:
            pass  # someone else deleted it meanwhile
        else:
            deleted.append(n)
    return deleted, busy


def _missing(name: str) -> None:
    from swarmchat.errors import SessionNotFound

    raise SessionNotFound(name)


@app.command(epilog=_examples("swarmchat rename calm-otter trip"))
def rename(old: NameArg, new: Annotated[str, typer.Argument(help="New name.")]) -> None:
    """Rename a session."""
    _short_lived()
    _store().rename(old, new)
    typer.echo(f"renamed {old} → {new}")


@app.command(
    epilog=_examples(
        "swarmchat fork trip trip-b", "swarmchat fork trip retry --at -1   # the last question, unanswered"
    )
)
def fork(
    source: NameArg,
    new: Annotated[str | None, typer.Argument(help="Name of the copy (default: SOURCE-fork, as /fork picks).")] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="TURN",
            help="Copy only up to user turn TURN (numbered as /history and show number them), with its "
            "replies. Negative counts from the end and keeps that turn's message without its reply: "
            "-1 is the last question, unanswered, ready to ask again. A copy cut at a turn starts its "
            "token counts at zero.",
        ),
    ] = None,
) -> None:
    """Copy a session to branch from, whole or up to a turn."""
    from swarmchat.lifecycle import fork as fork_session
    from swarmchat.lifecycle import fork_name
    from swarmchat.words import counted

    store = _store()
    copy = fork_session(store, source, new or fork_name(store, source), at=_turn_number(at))
    typer.echo(f"forked {source} → {copy.name} ({counted(copy.turn_count, 'turn')})")


def _turn_number(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise UsageError(f"--at '{raw}' is not a turn number; give one such as 3, or -1 for the last turn") from None


@app.command("tag", epilog=_examples("swarmchat tag trip travel 2026", "swarmchat tag trip 2026 --remove"))
def tag_(
    name: NameArg,
    tags: Annotated[
        list[str] | None, typer.Argument(help="Tags to add (letters, digits, '-', '_', '.'); none: list its tags.")
    ] = None,
    remove: Annotated[bool, typer.Option("--remove", "-r", help="Remove these tags instead.")] = False,
) -> None:
    """Tag a session (list --tag TAG finds it again); with no TAG, show its tags (as /tag does)."""
    _short_lived()
    from swarmchat.lifecycle import tag as tag_session

    if not tags and remove:
        raise UsageError("give the tags to remove: swarmchat tag NAME TAG... --remove")
    meta = tag_session(_store(), name, tags, remove=remove) if tags else _store().read_meta(name)
    typer.echo(f"{meta.name}: {' '.join(f'#{t}' for t in meta.tags) or 'no tags'}")


@app.command(epilog=_examples("swarmchat export trip -o trip.json"))
def export(
    name: NameArg,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write to FILE (default: stdout).")] = None,
) -> None:
    """Export a session as one self-contained JSON file."""
    from swarmchat.lifecycle import export_json

    data = export_json(_store(), name)
    if output is None:
        sys.stdout.write(data)
        return
    from swarmchat.files_out import write_new_file

    write_new_file(output, data.encode("utf-8"))
    typer.echo(f"exported {name} → {output}", err=True)


@app.command(
    "import",
    epilog=_examples("swarmchat import trip.json", "swarmchat import .agency_swarm/messages_1.json --name demo"),
)
def import_(
    file: Annotated[Path, typer.Argument(help="A swarmchat export or an agency-swarm chat file.")],
    name: Annotated[str | None, typer.Option("--name", help="Name for the imported session.")] = None,
) -> None:
    """Import a session from a file made by export (or an agency-swarm demo chat)."""
    from swarmchat.lifecycle import import_file

    done = import_file(_store(), file, name)
    meta = done.meta
    if done.renamed:
        from swarmchat.safe_text import safe_line

        sys.stderr.write(
            f"swarmchat: warning: {safe_line(done.renamed)}; imported as '{meta.name}' "
            f"(rename it with 'swarmchat rename {meta.name} NEW', or import with --name NAME)\n"
        )
    from swarmchat.words import counted

    typer.echo(f"imported {meta.name} ({counted(meta.turn_count, 'turn')})")
    if done.ids_renamed:
        typer.echo(
            f"gave {counted(done.ids_renamed, 'reused id')} new ones, so the agency keeps every message "
            "(it keeps one item per id)",
            err=True,
        )
    from swarmchat.lifecycle import untrusted

    if what := untrusted(meta):
        from swarmchat.safe_text import safe_line

        typer.echo(
            f"it names {safe_line(what)}: 'swarmchat resume {meta.name}' asks before using them",
            err=True,
        )


@app.command(epilog=_examples("swarmchat search hotel", "swarmchat search '\"day trip\" sintr*' --tag travel"))
def search(
    text: Annotated[str, typer.Argument(help='Words, "a phrase" or prefix* (case and accents ignored).')],
    count: Annotated[str | None, typer.Option("-n", help="How many sessions to show (default 20).")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Only what this agent said or was told.")] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only sessions with this tag (repeatable: all of them).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Find the sessions that best match TEXT, with the messages that match and their turns (#3: fork --at 3)."""
    _short_lived()
    _catalog_waits()
    from swarmchat.store.search import search_sessions

    if not text.strip():
        raise UsageError("search needs some text to look for, e.g. swarmchat search 'hotel'")
    limit = _positive(count, "-n") if count is not None else 20
    found = search_sessions(_store(), text, limit, agent, tags or None)
    from swarmchat import search_view

    if as_json:
        sys.stdout.write(search_view.as_json(found))
    elif not found:  # finding nothing is an answer, not a failure (exit 1 means the store failed)
        from swarmchat.safe_text import safe_line

        typer.echo(safe_line(f"no session mentions '{text}'" + (f" with agent '{agent}'" if agent else "")))
    elif sys.stdout.isatty():
        search_view.highlighted(_console(), found)
    else:
        search_view.plain(found, sys.stdout)


def _positive(value: str, option: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise UsageError(f"{option} takes a whole number of 1 or more, not '{value}'; e.g. {option} 5")
    return number


@app.command(epilog=_examples("swarmchat prune --older-than 30d", "swarmchat prune --older-than 12h --yes"))
def prune(
    older_than: Annotated[str, typer.Option("--older-than", help="Age such as 30d or 12h.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
) -> None:
    """Delete sessions not used for a while (lists them and asks first)."""
    from swarmchat.durations import parse_duration
    from swarmchat.lifecycle import prune_candidates
    from swarmchat.render import ago
    from swarmchat.safe_text import safe_line
    from swarmchat.words import counted

    store = _store()
    old = prune_candidates(store, parse_duration(older_than))
    if not old:
        typer.echo(f"no session is older than {older_than}")
        return
    for meta in old:
        tags = "".join(f", #{safe_line(t)}" for t in meta.tags)  # a tagged session was meant to be kept: say so
        typer.echo(f"  {meta.name}  ({counted(meta.turn_count, 'turn')}, last used {ago(meta.updated_at)}{tags})")
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("prune needs confirmation; pass --yes when not at a terminal")
        these = "this session" if len(old) == 1 else f"these {len(old)} sessions"
        typer.confirm(f"Delete {these}?", abort=True, err=True)
    deleted, busy = _delete_each(store, [meta.name for meta in old])
    kept = ", ".join(f"{e.name} ({e.holder})" for e in busy)
    typer.echo(
        f"deleted {counted(len(deleted), 'session')}"
        + (f"; kept {len(busy)} open in another process: {kept}" if busy else "")
    )


config_app = typer.Typer(
    help="Show the settings in effect and where each comes from; set or unset the config file's defaults.",
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(config_app, name="config")


@config_app.callback(invoke_without_command=True, epilog=_examples("swarmchat config"))
def config_show(ctx: typer.Context) -> None:
    """Show every setting a new session here would use, with where it comes from (flag > environment >
    project folder > config file > built-in). Values read from a .env are not shown."""
    if ctx.invoked_subcommand is not None:
        return
    from swarmchat.config import config_path
    from swarmchat.project import effective_settings
    from swarmchat.safe_text import safe_line

    path = config_path()
    typer.echo(f"config file: {path}" + ("" if path.exists() else " (not created yet)"))
    for origin, key, value in effective_settings():
        typer.echo(f"{safe_line(origin)}\t{safe_line(f'{key}={value}')}")  # as git config --show-origin


@config_app.command(
    "set",
    epilog=_examples(
        "swarmchat config set model gpt-4.1-mini", "swarmchat config set base_url http://localhost:11434/v1"
    ),
)
def config_set(
    key: Annotated[str, typer.Argument(help="agency, model, base_url, api or store.")],
    value: Annotated[str, typer.Argument(help="Its value.")],
) -> None:
    """Set a default in the config file (its comments are kept)."""
    from swarmchat.config import set_value

    path = set_value(key, value)
    typer.echo(f"{key} set in {path}")


@config_app.command("unset", epilog=_examples("swarmchat config unset model"))
def config_unset(key: Annotated[str, typer.Argument(help="The key to remove.")]) -> None:
    """Remove a default from the config file."""
    from swarmchat.config import config_path, unset_value

    if unset_value(key):
        typer.echo(f"{key} unset in {config_path()}")
    else:
        typer.echo(f"{key} is not set in {config_path()}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes one line on stderr and an exit code (SystemExit). `argv` (else
    sys.argv) may be given to run a command in this process: what a command changes process-wide (the
    collector switched off by a short-lived command, --debug) is put back before this returns."""
    global _debug
    collecting, debug_env = gc.isenabled(), os.environ.get("SWARMCHAT_DEBUG")
    try:
        _main(argv)
    except SystemExit as exc:
        if argv is not None:  # in a caller's process: never end it
            raise
        _leave(exc)
    finally:
        _debug = False
        if collecting:
            gc.enable()
        if debug_env is None:
            os.environ.pop("SWARMCHAT_DEBUG", None)


def _leave(exit: SystemExit) -> None:
    """Exit now: a thread an agency started and left running (not a daemon) would keep the process
    alive forever after the session was stored and closed, so with one alive the process ends at once."""
    stray = [t for t in threading.enumerate() if t.is_alive() and not t.daemon and t is not threading.main_thread()]
    if not stray:
        raise exit
    code = exit.code
    with contextlib.suppress(Exception):
        if isinstance(code, str):
            sys.stderr.write(code + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def _main(argv: list[str] | None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
    except SwarmchatError as exc:
        if _debug:
            raise
        _fail(str(exc), exc.exit_code)
    except typer.TyperException as exc:  # usage errors from the parser
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _fail(exc.format_message() + hint, getattr(exc, "exit_code", 2))
    except typer.Abort:  # the user said no: not an error, but nothing was done
        sys.stderr.write("nothing was changed\n")
        sys.exit(1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    from swarmchat.safe_text import safe_line

    line = safe_line(" ".join(message.split()))
    sys.stderr.write(f"swarmchat: error: {line}\n")
    sys.exit(code)
