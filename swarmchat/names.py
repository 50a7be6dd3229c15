"""Session names: validation (they become file names and Redis keys) and readable generation."""

from __future__ import annotations

import random
import unicodedata

from swarmchat.errors import InvalidName

MAX_CHARS = 64
MAX_BYTES = 200  # leaves room for suffixes under the usual 255-byte file-name limit
_PUNCT = "-_."
_RESERVED = {
    "con", "prn", "aux", "nul",
    *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10)),
}  # fmt: skip
_HINT = "use letters, digits, '-', '_' or '.', starting with a letter or digit"


def validate_name(raw: str, what: str = "session name") -> str:
    """Return the NFC-normalized name, or raise InvalidName saying what is wrong (`what`: the kind of
    name in the message, e.g. "tag": tags follow the same rules)."""
    name = unicodedata.normalize("NFC", raw)
    if not name:
        raise InvalidName(f"a {what} cannot be empty; {_HINT}")
    shown = name.encode("unicode_escape", "backslashreplace").decode("ascii")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes from the command line (surrogate escapes)
        raise InvalidName(f"{what} '{shown}' is not valid UTF-8; {_HINT}") from None
    if len(name) > MAX_CHARS or len(name.encode("utf-8")) > MAX_BYTES:
        raise InvalidName(f"{what} '{shown[:40]}...' is too long; keep it under {MAX_CHARS} characters")
    for ch in name:
        if not (ch.isalnum() or ch in _PUNCT):
            bad = "a control character" if unicodedata.category(ch)[0] == "C" else repr(ch)
            raise InvalidName(f"{what} '{shown}' contains {bad}; {_HINT}")
    if not name[0].isalnum():
        raise InvalidName(f"{what} '{shown}' must start with a letter or digit; {_HINT}")
    if name.endswith("."):
        raise InvalidName(f"{what} '{shown}' must not end with '.'; {_HINT}")
    if name.split(".")[0].lower() in _RESERVED:
        raise InvalidName(f"{what} '{shown}' is reserved by some file systems; pick another")
    return name


_ADJECTIVES = (
    "amber", "brave", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fuzzy", "gentle",
    "golden", "happy", "jolly", "keen", "lively", "lucky", "mellow", "misty", "nimble", "quiet",
    "rapid", "rosy", "silent", "sunny", "swift", "tidy", "vivid", "witty", "zesty", "bold",
)  # fmt: skip
_NOUNS = (
    "otter", "falcon", "maple", "harbor", "comet", "meadow", "pebble", "lantern", "willow", "badger",
    "canyon", "ember", "fjord", "heron", "island", "juniper", "koala", "lagoon", "nebula", "orchid",
    "panda", "quartz", "river", "summit", "tiger", "valley", "walrus", "yarrow", "zephyr", "aspen",
)  # fmt: skip


def generate_name(taken: set[str], rng: random.Random | None = None) -> str:
    """A fresh readable name like 'swift-otter' (a number is added if all pairs are taken)."""
    rng = rng or random.Random()
    for attempt in range(200):
        name = f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}"
        if attempt >= 20:
            name += f"-{rng.randint(2, 9999)}"
        if name not in taken:
            return name
    raise InvalidName("could not generate a free session name; give one explicitly")
