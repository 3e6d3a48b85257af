"""How effects become texts: times, names, and the fields a catalog text is rendered with.

Everything a text shows is read here (a person's language, the name a member gave a buddy,
opt-outs), once per batch through a Directory, then rendered from the catalog (messages).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from . import messages
from .line import Line
from .phones import mask

# Names that are words of neither English nor Spanish (and read the same in both); aliases given before
# are stored with the person, so they keep working.
ALIAS_WORDS = ("Ari", "Noa", "Kai", "Eli", "Teo", "Ivo", "Emi", "Nilo", "Zuri", "Kemi", "Tavi", "Uma")


def generated_alias(pid: str) -> str:
    """A neutral alias that reveals nothing, stable for a person id."""
    n = int(hashlib.sha256(pid.encode()).hexdigest()[:8], 16)
    return f"{ALIAS_WORDS[n % len(ALIAS_WORDS)]}{n % 90 + 10}"


def fmt_time(line: Line, ts: float | None, now: float, lang: str = "en") -> str:
    """A short local time for texts in the reader's language, with the weekday when it is not today."""
    if ts is None:
        return ""
    tz = line.tz
    t = datetime.fromtimestamp(ts, tz)
    today = datetime.fromtimestamp(now, tz).date()
    if line.settings.clock(lang) == 24:
        hm = t.strftime("%H:%M")
    else:
        half = messages.render("clock_pm" if t.hour >= 12 else "clock_am", lang)
        hm = t.strftime("%I:%M").lstrip("0") + half
    if t.date() == today:
        return hm
    return f"{messages.render('days', lang).split()[t.weekday()]} {hm}"


class Directory:
    """People and buddy links read once per batch (one pipeline), then served from memory."""

    def __init__(self, store):
        self.store = store
        self._people: dict[str, dict] = {}
        self._links: dict[str, dict] = {}
        self._optout: dict[str, bool] = {}

    def prefetch(self, pids=(), links=()) -> None:
        pids = [p for p in dict.fromkeys(pids) if p not in self._people]
        links = [m for m in dict.fromkeys(links) if m not in self._links]
        if not pids and not links:
            return
        people, linked = self.store.people_and_links(pids, links)
        self._people.update(zip(pids, people))
        self._links.update(zip(links, linked))
        numbers = [n for n in (self._people[p].get("number") for p in pids) if n and n not in self._optout]
        if numbers:
            self._optout.update(zip(numbers, self.store.opted_out_many(numbers)))

    def person(self, pid: str) -> dict:
        if pid not in self._people:
            self._people[pid] = self.store.person(pid)
        return self._people[pid]

    def links(self, member: str) -> dict:
        if member not in self._links:
            self._links[member] = self.store.buddy_links(member)
        return self._links[member]

    def opted_out(self, number: str) -> bool:
        if number not in self._optout:
            self._optout[number] = self.store.opted_out(number)
        return self._optout[number]


def display_name(line: Line, pid: str, for_member: str | None = None, d: Directory | None = None) -> str:
    """How a person is named to others: the name a member gave them, their alias, or a masked number."""
    d = d or Directory(line.store)
    if for_member:
        link = d.links(for_member).get(pid)
        if link and link.get("name"):
            return link["name"]
    person = d.person(pid)
    return person.get("alias") or mask(person.get("number"))


def acker_name(line: Line, by: str, member: str, lang: str, d: Directory | None = None) -> str:
    """Who ACKed, as the member knows them: the name they gave a buddy, or "An organizer" for anyone else.

    An organizer's generated alias ("Eli25") was never shown to the member, so it would name a stranger.
    """
    d = d or Directory(line.store)
    if by in d.links(member):
        return display_name(line, by, for_member=member, d=d)
    return messages.render("part_an_organizer", lang)


def text_fields(line: Line, lang: str, fields: dict, now: float, member: str | None = None,
                d: Directory | None = None, reader: str | None = None) -> dict:
    """Turn effect fields (timestamps, person ids) into what a text shows (reader: who will read it)."""
    out = {"network": line.settings.network_name}
    for k, v in fields.items():
        if k.endswith("_at"):
            out[k] = fmt_time(line, v, now, lang)
        elif k == "by" and member is not None and reader == member:
            out[k] = acker_name(line, v, member, lang, d=d)
        elif k == "by":
            out[k] = display_name(line, v, for_member=member, d=d)
        else:
            out[k] = v
    if member is not None:
        d = d or Directory(line.store)
        out.setdefault("member", display_name(line, member, d=d))
        # Alerts give the member's number in full (E.164, which a phone can dial): the reader must call back.
        out.setdefault("phone", d.person(member).get("number", ""))
    note = fields.get("note")
    out["note_part"] = messages.render("part_note", lang, note=note.rstrip(".!?")) if note else ""
    return out


@dataclass
class Outgoing:
    """One text to send, with an id that makes the send idempotent."""

    id: str
    to: str
    body: str
    ref: dict | None = None  # what a status callback for this text refers to
    via: str | None = None  # the gateway to send it through if it can (a reply: the one its text came by)
    pid: str | None = None  # the recipient: a waiting text names them by id, the number is looked up to send


def outgoing(line: Line, pid: str, key: str, fields: dict, now: float, uid: str, member: str | None = None,
             d: Directory | None = None):
    """Render a text for a person in their language; None when they opted out or have no number."""
    d = d or Directory(line.store)
    person = d.person(pid)
    number = person.get("number")
    if not number or d.opted_out(number):
        return None
    lang = person.get("lang", "en")
    body = messages.render(key, lang, **text_fields(line, lang, fields, now, member, d=d, reader=pid))
    return Outgoing(id=f"{uid}-{pid}", to=number, body=body, pid=pid)
