"""What organizers see: MEMBERS, ALERTS and the CLI's lists (buddies the line cannot reach: reachability)."""
from __future__ import annotations

from dataclasses import dataclass

from . import session
from .handlers.context import Ctx
from .phones import mask
from .reachability import buddy_label
from .rendering import display_name, fmt_time

STATUS_NAMES_MAX = 60  # characters of unreachable buddies' names STATUS spends before it gives a count
LIST_ALL_UP_TO = 12  # MEMBERS names everyone up to this many members, else only those flagged


def unreachable_part(ctx: Ctx) -> str:
    """For STATUS: the member's buddies who cannot be reached, or nothing."""
    lost = ctx.store.unreachable_buddies(ctx.pid)
    if not lost:
        return ""
    part = ctx.part("part_unreachable", names=", ".join(buddy_label(link, number) for _, link, number in lost))
    # Short enough that a long note, not this, is what gets shortened to fit one text.
    return part if len(part) <= STATUS_NAMES_MAX else ctx.part("part_unreachable_many", count=len(lost))


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


# SMS commands ------------------------------------------------------------------

def h_members(ctx: Ctx) -> None:
    """MEMBERS: how many, who has no confirmed buddy, who has one texts cannot reach; everyone when few."""
    rows = roster(ctx.line)
    org = ctx.part("part_org")
    entry = lambda r: r.label + (org if r.organizer else "")  # noqa: E731
    nobuddy = [r for r in rows if not r.buddies]
    unreachable = [r for r in rows if r.unreachable]
    parts = ""
    if nobuddy:
        parts += ctx.part("part_no_buddy", list=", ".join(entry(r) for r in nobuddy))
    if unreachable:
        parts += ctx.part("part_buddy_unreachable", list=", ".join(entry(r) for r in unreachable))
    if rows and not parts:
        parts = ctx.part("part_all_covered")
    everyone = ctx.part("part_all", list=", ".join(entry(r) for r in rows)) if len(rows) <= LIST_ALL_UP_TO else ""
    ctx.reply("members_summary", count=len(rows), flags_part=parts, list_part=everyone)


def h_alerts(ctx: Ctx) -> None:
    """ALERTS: every open alarm, whose, since when and how long, and who said ACK."""
    alerts = open_alerts(ctx.line, ctx.now, exclude=ctx.pid)
    if not alerts:
        ctx.reply("alerts_none")
        return
    entries = []
    for a in alerts:
        fields = {"member": a.name, "number": mask(a.number), "minutes": a.minutes,
                  "alert_at": _time(ctx, a.since)}
        if a.acked_by:
            entries.append(ctx.part("part_open_acked", by=a.acked_by, **fields))
        else:
            entries.append(ctx.part("part_open_waiting", **fields))
        if a.covert:  # the phone may be in someone else's hands: a text to it could give the member away
            entries.append(ctx.part("part_open_silent"))
    ctx.reply("alerts_list", count=len(alerts), list="".join(entries))


def _time(ctx: Ctx, ts: float) -> str:
    return fmt_time(ctx.line, ts, ctx.now, ctx.lang)
