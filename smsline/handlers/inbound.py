"""One inbound text: read its sender, screen covert words, hold back floods, and dispatch it to its handler."""
from __future__ import annotations

import logging

from .. import covert, messages, session
from ..commands import Command, parse
from ..line import Line
from ..phones import mask
from ..store import Sender
from .context import Ctx
from .registry import ANY, ORGANIZER, spec
from .safety import cover_wiped, covert_duress, covert_guard
from .standing import SOS_TYPOS, h_stranger, h_stranger_sos, is_buddy, is_sos, lang_chosen, pending_invites, timer_live
from .talk import alarm_talk, alert_summary
from .timers import h_status

log = logging.getLogger(__name__)


FLOOD_PER_MINUTE = 20  # texts a minute from one number before the ones that cannot matter are held back


def is_end_attempt(cmd: Command) -> bool:
    """A text that would end or postpone a running timer (SPEC: "A phone may be in someone else's hands")."""
    return spec(cmd.name).guarded or (cmd.name == "UNKNOWN" and cmd.word in covert.END_WORDS)


def guard_applies(ctx: Ctx) -> bool:
    """A guarded command only needs the safe word while a timer runs, and when its own condition holds."""
    t = ctx.store.timer(ctx.pid)
    if t is None or not t.live:
        return False
    when = spec(ctx.cmd.name).guard_when
    return when is None or when(ctx)


def flood_exempt(cmd: Command) -> bool:
    """Texts a flood limit never holds back: OK, SOS (and its typos), ACK, STOP/START, anything ending a timer."""
    return spec(cmd.name).flood_exempt or is_end_attempt(cmd) or (cmd.name == "UNKNOWN" and cmd.word in SOS_TYPOS)


def flood_reply(sender: Sender) -> list[str]:
    """A text held back by the flood limit: one short reply a window says why; the rest get nothing new."""
    if not sender.first_held:
        return []
    return [messages.render("slow_down", sender.person.get("lang", "en"))]


def question_of(body: str, sender: Sender | None = None, cmd: Command | None = None) -> Command | None:
    """The command, when this text is a question that changes nothing: a member's or organizer's HELP or STATUS.

    Such a text needs no MessageSid record: a redelivery is simply answered again.
    Without the sender, only the words are judged. A member with a safe word or a
    duress word set is never answered this way: their words are screened first.
    """
    cmd = cmd or parse(body or "")
    if not spec(cmd.name).read_only or cmd.error:
        return None
    if sender is None:
        return cmd
    p = sender.person
    return cmd if (sender.member or sender.organizer) and not p.get("safe_hash") and not p.get("duress_hash") \
        else None


def answer(line: Line, sid: str, number: str, body: str, sender: Sender, cmd: Command) -> list[str]:
    """The replies to a text whose MessageSid was just claimed, kept for a redelivery of it."""
    if sender.held:
        return flood_reply(sender)
    if question_of(body, sender, cmd):
        # A member's question: its claim already holds the answer a redelivery or a replay gets (nothing new).
        return handle_inbound(line, number, body, sender=sender, cmd=cmd)
    replies = handle_inbound(line, number, body, sender=sender, cmd=cmd, sid=sid)
    if sid:
        line.store.keep_reply(sid, replies, pid=sender.pid)
    return replies


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
    if (person.get("safe_hash") or person.get("duress_hash")) and (ctx.is_member or timer_live(ctx)):
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
    if cover_wiped(ctx):
        # After a covert WIPE YES the phone hears what a wiped number hears; the alarm runs on unseen.
        ctx.pid, ctx.person, ctx._roles, ctx._sender = "", {}, (False, False), None
        dispatch(ctx)
    elif screen and screen.duress:
        covert_duress(ctx)
    elif screen and screen.has_safe and not screen.safe_given and is_end_attempt(cmd) \
            and not cmd.error and guard_applies(ctx):
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
                and pending_invites(ctx))


def _rehash_words(line: Line, pid: str, screen: covert.Screen) -> None:
    """A word that matched a hash under the old key (or an unkeyed one) is hashed again under the current key."""
    fields = {}
    for kind, word in screen.rehash.items():
        salt, digest = covert.hash_word(line.store.sealer, word)
        fields.update({f"{kind}_salt": salt, f"{kind}_hash": digest})
    if fields:
        line.store.set_fields(pid, **fields)


def dispatch(ctx: Ctx) -> None:
    """Hand the text to its command's handler, or answer for it when the sender may not use it."""
    cmd = ctx.cmd
    command, role = spec(cmd.name), _role(ctx)
    need = command.who
    own_timer = _own_timer_handler(ctx, role, need)
    if own_timer:
        own_timer(ctx)
    elif role == "stranger" and is_sos(cmd):
        h_stranger_sos(ctx)
    elif role == "stranger" and not command.stranger_reaches:
        # JOIN, YES and NO too: a number whose record outlived its invitation hears what a new number hears.
        h_stranger(ctx)
    elif role == "contact" and need != ANY:
        # A buddy's "ok", "on the way home", START...: with an alert open for them, what it is about.
        # Their own SOS is never taken for talk about someone else's alert.
        if is_sos(cmd):
            ctx.reply("contact_sos")
        elif not alert_summary(ctx):
            ctx.reply("help_buddy")
    elif cmd.name in ("OK", "OK_UNCLEAR") and role in ("member", "organizer") and not timer_live(ctx) \
            and alert_summary(ctx):
        pass  # a bare "ok" from someone alerted, with no timer of their own: ambiguous, so ask for ACK
    elif role == "member" and need == ORGANIZER:
        ctx.reply("not_allowed")
    else:
        command.handler(ctx)


def _role(ctx: Ctx) -> str:
    """organizer, member, contact (a buddy or someone with an invitation), or stranger."""
    if ctx.is_organizer:
        return "organizer"
    if ctx.is_member:
        return "member"
    if ctx.pid and (is_buddy(ctx) or pending_invites(ctx)):
        return "contact"
    return "stranger"


def _own_timer_handler(ctx: Ctx, role: str, need: str):
    """For a non-member whose timer runs, the handler that replaces the stranger's or buddy's answer, or None."""
    if role not in ("stranger", "contact") or not timer_live(ctx):
        return None
    # Anyone whose timer runs may end, extend, check it or turn it into an alarm, member or not: a removal
    # by another path or a WIPE race must never leave a running timer its owner cannot end.
    name, command = ctx.cmd.name, spec(ctx.cmd.name)
    if command.timer_owner:
        return command.handler
    if command.for_anyone or (role == "contact" and need == ANY and name not in ("UNKNOWN", "EMPTY")):
        return None  # answering an invitation, ACK for someone else, HELP, LANG: as for anyone
    return h_timer_only


def h_timer_only(ctx: Ctx) -> None:
    """A non-member whose timer runs, texting anything else: how to end it, never silence (covert rules hold)."""
    if spec(ctx.cmd.name).alarm_talk and alarm_talk(ctx):
        return
    t = ctx.timer()
    if t.status == session.RUNNING and not t.covert:
        ctx.reply("help_running", end_at=t.ends_at)
    else:
        h_status(ctx)
