"""ADD, REMOVE, ORGANIZER, BUDDY, BUDDIES, UNBUDDY and NAME: who is in the network and who looks out for whom."""
from __future__ import annotations

import math

from .. import messages, session
from ..gsm7 import fold
from ..line import Line
from ..notices import enqueue_texts
from ..phones import mask, normalize
from ..rendering import Outgoing, outgoing, text_fields
from ..store import DAY, LAPSED_TTL
from .context import Ctx
from .standing import lang_chosen


INVITES_PER_DAY = 10  # a member's buddy invitations; enough for real use, too few to spam with
ORGANIZER_INVITES_PER_DAY = 500  # organizers enroll whole networks
INVITATIONS_RECEIVED_PER_DAY = 3  # invitations one number may be sent a day, whoever sends them
MAX_ALIAS = 20


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
    pid = ctx.store.pid_for(number)  # nothing is written before the caps are checked
    if pid and ctx.store.is_member(pid):
        ctx.reply("add_already", number=mask(number))
        return
    _invite(ctx, number, pid, "member", "invite_member", "add_ok", alias=_alias(ctx.cmd.text))


def _invite(ctx: Ctx, number: str, pid: str | None, kind: str, text_key: str, ok_key: str, **fields) -> None:
    """Invite `number` (known as `pid`, if at all) as a member or an organizer, once, within the caps."""
    store = ctx.store
    left = store.invite_left(kind, pid) if pid else 0
    if left:
        _reply_waiting(ctx, number, left)
        return
    if not _invite_allowed(ctx) or _invitee_refused(ctx, number):
        return
    pid = store.ensure_person(number)
    left = store.invite(kind, pid, ctx.pid, ctx.now, **fields)
    if left:
        _reply_waiting(ctx, number, left)  # a concurrent invitation of the same number came first
        return
    _send_invite(ctx, pid, text_key, f"inv-{kind[0]}-{pid}-{int(ctx.now)}")
    ctx.reply(ok_key, number=mask(number))


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
    _invite(ctx, number, ctx.store.pid_for(number), "organizer", "invite_organizer", "organizer_invited")


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
