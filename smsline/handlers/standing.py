"""Where a sender stands: their timer as their phone knows it, their invitations, and the answers a stranger gets."""
from __future__ import annotations

from .. import session
from ..commands import Command
from ..rendering import display_name
from .context import Ctx


def timer_live(ctx: Ctx) -> bool:
    if not ctx.pid:
        return False
    t = ctx.timer()
    return t is not None and t.live


def is_buddy(ctx: Ctx) -> bool:
    return bool(ctx.pid) and any(s == "confirmed" for s in ctx.store.buddy_of(ctx.pid).values())


def has_invites(ctx: Ctx) -> bool:
    return bool(ctx.pid) and bool(pending_invites(ctx))


def h_stranger(ctx: Ctx) -> None:
    """One neutral reply a day to an unknown number; it learns nothing about who is enrolled.

    Callers reach this only for a number with no record or no invitation, so there is nothing to accept.
    """
    if ctx.store.first_stranger_reply(ctx.number):
        ctx.reply("stranger")


STRANGER_SOS_PER_HOUR = 3  # an SOS from a number with no membership: answered even after the day's one reply


def is_sos(cmd: Command) -> bool:
    return cmd.name == "SOS" or (cmd.name == "UNKNOWN" and cmd.word in SOS_TYPOS)


def h_stranger_sos(ctx: Ctx) -> None:
    """An SOS from a number that is no member and has no timer: never silence, and no oracle.

    Every such number, with a record or none, gets the same text on the same count (by number hash),
    apart from the daily reply to other texts, so a first SOS in an hour is always answered.
    """
    if ctx.store.hit(ctx.store.number_hash(ctx.number), "sos", STRANGER_SOS_PER_HOUR, 3600):
        ctx.reply("stranger_sos")


SOS_TYPOS = {"SSO", "OSS", "SOSS", "SOOS", "SSOS", "S0S", "5OS", "SO5", "5O5", "SOA", "SIS"}


def shown_end(ctx: Ctx) -> float | None:
    """The end of the timer as this phone knows it, or None: after a covert alarm, only the cover."""
    t = ctx.timer() if ctx.is_member else None
    if t is None or not t.live:
        return None
    if t.covert:
        return t.cover_end if t.cover_end and t.cover_end > ctx.now else None
    return t.ends_at


def lang_chosen(person: dict) -> bool:
    """Whether this person chose a language (LANG, or words only one language uses), not just the default."""
    return bool(person.get("lang_chosen")) or person.get("lang", "en") != "en"


def pending_invites(ctx: Ctx) -> list[tuple[str, str]]:
    """Everything this number could say YES to, oldest first: (kind, member pid or inviter)."""
    out = []
    store = ctx.store
    store.lapse_buddy_invites(ctx.now)
    if not store.is_member(ctx.pid) and store.invitation("member", ctx.pid):
        out.append(("member", ""))
    if not store.is_organizer(ctx.pid) and store.invitation("organizer", ctx.pid):
        out.append(("organizer", ""))
    for member, status in sorted(store.buddy_of(ctx.pid).items()):
        if status == "pending":
            out.append(("buddy", member))
    return out


def invite_label(ctx: Ctx, kind: str, who: str) -> str:
    if kind == "buddy":
        return display_name(ctx.line, who)
    return ctx.part(f"label_{kind}")


def cover(t: session.Timer, now: float) -> tuple[float | None, str]:
    """The timer the phone believes runs (its end, or None) and its note."""
    if t.covert:
        return (t.cover_end if t.cover_end and t.cover_end > now else None), t.cover_note
    return t.ends_at, t.note
