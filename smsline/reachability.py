"""Buddies the line can no longer reach.

A buddy becomes unreachable when they text a carrier opt-out word or a status
callback says a text to them failed; each member who has them as a confirmed
buddy is told once, discreetly. An opt-in, or a later text delivered, clears
the mark (and says so), so a later loss is told again. Nothing here is sent to
a member whose covert alarm is running: it could hint that texts went out.
"""
from __future__ import annotations

import secrets

from .notices import enqueue_texts
from .phones import mask
from .rendering import outgoing


def buddy_label(link: dict | None, number: str | None) -> str:
    """A buddy as their member knows them: the name the member gave, and the number's last four digits."""
    name = (link or {}).get("name") or ""
    return f"{name} {mask(number)}".strip()


def _tell_members(line, pid: str, key: str, now: float, skip=()) -> None:
    store = line.store
    number = store.person(pid).get("number")
    uid = secrets.token_hex(6)  # each change of the mark is told afresh, even within one second
    texts = []
    for member, status in sorted(store.buddy_of(pid).items()):
        if status != "confirmed" or member in skip:
            continue
        t = store.timer(member)
        if t is not None and t.live and t.covert:
            continue
        link = store.buddy_links(member).get(pid)
        o = outgoing(line, member, key, {"name": buddy_label(link, number)}, now, f"{key}-{member}-{pid}-{uid}")
        if o:
            texts.append(o)
    enqueue_texts(line, texts)


def buddy_lost(line, pid: str, why: str, now: float, skip=()) -> None:
    """Texts can no longer reach this person: tell the members who rely on them, the first time only."""
    if line.store.mark_unreachable(pid, why):
        _tell_members(line, pid, "buddy_lost", now, skip)


def buddy_back(line, pid: str, now: float, delivered_to: str | None = None) -> None:
    """Texts reach this person again: clear the mark and tell those members, if there was a mark.

    delivered_to: the number a text was just delivered to; that clears only a failure's mark, never an opt-out.
    """
    if line.store.clear_unreachable(pid, delivered_to):
        _tell_members(line, pid, "buddy_back", now)


def on_delivery(line, to: str | None, status: str, error: str, now: float, skip=()) -> None:
    """A status callback for any text: a failure marks the recipient unreachable, a delivery clears it."""
    if not to or status not in ("failed", "undelivered", "delivered"):
        return
    pid = line.store.pid_for(to)
    if not pid:
        return
    if status == "delivered":  # a late receipt for a text sent before STOP changes nothing
        buddy_back(line, pid, now, delivered_to=to)
    else:
        buddy_lost(line, pid, f"failed:{error or status}", now, skip)
