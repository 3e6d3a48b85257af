"""Load, decide, save, then carry out the effects. One handler per command."""
from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import replace
from datetime import datetime, timedelta

from . import covert, messages, session
from .alarms import reach, timer_event
from .commands import SOFT_ACK, Command, chat_lang, parse, suggest
from .gsm7 import fold
from .handlers.context import Ctx
from .line import HIGH, Line
from .network import HANDLERS as NETWORK_HANDLERS
from .network import reports_for
from .notices import enqueue_texts
from .oversight import HANDLERS as OVERSIGHT_HANDLERS
from .oversight import unreachable_part
from .phones import mask, normalize
from .reachability import buddy_back, buddy_lost
from .rendering import Directory, Outgoing, acker_name, display_name, fmt_time, generated_alias, outgoing, text_fields
from .session import Reply
from .store import DAY, LAPSED_TTL, Keys, Sender

log = logging.getLogger(__name__)

INVITES_PER_DAY = 10  # a member's buddy invitations; enough for real use, too few to spam with
ORGANIZER_INVITES_PER_DAY = 500  # organizers enroll whole networks
INVITATIONS_RECEIVED_PER_DAY = 3  # invitations one number may be sent a day, whoever sends them
MAX_ALIAS = 20



READ_ONLY = frozenset({"HELP", "STATUS"})
FLOOD_PER_MINUTE = 20  # texts a minute from one number before the ones that cannot matter are held back
FLOOD_EXEMPT = frozenset({"SOS", "ACK", "OPTOUT", "OPTIN"})


def flood_exempt(cmd: Command) -> bool:
    """Texts a flood limit never holds back: OK, SOS (and its typos), ACK, STOP/START, anything ending a timer."""
    return cmd.name in FLOOD_EXEMPT or covert.is_end_attempt(cmd) or (cmd.name == "UNKNOWN" and cmd.word in SOS_TYPOS)


def flood_reply(sender: Sender) -> list[str]:
    """A text held back by the flood limit: one short reply a window says why; the rest get nothing new."""
    if not sender.first_held:
        return []
    return [messages.render("slow_down", sender.person.get("lang", "en"))]


def reads_only(body: str, sender: Sender | None = None, cmd: Command | None = None) -> Command | None:
    """The command, when this text is a question that changes nothing: a member's or organizer's HELP or STATUS.

    Such a text needs no MessageSid record: a redelivery is simply answered again.
    Without the sender, only the words are judged. A member with a safe word or a
    duress word set is never answered this way: their words are screened first.
    """
    cmd = cmd or parse(body or "")
    if cmd.name not in READ_ONLY or cmd.error:
        return None
    if sender is None:
        return cmd
    p = sender.person
    return cmd if (sender.member or sender.organizer) and not p.get("safe_hash") and not p.get("duress_hash") \
        else None


def handle_inbound(line: Line, number: str, body: str, now: float | None = None,
                   sender: Sender | None = None, cmd: Command | None = None, sid: str = "") -> list[str]:
    """Everything one inbound text causes; returns the replies for the sender.

    The webhook passes the sender it read with the MessageSid claim; without one, it is read here.
    """
    now = line.now() if now is None else now
    body = body or ""
    if sender is None:
        sender = line.store.sender(number)
    pid, person = sender.pid, sender.person
    ctx = Ctx(line, number, pid, person, cmd or parse(body), now, body=body, sid=sid)
    ctx._roles = (sender.member, sender.organizer)
    ctx._sender = sender
    if _consent_sets_lang(ctx):
        # Someone answering an invitation in Spanish ("SI", "acepto", "unirme") is answered in Spanish from now on.
        line.store.set_fields(pid, lang=ctx.cmd.lang, lang_chosen="1")
        person.update(lang=ctx.cmd.lang, lang_chosen="1")
    elif pid and ctx.cmd.lang and not lang_chosen(person):
        ctx.words_lang = ctx.cmd.lang  # "SOCORRO", "voy": this text is answered in Spanish; later ones are not
    if (person.get("safe_hash") or person.get("duress_hash")) and (ctx.is_member or _timer_live(ctx)):
        ctx.screen = covert.Screen(line.store.sealer, person, body)
        ctx.cmd = parse(ctx.screen.body)
        _rehash_words(line, pid, ctx.screen)
    screen, cmd = ctx.screen, ctx.cmd
    if sender.slowed and not flood_exempt(cmd) and not (screen and (screen.duress or screen.safe_given)):
        # Past the flood limit: one short reply to each text, the same for everyone (covert words or not).
        # What must be acted on (OK, SOS, ACK, the safe or duress word, anything ending a timer) still is.
        ctx.reply("slow_down")
        log.info("inbound slowed from %s", mask(number))
        return ctx.replies
    if _cover_wiped(ctx):
        # After a covert WIPE YES the phone hears what a wiped number hears; the alarm runs on unseen.
        ctx.pid, ctx.person, ctx._roles, ctx._sender = "", {}, (False, False), None
        dispatch(ctx)
    elif screen and screen.duress:
        covert_duress(ctx)
    elif screen and screen.has_safe and not screen.safe_given and covert.is_end_attempt(cmd) \
            and not cmd.error and _guard_applies(ctx):
        covert_guard(ctx)
    else:
        dispatch(ctx)
    log.info("inbound %s from %s: %d replies", "covert" if screen and (screen.duress or screen.safe_given)
             else cmd.name, mask(number), len(ctx.replies))
    return ctx.replies


def _consent_sets_lang(ctx: Ctx) -> bool:
    """Only an answer to a waiting invitation, in words of one language, sets the language (besides LANG).

    Any other word never does: a buddy who once writes "voy" or "ya" must not get every later text, alarms
    included, in a language they may not read.
    """
    cmd = ctx.cmd
    return bool(ctx.pid and cmd.lang and cmd.name in ("YES", "JOIN") and not lang_chosen(ctx.person)
                and _pending_invites(ctx))


# What anyone whose timer runs may do, member or not: a removal by another path or a WIPE race must
# never leave a running timer that its owner cannot end, extend, check or turn into an alarm.
ANYONE_WITH_TIMER = frozenset({"OK", "OK_UNCLEAR", "SOS", "EXTEND", "STATUS"})
STRANGER_COMMANDS = frozenset({"OPTOUT", "OPTIN", "JOIN", "YES", "NO"})


def _rehash_words(line: Line, pid: str, screen: covert.Screen) -> None:
    """A word that matched a hash under the old key (or an unkeyed one) is hashed again under the current key."""
    fields = {}
    for kind, word in screen.rehash.items():
        salt, digest = covert.hash_word(line.store.sealer, word)
        fields.update({f"{kind}_salt": salt, f"{kind}_hash": digest})
    if fields:
        line.store.set_fields(pid, **fields)


def dispatch(ctx: Ctx) -> None:
    cmd = ctx.cmd
    handler = HANDLERS.get(cmd.name, h_not_available)
    need, role = REQUIRES.get(cmd.name, "member"), _role(ctx)
    own_timer = _own_timer_handler(ctx, role, need)
    if own_timer:
        own_timer(ctx)
    elif role == "stranger" and _is_sos(cmd):
        h_stranger_sos(ctx)
    elif role == "stranger" and cmd.name not in ("OPTOUT", "OPTIN", "WIPE"):
        # JOIN, YES and NO too: a number whose record outlived its invitation hears what a new number hears.
        h_stranger(ctx)
    elif role == "contact" and need != "any":
        # A buddy's "ok", "on the way home", START...: with an alert open for them, what it is about.
        # Their own SOS is never taken for talk about someone else's alert.
        if _is_sos(cmd):
            ctx.reply("contact_sos")
        elif not alert_summary(ctx):
            ctx.reply("help_buddy")
    elif cmd.name in ("OK", "OK_UNCLEAR") and role in ("member", "organizer") and not _timer_live(ctx) \
            and alert_summary(ctx):
        pass  # a bare "ok" from someone alerted, with no timer of their own: ambiguous, so ask for ACK
    elif role == "member" and need == "organizer":
        ctx.reply("not_allowed")
    else:
        handler(ctx)


def _role(ctx: Ctx) -> str:
    """organizer, member, contact (a buddy or someone with an invitation), or stranger."""
    if ctx.is_organizer:
        return "organizer"
    if ctx.is_member:
        return "member"
    if ctx.pid and (_is_buddy(ctx) or _pending_invites(ctx)):
        return "contact"
    return "stranger"


def _own_timer_handler(ctx: Ctx, role: str, need: str):
    """For a non-member whose timer runs, the handler that replaces the stranger's or buddy's answer, or None."""
    if role not in ("stranger", "contact") or not _timer_live(ctx):
        return None
    name = ctx.cmd.name
    if name in ANYONE_WITH_TIMER:
        return HANDLERS[name]
    if name in STRANGER_COMMANDS or (role == "contact" and need == "any" and name not in ("UNKNOWN", "EMPTY")):
        return None  # answering an invitation, ACK for someone else, HELP, LANG: as for anyone
    return h_timer_only


def _timer_live(ctx: Ctx) -> bool:
    if not ctx.pid:
        return False
    t = ctx.timer()
    return t is not None and t.live


def h_timer_only(ctx: Ctx) -> None:
    """A non-member whose timer runs, texting anything else: how to end it, never silence (covert rules hold)."""
    if ctx.cmd.name in ALARM_TALK and alarm_talk(ctx):
        return
    t = ctx.timer()
    if t.status == session.RUNNING and not t.covert:
        ctx.reply("help_running", end_at=t.ends_at)
    else:
        h_status(ctx)


def _is_buddy(ctx: Ctx) -> bool:
    return bool(ctx.pid) and any(s == "confirmed" for s in ctx.store.buddy_of(ctx.pid).values())


def _has_invites(ctx: Ctx) -> bool:
    return bool(ctx.pid) and bool(_pending_invites(ctx))


def h_stranger(ctx: Ctx) -> None:
    """One neutral reply a day to an unknown number; it learns nothing about who is enrolled.

    Callers reach this only for a number with no record or no invitation, so there is nothing to accept.
    """
    h = ctx.store.number_hash(ctx.number)
    if ctx.line.redis.set(Keys.stranger.format(h=h), 1, nx=True, ex=DAY):
        ctx.reply("stranger")


STRANGER_SOS_PER_HOUR = 3  # an SOS from a number with no membership: answered even after the day's one reply


def _is_sos(cmd: Command) -> bool:
    return cmd.name == "SOS" or (cmd.name == "UNKNOWN" and cmd.word in SOS_TYPOS)


def h_stranger_sos(ctx: Ctx) -> None:
    """An SOS from a number that is no member and has no timer: never silence, and no oracle.

    Every such number, with a record or none, gets the same text on the same count (by number hash),
    apart from the daily reply to other texts, so a first SOS in an hour is always answered.
    """
    if ctx.store.hit(ctx.store.number_hash(ctx.number), "sos", STRANGER_SOS_PER_HOUR, 3600):
        ctx.reply("stranger_sos")


# Texts that are no command: during an open alarm they are the member talking, and are passed on.
ALARM_TALK = frozenset({"UNKNOWN", "EMPTY", "OK_UNCLEAR", "FINE", "DURATION"})
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
        ctx.reply("alarm_talk", alert_at=t.first_alert_at, ack_part=_ack_part(ctx, t))
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


def _ack_part(ctx: Ctx, t: session.Timer) -> str:
    if not t.acked_by:
        return ""
    return ctx.part("part_ack", by=acker_name(ctx.line, t.acked_by, ctx.pid, ctx.lang))


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
SOS_TYPOS = {"SSO", "OSS", "SOSS", "SOOS", "SSOS", "S0S", "5OS", "SO5", "5O5", "SOA", "SIS"}


def _shown_timer(ctx: Ctx) -> float | None:
    """The end of the timer as this phone knows it, or None: after a covert alarm, only the cover."""
    t = ctx.timer() if ctx.is_member else None
    if t is None or not t.live:
        return None
    if t.covert:
        return t.cover_end if t.cover_end and t.cover_end > ctx.now else None
    return t.ends_at


def h_unknown(ctx: Ctx) -> None:
    """Never silence: anyone with a record is always answered in one text; only unknown numbers are rate-limited.

    While a timer runs, the answer says so and how to end it, whatever was written.
    """
    if ctx.cmd.name == "OK_UNCLEAR":
        if not alarm_talk(ctx):
            ctx.reply("ok_unclear" if _shown_timer(ctx) is not None else "no_timer")
        return
    guess = suggest(ctx.cmd.word) if ctx.cmd.name == "UNKNOWN" and ctx.is_member else None
    if ctx.is_member and ctx.cmd.word in SOS_TYPOS:
        # A typo of SOS is acted on: a needless alert costs a phone call, a missed one may cost far more.
        h_sos(ctx)
        return
    if alarm_talk(ctx):
        return
    running = _shown_timer(ctx)
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
    pending = _pending_invites(ctx)
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
        labels = [f"{i} {_invite_label(ctx, kind, who)}" for i, (kind, who) in enumerate(pending, 1)]
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
    running = _shown_timer(ctx)
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
    running = _shown_timer(ctx)
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
    shown = _cover(t, ctx.now)[0] if t is not None and t.live else None
    if shown is not None:
        ctx.reply("help_running", end_at=shown)


def h_optout(ctx: Ctx) -> None:
    # Twilio answers STOP itself; a running timer keeps running.
    ctx.store.set_opt_out(ctx.number, True)
    if ctx.pid:
        buddy_lost(ctx.line, ctx.pid, "optout", ctx.now)


def h_optin(ctx: Ctx) -> None:
    ctx.store.set_opt_out(ctx.number, False)
    if ctx.pid:
        buddy_back(ctx.line, ctx.pid, ctx.now)
    if ctx.cmd.word == "YES" and _has_invites(ctx):
        h_yes(ctx)
    elif ctx.is_member:
        ctx.reply("start_usage")
    elif _has_invites(ctx) or _is_buddy(ctx):  # a buddy back from STOP learns what they can do
        ctx.reply("help_buddy")


# Timers ---------------------------------------------------------------------

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


def _ends_at(ctx: Ctx) -> float | None:
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
def _time_of_day_on_fast_clock(ctx: Ctx) -> bool:
    """A time of day on a shrunk clock (demos): no end could both be that time and come after that long."""
    return ctx.cmd.at is not None and ctx.line.settings.seconds_per_minute != 60


def h_start(ctx: Ctx) -> None:
    if _duration_error(ctx, "start_usage"):
        return
    if _time_of_day_on_fast_clock(ctx):
        ctx.reply("start_fast_clock")
        return
    ends_at = _ends_at(ctx)
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
        shown, note = _cover(t, ctx.now)
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
        ack = _ack_part(ctx, t)
        reached, missed = reach(ctx.line, ctx.pid, t)
        parts = ack
        if reached:
            parts += ctx.part("part_reached", names=", ".join(reached))
        if missed:
            parts += ctx.part("part_missed", names=", ".join(missed))
        ctx.reply("status_alerting", alert_at=t.first_alert_at, ack_part=parts, reach_part=reach_part)


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
    elif ctx.cmd.word in SOFT_ACK and ctx.is_member and _timer_live(ctx):
        # "coming", "on my way home" with no alert open but a timer of their own: words about that timer,
        # not an ACK; answer them as any text (during their own alarm they are passed on).
        ctx.cmd = replace(ctx.cmd, name="UNKNOWN")
        h_unknown(ctx)
    else:
        ctx.reply("ack_none")


# Membership -----------------------------------------------------------------

def _number_arg(ctx: Ctx, usage: str) -> str | None:
    if not ctx.cmd.number:
        ctx.reply(usage)
        return None
    number = normalize(ctx.cmd.number, ctx.line.settings.default_region)
    if not number:
        ctx.reply("bad_number")
    return number


def _alias(text: str) -> str:
    return " ".join(fold(text).split())[:MAX_ALIAS]


def _invite_allowed(ctx: Ctx) -> bool:
    limit = ORGANIZER_INVITES_PER_DAY if ctx.is_organizer else INVITES_PER_DAY
    if ctx.store.hit(ctx.pid, "invite", limit, DAY):
        return True
    ctx.reply("rate_limited")
    return False


def _invitee_refused(ctx: Ctx, number: str) -> bool:
    """A number invited too often today gets the cap's reply. Checked after the inviter's own cap.

    An opted-out number is NOT refused here: it is invited exactly as a fresh number is (same reply,
    same waiting invitation in BUDDIES, same count against this cap), and only the text is never sent
    (outgoing, _send_invite and the sender all drop texts to opted-out numbers). Any other answer would
    tell whoever holds a member's phone which numbers have sent STOP.
    """
    store = ctx.store
    if not store.hit(store.number_hash(number), "invited", INVITATIONS_RECEIVED_PER_DAY, DAY):
        ctx.reply("rate_limited")
        return True
    return False


def _reply_waiting(ctx: Ctx, number: str, left: float) -> None:
    """An invitation to this number already waits: say so, and when it lapses, instead of sending another."""
    ctx.reply("invite_waiting", number=mask(number), count=max(1, math.ceil(left / DAY)))


def _send_now(ctx: Ctx, pid: str, key: str, uid: str, **fields) -> None:
    o = outgoing(ctx.line, pid, key, fields, ctx.now, uid, member=ctx.pid)
    if o:
        enqueue_texts(ctx.line, [o])


def lang_chosen(person: dict) -> bool:
    """Whether this person chose a language (LANG, or words only one language uses), not just the default."""
    return bool(person.get("lang_chosen")) or person.get("lang", "en") != "en"


def _send_invite(ctx: Ctx, pid: str, key: str, uid: str) -> None:
    """An invitation in the invitee's language if they chose one, else the inviter's, else both in one text."""
    line = ctx.line
    invitee = line.store.person(pid)
    if lang_chosen(invitee):
        _send_now(ctx, pid, key, uid)
        return
    number = invitee.get("number")
    if not number or line.store.opted_out(number):
        return
    lang = ctx.lang if lang_chosen(ctx.person) else "en"
    if not lang_chosen(ctx.person):
        key = f"{key}_both"
    body = messages.render(key, lang, **text_fields(line, lang, {}, ctx.now, member=ctx.pid))
    enqueue_texts(line, [Outgoing(id=f"{uid}-{pid}", to=number, body=body)])


def h_add(ctx: Ctx) -> None:
    number = _number_arg(ctx, "add_usage")
    if not number:
        return
    store = ctx.store
    pid = store.pid_for(number)  # nothing is written before the caps are checked
    if pid and store.is_member(pid):
        ctx.reply("add_already", number=mask(number))
        return
    left = store.invite_left(Keys.member_invite, pid) if pid else 0
    if left:
        _reply_waiting(ctx, number, left)
        return
    if not _invite_allowed(ctx) or _invitee_refused(ctx, number):
        return
    alias = _alias(ctx.cmd.text)
    pid = store.ensure_person(number)
    left = store.invite(Keys.member_invite, pid, ctx.pid, ctx.now, alias=alias)
    if left:
        _reply_waiting(ctx, number, left)  # a concurrent ADD of the same number invited first
        return
    _send_invite(ctx, pid, "invite_member", f"inv-m-{pid}-{int(ctx.now)}")
    ctx.reply("add_ok", number=mask(number))


def h_join(ctx: Ctx) -> None:
    if not ctx.pid:
        h_stranger(ctx)
        return
    inv = ctx.store.invitation(Keys.member_invite, ctx.pid)
    if ctx.is_member:
        ctx.reply("help")
        return
    if not inv and _has_invites(ctx):
        h_yes(ctx)  # "UNIRME" to a buddy or organizer invitation: the consent it clearly is
        return
    if not inv:
        ctx.reply("join_none")
        return
    _join(ctx, inv)


def _join(ctx: Ctx, inv: dict) -> None:
    store = ctx.store
    if not store.accept_invite(Keys.member_invite, ctx.pid, now=ctx.now):
        _invitation_gone(ctx)  # an organizer's REMOVE cancelled it since it was read
        return
    alias = inv.get("alias") or ctx.person.get("alias")
    if not alias:
        store.set_fields(ctx.pid, alias=generated_alias(ctx.pid), alias_generated="1")
    else:
        store.set_fields(ctx.pid, alias=alias)
    ctx.forget_roles()
    ctx.person = store.person(ctx.pid)
    ctx.reply("join_ok", alias=ctx.person.get("alias"))


def _invitation_gone(ctx: Ctx) -> None:
    """Accepting an invitation an organizer cancelled meanwhile: what the number would hear now."""
    ctx.forget_roles()
    if _has_invites(ctx):
        ctx.reply("join_none")
    else:
        h_stranger(ctx)


def h_remove(ctx: Ctx) -> None:
    number = _number_arg(ctx, "remove_usage")
    if not number:
        return
    pid = ctx.store.pid_for(number)
    if pid and not ctx.store.is_member(pid):
        # A waiting member or organizer invitation is cancelled (atomic with JOIN and YES: -1 if they joined first).
        dropped = ctx.store.cancel_invites(pid)
        if dropped > 0:
            ctx.store.settle(pid, LAPSED_TTL, number)  # the record lapses unless it is kept for a buddy link
            ctx.reply("invite_cancelled", number=mask(number))
            return
        if dropped == 0:
            pid = None
    if not pid:
        ctx.reply("remove_unknown", number=mask(number))
        return
    running = remove_member(ctx.line, pid)
    if running is None:
        _send_now(ctx, pid, "removed_notice", f"rm-{pid}-{int(ctx.now)}")
        ctx.reply("remove_ok", number=mask(number))
    elif pid == ctx.pid and running.covert:
        # An organizer removing themselves after a covert alarm: their phone sees what it would if all were well.
        if running.cover_end and running.cover_end > ctx.now:
            ctx.reply("remove_running", number=mask(number), end_at=running.cover_end)
        else:
            ctx.reply("remove_ok", number=mask(number))
    elif running.status == session.RUNNING:
        ctx.reply("remove_running", number=mask(number), end_at=running.ends_at)
    else:
        ctx.reply("remove_alerting", number=mask(number))


def remove_member(line: Line, pid: str) -> session.Timer | None:
    """End a membership unless a timer runs. Returns the live timer that kept the member, or None once removed.

    REMOVE refuses rather than ending the timer: mid-date the timer is the member's protection, and
    ending it would stand down people who may be needed. Atomic with START: this watches the timer, and
    START watches the members set, so whichever commits second sees the other.
    """
    def txn(pipe, timer, deliveries):
        pipe.multi()
        if timer is not None and timer.live:
            return timer
        line.store.unenroll(pid, pipe=pipe)
        return None

    kept = line.store.transact(pid, txn)
    if kept is None:
        line.store.lapse_removed(pid)
    return kept


def h_organizer(ctx: Ctx) -> None:
    number = _number_arg(ctx, "organizer_usage")
    if not number:
        return
    store = ctx.store
    pid = store.pid_for(number)
    left = store.invite_left(Keys.organizer_invite, pid) if pid else 0
    if left:
        _reply_waiting(ctx, number, left)
        return
    if not _invite_allowed(ctx) or _invitee_refused(ctx, number):
        return
    pid = store.ensure_person(number)
    left = store.invite(Keys.organizer_invite, pid, ctx.pid, ctx.now)
    if left:
        _reply_waiting(ctx, number, left)
        return
    _send_invite(ctx, pid, "invite_organizer", f"inv-o-{pid}-{int(ctx.now)}")
    ctx.reply("organizer_invited", number=mask(number))


# Buddies --------------------------------------------------------------------

def h_buddy(ctx: Ctx) -> None:
    number = _number_arg(ctx, "buddy_usage")
    if not number:
        return
    store = ctx.store
    if number == ctx.number:
        ctx.reply("buddy_self")
        return
    store.lapse_buddy_invites(ctx.now)
    bpid = store.pid_for(number)  # read only: nothing is written before the caps are checked
    if bpid:
        link = store.buddy_links(ctx.pid).get(bpid)
        if link and link.get("status") == "confirmed":
            ctx.reply("buddy_already", number=mask(number))
            return
        lapses = store.buddy_invite_lapses(ctx.pid, bpid) if link else None
        if lapses and lapses > ctx.now:
            _reply_waiting(ctx, number, lapses - ctx.now)
            return
        if store.declined(bpid, ctx.pid):
            ctx.reply("buddy_blocked")  # they said NO to this member, who was told so
            return
    if not _invite_allowed(ctx) or _invitee_refused(ctx, number):
        return
    name = _alias(ctx.cmd.text)
    bpid = store.ensure_person(number)
    state, lapses = store.invite_buddy(ctx.pid, bpid, number, name, ctx.now)
    if state == "confirmed":
        ctx.reply("buddy_already", number=mask(number))
        return
    if state == "waiting":
        _reply_waiting(ctx, number, lapses - ctx.now)  # a concurrent BUDDY of the same number invited first
        return
    _send_invite(ctx, bpid, "invite_buddy", f"inv-b-{ctx.pid}-{bpid}-{int(ctx.now)}")
    ctx.reply("buddy_invited", number=mask(number))


def h_buddies(ctx: Ctx) -> None:
    ctx.store.lapse_buddy_invites(ctx.now)
    links = ctx.store.buddy_links(ctx.pid)
    if not links:
        ctx.reply("buddies_none")
        return
    entries = []
    t = ctx.timer()
    # During a covert alarm a mark could say that an alert to that buddy failed: none is shown then.
    # A waiting invitee is never marked for having sent STOP: that would tell the inviter (and whoever holds
    # their phone) who opted out. A confirmed buddy's opt-out is shown: the member must know alerts will miss them.
    confirmed = {p for p, link in links.items() if link.get("status") == "confirmed"}
    lost = set() if t is not None and t.live and t.covert else ctx.store.unreachable(links, opted_out_of=confirmed)
    for bpid, link in sorted(links.items(), key=lambda kv: kv[1].get("at", 0)):
        number = ctx.store.person(bpid).get("number")
        state = "" if link.get("status") == "confirmed" else ctx.part("part_waiting")
        state += ctx.part("part_unreachable_mark") if bpid in lost else ""
        entries.append(f"{link.get('name') or ''} {mask(number)}{state}".strip())
    ctx.reply("buddies_list", list=", ".join(entries))


def h_unbuddy(ctx: Ctx) -> None:
    number = _number_arg(ctx, "unbuddy_usage")
    if not number:
        return
    bpid = ctx.store.pid_for(number)
    if not bpid or bpid not in ctx.store.buddy_links(ctx.pid):
        ctx.reply("unbuddy_unknown", number=mask(number))
        return
    confirmed = ctx.store.buddy_links(ctx.pid)[bpid].get("status") == "confirmed"
    ctx.store.drop_buddy(ctx.pid, bpid)
    ctx.store.settle(bpid, LAPSED_TTL, number)  # kept only if they still serve another member
    if confirmed:
        _send_now(ctx, bpid, "unbuddied", f"unb-{ctx.pid}-{bpid}-{int(ctx.now)}")
    ctx.reply("unbuddy_ok", number=mask(number))


def h_name(ctx: Ctx) -> None:
    alias = _alias(ctx.cmd.text)
    if not alias:
        ctx.reply("name_usage")
        return
    ctx.store.set_fields(ctx.pid, alias=alias, alias_generated="0")
    ctx.reply("name_ok", alias=alias)


def _pending_invites(ctx: Ctx) -> list[tuple[str, str]]:
    """Everything this number could say YES to, oldest first: (kind, member pid or inviter)."""
    out = []
    store = ctx.store
    store.lapse_buddy_invites(ctx.now)
    if not store.is_member(ctx.pid) and store.invitation(Keys.member_invite, ctx.pid):
        out.append(("member", ""))
    if not store.is_organizer(ctx.pid) and store.invitation(Keys.organizer_invite, ctx.pid):
        out.append(("organizer", ""))
    for member, status in sorted(store.buddy_of(ctx.pid).items()):
        if status == "pending":
            out.append(("buddy", member))
    return out


def h_yes(ctx: Ctx) -> None:
    if not ctx.pid:
        h_stranger(ctx)
        return
    pending = _pending_invites(ctx)
    if not pending:
        ctx.reply("yes_none")
        return
    choice = ctx.cmd.choice
    if len(pending) > 1 and not choice:
        labels = [f"{i} {_invite_label(ctx, kind, who)}" for i, (kind, who) in enumerate(pending, 1)]
        ctx.reply("yes_which", count=len(pending), list=", ".join(labels))
        return
    if choice and not 1 <= choice <= len(pending):
        ctx.reply("yes_none")
        return
    kind, who = pending[(choice or 1) - 1]
    if kind == "member":
        _join(ctx, ctx.store.invitation(Keys.member_invite, ctx.pid))
    elif kind == "organizer":
        _accept_organizer(ctx)
    else:
        link = ctx.store.buddy_links(who).get(ctx.pid) or {}
        ctx.store.set_buddy(who, ctx.pid, "confirmed", link.get("name", ""), ctx.now)
        ctx.reply("buddy_yes", member=display_name(ctx.line, who))
        o = outgoing(ctx.line, who, "buddy_accepted", {"name": display_name(ctx.line, ctx.pid, who)},
                     ctx.now, f"bacc-{who}-{ctx.pid}-{int(ctx.now)}")
        if o:
            enqueue_texts(ctx.line, [o])


def _invite_label(ctx: Ctx, kind: str, who: str) -> str:
    if kind == "buddy":
        return display_name(ctx.line, who)
    return ctx.part(f"label_{kind}")


def _accept_organizer(ctx: Ctx) -> None:
    store = ctx.store
    if not store.accept_invite(Keys.organizer_invite, ctx.pid, organizer=True, now=ctx.now):
        _invitation_gone(ctx)
        return
    if not ctx.person.get("alias"):
        store.set_fields(ctx.pid, alias=generated_alias(ctx.pid), alias_generated="1")
    ctx.forget_roles()
    ctx.reply("organizer_ok")


def h_no(ctx: Ctx) -> None:
    if not ctx.pid:
        h_stranger(ctx)
        return
    pending = [p for p in _pending_invites(ctx)]
    if not pending and ctx.cmd.choice is None and ctx.cmd.text.strip():
        # "no se", "no idea": words, not an answer to an invitation there is none of.
        ctx.cmd = replace(ctx.cmd, name="UNKNOWN")
        h_unknown(ctx)
        return
    if not pending:
        ctx.reply("yes_none")
        return
    if len(pending) > 1 and not ctx.cmd.choice:
        labels = [f"{i} {_invite_label(ctx, kind, who)}" for i, (kind, who) in enumerate(pending, 1)]
        ctx.reply("yes_which", count=len(pending), list=", ".join(labels))
        return
    idx = (ctx.cmd.choice or 1) - 1
    if not 0 <= idx < len(pending):
        ctx.reply("yes_none")
        return
    kind, who = pending[idx]
    store = ctx.store
    if kind == "buddy":
        name = display_name(ctx.line, ctx.pid, who)  # before the link (and the name given) goes
        store.drop_buddy(who, ctx.pid)
        store.decline(ctx.pid, who)
        o = outgoing(ctx.line, who, "buddy_declined", {"name": name}, ctx.now, f"bdec-{who}-{ctx.pid}")
        if o:
            enqueue_texts(ctx.line, [o])
    else:
        ctx.line.redis.delete((Keys.member_invite if kind == "member" else Keys.organizer_invite).format(pid=ctx.pid))
    store.settle(ctx.pid, LAPSED_TTL, ctx.number)  # a declined record lapses unless it is kept for another link
    ctx.reply("buddy_no")


def h_lang(ctx: Ctx) -> None:
    code = (ctx.cmd.text or "").strip().lower()[:2]
    if code not in messages.LANGS:
        ctx.reply("lang_usage")
        return
    ctx.store.set_fields(ctx.pid, lang=code, lang_chosen="1")
    ctx.person.update(lang=code, lang_chosen="1")
    ctx.reply("lang_ok")


def h_not_available(ctx: Ctx) -> None:
    """Commands of the SPEC this line does not carry yet: say so rather than pretend."""
    ctx.reply("not_available")


# Covert safety -------------------------------------------------------------

def _guard_applies(ctx: Ctx) -> bool:
    """A guarded command only needs the safe word while a timer runs (and UNBUDDY only for the last buddy)."""
    t = ctx.store.timer(ctx.pid)
    if t is None or not t.live:
        return False
    if ctx.cmd.name == "WIPE" and ctx.cmd.text != "YES":
        return False  # asking to wipe ends nothing; only the confirmation does
    if ctx.cmd.name == "START" and _time_of_day_on_fast_clock(ctx):
        return False  # refused like a malformed START: it changes nothing
    if ctx.cmd.name == "DURESS" and not ctx.person.get("duress_hash"):
        return False  # a first duress word ends and postpones nothing
    if ctx.cmd.name == "UNBUDDY":
        number = normalize(ctx.cmd.number or "", ctx.line.settings.default_region)
        bpid = ctx.store.pid_for(number) if number else None
        confirmed = ctx.store.confirmed_buddies(ctx.pid)
        return bool(bpid) and confirmed == (bpid,)
    return True


def _raise_covert(ctx: Ctx, cover_end: float | None, cover_note: str = "", cover_wiped: bool = False) -> None:
    line = ctx.line
    timer_event(line, ctx.pid,
                lambda t, people: session.covert_alarm(t, ctx.now, people, line.timing, cover_end, cover_note,
                                                       cover_wiped), ctx.now)


def _cover(t: session.Timer, now: float) -> tuple[float | None, str]:
    """The timer the phone believes runs (its end, or None) and its note."""
    if t.covert:
        return (t.cover_end if t.cover_end and t.cover_end > now else None), t.cover_note
    return t.ends_at, t.note


def _cover_wiped(ctx: Ctx) -> bool:
    """After a covert WIPE YES, without the safe word: the phone is answered as a wiped number would be."""
    if ctx.screen is None or ctx.screen.safe_given:
        return False
    t = ctx.timer()
    return t is not None and t.live and t.covert and t.cover_wiped


def covert_duress(ctx: Ctx) -> None:
    """The duress word: the reply of a normal OK, character for character; buddies alerted at once."""
    t = ctx.store.timer(ctx.pid)
    if t is not None and t.live and t.covert and _cover(t, ctx.now)[0] is None:
        ctx.reply("ok_no_timer")  # the phone was already shown its timer ended
    else:
        _, effects = session.ok(t, ctx.now)
        ctx.replies_from([e for e in effects if isinstance(e, Reply)])
    _raise_covert(ctx, None)


def covert_guard(ctx: Ctx) -> None:
    """A try to end or postpone a timer without the safe word: answer as usual, alarm covertly.

    Every reply is the one a member with no safe word would get for the timer the phone was shown.
    """
    cmd, t, line = ctx.cmd, ctx.store.timer(ctx.pid), ctx.line
    shown, note = _cover(t, ctx.now)
    cover_end, cover_note, wiped = shown, note, False
    if cmd.name == "OK":
        cover_end = None
        ctx.reply("ok_ended" if shown is not None else "ok_no_timer")
    elif cmd.name in ("OK_UNCLEAR", "UNKNOWN", "FINE"):
        # The same reply a member with no safe word gets: the timer as the phone knows it runs on.
        if cmd.name == "OK_UNCLEAR":
            ctx.reply("ok_unclear" if shown is not None else "no_timer")
        elif shown is not None:
            ctx.reply("unknown_running", end_at=shown)
        else:
            ctx.reply("unknown")
    elif cmd.name == "EXTEND":
        if shown is None:
            ctx.reply("no_timer")
        else:
            cover_end = max(shown, ctx.now) + line.timing.s(cmd.minutes or 0)
            ctx.reply("extend_ok", end_at=cover_end)
    elif cmd.name == "START":
        cover_end, cover_note = _ends_at(ctx), ctx.cmd.text[:300]
        ctx.reply("start_replaced" if shown is not None else "start_ok", end_at=cover_end)
        if not ctx.store.confirmed_buddies(ctx.pid):
            others = [o for o in ctx.store.organizers() if o != ctx.pid]
            ctx.reply("start_no_buddy" if others else "start_nobody")
    elif cmd.name == "UNBUDDY":
        ctx.reply("unbuddy_ok", number=mask(normalize(cmd.number, line.settings.default_region)))
    elif cmd.name == "WIPE":
        cover_end, wiped = None, True
        ctx.reply("wipe_done")
    else:  # SAFEWORD or DURESS changes: the answer the change itself would get
        word = (cmd.text or "").strip()
        if word.upper() == "OFF":
            ctx.reply("word_off")
        else:
            other = "duress" if cmd.name == "SAFEWORD" else "safe"
            problem = covert.word_problem(word)
            if not problem and covert.matches(ctx.store.sealer, ctx.person, other, word):
                problem = "word_same"
            ctx.reply(problem or "word_set")
    _raise_covert(ctx, cover_end, cover_note, wiped)


def _set_word(ctx: Ctx, kind: str) -> None:
    screen = ctx.screen
    word = (ctx.cmd.text or "").strip()
    if not word:
        ctx.reply("word_usage")
        return
    person = ctx.person
    if screen and screen.has_safe and not screen.safe_given and person.get(f"{kind}_hash"):
        # Changing (or removing) an existing word needs the current safe word in the same text;
        # a first duress word after a safe word changes nothing that protects the member.
        ctx.reply("word_needs_safe")
        return
    if word.upper() == "OFF":
        ctx.store.r.hdel(Keys.person.format(pid=ctx.pid), f"{kind}_salt", f"{kind}_hash")
        ctx.reply("word_off")
        return
    problem = covert.word_problem(word)
    other = "duress" if kind == "safe" else "safe"
    if not problem and covert.matches(ctx.store.sealer, person, other, word):
        problem = "word_same"
    if problem:
        ctx.reply(problem)
        return
    salt, digest = covert.hash_word(ctx.store.sealer, word)
    ctx.store.set_fields(ctx.pid, **{f"{kind}_salt": salt, f"{kind}_hash": digest})
    ctx.reply("word_set")


def h_safeword(ctx: Ctx) -> None:
    _set_word(ctx, "safe")


def h_duress(ctx: Ctx) -> None:
    _set_word(ctx, "duress")


def h_test(ctx: Ctx) -> None:
    """TEST: every confirmed buddy gets a text plainly marked as a test."""
    links = ctx.store.buddy_links(ctx.pid)
    # In the order they became buddies, as BUDDIES lists them, so the reply names them the same way.
    buddies = [b for b, v in sorted(links.items(), key=lambda kv: kv[1].get("at", 0)) if v.get("status") == "confirmed"]
    uid = f"test-{ctx.pid}-{int(ctx.now)}"
    texts, names = [], []
    for b in buddies:
        o = outgoing(ctx.line, b, "test_buddy", {}, ctx.now, uid, member=ctx.pid)
        if o:
            o.ref = {"kind": "test", "member": ctx.pid, "rid": b}
            texts.append(o)
            names.append(display_name(ctx.line, b, ctx.pid))
    enqueue_texts(ctx.line, texts)
    ctx.reply("test_sent", names=", ".join(names)) if texts else ctx.reply("test_nobody")


def h_wipe(ctx: Ctx) -> None:
    """WIPE asks to confirm; WIPE YES erases everything stored about this number, whatever its role.

    Anyone may ask, with or without a record, and gets the same answers (no oracle for
    who had one). The last organizer is refused: the line must keep someone who can run it.
    """
    store = ctx.store
    if ctx.is_organizer and len(store.organizers()) <= 1:
        ctx.reply("wipe_last_org")
        return
    if ctx.cmd.text != "YES":
        if ctx.pid or store.hit(store.number_hash(ctx.number), "wipe", UNKNOWN_REPLIES_PER_HOUR, 3600):
            ctx.reply("wipe_confirm")
        return
    if ctx.pid:
        t = store.timer(ctx.pid)
        if t is not None and t.live:
            timer_event(ctx.line, ctx.pid, lambda t, people: session.ok(t, ctx.now), ctx.now)
        for member, status in store.buddy_of(ctx.pid).items():
            if status == "confirmed":
                o = outgoing(ctx.line, member, "buddy_link_ended",
                             {"name": display_name(ctx.line, ctx.pid, member)}, ctx.now, f"wipe-{ctx.pid}")
                if o:
                    enqueue_texts(ctx.line, [o])
        reports_for(ctx.line).forget_reporter(ctx.pid, ctx.now)
    # The reply is rendered before the person's language is erased with everything else.
    ctx.reply("wipe_done")
    former = list(store.buddy_links(ctx.pid)) if ctx.pid else []
    gone = store.wipe(ctx.pid, ctx.number)
    for b in former:
        store.settle(b, LAPSED_TTL)  # their records lapse unless they serve another member
    store.request_aof_rewrite(ctx.now)
    log.info("wipe from %s: %d keys beyond the record", mask(ctx.number), gone)


HANDLERS = {
    **NETWORK_HANDLERS, **OVERSIGHT_HANDLERS,
    "START": h_start, "OK": h_ok, "EXTEND": h_extend, "SOS": h_sos, "STATUS": h_status, "ACK": h_ack,
    "BUDDY": h_buddy, "BUDDIES": h_buddies, "UNBUDDY": h_unbuddy, "NAME": h_name, "LANG": h_lang,
    "YES": h_yes, "NO": h_no, "JOIN": h_join, "ADD": h_add, "REMOVE": h_remove, "ORGANIZER": h_organizer,
    "HELP": h_help, "OPTOUT": h_optout, "OPTIN": h_optin,
    "SAFEWORD": h_safeword, "DURESS": h_duress, "TEST": h_test, "WIPE": h_wipe,
    "OK_UNCLEAR": h_unknown, "EMPTY": h_unknown, "UNKNOWN": h_unknown,
    "FINE": h_fine, "DURATION": h_duration,
}

# Who may use a command: "any" number, "member", or "organizer". Unlisted: member.
REQUIRES = {
    "YES": "any", "NO": "any", "JOIN": "any", "ACK": "any", "HELP": "any", "OPTOUT": "any", "OPTIN": "any",
    "EMPTY": "any", "UNKNOWN": "any", "LANG": "any", "WIPE": "any",
    "ADD": "organizer", "REMOVE": "organizer", "ORGANIZER": "organizer", "MEMBERS": "organizer",
    "ALERTS": "organizer",
    "BROADCAST": "organizer", "REPORTS": "organizer", "APPROVE": "organizer", "REJECT": "organizer",
    "CARD": "organizer",
}
