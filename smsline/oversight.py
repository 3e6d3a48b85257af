"""What organizers see: the members with their buddies, the open alerts, the running timers (for MEMBERS,
ALERTS and the CLI's lists)."""
from __future__ import annotations

from dataclasses import dataclass

from . import session
from .phones import mask
from .rendering import display_name


# Organizer views ---------------------------------------------------------------

@dataclass
class MemberRow:
    pid: str
    alias: str  # empty when the line made it up: organizers did not choose it and it means nothing to them
    number: str
    organizer: bool
    buddies: int  # confirmed
    unreachable: int  # confirmed buddies texts cannot reach

    @property
    def label(self) -> str:
        return f"{self.alias} {mask(self.number)}".strip()


def roster(line) -> list[MemberRow]:
    """Every member with their confirmed buddies counted, and how many of those cannot be reached."""
    store = line.store
    pids = store.members()
    organizers = set(store.organizers())
    people, _ = store.people_and_links(pids)
    confirmed = {p: store.confirmed_buddies(p) for p in pids}
    lost = store.unreachable({b for bs in confirmed.values() for b in bs})
    rows = []
    for p, person in zip(pids, people):
        alias = "" if person.get("alias_generated") == "1" else person.get("alias", "")
        rows.append(MemberRow(p, alias, person.get("number", ""), p in organizers, len(confirmed[p]),
                              sum(1 for b in confirmed[p] if b in lost)))
    rows.sort(key=lambda r: (r.alias.lower() or "~", r.number))
    return rows


@dataclass
class OpenAlert:
    pid: str
    name: str
    number: str
    since: float
    minutes: int
    acked_by: str  # display name, or empty
    rounds: int
    covert: bool


def open_alerts(line, now: float, exclude: str | None = None) -> list[OpenAlert]:
    """Alarms out now (buddies alerted, no OK yet), oldest first."""
    store = line.store
    out = []
    for pid in store.alerting():
        t = store.timer(pid)
        if t is None or t.status != session.ALERTING:
            continue
        if pid == exclude and t.covert:
            continue  # an organizer's own phone never learns of their covert alarm
        since = t.first_alert_at or t.started_at
        person = store.person(pid)
        acked = display_name(line, t.acked_by, pid) if t.acked_by else ""
        out.append(OpenAlert(pid, person.get("alias", ""), person.get("number", ""), since,
                             max(0, int((now - since) // line.timing.s(1))), acked, t.round, t.covert))
    out.sort(key=lambda a: a.since)
    return out


def running_timers(line) -> list[tuple[str, str, session.Timer]]:
    """Every live timer: (alias, number, timer), soonest end first."""
    store = line.store
    out = []
    for pid in store.members():
        t = store.timer(pid)
        if t is not None and t.live:
            person = store.person(pid)
            out.append((person.get("alias", ""), person.get("number", ""), t))
    out.sort(key=lambda x: x[2].ends_at)
    return out
