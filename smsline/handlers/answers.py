"""JOIN, YES and NO: answers to an invitation."""
from __future__ import annotations

from dataclasses import replace

from ..notices import enqueue_texts
from ..rendering import display_name, generated_alias, outgoing
from ..store import LAPSED_TTL
from .context import Ctx
from .standing import h_stranger, has_invites, invite_label, pending_invites
from .talk import h_unknown


def h_join(ctx: Ctx) -> None:
    if not ctx.pid:
        h_stranger(ctx)
        return
    inv = ctx.store.invitation("member", ctx.pid)
    if ctx.is_member:
        ctx.reply("help")
        return
    if not inv and has_invites(ctx):
        h_yes(ctx)  # "UNIRME" to a buddy or organizer invitation: the consent it clearly is
        return
    if not inv:
        ctx.reply("join_none")
        return
    _join(ctx, inv)


def _join(ctx: Ctx, inv: dict) -> None:
    store = ctx.store
    if not store.accept_invite("member", ctx.pid, now=ctx.now):
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
    if has_invites(ctx):
        ctx.reply("join_none")
    else:
        h_stranger(ctx)


def h_yes(ctx: Ctx) -> None:
    if not ctx.pid:
        h_stranger(ctx)
        return
    pending = pending_invites(ctx)
    if not pending:
        ctx.reply("yes_none")
        return
    choice = ctx.cmd.choice
    if len(pending) > 1 and not choice:
        labels = [f"{i} {invite_label(ctx, kind, who)}" for i, (kind, who) in enumerate(pending, 1)]
        ctx.reply("yes_which", count=len(pending), list=", ".join(labels))
        return
    if choice and not 1 <= choice <= len(pending):
        ctx.reply("yes_none")
        return
    kind, who = pending[(choice or 1) - 1]
    if kind == "member":
        _join(ctx, ctx.store.invitation("member", ctx.pid))
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


def _accept_organizer(ctx: Ctx) -> None:
    store = ctx.store
    if not store.accept_invite("organizer", ctx.pid, organizer=True, now=ctx.now):
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
    pending = [p for p in pending_invites(ctx)]
    if not pending and ctx.cmd.choice is None and ctx.cmd.text.strip():
        # "no se", "no idea": words, not an answer to an invitation there is none of.
        ctx.cmd = replace(ctx.cmd, name="UNKNOWN")
        h_unknown(ctx)
        return
    if not pending:
        ctx.reply("yes_none")
        return
    if len(pending) > 1 and not ctx.cmd.choice:
        labels = [f"{i} {invite_label(ctx, kind, who)}" for i, (kind, who) in enumerate(pending, 1)]
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
        ctx.store.drop_invitation(kind, ctx.pid)
    store.settle(ctx.pid, LAPSED_TTL, ctx.number)  # a declined record lapses unless it is kept for another link
    ctx.reply("buddy_no")
