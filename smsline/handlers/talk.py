"""Texts that are no command, and answers to alerts: words during an alarm, ACK, HELP, unknown words."""
from __future__ import annotations

import hashlib
from dataclasses import replace

from .. import messages, session
from ..alarms import timer_event
from ..commands import SOFT_ACK, chat_lang, suggest
from ..line import HIGH
from ..notices import enqueue_texts
from ..rendering import Directory, display_name, fmt_time, outgoing
from .context import Ctx
from .standing import SOS_TYPOS, cover, invite_label, lang_chosen, pending_invites, shown_end, timer_live
from .timers import ack_part, h_sos, h_status

# Texts that are no command: during an open alarm they are the member talking, and are passed on.
RELAYS_PER_HOUR = 30  # a member's texts passed on per alarm an hour: far more than a person in trouble sends


def alarm_talk(ctx: Ctx) -> bool:
    """A member's words while their alarm is open (time up, or alerts out): answer with the truth.

    Once alerts are out the words go to everyone alerted, once per inbound text. After a covert alarm
    they are passed on too (those alerted know it is silent) but the phone's reply stays the ordinary
    one: False is returned so the caller answers as if all were well. True when the reply is given.
    """
    t = ctx.timer() if ctx.pid else None
    if t is None or not t.live or t.status == session.RUNNING:
        return False
    if ctx.relayed is None:  # once per inbound text, whichever handlers it passes through
        ctx.relayed = _relay(ctx, t) if t.status == session.ALERTING and ctx.cmd.name != "EMPTY" else 0
    relayed = ctx.relayed
    if t.covert:
        return False
    if relayed:
        ctx.reply("alarm_talk", alert_at=t.first_alert_at, ack_part=ack_part(ctx, t))
    else:
        h_status(ctx)  # time is up: alerts go out at X unless OK; or nobody could be alerted
    return True


def _relay(ctx: Ctx, t: session.Timer) -> int:
    """Pass the member's words to everyone alerted for this alarm; how many texts were queued."""
    words = (ctx.screen.body if ctx.screen else ctx.body).strip()  # never the safe word
    if not words or not ctx.store.hit(ctx.pid, f"relay-{t.tid}", RELAYS_PER_HOUR, 3600):
        return 0  # past the cap a phone in other hands cannot flood those alerted; the reply still tells the truth
    sid = "".join(c for c in ctx.sid if c.isalnum() or c in "_-")[:64]
    key = sid or hashlib.sha1(f"{ctx.now!r}:{ctx.body}".encode()).hexdigest()[:16]
    uid = f"say-{ctx.pid}-{t.tid}-{key}"
    d = Directory(ctx.store)
    texts = [o for o in (outgoing(ctx.line, r, "relay", {"what": words}, ctx.now, uid, member=ctx.pid, d=d)
                         for r in dict.fromkeys(t.alerted) if r != ctx.pid) if o]
    enqueue_texts(ctx.line, texts, queue=HIGH)  # words said during an alarm wait behind no invitation
    return len(texts)


def alert_summary(ctx: Ctx) -> bool:
    """Someone with an alert open for them, texting what is no command: who, when, and ask for ACK."""
    if not ctx.pid:
        return False
    line, parts, mine = ctx.line, [], True
    for member in ctx.store.live_alarms_for(ctx.pid):
        t = ctx.store.timer(member)
        if t is None or t.status != session.ALERTING or ctx.pid not in t.alerted:
            continue
        key = "part_summary_silent" if t.covert else "part_summary_sos" if t.kind == "sos" else "part_summary_missed"
        at = t.ends_at if key == "part_summary_missed" else t.first_alert_at  # when the check-in was due
        part = ctx.part(key, member=display_name(line, member), phone=ctx.store.person(member).get("number", ""),
                        alert_at=fmt_time(line, at, ctx.now, ctx.lang))
        if t.acked_by and t.acked_by != ctx.pid:
            part += ctx.part("part_summary_acked", by=display_name(line, t.acked_by))
        mine = mine and t.acked_by == ctx.pid
        parts.append(part)
    if not parts:
        return False
    ctx.reply("alert_summary_mine" if mine else "alert_summary", list=" ".join(parts))
    return True


UNKNOWN_REPLIES_PER_HOUR = 5
CONTACT_REPLIES_PER_HOUR = 30


def h_unknown(ctx: Ctx) -> None:
    """Never silence: anyone with a record is always answered in one text; only unknown numbers are rate-limited.

    While a timer runs, the answer says so and how to end it, whatever was written.
    """
    if ctx.cmd.name == "OK_UNCLEAR":
        if not alarm_talk(ctx):
            ctx.reply("ok_unclear" if shown_end(ctx) is not None else "no_timer")
        return
    guess = suggest(ctx.cmd.word) if ctx.cmd.name == "UNKNOWN" and ctx.is_member else None
    if ctx.is_member and ctx.cmd.word in SOS_TYPOS:
        # A typo of SOS is acted on: a needless alert costs a phone call, a missed one may cost far more.
        h_sos(ctx)
        return
    if alarm_talk(ctx):
        return
    running = shown_end(ctx)
    if not ctx.pid and not ctx.store.hit(ctx.store.number_hash(ctx.number), "unknown",
                                         UNKNOWN_REPLIES_PER_HOUR, 3600):
        return  # a number with no record: a few replies an hour, so no loop with an automated sender
    if ctx.pid and not ctx.is_member and running is None and not ctx.store.hit(ctx.pid, "unknown", CONTACT_REPLIES_PER_HOUR, 3600):
        return  # a buddy or invitee: far more than a person sends, and still a loop with an auto-reply ends
    if ctx.pid and ctx.cmd.name != "EMPTY" and alert_summary(ctx):
        if running is None:
            return
    rest = " ".join(ctx.cmd.text.split()[:3])
    if guess:
        # Anything else is only suggested: acting on a guess could end or start a timer nobody asked for.
        suggestion = f"{guess} {rest}".strip()
        if running is not None:
            ctx.reply("did_you_mean_running", suggestion=suggestion, end_at=running)
        else:
            ctx.reply("did_you_mean", suggestion=suggestion)
    elif running is not None:
        ctx.reply("unknown_running", end_at=running)
    elif remind_invitee(ctx):
        pass
    elif ctx.cmd.name == "EMPTY":
        ctx.reply("empty")
    else:
        ctx.reply("unknown")


def remind_invitee(ctx: Ctx) -> bool:
    """Someone invited (not a member) who writes something not understood ("who is this?", "hola"): what waits.

    In both languages when they never chose one, unless the words are plainly Spanish. Reached after the
    caller's reply cap, so an auto-responder does not loop; a number with nothing waiting learns nothing.
    """
    if not ctx.pid or ctx.is_member or ctx.is_organizer:
        return False
    pending = pending_invites(ctx)
    if not pending:
        return False
    if lang_chosen(ctx.person):
        lang, suffix = ctx.person.get("lang", "en"), ""
    else:
        lang = chat_lang(ctx.cmd.word + " " + (ctx.cmd.text or "")) or ctx.words_lang
        suffix = "" if lang else "_both"
        lang = lang or "en"
    fields = {"network": ctx.line.settings.network_name}
    if len(pending) > 1:
        key = "remind_many"
        labels = [f"{i} {invite_label(ctx, kind, who)}" for i, (kind, who) in enumerate(pending, 1)]
        fields.update(count=len(pending), list=", ".join(labels))
    else:
        kind, who = pending[0]
        key = f"remind_{kind}"
        if kind == "buddy":
            fields["member"] = display_name(ctx.line, who)
    ctx.replies.append(messages.render(key + suffix, lang, **fields))
    return True


def h_fine(ctx: Ctx) -> None:
    """'I'm fine', 'todo bien': never ends a timer; says how to end it (README: Commands)."""
    if alarm_talk(ctx):
        return
    running = shown_end(ctx)
    if running is not None:
        ctx.reply("unknown_running", end_at=running)
    elif not alert_summary(ctx):
        ctx.reply("no_timer")


def h_duration(ctx: Ctx) -> None:
    """A length on its own ('30 min'): say what to text, and change nothing."""
    if alarm_talk(ctx):
        return  # "10 min" once alerts are out: passed on, and the truth rather than "your timer still runs"
    minutes = ctx.cmd.minutes or 0
    if not 1 <= minutes <= 24 * 60:
        h_unknown(ctx)
        return
    running = shown_end(ctx)
    if running is not None:
        ctx.reply("duration_running", minutes=minutes, end_at=running)
    else:
        ctx.reply("duration_start", minutes=minutes)


def h_help(ctx: Ctx) -> None:
    if ctx.is_organizer:
        ctx.reply("help_organizer")
        ctx.reply("help")
    elif ctx.is_member:
        ctx.reply("help")
        ctx.reply("help_more")
    else:
        ctx.reply("help_buddy")
    t = ctx.timer() if ctx.pid else None
    shown = cover(t, ctx.now)[0] if t is not None and t.live else None
    if shown is not None:
        ctx.reply("help_running", end_at=shown)


def h_ack(ctx: Ctx) -> None:
    """ACK answers every alarm that reached this person, and names them."""
    line, names, already, mine, others = ctx.line, [], [], [], False
    for member in ctx.store.live_alarms_for(ctx.pid) if ctx.pid else []:
        t = ctx.store.timer(member)
        if t is None or t.status != session.ALERTING or ctx.pid not in t.alerted:
            continue
        if t.acked_by == ctx.pid:
            mine.append(display_name(line, member))
            continue
        (already if t.acked_by else names).append(display_name(line, member))
        # session.ack tells everyone else alerted; a lone buddy is not told "others were told".
        others = others or (not t.acked_by and any(p != ctx.pid for p in t.alerted))
        timer_event(line, member, lambda t, people: session.ack(t, ctx.pid, ctx.now, people, line.timing), ctx.now)
    if names:
        ctx.reply("ack_ok" if others else "ack_ok_alone", names=", ".join(names))
    elif already:
        ctx.reply("ack_already", names=", ".join(already))
    elif mine:
        ctx.reply("ack_ok_alone", names=", ".join(mine))
    elif ctx.cmd.word in SOFT_ACK and ctx.is_member and timer_live(ctx):
        # "coming", "on my way home" with no alert open but a timer of their own: words about that timer,
        # not an ACK; answer them as any text (during their own alarm they are passed on).
        ctx.cmd = replace(ctx.cmd, name="UNKNOWN")
        h_unknown(ctx)
    else:
        ctx.reply("ack_none")
