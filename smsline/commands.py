"""Parse one inbound text into a Command: pure, forgiving, and never raising.

The parser only reads words. It has no clock, no Redis and no idea who sent
the text: whether a command is allowed, what a bare YES accepts, or whether a
number is valid is the service's business.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

MAX_BODY = 1600  # Twilio's own limit for one inbound message
MAX_WORD = 20
MIN_MINUTES = 1
MAX_MINUTES = 24 * 60

OPTOUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPTIN_WORDS = frozenset({"START", "YES", "UNSTOP"})
CARD_LANGS = frozenset({"EN", "ES"})
LANG_NAMES = {
    "ENGLISH": "EN",
    "INGLES": "EN",
    "SPANISH": "ES",
    "ESPANOL": "ES",
    "CASTELLANO": "ES",
}

# What may follow OK and still mean only "I am safe".
COURTESY = frozenset(
    {
        "ok", "okay", "thanks", "thank you", "thankyou", "thank u", "thanku",
        "thanks you", "thx", "thnx", "thnks", "tnx", "tks", "ty", "tyvm",
        "tysm", "thanks so much", "thank you so much", "thanks a lot",
        "many thanks", "cheers", "ta", "bye", "x", "xx", "gracias",
        "muchas gracias", "mil gracias", "grax",
    }
)
# Written as escapes: the parser reads these from people; none of the line's own texts may hold them.
FRIENDLY_EMOJI = frozenset("\U0001f642\U0001f60a\U0001f600\U0001f601\U0001f603\U0001f604\u263a\U0001f44d\U0001f44c\U0001f64f\u2764\u2665\U0001f495\U0001f496\U0001f618\U0001f609\U0001f917\u270c\u2705")
EMOJI_MODIFIERS = frozenset("\ufe0e\ufe0f\u200d") | {
    chr(c) for c in range(0x1F3FB, 0x1F400)
}
ARG_TRAILING = ".!?,;\u2026"
NOTE_LEADING = ",;:-\u2013\u2014 \t\r\n"
NUMBER_CHARS = frozenset("+0123456789().- \u2010\u2011\u2012\u2013\u2014\u2212")


@dataclass(frozen=True)
class Command:
    """One parsed text: which command, its arguments, and why it is malformed."""

    name: str  # START, OK, OK_UNCLEAR, ... OPTOUT, OPTIN, EMPTY, UNKNOWN
    minutes: int | None = None  # START/EXTEND duration, 1..1440
    at: tuple[int, int] | None = None  # START until this (hour, minute)
    number: str | None = None  # raw number (BUDDY, ADD, ...) or plate (CHECK)
    text: str = ""  # the rest: note, alias, word, code, report text or id
    choice: int | None = None  # YES 2, NO 2, JOIN 2, ACK 2
    error: str | None = None  # 'usage', 'duration' or 'number'
    word: str = ""  # first word as typed: upper case, no edge punctuation
    extra: str | None = None  # APPROVE: what follows SEND; CARD: its language


def parse(text: str) -> Command:
    """Turn an inbound SMS body into a Command; anything unreadable is UNKNOWN."""
    try:
        return _parse(text)
    except Exception:  # a person in danger must get a reply, never an error page
        return Command("UNKNOWN")


def parse_duration(text: str) -> int | None:
    """Minutes in a duration such as '45', '45 min', '1h30' or '1.5h', else None."""
    if not isinstance(text, str):
        return None
    body = text.strip().rstrip(ARG_TRAILING).strip()
    found = _match_duration(body)
    if found is None or found[1] != len(body):
        return None
    return found[0]


# ---------------------------------------------------------------- reading text

_TIME = re.compile(
    r"""
    (?P<hour>[0-9]{1,2})
    (?:[:.](?P<minute>[0-9]{2}))?
    (?:
        \s*(?P<half>[ap])\.?\s?m\b\.?     # 10pm, 10 pm, 10 p.m.
      | (?P<short>[ap])\b\.?              # 10p, 10:30a: only when attached
    )?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_HOUR_UNIT = r"(?:hours?|hrs?|horas?|h)"
_MINUTE_UNIT = r"(?:minutes?|minutos?|mins?|m)"
_NOT_LETTER = r"(?![^\W\d_])"
_DURATION = re.compile(
    rf"""
    (?P<hours>[0-9]{{1,4}}(?:[.,][0-9]{{1,2}})?)\s*(?P<hunit>{_HOUR_UNIT}){_NOT_LETTER}
    (?:\s*(?P<rest>[0-9]{{1,2}})(?![0-9])(?:\s*{_MINUTE_UNIT}{_NOT_LETTER})?)?
  | (?P<minutes>[0-9]{{1,6}})(?![0-9]|[.,:][0-9])(?:\s*{_MINUTE_UNIT}{_NOT_LETTER})?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_REPORT_ID = re.compile(r"#?\s*([A-Za-z0-9]+)")
_CHOICE = re.compile(r"#?\s*([0-9]{1,3})(?![0-9])")


def _ends_word(text: str, end: int) -> bool:
    return end >= len(text) or not text[end].isalnum()


def _match_time(text: str) -> tuple[tuple[int, int] | None, int] | None:
    """A time of day at the start of text: ((hour, minute) or None if invalid, end)."""
    m = _TIME.match(text)
    if m is None or not _ends_word(text, m.end()):
        return None
    half = (m.group("half") or m.group("short") or "").lower()
    if not half and m.group("minute") is None:
        return None  # a bare number is minutes, never a time of day
    hour, minute = int(m.group("hour")), int(m.group("minute") or 0)
    if minute > 59:
        return None, m.end()
    if half:
        if not 1 <= hour <= 12:
            return None, m.end()
        hour = hour % 12 + (12 if half == "p" else 0)
    elif hour > 23:
        return None, m.end()
    return (hour, minute), m.end()


def _match_duration(text: str) -> tuple[int, int] | None:
    """A duration at the start of text: (minutes, end), or None."""
    m = _DURATION.match(text)
    if m is None:
        return None
    if m.group("minutes") is not None:
        minutes, end = int(m.group("minutes")), m.end()
    else:
        hours = m.group("hours").replace(",", ".")
        minutes, end = round(float(hours) * 60), m.end()
        extra = m.group("rest")
        # "2h 212 Main St" is two hours and a note, not 2h212; "1.5h30" is not a duration.
        if extra is not None and ("." in hours or int(extra) >= 60):
            end = m.end("hunit")
        elif extra is not None:
            minutes += int(extra)
    if not _ends_word(text, end):
        return None
    return minutes, end


def _split_number(text: str) -> tuple[str | None, str]:
    """The leading phone number (raw, at least 3 digits) and what follows it."""
    run = 0
    while run < len(text) and text[run] in NUMBER_CHARS:
        run += 1
    last_digit = max((i for i in range(run) if text[i].isdigit()), default=-1)
    token = text[: last_digit + 1].strip()
    if sum(c.isdigit() for c in token) < 3:
        return None, text
    return token, text[last_digit + 1 :]


def _split_word(text: str) -> tuple[str, str]:
    """The first whitespace-separated word and the untouched rest."""
    parts = text.split(None, 1)
    if not parts:
        return "", ""
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _edge_strip(word: str) -> str:
    """The word without the punctuation, emoji or symbols around it."""
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end]


def _key(word: str) -> str:
    """The word as the keyword table spells it: upper case, no accents."""
    decomposed = unicodedata.normalize("NFKD", _edge_strip(word))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


def _display(word: str) -> str:
    return unicodedata.normalize("NFKC", _edge_strip(word)).upper()[:MAX_WORD]


def _trim(text: str) -> str:
    """Strip whitespace, control and invisible format characters at both ends."""
    start, end = 0, len(text)
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    return text[start:end]


def _blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf")


def _only_punctuation(text: str) -> bool:
    return all(c.isspace() or unicodedata.category(c).startswith("P") for c in text)


def _note(text: str) -> str:
    """Free text after an argument: as typed, without separators in front."""
    note = _trim(text).lstrip(NOTE_LEADING)
    return "" if _only_punctuation(note) else _trim(note)


def _arg(text: str) -> str:
    """A short argument: as typed, without trailing punctuation."""
    return _trim(_note(text).rstrip(ARG_TRAILING))


def _is_courtesy(text: str) -> bool:
    """Whether what follows OK is only thanks, smiles and punctuation."""
    cleaned = []
    for char in text.lower():
        if char.isalnum() or char.isspace():
            cleaned.append(char)
        elif (
            unicodedata.category(char).startswith("P")
            or char in FRIENDLY_EMOJI
            or char in EMOJI_MODIFIERS
        ):
            cleaned.append(" ")
        else:
            return False
    words = _key(" ".join("".join(cleaned).split())).lower().split()
    return len(words) <= 8 and _courtesy_run(words)


def _courtesy_run(words: list[str]) -> bool:
    if not words:
        return True
    return any(
        " ".join(words[:n]) in COURTESY and _courtesy_run(words[n:])
        for n in range(1, min(3, len(words)) + 1)
    )


# ---------------------------------------------------------------- handlers
# Each handler gets the first word as typed (display form) and the rest of the
# text as typed, trimmed; it returns the Command.

Handler = Callable[[str, str], Command]


def _start(word: str, rest: str) -> Command:
    when = _match_time(rest)
    if when is not None:
        at, end = when
        if at is None:
            return Command("START", error="duration", text=rest, word=word)
        return Command("START", at=at, text=_note(rest[end:]), word=word)
    found = _match_duration(rest)
    if found is None or not MIN_MINUTES <= found[0] <= MAX_MINUTES:
        return Command("START", error="duration", text=rest, word=word)
    return Command("START", minutes=found[0], text=_note(rest[found[1] :]), word=word)


def _extend(word: str, rest: str) -> Command:
    found = _match_duration(rest)
    if found is None or not MIN_MINUTES <= found[0] <= MAX_MINUTES:
        return Command("EXTEND", error="duration", text=rest, word=word)
    return Command("EXTEND", minutes=found[0], text=_note(rest[found[1] :]), word=word)


def _ok(word: str, rest: str) -> Command:
    name = "OK" if _is_courtesy(rest) else "OK_UNCLEAR"
    return Command(name, text=rest, word=word)


def _plain(name: str) -> Handler:
    """A command that takes no argument; anything after it is kept in text."""
    return lambda word, rest: Command(name, text=rest, word=word)


def _with_text(name: str, *, required: bool = True) -> Handler:
    """A command whose argument is free text kept as typed."""

    def handle(word: str, rest: str) -> Command:
        if required and not rest:
            return Command(name, error="usage", word=word)
        return Command(name, text=rest, word=word)

    return handle


def _with_alias(name: str) -> Handler:
    def handle(word: str, rest: str) -> Command:
        alias = _arg(rest)
        if not alias:
            return Command(name, error="usage", word=word)
        return Command(name, text=alias, word=word)

    return handle


def _with_number(name: str) -> Handler:
    """A command naming a phone number, optionally followed by an alias."""

    def handle(word: str, rest: str) -> Command:
        number, after = _split_number(rest)
        if number is None:
            return Command(name, error="number", text=rest, word=word)
        return Command(name, number=number, text=_arg(after), word=word)

    return handle


def _with_choice(name: str) -> Handler:
    """YES 2, JOIN 2: an optional pick among several pending invitations."""

    def handle(word: str, rest: str) -> Command:
        m = _CHOICE.match(rest)
        if m is not None and _ends_word(rest, m.end()):
            return Command(name, choice=int(m.group(1)), text=rest, word=word)
        return Command(name, text=rest, word=word)

    return handle


def _check(word: str, rest: str) -> Command:
    target = _arg(rest)
    if not target:
        return Command("CHECK", error="usage", word=word)
    return Command("CHECK", number=target, word=word)


def _lang(word: str, rest: str) -> Command:
    code = _key(_split_word(rest)[0])
    if not code:
        return Command("LANG", error="usage", word=word)
    return Command("LANG", text=LANG_NAMES.get(code, code), word=word)


def _wipe(word: str, rest: str) -> Command:
    return Command("WIPE", text=_display(_split_word(rest)[0]), word=word)


def _report_id(rest: str) -> tuple[str, str] | None:
    """A report id ('#ab12', '# AB12', 'ab12' -> 'AB12') and what follows it."""
    m = _REPORT_ID.match(rest)
    return None if m is None else (m.group(1).upper(), rest[m.end() :])


def _approve(word: str, rest: str) -> Command:
    found = _report_id(rest)
    if found is None:
        return Command("APPROVE", error="usage", word=word)
    report, after = found
    first, remainder = _split_word(_trim(after))
    extra = _note(remainder) if _key(first) == "SEND" else None
    return Command("APPROVE", text=report, extra=extra, word=word)


def _reject(word: str, rest: str) -> Command:
    found = _report_id(rest)
    if found is None:
        return Command("REJECT", error="usage", word=word)
    return Command("REJECT", text=found[0], word=word)


def _card(word: str, rest: str) -> Command:
    first, remainder = _split_word(rest)
    lang = _key(first) if _key(first) in CARD_LANGS else None
    text = _trim(remainder) if lang else rest
    if not text:
        return Command("CARD", error="usage", extra=lang, word=word)
    return Command("CARD", text=text, extra=lang, word=word)


HANDLERS: dict[str, Handler] = {
    "START": _start,
    "INICIO": _start,
    "EMPEZAR": _start,
    "OK": _ok,
    "OKAY": _ok,
    "OKEY": _ok,
    "O.K": _ok,
    "LISTO": _ok,
    "EXTEND": _extend,
    "EXTENDER": _extend,
    "MAS": _extend,
    "SOS": _with_text("SOS", required=False),
    "STATUS": _plain("STATUS"),
    "ESTADO": _plain("STATUS"),
    "BUDDY": _with_number("BUDDY"),
    "BUDDIES": _plain("BUDDIES"),
    "BUDDYS": _plain("BUDDIES"),
    "UNBUDDY": _with_number("UNBUDDY"),
    "NAME": _with_alias("NAME"),
    "SAFEWORD": _with_text("SAFEWORD"),
    "DURESS": _with_text("DURESS"),
    "TEST": _plain("TEST"),
    "LANG": _lang,
    "LANGUAGE": _lang,
    "IDIOMA": _lang,
    "RIGHTS": _plain("RIGHTS"),
    "DERECHOS": _plain("RIGHTS"),
    "REPORT": _with_text("REPORT"),
    "CHECK": _check,
    "WIPE": _wipe,
    "HELP": _plain("HELP"),
    "MENU": _plain("HELP"),
    "INFO": _plain("HELP"),
    "AYUDA": _plain("HELP"),
    "YES": _with_choice("YES"),
    "SI": _with_choice("YES"),
    "NO": _with_choice("NO"),
    "ACK": _with_choice("ACK"),
    "VOY": _with_choice("ACK"),
    "JOIN": _with_choice("JOIN"),
    "UNIRME": _with_choice("JOIN"),
    "ADD": _with_number("ADD"),
    "REMOVE": _with_number("REMOVE"),
    "ORGANIZER": _with_number("ORGANIZER"),
    "ORGANISER": _with_number("ORGANIZER"),
    "MEMBERS": _plain("MEMBERS"),
    "MIEMBROS": _plain("MEMBERS"),
    "ALERTS": _plain("ALERTS"),
    "ALERTAS": _plain("ALERTS"),
    "BROADCAST": _with_text("BROADCAST"),
    "REPORTS": _plain("REPORTS"),
    "APPROVE": _approve,
    "REJECT": _reject,
    "CARD": _card,
}

# Two-word keywords: (first, second) -> handler of the words after them.
PHRASES: dict[tuple[str, str], Handler] = {
    ("ESTOY", "BIEN"): _ok,
    ("ON", "IT"): _with_choice("ACK"),
    ("BUDDY", "LIST"): _plain("BUDDIES"),
    ("SAFE", "WORD"): _with_text("SAFEWORD"),
}


def _parse(text: object) -> Command:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not isinstance(text, str):
        return Command("EMPTY")
    body = _trim(text[:MAX_BODY])
    if not body:
        return Command("EMPTY")
    if _only_punctuation(body.replace("?", "")) and "?" in body:
        return Command("HELP", word="?")

    first, rest = _split_word(body)
    rest = _trim(rest)
    if _only_punctuation(rest):
        rest = ""
    key, word = _key(first), _display(first)

    # Carrier keywords count only alone, and the eight opt-out words mean nothing else.
    if key in OPTOUT_WORDS:
        return Command("OPTOUT" if not rest else "UNKNOWN", text=rest, word=word)
    if key in OPTIN_WORDS and not rest:
        return Command("OPTIN", word=word)

    second, after = _split_word(rest)
    phrase = PHRASES.get((key, _key(second)))
    if phrase is not None:
        after = _trim(after)
        return phrase(word, "" if _only_punctuation(after) else after)
    handler = HANDLERS.get(key)
    if handler is None:
        return Command("UNKNOWN", text=rest, word=word)
    return handler(word, rest)


# Keywords a typo may be close to; the carrier opt-out words are never suggested.
_SUGGESTABLE = sorted(k for k in HANDLERS if k.isalpha() and len(k) >= 3)


def suggest(word: str) -> str | None:
    """The command keyword a mistyped first word was probably meant to be (`strat` -> START), or None."""
    import difflib

    w = (word or "").upper()
    if len(w) < 3 or w in HANDLERS or w in OPTOUT_WORDS:
        return None
    close = difflib.get_close_matches(w, _SUGGESTABLE, n=1, cutoff=0.75)
    return close[0] if close else None
