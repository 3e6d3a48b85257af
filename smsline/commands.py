"""Parse one inbound text into a Command: pure, forgiving, and never raising.

The parser only reads words. It has no clock, no Redis and no idea who sent
the text: whether a command is allowed, what a bare YES accepts, or whether a
number is valid is the service's business.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace

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
    halfday: bool = False  # START at: a clock hour given without am/pm ("a las 11"): the sooner of the two
    lang: str | None = None  # the language of the words, when only one language uses them ("SI", "AUXILIO")


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



# ---------------------------------------------------------------- durations and times as people write them
# "media hora", "hora y media", "1:30 hrs", "a las 11", "11 de la noche": each is either read
# right or refused as "duration" (not understood), "range" (outside 1 min..24 h) or "clock"
# ("1:30" alone: a length or a time of day?). Never a number with the rest taken as the note.

_WORD_NUMBERS = {
    "un": 1, "una": 1, "uno": 1, "one": 1, "a": 1, "an": 1, "dos": 2, "two": 2, "tres": 3, "three": 3,
    "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "diez": 10, "ten": 10,
    "quince": 15, "fifteen": 15, "veinte": 20, "twenty": 20, "treinta": 30, "thirty": 30,
    "cuarenta": 40, "forty": 40, "noventa": 90, "ninety": 90,
}
_WORDNUM = "(?:" + "|".join(sorted(_WORD_NUMBERS, key=len, reverse=True)) + ")"
_NUM = rf"(?:[0-9]{{1,2}}|{_WORDNUM})"
_HOURS = r"(?:horas?|hours?|hrs?|h)"
_MINS = r"(?:minutos?|minutes?|mins?|m)"
_FRACTION = {"media": 30, "half": 30, "a half": 30, "cuarto": 15, "quarter": 15, "a quarter": 15}
_PHRASE_DURATIONS = [
    # "hora y media", "1 hora y media", "2 horas y cuarto", "an hour and a half"
    re.compile(rf"(?:(?P<n>{_NUM})\s*)?{_HOURS}\s+(?:y|and)\s+(?P<frac>media|cuarto|a\s+half|a\s+quarter)"
               rf"{_NOT_LETTER}", re.IGNORECASE),
    # "1 and a half hours", "1 y media horas"
    re.compile(rf"(?P<n>{_NUM})\s+(?:y|and)\s+(?P<frac>media|a\s+half|a\s+quarter|cuarto)\s+{_HOURS}"
               rf"{_NOT_LETTER}", re.IGNORECASE),
    # "media hora", "half an hour", "a half hour", "cuarto de hora", "a quarter of an hour"
    re.compile(rf"(?:a\s+)?(?P<frac>media|half|cuarto|quarter)\s+(?:(?:de|of)\s+)?(?:an?\s+|una\s+)?"
               rf"(?:horas?|hours?|hr){_NOT_LETTER}", re.IGNORECASE),
    # "1:30 hrs", "1:30h", "2:15 horas"
    re.compile(rf"(?P<h>[0-9]{{1,2}}):(?P<m>[0-5][0-9])\s*{_HOURS}{_NOT_LETTER}", re.IGNORECASE),
    # "una hora", "dos horas", "treinta minutos", "an hour"
    re.compile(rf"(?P<word>{_WORDNUM})\s+(?:(?P<wh>horas?|hours?|hrs?)|{_MINS}){_NOT_LETTER}", re.IGNORECASE),
]
_LEAD = re.compile(r"(?:(?:a|hasta)\s+la(?:s)?|at|until|till|by)\s+(?=[0-9])", re.IGNORECASE)
_DAYPART = re.compile(
    r"""\s*(?:
        (?:de|en)\s+la\s+(?P<es>noche|tarde|ma[nñ]ana|madrugada)
      | (?P<night>at\s+night|tonight)
      | in\s+the\s+(?P<en>morning|afternoon|evening)
      | (?P<oclock>en\s+punto|o'?clock|o\s+clock)
    )(?![^\W\d_])""",
    re.IGNORECASE | re.VERBOSE,
)
_PAST_HOUR = re.compile(r"\s+y\s+(media|cuarto)(?![^\W\d_])", re.IGNORECASE)
# After a bare number, words that show it was meant as part of a time: refuse rather than take them as the note.
_MISREAD = re.compile(
    r"\s*(?:y\s+(?:media|cuarto)|and\s+a\s+(?:half|quarter)|(?:de|en)\s+la\s+(?:noche|tarde|ma[nñ]ana|madrugada)"
    r"|de\s+la\b|en\s+punto|o'?clock|tonight|at\s+night|in\s+the\s+(?:morning|afternoon|evening)"
    r"|(?:hrs?|horas?|hours?|mins?|minutos?|minutes?)(?![^\W\d_])|[:.,][0-9]|am\b|pm\b)",
    re.IGNORECASE,
)


def _daypart_hour(hour: int, m: re.Match) -> int | None:
    """The 24-hour hour of '11 de la noche', '10 in the morning'; None when it cannot be."""
    part = _key(m.group("es") or m.group("en") or ("night" if m.group("night") else "")).lower()
    if not 1 <= hour <= 12:
        return None
    if part in ("noche", "night", "evening"):
        return 0 if hour == 12 else (hour + 12 if hour >= 6 else hour)
    if part in ("tarde", "afternoon"):
        return 12 if hour == 12 else hour + 12
    if part == "madrugada":
        return 0 if hour == 12 else hour
    if part in ("manana", "morning"):
        return 12 if hour == 12 else hour
    return None


def _phrase_duration(text: str) -> tuple[int, int] | None:
    """A duration written in words at the start of text: (minutes, end), or None."""
    for pattern in _PHRASE_DURATIONS:
        m = pattern.match(text)
        if m is None:
            continue
        groups = m.groupdict()
        if groups.get("h") is not None:
            return int(groups["h"]) * 60 + int(groups["m"]), m.end()
        if groups.get("word") is not None:
            n = _number_word(groups["word"])
            return (n * 60 if groups.get("wh") else n), m.end()
        frac = _FRACTION[" ".join(groups["frac"].lower().split())]
        if "n" in groups:
            n = 1 if groups["n"] is None else _number_word(groups["n"])
            return n * 60 + frac, m.end()
        return frac, m.end()
    return None


def _number_word(word: str) -> int:
    return int(word) if word.isdigit() else _WORD_NUMBERS[word.lower()]


def _read_clock(text: str, lead: bool) -> tuple | str | None:
    """A time of day at the start of text: ("at", (h, m), halfday, end), an error, or None if it is not one."""
    m = _TIME.match(text)
    if m is None or not _ends_word(text, m.end()):
        return None
    hour, minute = int(m.group("hour")), int(m.group("minute") or 0)
    half = (m.group("half") or m.group("short") or "").lower()
    end = m.end()
    past = _PAST_HOUR.match(text, end) if m.group("minute") is None and not half else None
    if past is not None:  # "a las 11 y media", "10 y cuarto de la noche"
        minute, end = (30 if _key(past.group(1)) == "MEDIA" else 15), past.end()
    part = _DAYPART.match(text, end)
    if m.group("minute") is not None and minute > 59:
        return "duration"
    if half:
        if not 1 <= hour <= 12:
            return "duration"
        return "at", (hour % 12 + (12 if half == "p" else 0), minute), False, end
    if part is not None and not part.group("oclock"):
        hour24 = _daypart_hour(hour, part)
        if hour24 is None:
            return "duration"
        return "at", (hour24, minute), False, part.end()
    if part is not None:  # "11 o'clock", "a las 11 en punto"
        lead, end = True, part.end()
    if not lead and m.group("minute") is None:
        return None  # a bare number is minutes
    if hour > 23:
        return "duration"
    if hour == 0 or hour >= 13:
        return "at", (hour, minute), False, end
    if lead:
        return "at", (hour, minute), True, end  # "a las 11": the next 11 on the clock
    return "clock"  # "1:30": 1 h 30 min, or half past one?


def _read_when(rest: str, clock: bool) -> tuple | str:
    """The duration or time of day at the start of a START or EXTEND argument, or why it is refused."""
    lead = _LEAD.match(rest) if clock else None
    if lead is not None:
        found = _read_clock(rest[lead.end():], lead=True)
        if found is None or isinstance(found, str):
            return found or "duration"
        kind, at, halfday, end = found
        return _clear(found, lead.end() + end, rest)
    phrase = _phrase_duration(rest)
    if phrase is not None:
        minutes, end = phrase
    else:
        if clock:
            found = _read_clock(rest, lead=False)
            if isinstance(found, tuple):
                return _clear(found, found[3], rest)
            if found is not None:
                return found
        elif re.match(r"[0-9]{1,2}:[0-5][0-9](?![0-9])", rest):
            h, mm = rest[:rest.index(":")], rest[rest.index(":") + 1:rest.index(":") + 3]
            minutes, end = int(h) * 60 + int(mm), rest.index(":") + 3  # "EXTEND 1:30": there is no time of day to mean
            return _in_range(minutes, end, rest)
        found = _match_duration(rest)
        if found is None:
            return "duration"
        minutes, end = found
    return _in_range(minutes, end, rest)


def _clear(found: tuple, end: int, rest: str) -> tuple | str:
    """A time of day, unless what follows shows it was read wrong."""
    if _MISREAD.match(rest, end):
        return "duration"
    return found[0], found[1], found[2], end


def _in_range(minutes: int, end: int, rest: str) -> tuple | str:
    if _MISREAD.match(rest, end):
        return "duration"
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        return "range"
    return "minutes", minutes, False, end

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


# ---------------------------------------------------------------- parsers
# Each parser gets the first word as typed (display form) and the rest of the
# text as typed, trimmed; it returns the Command.

Parser = Callable[[str, str], Command]


def _start(word: str, rest: str) -> Command:
    if not rest:
        return Command("START", error="usage", word=word)
    found = _read_when(rest, clock=True)
    if isinstance(found, str):
        return Command("START", error=found, text=rest, word=word)
    kind, value, halfday, end = found
    if kind == "at":
        return Command("START", at=value, halfday=halfday, text=_note(rest[end:]), word=word)
    return Command("START", minutes=value, text=_note(rest[end:]), word=word)


def _extend(word: str, rest: str) -> Command:
    found = _read_when(rest, clock=False)
    if isinstance(found, str):
        return Command("EXTEND", error=found, text=rest, word=word)
    return Command("EXTEND", minutes=found[1], text=_note(rest[found[3] :]), word=word)


def _ok(word: str, rest: str) -> Command:
    name = "OK" if _is_courtesy(rest) else "OK_UNCLEAR"
    return Command(name, text=rest, word=word)


def _plain(name: str) -> Parser:
    """A command that takes no argument; anything after it is kept in text."""
    return lambda word, rest: Command(name, text=rest, word=word)


def _with_text(name: str, *, required: bool = True) -> Parser:
    """A command whose argument is free text kept as typed."""

    def handle(word: str, rest: str) -> Command:
        if required and not rest:
            return Command(name, error="usage", word=word)
        return Command(name, text=rest, word=word)

    return handle


def _with_alias(name: str) -> Parser:
    def handle(word: str, rest: str) -> Command:
        alias = _arg(rest)
        if not alias:
            return Command(name, error="usage", word=word)
        return Command(name, text=alias, word=word)

    return handle


def _with_number(name: str) -> Parser:
    """A command naming a phone number, optionally followed by an alias."""

    def handle(word: str, rest: str) -> Command:
        number, after = _split_number(rest)
        if number is None:
            return Command(name, error="number", text=rest, word=word)
        return Command(name, number=number, text=_arg(after), word=word)

    return handle


def _with_choice(name: str) -> Parser:
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
    confirm = _key(_split_word(rest)[0])
    # "WIPE SI" and "BORRAR SI" confirm like WIPE YES: the Spanish texts offer SI.
    return Command("WIPE", text="YES" if confirm in ("YES", "SI") else _display(confirm), word=word)


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


PARSERS: dict[str, Parser] = {
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
    "CONTACTO": _with_number("BUDDY"),
    "BUDDYS": _plain("BUDDIES"),
    "CONTACTOS": _plain("BUDDIES"),
    "UNBUDDY": _with_number("UNBUDDY"),
    "QUITAR": _with_number("UNBUDDY"),
    "NAME": _with_alias("NAME"),
    "NOMBRE": _with_alias("NAME"),
    "SAFEWORD": _with_text("SAFEWORD"),
    "DURESS": _with_text("DURESS"),
    "TEST": _plain("TEST"),
    "PRUEBA": _plain("TEST"),
    "LANG": _lang,
    "LANGUAGE": _lang,
    "IDIOMA": _lang,
    "RIGHTS": _plain("RIGHTS"),
    "DERECHOS": _plain("RIGHTS"),
    "REPORT": _with_text("REPORT"),
    "CHECK": _check,
    "WIPE": _wipe,
    "BORRAR": _wipe,
    "HELP": _plain("HELP"),
    "MENU": _plain("HELP"),
    "INFO": _plain("HELP"),
    "AYUDA": _plain("HELP"),
    "YES": _with_choice("YES"),
    "SI": _with_choice("YES"),
    "NO": _with_choice("NO"),
    "ACK": _with_choice("ACK"),
    "ACEPTO": _with_choice("YES"),
    "ACEPTAR": _with_choice("YES"),
    "VOY": _with_choice("ACK"),
    "OMW": _with_choice("ACK"),  # fixa: "omw", "coming": on my way
    "COMING": _with_choice("ACK"),
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

# Words that mean ACK only while an alert is open; otherwise the text is answered like any other.
SOFT_ACK = frozenset({"ON", "OMW", "COMING", "GOING", "EN"})

# Words only Spanish uses: a person who has not chosen a language is answered in Spanish after them.
SPANISH_WORDS = frozenset({
    "INICIO", "EMPEZAR", "LISTO", "EXTENDER", "MAS", "ESTADO", "IDIOMA", "DERECHOS", "AYUDA", "SI", "VOY",
    "UNIRME", "ACEPTO", "ACEPTAR", "CONTACTOS", "CONTACTO", "PRUEBA", "QUITAR", "NOMBRE", "BORRAR", "ESTOY", "YA", "CLARO", "ESPANOL",
    "CASTELLANO",
})

# Distress words raise the alarm like SOS, in any language setting and with or without accents.
# Compared with repeated letters folded ("SOCORRO" -> "SOCORO", "auxiliooo" -> "AUXILIO").
DISTRESS = frozenset({"SOS", "AUXILIO", "AUSILIO", "AUXILO", "SOCORO", "AYUDAME", "AYUDENME", "AYUDAMEN", "AYUDEME",
                      "MAYDAY"})
# A misspelt distress word (one letter off, "auxlio", "socoror") is SOS too; never a command word.
_DISTRESS_LONG = sorted(w for w in DISTRESS if len(w) >= 6)
SOS_EMOJI = "\U0001f198"

# "I'm fine" said in words (accents, apostrophes and punctuation dropped): while a timer runs these
# get "your timer is still running; text OK on its own". They never end a timer (README: Commands).
FINE_PHRASES = frozenset({
    "ya", "ya sali", "ya termine", "ya estoy", "ya estoy bien", "ya estoy en casa", "ya llegue",
    "ya en casa", "ya estoy a salvo", "bien", "todo bien", "todo ok", "todo tranquilo", "todo esta bien",
    "sano y salvo", "sana y salva", "sana y salvo", "a salvo", "estoy a salvo", "en casa", "estoy en casa",
    "llegue", "llegue bien", "termine", "lista", "ya lista", "ya listo", "todo listo", "estoy bien ya",
    "im ok", "i am ok", "im okay", "i am okay", "im fine", "i am fine", "im safe", "i am safe", "safe",
    "fine", "all good", "all fine", "all ok", "all okay", "all done", "done", "home", "im home",
    "i am home", "got home", "back home", "im good", "i am good", "good", "im back", "all safe",
    "safe now", "im safe now", "i am safe now", "home safe", "made it home", "im out", "i am out",
})
_FINE_TAIL = frozenset({"thanks", "thank", "you", "u", "thx", "ty", "gracias", "x", "xx", "bye", "now",
                        "ahora", "ya", "please", "pls"})


def _plain_words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.replace("'", "").replace("\u2019", ""))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return "".join(c if c.isalnum() else " " for c in letters).split()


def _fine(body: str) -> bool:
    """Whether the whole text is only an "I'm fine" phrase, maybe with thanks after it."""
    words = _plain_words(body)
    if len(words) > 8:
        return False
    while words and " ".join(words) not in FINE_PHRASES and words[-1] in _FINE_TAIL:
        words.pop()
    return bool(words) and " ".join(words) in FINE_PHRASES


def _distress(key: str) -> bool:
    """Whether a first word (as the keyword table spells it) is a distress word or a near miss of one."""
    import difflib

    folded = _folded(key)
    if folded in DISTRESS:
        return True
    if key in PARSERS or key in OPTOUT_WORDS or len(folded) < 6:
        return False
    return bool(difflib.get_close_matches(folded, _DISTRESS_LONG, n=1, cutoff=0.85))


def _folded(key: str) -> str:
    """The word with runs of one letter folded to one: SOOOS -> SOS."""
    return "".join(c for i, c in enumerate(key) if i == 0 or c != key[i - 1])


# Two-word keywords: (first, second) -> parser of the words after them.
PHRASES: dict[tuple[str, str], Parser] = {
    ("ESTOY", "BIEN"): _ok,
    ("ON", "IT"): _with_choice("ACK"),
    ("YA", "VOY"): _with_choice("ACK"),
    ("HELP", "ME"): _with_text("SOS", required=False),  # "help me" is a cry, not a question; HELP alone is the menu
    # fixa: "on my way" and its kin say the same as ACK (the service answers them as any text when nothing is open).
    ("ON", "MY"): lambda word, rest: _ack_if(word, rest, "WAY"),
    ("ON", "THE"): lambda word, rest: _ack_if(word, rest, "WAY"),
    ("GOING", "NOW"): _with_choice("ACK"),
    ("EN", "CAMINO"): _with_choice("ACK"),
    ("AYUDA", "ME"): _with_text("SOS", required=False),
    ("CLARO", "QUE"): lambda word, rest: (
        _with_choice("YES")(word, _trim(_split_word(rest)[1])) if _key(_split_word(rest)[0]) == "SI"
        else Command("UNKNOWN", text=rest, word=word)),
    ("BUDDY", "LIST"): _plain("BUDDIES"),
    ("SAFE", "WORD"): _with_text("SAFEWORD"),
}


def _ack_if(word: str, rest: str, second: str) -> Command:
    """ON MY WAY: ACK when the next word is `second`, else a text like any other."""
    nxt, after = _split_word(rest)
    if _key(nxt) == second:
        return _with_choice("ACK")(word, _trim(after))
    return Command("UNKNOWN", text=rest, word=word)


# fixa: cries for help in words. Each raises the alarm like SOS; HELP alone (or "help?") stays the menu.
HELP_CRIES = (("please", "help"), ("pls", "help"), ("plz", "help"), ("i", "need", "help"), ("need", "help"),
              ("help", "me"), ("help", "him"), ("help", "her"), ("help", "us"), ("necesito", "ayuda"))
# Words that add nothing to a cry: a note made only of these is no note.
CRY_WORDS = frozenset({"please", "pls", "plz", "help", "me", "him", "her", "us", "i", "need", "now", "asap",
                       "quick", "fast", "necesito", "ayuda", "ayudame", "ayudenme", "por", "favor", "porfa",
                       "porfavor", "ya", "ahora", "rapido", "urgente", "sos", "auxilio", "socorro"})
# Words only Spanish uses among the cries.
_CRY_ES = frozenset({"necesito"})


def _cry_note(text: str) -> str:
    """What a cry for help says beyond the help words, as typed; empty when it says nothing more."""
    words = _plain_words(text)
    if all(w in CRY_WORDS for w in words):
        return ""
    return _note(text)


def _help_cry(body: str) -> Command | None:
    """ "please help", "i need help", "help him", "necesito ayuda": SOS, with what follows as the note."""
    raw = body.split()
    plain = [" ".join(_plain_words(t)) for t in raw]
    for cry in HELP_CRIES:
        i, n = 0, 0
        while i < len(raw) and n < len(cry):
            if not plain[i]:  # "!!!" between the words
                i += 1
                continue
            if plain[i] != cry[n]:
                break
            i, n = i + 1, n + 1
        if n == len(cry):
            rest = " ".join(raw[i:])
            return Command("SOS", text=_cry_note(rest), word=_display(raw[0]),
                           lang="es" if cry[0] in _CRY_ES else None)
    return None


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

    if SOS_EMOJI in body:  # the SOS emoji anywhere: a person in danger may type nothing else
        return Command("SOS", text=_note(" ".join(body.replace(SOS_EMOJI, " ").split(" "))), word="SOS")
    cry = _help_cry(body)
    if cry is not None:
        return cry
    first, rest = _split_word(body)
    rest = _trim(rest)
    if _only_punctuation(rest):
        rest = ""
    key, word = _key(first), _display(first)
    if key.isalpha() and _distress(key):
        lang = "es" if _folded(key) not in ("SOS", "MAYDAY") else None
        return Command("SOS", text=_cry_note(rest), word=word, lang=lang)
    if not rest and key in ("ESPANOL", "CASTELLANO", "ENGLISH", "INGLES"):
        return Command("LANG", text=LANG_NAMES[key], word=word, lang="es" if key != "ENGLISH" else None)

    # Carrier keywords count only alone, and the eight opt-out words mean nothing else.
    if key in OPTOUT_WORDS:
        return Command("OPTOUT" if not rest else "UNKNOWN", text=rest, word=word)
    if key in OPTIN_WORDS and not rest:
        return Command("OPTIN", word=word)

    second, after = _split_word(rest)
    phrase = PHRASES.get((key, _key(second)))
    if phrase is not None:
        after = _trim(after)
        command = phrase(word, "" if _only_punctuation(after) else after)
        return replace(command, lang="es") if key in SPANISH_WORDS and command.name != "UNKNOWN" else command
    parser = PARSERS.get(key)
    if parser is None:
        return _unlisted(body, word, rest)
    command = parser(word, rest)
    return replace(command, lang="es") if key in SPANISH_WORDS and command.name != "UNKNOWN" else command


def _unlisted(body: str, word: str, rest: str) -> Command:
    """A text that starts with no keyword: "I'm fine", a bare duration, or not understood."""
    if _fine(body):
        return Command("FINE", text=body, word=word)
    found = _read_when(body, clock=False)
    if isinstance(found, tuple) and found[3] == len(body.rstrip(ARG_TRAILING)):
        return Command("DURATION", minutes=found[1], word=word)
    return Command("UNKNOWN", text=rest, word=word)


# Keywords a typo may be close to; the carrier opt-out words are never suggested.
_SUGGESTABLE = sorted(k for k in PARSERS if k.isalpha() and len(k) >= 3 and k not in SOFT_ACK)


def suggest(word: str) -> str | None:
    """The command keyword a mistyped first word was probably meant to be (`strat` -> START), or None."""
    import difflib

    w = (word or "").upper()
    if len(w) < 3 or w in PARSERS or w in OPTOUT_WORDS:
        return None
    close = difflib.get_close_matches(w, _SUGGESTABLE, n=1, cutoff=0.75)
    return close[0] if close else None


# fixb: trial fixes. Everyday Spanish a text not understood may be written in ("hola", "quien es?"): such a
# text is answered in Spanish. It never sets anyone's language; only words English does not use are here.
SPANISH_CHAT = frozenset({
    "hola", "quien", "quienes", "que", "eres", "es", "esto", "este", "numero", "buenas", "buenos", "dias",
    "tardes", "noches", "gracias", "como", "donde", "porque", "por", "para", "perdon", "disculpa", "disculpe",
    "usted", "soy", "pasa", "mensaje", "ayudame", "oye", "favor", "no", "entiendo", "se", "nada", "bien",
})
_ENGLISH_HINTS = frozenset({"who", "is", "this", "what", "hi", "hello", "hey", "the", "you", "me", "my", "are"})


def chat_lang(body: str) -> str | None:
    """ "es" when a text is plainly Spanish words (some Spanish, no English), else None."""
    words = _plain_words(body or "")
    if any(w in _ENGLISH_HINTS for w in words):
        return None
    spanish = [w for w in words if w in SPANISH_CHAT]
    return "es" if spanish and any(w not in ("no", "bien", "por", "es", "se") for w in spanish) else None
