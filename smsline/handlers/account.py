"""OPTOUT, OPTIN, LANG and WIPE: what anyone may say about their own number."""
from __future__ import annotations

import logging

from .. import messages, session
from ..alarms import timer_event
from ..reports import reports_for
from ..notices import enqueue_texts
from ..phones import mask
from ..reachability import buddy_back, buddy_lost
from ..rendering import display_name, outgoing
from ..store import LAPSED_TTL
from .answers import h_yes
from .context import Ctx
from .standing import has_invites, is_buddy
from .talk import UNKNOWN_REPLIES_PER_HOUR

log = logging.getLogger(__name__)


def h_optout(ctx: Ctx) -> None:
    # Twilio answers STOP itself; a running timer keeps running.
    ctx.store.set_opt_out(ctx.number, True)
    if ctx.pid:
        buddy_lost(ctx.line, ctx.pid, "optout", ctx.now)


def h_optin(ctx: Ctx) -> None:
    ctx.store.set_opt_out(ctx.number, False)
    if ctx.pid:
        buddy_back(ctx.line, ctx.pid, ctx.now)
    if ctx.cmd.word == "YES" and has_invites(ctx):
        h_yes(ctx)
    elif ctx.is_member:
        ctx.reply("start_usage")
    elif has_invites(ctx) or is_buddy(ctx):  # a buddy back from STOP learns what they can do
        ctx.reply("help_buddy")


def h_lang(ctx: Ctx) -> None:
    code = (ctx.cmd.text or "").strip().lower()[:2]
    if code not in messages.LANGS:
        ctx.reply("lang_usage")
        return
    ctx.store.set_fields(ctx.pid, lang=code, lang_chosen="1")
    ctx.person.update(lang=code, lang_chosen="1")
    ctx.reply("lang_ok")


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
