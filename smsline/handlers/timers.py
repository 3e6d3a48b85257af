"""START, OK, EXTEND, SOS and STATUS: a member's own timer."""
from __future__ import annotations

from datetime import datetime, timedelta

from .. import session
from ..alarms import reach, timer_event
from ..reachability import buddy_label
from ..rendering import acker_name
from .context import Ctx
from .standing import cover


STATUS_NAMES_MAX = 60  # characters of unreachable buddies' names STATUS spends before it gives a count


def unreachable_part(ctx: Ctx) -> str:
    """For STATUS: the member's buddies who cannot be reached, or nothing."""
    lost = ctx.store.unreachable_buddies(ctx.pid)
    if not lost:
        return ""
    part = ctx.part("part_unreachable", names=", ".join(buddy_label(link, number) for _, link, number in lost))
    # Short enough that a long note, not this, is what gets shortened to fit one text.
    return part if len(part) <= STATUS_NAMES_MAX else ctx.part("part_unreachable_many", count=len(lost))


def ack_part(ctx: Ctx, t: session.Timer) -> str:
    if not t.acked_by:
        return ""
    return ctx.part("part_ack", by=acker_name(ctx.line, t.acked_by, ctx.pid, ctx.lang))


def _duration_error(ctx: Ctx, usage: str) -> bool:
    """Refuse a length or time that was not understood, saying what; never act on a guess."""
    error, what = ctx.cmd.error, " ".join(ctx.cmd.text.split()[:4])
    if not error:
        return False
    if error == "range":
        ctx.reply("bad_duration")
    elif error == "clock":
        h, _, m = what.split()[0].partition(":")
        ctx.reply("clock_unclear", what=f"{h}:{m[:2]}", h=h, m=m[:2])
    elif error == "duration":
        ctx.reply("start_unclear" if ctx.cmd.name == "START" else "extend_unclear", what=what)
    else:
        ctx.reply(usage)
    return True


def start_end(ctx: Ctx) -> float | None:
    """The end a START asks for: a duration, or the next time the clock shows that time of day."""
    cmd, line = ctx.cmd, ctx.line
    if cmd.minutes is not None:
        return ctx.now + line.timing.s(cmd.minutes)
    if cmd.at is None:
        return None
    tz = line.tz
    here = datetime.fromtimestamp(ctx.now, tz)
    target = _next_clock(here, cmd.at[0], cmd.at[1])
    if cmd.halfday:  # "a las 11": whichever 11 o'clock comes first
        target = min(target, _next_clock(here, (cmd.at[0] + 12) % 24, cmd.at[1]))
    real_minutes = (target - here).total_seconds() / 60.0
    return ctx.now + line.timing.s(real_minutes)


def _next_clock(here: datetime, hour: int, minute: int) -> datetime:
    target = here.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return target + timedelta(days=1) if target <= here else target


def time_of_day_on_fast_clock(ctx: Ctx) -> bool:
    """A time of day on a shrunk clock (demos): no end could both be that time and come after that long."""
    return ctx.cmd.at is not None and ctx.line.settings.seconds_per_minute != 60


def h_start(ctx: Ctx) -> None:
    if _duration_error(ctx, "start_usage"):
        return
    if time_of_day_on_fast_clock(ctx):
        ctx.reply("start_fast_clock")
        return
    ends_at = start_end(ctx)
    if ends_at is None:
        ctx.reply("start_usage")
        return
    line = ctx.line
    replies, _ = timer_event(
        line, ctx.pid,
        lambda t, people: session.start(t, ctx.now, ends_at, ctx.cmd.text[:300], people, line.timing), ctx.now,
        member_only=True)
    ctx.replies_from(replies)


def h_ok(ctx: Ctx) -> None:
    replies, _ = timer_event(ctx.line, ctx.pid, lambda t, people: session.ok(t, ctx.now), ctx.now)
    ctx.replies_from(replies)


def h_extend(ctx: Ctx) -> None:
    if ctx.cmd.minutes is None and not ctx.cmd.text.strip():
        ctx.reply("extend_usage")  # a bare keyword gets its usage
        return
    if _duration_error(ctx, "extend_usage") or ctx.cmd.minutes is None:
        if not ctx.replies:
            ctx.reply("extend_usage")
        return
    line = ctx.line
    replies, _ = timer_event(
        line, ctx.pid, lambda t, people: session.extend(t, ctx.now, ctx.cmd.minutes, line.timing), ctx.now)
    ctx.replies_from(replies)


def h_sos(ctx: Ctx) -> None:
    line = ctx.line
    replies, _ = timer_event(
        line, ctx.pid, lambda t, people: session.sos(t, ctx.now, ctx.cmd.text[:300], people, line.timing), ctx.now)
    ctx.replies_from(replies)


def h_status(ctx: Ctx) -> None:
    t = ctx.timer()
    if t is not None and t.live and t.covert:
        # After a covert alarm the phone sees what it was shown: a running timer, or none. Not even the
        # buddies a failed alert marked unreachable are named: that would say an alert went out.
        shown, note = cover(t, ctx.now)
        if shown is not None:
            note_part = ctx.part("part_note", note=note.rstrip(".!?")) if note else ""
            ctx.reply("status_running", end_at=shown, note_part=note_part)
        else:
            ctx.reply("status_none")
        return
    reach_part = unreachable_part(ctx)
    if t is None or not t.live:
        ctx.reply("status_none", reach_part=reach_part)
    elif t.status == session.RUNNING:
        note = ctx.part("part_note", note=t.note.rstrip(".!?")) if t.note else ""
        ctx.reply("status_running", end_at=t.ends_at, note_part=note, reach_part=reach_part)
    elif t.status == session.OVERDUE:
        ctx.reply("status_overdue", alert_at=t.next_at, reach_part=reach_part)
    else:
        ack = ack_part(ctx, t)
        reached, missed = reach(ctx.line, ctx.pid, t)
        parts = ack
        if reached:
            parts += ctx.part("part_reached", names=", ".join(reached))
        if missed:
            parts += ctx.part("part_missed", names=", ".join(missed))
        ctx.reply("status_alerting", alert_at=t.first_alert_at, ack_part=parts, reach_part=reach_part)
