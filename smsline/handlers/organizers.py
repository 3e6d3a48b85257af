"""MEMBERS and ALERTS: what organizers ask about the network."""
from __future__ import annotations

from ..oversight import open_alerts, roster
from ..phones import mask
from ..rendering import fmt_time
from .context import Ctx

LIST_ALL_UP_TO = 12  # MEMBERS names everyone up to this many members, else only those flagged


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
