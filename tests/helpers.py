"""What the tests share: fresh numbers, TwiML replies, members enrolled by text or written into the store,
and texts known by their catalog key rather than their wording."""
from __future__ import annotations

import itertools
import re
import string
import time
import xml.etree.ElementTree as ET
from typing import Callable, Iterable

from smsline import messages
from smsline.gsm7 import fold

_numbers = itertools.count(1)


def fresh() -> str:
    """A phone number no other test of this run has used."""
    return f"+1415556{next(_numbers):04d}"


def ok(resp: tuple[int, str]) -> str:
    """The TwiML a real line answered an inbound text with (Line.text's (status, body)); fails unless 200."""
    status, body = resp
    assert status == 200, body
    return body


def twiml_texts(twiml: str | bytes) -> list[str]:
    """The texts of a TwiML answer's <Message> elements, in order."""
    return [m.text or "" for m in ET.fromstring(twiml).iter("Message")]


def enroll_by_texts(send: Callable[[str, str], object], organizer: str, member: str, alias: str = "",
           buddy: str | None = None, buddy_alias: str = "Sam") -> None:
    """Enrol `member` the way people do, by texts through `send(number, body)`: the organizer ADDs them,
    they JOIN, and with `buddy`, they invite a BUDDY who says YES."""
    send(organizer, f"ADD {member} {alias}".strip())
    send(member, "JOIN")
    if buddy is not None:
        send(member, f"BUDDY {buddy} {buddy_alias}".strip())
        send(buddy, "YES")


def seed_member(store, member: str, alias: str, buddies: Iterable[tuple[str, str]] = (), *,
                lang: str | None = None, organizer: bool = False, now: float | None = None) -> str:
    """Write a member (and their confirmed buddies, (number, name) pairs) straight into the line's records.

    What ADD, JOIN, BUDDY and YES leave behind, without their texts or an organizer's daily
    invitation limit. Returns the member's person id.
    """
    now = time.time() if now is None else now
    pid = store.ensure_person(member)
    store.set_fields(pid, alias=alias, **({"lang": lang} if lang is not None else {}))
    store.enroll(pid, organizer=organizer, now=now)
    for number, name in buddies:
        store.set_buddy(pid, store.ensure_person(number), "confirmed", name, now)
    return pid


class Said:
    """Texts of these catalog keys, known by the catalog's wording, so that rewording a text breaks no test.

    Fields given are matched as the catalog renders them; every other field matches anything.
    """

    def __init__(self, *keys: str, lang: str = "en", **fields):
        self.keys = keys
        self._patterns = [_pattern(key, lang, fields) for key in keys]

    def __call__(self, text: str) -> bool:
        """`text` is, whole, one of these texts."""
        return any(p.fullmatch(text) for p in self._patterns)

    def among(self, texts: Iterable[str]) -> bool:
        """One of `texts` is one of these texts."""
        return any(self(t) for t in texts)

    def within(self, text: str) -> bool:
        """`text` holds one of these (pieces of texts, like part_reached inside a STATUS reply)."""
        return any(p.search(text) for p in self._patterns)

    def fields(self, text: str) -> dict[str, str] | None:
        """The fields of the first of these found in `text`, as the text shows them; None if none is."""
        for p in self._patterns:
            m = p.search(text)
            if m:
                return m.groupdict()
        return None

    def __repr__(self) -> str:
        return f"Said{self.keys}"


def _pattern(key: str, lang: str, fields: dict) -> re.Pattern:
    """The catalog template render() would use for `key`, as a regex: fixed wording literal, fields as groups."""
    table = messages.CATALOG.get(lang) or messages.EN
    template = table.get(key) or messages.EN[key]
    out, seen = [], set()
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if name is None:
            continue
        if name in fields:
            out.append(re.escape(fold(str(fields[name]))))
        elif name in seen:
            out.append(f"(?P={name})")
        else:
            seen.add(name)
            out.append(f"(?P<{name}>.*?)")
    return re.compile("".join(out), re.S)


ALERT = Said("alert", "alert_note", "alert_last")    # a lapsed timer's alert (the last repeat says so too)
REPEAT = Said("alert_repeat", "alert_repeat_note")  # a repeat of it
SOS = Said("sos", "sos_note")
STANDDOWN = Said("standdown")


def replies(resp: tuple[int, str]) -> list[str]:
    """The texts a real line answered an inbound text with; fails unless it answered 200."""
    return twiml_texts(ok(resp))
